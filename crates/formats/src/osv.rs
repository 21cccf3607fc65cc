//! An OSV entry (OSV schema 1.7): what vulnerability scanners read.
//!
//! The entry's `id` is the advisory's in OSV's namespace for databases OSV.dev does not
//! aggregate (`x_KAMAILIO-2026-0001`, as the schema documents); its CVE, when it has one, is
//! an alias, so scanners that know the CVE find the entry.

use serde_json::{Value, json};
use vulndesk_core::advisory::{Advisory, CreditKind, ReferenceKind};
use vulndesk_core::severity::Version;

use crate::{FormatError, utc};

/// The OSV schema version the entries follow.
pub const SCHEMA_VERSION: &str = "1.7.5";

/// The OSV entry of `advisory`; a withdrawn advisory is withdrawn here too.
pub fn entry(advisory: &Advisory) -> Result<Value, FormatError> {
    let published = advisory.published().ok_or(FormatError::Missing {
        format: "an OSV entry",
        what: "a publication (a first revision)",
    })?;
    let modified = advisory.modified().unwrap_or(published);
    let mut entry = json!({
        "schema_version": SCHEMA_VERSION,
        "id": id(advisory),
        "modified": utc(modified),
        "published": utc(published),
        "summary": advisory.title,
        "details": advisory.details(),
        "references": references(advisory),
        "database_specific": {
            "publisher": advisory.publisher.name,
            "advisory": advisory.id,
        },
    });
    let o = entry.as_object_mut().expect("an object");
    if let Some(cve) = &advisory.cve {
        o.insert("aliases".into(), json!([cve]));
    }
    if let Some(withdrawn) = &advisory.withdrawn {
        o.insert("withdrawn".into(), json!(utc(withdrawn.at)));
    }
    let severity: Vec<Value> = advisory
        .cvss
        .iter()
        .map(|v| {
            let kind = match v.version() {
                Version::V3_0 | Version::V3_1 => "CVSS_V3",
                Version::V4_0 => "CVSS_V4",
            };
            json!({ "type": kind, "score": v.to_string() })
        })
        .collect();
    if !severity.is_empty() {
        o.insert("severity".into(), Value::Array(severity));
    }
    let affected = affected(advisory);
    if !affected.is_empty() {
        o.insert("affected".into(), Value::Array(affected));
    }
    if !advisory.credits.is_empty() {
        let credits: Vec<Value> = advisory
            .credits
            .iter()
            .map(|c| json!({ "name": c.name, "type": credit_type(c.kind) }))
            .collect();
        o.insert("credits".into(), Value::Array(credits));
    }
    Ok(entry)
}

/// The entry's identifier.
pub fn id(advisory: &Advisory) -> String {
    format!("x_{}", advisory.id)
}

/// Products in a package ecosystem, with their lines as ranges of that ecosystem's
/// versions; products outside any ecosystem (a C project's tarballs) are named in the
/// details only, as OSV has no way to say which of their versions are affected.
fn affected(advisory: &Advisory) -> Vec<Value> {
    advisory
        .products
        .iter()
        .filter_map(|p| {
            let package = p.package.as_ref()?;
            let ranges: Vec<Value> = p
                .lines
                .iter()
                .map(|l| {
                    let mut events = vec![json!({ "introduced": l.introduced })];
                    if let Some(fixed) = &l.fixed {
                        events.push(json!({ "fixed": fixed }));
                    }
                    json!({ "type": "ECOSYSTEM", "events": events })
                })
                .collect();
            let mut pkg = json!({ "ecosystem": package.ecosystem, "name": package.name });
            if let (Some(purl), Some(o)) = (&package.purl, pkg.as_object_mut()) {
                o.insert("purl".into(), json!(purl));
            }
            Some(json!({ "package": pkg, "ranges": ranges }))
        })
        .collect()
}

fn references(advisory: &Advisory) -> Vec<Value> {
    let mut out = vec![json!({ "type": "ADVISORY", "url": advisory.url })];
    for r in &advisory.references {
        if r.url == advisory.url {
            continue;
        }
        let kind = match r.kind {
            ReferenceKind::Advisory => "ADVISORY",
            ReferenceKind::Fix => "FIX",
            ReferenceKind::ReleaseNotes | ReferenceKind::Web => "WEB",
            ReferenceKind::Report => "REPORT",
        };
        out.push(json!({ "type": kind, "url": r.url }));
    }
    out
}

/// OSV's name for a credit's kind.
fn credit_type(kind: CreditKind) -> String {
    kind.as_str().replace('-', "_").to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use vulndesk_core::advisory::{Package, Withdrawal};

    fn in_crates_io() -> Advisory {
        let mut advisory = sample::advisory();
        advisory.products[0].package = Some(Package {
            ecosystem: "crates.io".into(),
            name: "sip-parser".into(),
            purl: Some("pkg:cargo/sip-parser".into()),
        });
        advisory
    }

    #[test]
    fn a_published_advisory_is_a_valid_entry_with_its_cve_as_an_alias() {
        let entry = entry(&in_crates_io()).unwrap();
        sample::valid(sample::OSV_SCHEMA, &entry);
        assert_eq!(entry["id"], "x_KAMAILIO-2026-0001");
        assert_eq!(entry["aliases"], json!(["CVE-2026-31337"]));
        assert_eq!(
            entry["affected"][0]["ranges"][0]["events"],
            json!([{ "introduced": "5.7.0" }, { "fixed": "5.7.4" }])
        );
        assert_eq!(
            entry["affected"][0]["ranges"][1]["events"],
            json!([{ "introduced": "5.6.0" }])
        );
        assert_eq!(entry["credits"][1]["type"], "REMEDIATION_DEVELOPER");
        assert_eq!(entry["severity"][0]["type"], "CVSS_V3");
        assert!(entry.get("withdrawn").is_none());
    }

    #[test]
    fn a_withdrawn_advisory_is_withdrawn_and_modified_then() {
        let mut advisory = in_crates_io();
        let at = "2026-12-02T08:30:00Z".parse().unwrap();
        advisory.withdrawn = Some(Withdrawal {
            at,
            reason: "Not a vulnerability.".into(),
        });
        let entry = entry(&advisory).unwrap();
        sample::valid(sample::OSV_SCHEMA, &entry);
        assert_eq!(entry["withdrawn"], "2026-12-02T08:30:00Z");
        assert_eq!(entry["modified"], "2026-12-02T08:30:00Z");
    }

    #[test]
    fn a_product_outside_any_ecosystem_is_in_the_details_only() {
        let advisory = sample::advisory();
        let entry = entry(&advisory).unwrap();
        sample::valid(sample::OSV_SCHEMA, &entry);
        assert!(entry.get("affected").is_none());
        assert!(
            entry["details"]
                .as_str()
                .unwrap()
                .contains("Affected component: parser.")
        );
    }

    #[test]
    fn a_revision_moves_modified_and_keeps_published() {
        let mut advisory = in_crates_io();
        advisory.revisions.push(vulndesk_core::advisory::Revision {
            number: 2,
            at: "2026-12-05T10:00:00Z".parse().unwrap(),
            summary: "The fix for 5.6 is released.".into(),
        });
        let entry = entry(&advisory).unwrap();
        sample::valid(sample::OSV_SCHEMA, &entry);
        assert_eq!(entry["published"], "2026-11-30T12:00:00Z");
        assert_eq!(entry["modified"], "2026-12-05T10:00:00Z");
    }
}
