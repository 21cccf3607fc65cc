//! Fix tracking per release line (FreePBX, seed 001: "Current stable, unreleased future
//! versions, and one major release behind will receive security updates"; SalesTim, seed
//! 003: 2.x supported, 1.x not). For each line of the case's product the team records
//! whether it is affected, the fix's references (commits, pull requests, private fork
//! branches), its review and test, and the planned and actual release with version and day.
//!
//! The clocks keep reading "fix scheduled" and "fix released": [`follow_up`] records them
//! when the last affected supported line gets its plan or its release, so the disclosure
//! and patch-grace derivations name the lines' dates.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::case::{Event, Recorded};
use crate::policy::{Policy, ReleaseLine};

/// One update of one line's fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LineUpdate {
    /// The line is affected (or, `false`, found not to be).
    Affected { affected: bool },
    /// A fix for the line: a commit, pull request or private fork branch.
    Reference { reference: String },
    /// The line's fix was reviewed.
    Reviewed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The line's fix was tested.
    Tested {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The release that will carry the fix.
    Planned {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        on: Date,
    },
    /// The release that carries the fix.
    Released { version: String, on: Date },
}

impl LineUpdate {
    /// The days given in this update, by the request field that carries them.
    pub fn given_dates(&self) -> Vec<(&'static str, Date)> {
        match self {
            LineUpdate::Planned { on, .. } | LineUpdate::Released { on, .. } => vec![("on", *on)],
            _ => Vec::new(),
        }
    }

    /// Free text of the update, for the team's search.
    pub fn text(&self) -> Option<&str> {
        match self {
            LineUpdate::Reference { reference } => Some(reference),
            LineUpdate::Reviewed { note } | LineUpdate::Tested { note } => note.as_deref(),
            _ => None,
        }
    }
}

/// Where one line's fix stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineStatus {
    pub line: String,
    pub versions: String,
    pub supported: bool,
    pub note: Option<String>,
    /// `None` until someone says; a plan, a release or a reference says yes.
    pub affected: Option<bool>,
    pub references: Vec<String>,
    pub reviewed: bool,
    pub tested: bool,
    pub planned: Option<(Option<String>, Date)>,
    pub released: Option<(String, Date)>,
}

impl LineStatus {
    /// Whether the line's fix is owed: affected and supported.
    pub fn owed(&self) -> bool {
        self.affected == Some(true) && self.supported
    }
}

/// The release lines of the case's product with where each fix stands.
pub fn lines(policy: &Policy, log: &[Recorded]) -> Vec<LineStatus> {
    let Some(product) = product_of(log).and_then(|slug| policy.product(slug)) else {
        return Vec::new();
    };
    product
        .lines
        .iter()
        .map(|line| status(line, log.iter().map(|r| &r.event)))
        .collect()
}

fn status<'a>(line: &ReleaseLine, events: impl Iterator<Item = &'a Event>) -> LineStatus {
    let mut s = LineStatus {
        line: line.name.clone(),
        versions: line.versions.clone(),
        supported: line.supported,
        note: line.note.clone(),
        affected: None,
        references: Vec::new(),
        reviewed: false,
        tested: false,
        planned: None,
        released: None,
    };
    for event in events {
        let Event::LineUpdated { line: name, update } = event else {
            continue;
        };
        if *name != line.name {
            continue;
        }
        match update {
            LineUpdate::Affected { affected } => s.affected = Some(*affected),
            LineUpdate::Reference { reference } => {
                s.references.push(reference.clone());
                s.affected.get_or_insert(true);
            }
            LineUpdate::Reviewed { .. } => s.reviewed = true,
            LineUpdate::Tested { .. } => s.tested = true,
            LineUpdate::Planned { version, on } => {
                s.planned = Some((version.clone(), *on));
                s.affected.get_or_insert(true);
            }
            LineUpdate::Released { version, on } => {
                s.released = Some((version.clone(), *on));
                s.affected.get_or_insert(true);
            }
        }
    }
    s
}

fn product_of(log: &[Recorded]) -> Option<&str> {
    log.iter().find_map(|r| match &r.event {
        Event::Reported { product, .. } => Some(product.as_str()),
        _ => None,
    })
}

/// Checks an update of `line` against the policy: the line exists for the case's product
/// and a release's version is one of the line's. `Err((field, why))`.
pub fn check(
    policy: &Policy,
    log: &[Recorded],
    line: &str,
    update: &LineUpdate,
) -> Result<(), (&'static str, String)> {
    let product = product_of(log)
        .and_then(|slug| policy.product(slug))
        .ok_or(("line", "the case's product is not in its policy".to_owned()))?;
    let Some(found) = product.lines.iter().find(|l| l.name == line) else {
        let names: Vec<&str> = product.lines.iter().map(|l| l.name.as_str()).collect();
        return Err((
            "line",
            if names.is_empty() {
                format!(
                    "{} lists no release lines for {}: add [[product.line]] tables to track fixes per line",
                    policy.organisation.name, product.name
                )
            } else {
                format!(
                    "{line:?} is not a release line of {}; its lines are {}",
                    product.name,
                    names.join(", ")
                )
            },
        ));
    };
    let version = match update {
        LineUpdate::Planned {
            version: Some(v), ..
        }
        | LineUpdate::Released { version: v, .. } => Some(v),
        _ => None,
    };
    if let Some(v) = version {
        crate::versions::in_line(found, v).map_err(|why| ("version", why))?;
    }
    if let LineUpdate::Reference { reference } = update
        && reference.trim().is_empty()
    {
        return Err((
            "reference",
            "a fix reference names a commit, pull request or branch".into(),
        ));
    }
    Ok(())
}

/// What the clocks learn from `update` of `line` on a case with `log`: once every affected
/// supported line has a plan, the fix is scheduled for the last planned day; once every one
/// is released, the fix is released on the last release day (once).
pub fn follow_up(policy: &Policy, log: &[Recorded], line: &str, update: &LineUpdate) -> Vec<Event> {
    if !matches!(
        update,
        LineUpdate::Planned { .. } | LineUpdate::Released { .. }
    ) {
        return Vec::new();
    }
    let Some(product) = product_of(log).and_then(|slug| policy.product(slug)) else {
        return Vec::new();
    };
    let this = Event::LineUpdated {
        line: line.to_owned(),
        update: update.clone(),
    };
    let after: Vec<LineStatus> = product
        .lines
        .iter()
        .map(|l| status(l, log.iter().map(|r| &r.event).chain([&this])))
        .filter(LineStatus::owed)
        .collect();
    if after.is_empty() {
        return Vec::new();
    }
    match update {
        LineUpdate::Planned { .. } => {
            let planned: Option<Vec<Date>> = after
                .iter()
                .map(|s| s.planned.as_ref().map(|p| p.1))
                .collect();
            let scheduled = log.iter().rev().find_map(|r| match r.event {
                Event::FixScheduled { release } => Some(release),
                _ => None,
            });
            match planned.and_then(|days| days.into_iter().max()) {
                Some(last) if scheduled != Some(last) => {
                    vec![Event::FixScheduled { release: last }]
                }
                _ => Vec::new(),
            }
        }
        _ => {
            let released: Option<Vec<Date>> = after
                .iter()
                .map(|s| s.released.as_ref().map(|r| r.1))
                .collect();
            let already = log
                .iter()
                .any(|r| matches!(r.event, Event::FixReleased { .. }));
            match released.and_then(|days| days.into_iter().max()) {
                Some(last) if !already => vec![Event::FixReleased { on: last }],
                _ => Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
