//! Whether a reported product version is supported under the policy: the
//! `supported` and `unsupported` ranges of a [`Product`], read as semver
//! requirements (`">=2.0.0, <3.0.0"`), against the version a reporter typed.

use semver::{BuildMetadata, Prerelease, Version, VersionReq};
use serde::Serialize;

use crate::policy::Product;

/// What the policy says about one reported version of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "support", rename_all = "kebab-case")]
pub enum Support {
    /// The version falls in this `supported` range.
    Supported { range: String },
    /// The version falls in this `unsupported` range, or (`None`) outside every
    /// `supported` range.
    Unsupported { range: Option<String> },
    /// The policy cannot decide: no version was given, or no ranges are stated.
    Unknown { why: String },
}

impl Support {
    /// Whether the policy allows declining the report as `unsupported-version`.
    /// Only an explicit answer does: an unknown version is for a person to judge.
    pub fn suggests_decline(&self) -> bool {
        matches!(self, Support::Unsupported { .. })
    }
}

/// Classifies `reported`, the version as a reporter wrote it, against the
/// product's ranges. An `unsupported` range wins over a `supported` one, so a
/// policy can carve an exception out of a wider supported range.
pub fn support(product: &Product, reported: &str) -> Support {
    let version = match parse_reported(reported) {
        Ok(version) => version,
        Err(why) => return Support::Unknown { why },
    };
    let (supported_ranges, unsupported_ranges) = ranges(product);
    let unsupported = match parse_list(&unsupported_ranges) {
        Ok(reqs) => reqs,
        Err(why) => return Support::Unknown { why },
    };
    let supported = match parse_list(&supported_ranges) {
        Ok(reqs) => reqs,
        Err(why) => return Support::Unknown { why },
    };
    // semver only lets a pre-release satisfy a requirement whose comparators name
    // a pre-release of the same major.minor.patch: that protects dependency
    // resolution from picking unstable releases. Here the question is which
    // release line a build belongs to, and 2.1.0-rc1 is of the 2.x line, so
    // ranges are matched against the release the pre-release leads to.
    let release = Version {
        pre: Prerelease::EMPTY,
        build: BuildMetadata::EMPTY,
        ..version
    };
    if let Some((text, _)) = unsupported.iter().find(|(_, req)| req.matches(&release)) {
        return Support::Unsupported {
            range: Some((*text).to_string()),
        };
    }
    if let Some((text, _)) = supported.iter().find(|(_, req)| req.matches(&release)) {
        return Support::Supported {
            range: (*text).to_string(),
        };
    }
    if !supported.is_empty() {
        return Support::Unsupported { range: None };
    }
    Support::Unknown {
        why: format!("the policy states no version ranges for {}", product.name),
    }
}

/// The version the case's report names (its `version` field) with its support under
/// `policy`; `None` when the report names none.
pub fn reported_support(
    policy: &crate::policy::Policy,
    log: &[crate::case::Recorded],
) -> Option<(String, Support)> {
    let Some(crate::case::Event::Reported {
        fields, product, ..
    }) = log.first().map(|r| &r.event)
    else {
        return None;
    };
    let version = fields.get("version")?;
    let product = policy.product(product)?;
    Some((version.clone(), support(product, version)))
}

/// The product's supported and unsupported ranges: those it lists, then its release
/// lines' versions by whether the line is supported.
fn ranges(product: &Product) -> (Vec<&str>, Vec<&str>) {
    let mut supported: Vec<&str> = product.supported.iter().map(String::as_str).collect();
    let mut unsupported: Vec<&str> = product.unsupported.iter().map(String::as_str).collect();
    for line in &product.lines {
        if line.supported {
            supported.push(&line.versions);
        } else {
            unsupported.push(&line.versions);
        }
    }
    (supported, unsupported)
}

/// Whether `version` (as a release names it) belongs to `line`; `Err` says why not.
pub fn in_line(line: &crate::policy::ReleaseLine, version: &str) -> Result<(), String> {
    let parsed = parse_reported(version)?;
    let release = Version {
        pre: Prerelease::EMPTY,
        build: BuildMetadata::EMPTY,
        ..parsed
    };
    let req = VersionReq::parse(&line.versions)
        .map_err(|e| format!("the line's versions {:?} are invalid: {e}", line.versions))?;
    if req.matches(&release) {
        Ok(())
    } else {
        Err(format!(
            "{version:?} is not a version of the {} line ({})",
            line.name, line.versions
        ))
    }
}

/// One message per range of `product` that is not a valid semver requirement,
/// and per range listed both as supported and unsupported, e.g.
/// `product "teams-app": supported[0] ">=2.0.0 <3": expected comma after patch version number, found '<'`.
pub fn check_ranges(product: &Product) -> Vec<String> {
    range_problems(product)
        .into_iter()
        .map(|p| {
            format!(
                "product {:?}: {}[{}] {:?}: {}",
                product.slug.as_str(),
                p.list,
                p.index,
                p.text,
                p.reason
            )
        })
        .collect()
}

/// A range [`check_ranges`] rejects, located for the policy loader, which names
/// the product by its position in the file rather than by slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeProblem {
    /// `supported`, `unsupported` or `line` (a release line's `versions`).
    pub list: &'static str,
    pub index: usize,
    pub text: String,
    pub reason: String,
}

pub(crate) fn range_problems(product: &Product) -> Vec<RangeProblem> {
    let mut problems = Vec::new();
    let mut valid = Vec::new();
    let lines: Vec<String> = product.lines.iter().map(|l| l.versions.clone()).collect();
    for (list, ranges) in [
        ("supported", &product.supported),
        ("unsupported", &product.unsupported),
        ("line", &lines),
    ] {
        for (index, text) in ranges.iter().enumerate() {
            match VersionReq::parse(text) {
                Ok(req) => valid.push((list, index, text, req)),
                Err(e) => problems.push(RangeProblem {
                    list,
                    index,
                    text: text.clone(),
                    reason: e.to_string(),
                }),
            }
        }
    }
    // Compared parsed, so ">=2.0.0,<3.0.0" and ">=2.0.0, <3.0.0" count as the same
    // range: the unsupported one would silently win, which the author cannot have meant.
    for (_, index, text, req) in valid.iter().filter(|(list, ..)| *list == "unsupported") {
        if let Some((_, other, ..)) = valid
            .iter()
            .find(|(list, _, _, r)| *list == "supported" && r == req)
        {
            problems.push(RangeProblem {
                list: "unsupported",
                index: *index,
                text: (*text).clone(),
                reason: format!("also listed as supported[{other}]"),
            });
        }
    }
    problems
}

/// The ranges of one list, parsed. A policy that loaded has only valid ranges;
/// a hand-built [`Product`] may not, and then no answer is safer than a wrong one.
fn parse_list<'a>(ranges: &[&'a str]) -> Result<Vec<(&'a str, VersionReq)>, String> {
    ranges
        .iter()
        .map(|text| {
            VersionReq::parse(text)
                .map(|req| (*text, req))
                .map_err(|e| format!("the policy's version range {text:?} is invalid: {e}"))
        })
        .collect()
}

/// Reads a version the way reporters write one: `v2.1.3`, `2.1`, `2`, `2.1.0-rc1`.
/// Missing minor and patch numbers are taken as 0.
fn parse_reported(reported: &str) -> Result<Version, String> {
    let text = reported.trim();
    if text.is_empty() {
        return Err("no version was given".into());
    }
    let not_a_version = || format!("{text:?} is not a version number");
    let bare = text
        .strip_prefix(['v', 'V'])
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(text);
    let core_end = bare.find(['-', '+']).unwrap_or(bare.len());
    let (core, suffix) = bare.split_at(core_end);
    let numbers = core
        .split('.')
        .map(|n| n.parse::<u64>().ok())
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(not_a_version)?;
    let (major, minor, patch) = match numbers[..] {
        [major] => (major, 0, 0),
        [major, minor] => (major, minor, 0),
        [major, minor, patch] => (major, minor, patch),
        _ => return Err(not_a_version()),
    };
    // semver checks the pre-release and build identifiers; the numbers are
    // rebuilt so leading zeros ("2.01") are forgiven like the missing parts.
    Version::parse(&format!("{major}.{minor}.{patch}{suffix}"))
        .map_err(|e| format!("{text:?} is not a version number: {e}"))
}

#[cfg(test)]
mod tests;
