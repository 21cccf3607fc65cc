//! CSAF 2.0 documents: the security advisory (profile `csaf_security_advisory`) and a VEX
//! document (profile `csaf_vex`) of the coordinating parties' approved statements.
//!
//! Affected versions are `vers:generic` ranges in the product tree, and the fixed release
//! of each line a version of its own, so a scanner can match either. CSAF 2.0 has no
//! "withdrawn" status: a withdrawn advisory gets a last revision and a note saying so.

use serde_json::{Value, json};
use vulndesk_core::advisory::{Advisory, ReferenceKind};
use vulndesk_core::coordination::VexStatus;
use vulndesk_core::severity::Version;

use crate::{FormatError, utc};

/// The security advisory of `advisory`.
pub fn advisory(advisory: &Advisory) -> Result<Value, FormatError> {
    let mut doc = document(advisory, "csaf_security_advisory", &advisory.id)?;
    let mut branches = Vec::new();
    let (mut affected_ids, mut fixed_ids) = (Vec::new(), Vec::new());
    let mut remediations = Vec::new();
    for (p, product) in advisory.products.iter().enumerate() {
        let mut versions = Vec::new();
        for (l, line) in product.lines.iter().enumerate() {
            let affected_id = format!("PROD-{}-{}-AFFECTED", p + 1, l + 1);
            let range = match &line.fixed {
                Some(fixed) => format!("vers:generic/>={}|<{fixed}", line.introduced),
                None => format!("vers:generic/>={}", line.introduced),
            };
            versions.push(json!({
                "category": "product_version_range",
                "name": range,
                "product": {
                    "name": format!("{} {} {}", product.vendor, product.name, range),
                    "product_id": affected_id,
                },
            }));
            match &line.fixed {
                Some(fixed) => {
                    let fixed_id = format!("PROD-{}-{}-FIXED", p + 1, l + 1);
                    versions.push(json!({
                        "category": "product_version",
                        "name": fixed,
                        "product": {
                            "name": format!("{} {} {fixed}", product.vendor, product.name),
                            "product_id": fixed_id,
                        },
                    }));
                    remediations.push(json!({
                        "category": "vendor_fix",
                        "details": format!("Upgrade {} {} to {fixed}.", product.name, line.line),
                        "product_ids": [affected_id],
                    }));
                    fixed_ids.push(fixed_id);
                }
                None => remediations.push(json!({
                    "category": "none_available",
                    "details": format!(
                        "No release of {} {} carries the fix yet.",
                        product.name, line.line
                    ),
                    "product_ids": [affected_id],
                })),
            }
            affected_ids.push(affected_id);
        }
        branches.push(json!({
            "category": "vendor",
            "name": product.vendor,
            "branches": [{
                "category": "product_name",
                "name": product.name,
                "branches": versions,
            }],
        }));
    }
    if affected_ids.is_empty() {
        return Err(FormatError::Missing {
            format: "a CSAF security advisory",
            what: "at least one affected product line",
        });
    }
    if !advisory.workarounds.trim().is_empty() {
        remediations.push(json!({
            "category": "workaround",
            "details": advisory.workarounds.trim(),
            "product_ids": affected_ids,
        }));
    }
    let mut product_status = json!({ "known_affected": affected_ids });
    if !fixed_ids.is_empty() {
        product_status["fixed"] = json!(fixed_ids);
    }
    let mut vulnerability = vulnerability(advisory);
    let v = vulnerability.as_object_mut().expect("an object");
    v.insert("product_status".into(), product_status);
    v.insert("remediations".into(), Value::Array(remediations));
    // CSAF 2.0 knows CVSS 3.x only; a 4.0 vector is in the CVE record and the OSV entry.
    let scores: Vec<Value> = advisory
        .cvss
        .iter()
        .filter(|c| matches!(c.version(), Version::V3_0 | Version::V3_1))
        .map(|c| {
            json!({
                "products": affected_ids,
                "cvss_v3": {
                    "version": c.version().as_str(),
                    "vectorString": c.to_string(),
                    "baseScore": c.base_score(),
                    "baseSeverity": c.severity().as_str().to_ascii_uppercase(),
                },
            })
        })
        .collect();
    if !scores.is_empty() {
        v.insert("scores".into(), Value::Array(scores));
    }
    if !advisory.credits.is_empty() {
        let acknowledgments: Vec<Value> = advisory
            .credits
            .iter()
            .map(|c| json!({ "names": [c.name], "summary": c.kind.as_str().replace('-', " ") }))
            .collect();
        doc["document"]["acknowledgments"] = Value::Array(acknowledgments);
    }
    doc["product_tree"] = json!({ "branches": branches });
    doc["vulnerabilities"] = json!([vulnerability]);
    Ok(doc)
}

/// The VEX document of the parties' approved statements: each party's products as it
/// stated them, not affected (with its justification), affected, fixed or under
/// investigation.
pub fn vex(advisory: &Advisory) -> Result<Value, FormatError> {
    if advisory.statements.is_empty() {
        return Err(FormatError::Missing {
            format: "a CSAF VEX document",
            what: "at least one party statement approved for publication",
        });
    }
    let mut doc = document(advisory, "csaf_vex", &format!("{}-VEX", advisory.id))?;
    let mut branches = Vec::new();
    let mut status: [(VexStatus, &str, Vec<String>); 4] = [
        (VexStatus::Affected, "known_affected", Vec::new()),
        (VexStatus::NotAffected, "known_not_affected", Vec::new()),
        (VexStatus::Fixed, "fixed", Vec::new()),
        (
            VexStatus::UnderInvestigation,
            "under_investigation",
            Vec::new(),
        ),
    ];
    let (mut flags, mut threats, mut remediations) = (Vec::new(), Vec::new(), Vec::new());
    for (s, statement) in advisory.statements.iter().enumerate() {
        let names = if statement.products.is_empty() {
            vec![statement.party.clone()]
        } else {
            statement.products.clone()
        };
        let ids: Vec<String> = (1..=names.len())
            .map(|n| format!("PARTY-{}-{n}", s + 1))
            .collect();
        let products: Vec<Value> = names
            .iter()
            .zip(&ids)
            .map(|(name, id)| {
                json!({
                    "category": "product_name",
                    "name": name,
                    "product": { "name": format!("{} {name}", statement.party), "product_id": id },
                })
            })
            .collect();
        branches
            .push(json!({ "category": "vendor", "name": statement.party, "branches": products }));
        if let Some((_, _, listed)) = status.iter_mut().find(|(st, ..)| *st == statement.status) {
            listed.extend(ids.iter().cloned());
        }
        let said = if statement.statement.trim().is_empty() {
            format!("{}: {}.", statement.party, statement.status.label())
        } else {
            format!("{}: {}", statement.party, statement.statement.trim())
        };
        match statement.status {
            VexStatus::NotAffected => {
                if let Some(j) = statement.justification {
                    flags.push(json!({ "label": j.as_str(), "product_ids": ids }));
                }
                threats.push(json!({ "category": "impact", "details": said, "product_ids": ids }));
            }
            VexStatus::Affected => remediations.push(json!({
                "category": "none_available",
                "details": format!("{said} See {}'s own advisory for its fix.", statement.party),
                "product_ids": ids,
            })),
            VexStatus::Fixed | VexStatus::UnderInvestigation => {
                threats.push(json!({ "category": "impact", "details": said, "product_ids": ids }));
            }
        }
    }
    let mut product_status = serde_json::Map::new();
    for (_, key, ids) in status {
        if !ids.is_empty() {
            product_status.insert(key.into(), json!(ids));
        }
    }
    let mut vulnerability = vulnerability(advisory);
    let v = vulnerability.as_object_mut().expect("an object");
    v.insert("product_status".into(), Value::Object(product_status));
    for (key, list) in [
        ("flags", flags),
        ("threats", threats),
        ("remediations", remediations),
    ] {
        if !list.is_empty() {
            v.insert(key.into(), Value::Array(list));
        }
    }
    doc["product_tree"] = json!({ "branches": branches });
    doc["vulnerabilities"] = json!([vulnerability]);
    Ok(doc)
}

/// The `document` part both profiles share, with its revision history.
fn document(advisory: &Advisory, category: &str, id: &str) -> Result<Value, FormatError> {
    let published = advisory.published().ok_or(FormatError::Missing {
        format: "a CSAF document",
        what: "a publication (a first revision)",
    })?;
    let mut history: Vec<Value> = advisory
        .revisions
        .iter()
        .map(|r| json!({ "number": r.number.to_string(), "date": utc(r.at), "summary": r.summary }))
        .collect();
    let mut notes = vec![
        json!({ "category": "summary", "title": "Summary", "text": advisory.summary.trim() }),
        json!({ "category": "description", "title": "Details", "text": advisory.details() }),
    ];
    if let Some(withdrawn) = &advisory.withdrawn {
        let number = advisory.revisions.len() + 1;
        history.push(json!({
            "number": number.to_string(),
            "date": utc(withdrawn.at),
            "summary": format!("Withdrawn: {}", withdrawn.reason),
        }));
        notes.insert(
            0,
            json!({
                "category": "general",
                "title": "Withdrawn",
                "text": format!("This advisory is withdrawn: {}", withdrawn.reason),
            }),
        );
    }
    let version = history.len().to_string();
    let current = advisory.modified().unwrap_or(published);
    let mut references = vec![json!({
        "category": "external",
        "summary": format!("{} advisory {}", advisory.publisher.name, advisory.id),
        "url": advisory.url,
    })];
    references.extend(
        advisory
            .references
            .iter()
            .filter(|r| r.url != advisory.url)
            .map(|r| {
                let summary = match r.kind {
                    ReferenceKind::Advisory => "Advisory",
                    ReferenceKind::Fix => "Fix",
                    ReferenceKind::ReleaseNotes => "Release notes",
                    ReferenceKind::Report => "Report",
                    ReferenceKind::Web => "Reference",
                };
                json!({ "category": "external", "summary": summary, "url": r.url })
            }),
    );
    Ok(json!({
        "document": {
            "category": category,
            "csaf_version": "2.0",
            "lang": "en",
            "title": advisory.title,
            "publisher": {
                "category": "vendor",
                "name": advisory.publisher.name,
                "namespace": advisory.publisher.namespace,
                "contact_details": advisory.publisher.contact,
            },
            "tracking": {
                "id": id,
                "status": "final",
                "version": version,
                "initial_release_date": utc(published),
                "current_release_date": utc(current),
                "revision_history": history,
                "generator": {
                    "engine": { "name": "Vulndesk", "version": env!("CARGO_PKG_VERSION") },
                },
            },
            "notes": notes,
            "references": references,
        }
    }))
}

/// The vulnerability both profiles describe, without its product statuses.
fn vulnerability(advisory: &Advisory) -> Value {
    let mut v = json!({
        "title": advisory.title,
        "notes": [{ "category": "description", "title": "Details", "text": advisory.details() }],
    });
    let o = v.as_object_mut().expect("an object");
    match &advisory.cve {
        Some(cve) => {
            o.insert("cve".into(), json!(cve));
        }
        None => {
            o.insert(
                "ids".into(),
                json!([{ "system_name": advisory.publisher.name, "text": advisory.id }]),
            );
        }
    }
    // CSAF 2.0 names one weakness per vulnerability: the first, the most specific.
    if let Some(w) = advisory.weaknesses.first() {
        o.insert(
            "cwe".into(),
            json!({ "id": format!("CWE-{}", w.id), "name": w.name }),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judges::bsi_valid;
    use crate::sample;
    use std::path::PathBuf;
    use vulndesk_core::advisory::{Revision, Withdrawal};

    fn revised() -> Advisory {
        let mut a = sample::advisory();
        a.revisions.push(Revision {
            number: 2,
            at: "2026-12-05T10:00:00Z".parse().unwrap(),
            summary: "The fix for 5.6 is released.".into(),
        });
        a.products[0].lines[1].fixed = Some("5.6.9".into());
        a
    }

    fn withdrawn() -> Advisory {
        let mut a = revised();
        a.withdrawn = Some(Withdrawal {
            at: "2026-12-06T10:00:00Z".parse().unwrap(),
            reason: "The crash needs a build option no release uses.".into(),
        });
        a
    }

    #[test]
    fn the_advisory_its_revision_its_withdrawal_and_the_vex_pass_the_bsi_validator() {
        let published = advisory(&sample::advisory()).unwrap();
        let vex_doc = vex(&sample::advisory()).unwrap();
        bsi_valid(&[
            ("published", published.clone()),
            ("revised", advisory(&revised()).unwrap()),
            ("withdrawn", advisory(&withdrawn()).unwrap()),
            ("vex", vex_doc.clone()),
        ]);
        let tracking = &published["document"]["tracking"];
        assert_eq!(tracking["version"], "1");
        let status = &published["vulnerabilities"][0]["product_status"];
        assert_eq!(
            status["known_affected"],
            json!(["PROD-1-1-AFFECTED", "PROD-1-2-AFFECTED"])
        );
        assert_eq!(status["fixed"], json!(["PROD-1-1-FIXED"]));
        assert_eq!(vex_doc["document"]["category"], "csaf_vex");
        assert_eq!(
            vex_doc["vulnerabilities"][0]["flags"][0]["label"],
            "vulnerable_code_not_present"
        );
    }

    #[test]
    fn a_withdrawal_is_the_last_revision_and_says_why() {
        let doc = advisory(&withdrawn()).unwrap();
        let tracking = &doc["document"]["tracking"];
        assert_eq!(tracking["version"], "3");
        assert_eq!(tracking["current_release_date"], "2026-12-06T10:00:00Z");
        let last = &tracking["revision_history"][2];
        assert!(last["summary"].as_str().unwrap().starts_with("Withdrawn: "));
        assert_eq!(doc["document"]["notes"][0]["title"], "Withdrawn");
    }

    #[test]
    fn the_bsi_validator_refuses_what_csaf_does_not_allow() {
        // The judge judges: a document whose score does not match its vector, and one
        // whose version disagrees with its history, are refused.
        let mut doc = advisory(&sample::advisory()).unwrap();
        doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = json!(1.0);
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/validators");
        let file =
            std::env::temp_dir().join(format!("vulndesk-csaf-bad-{}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let out = std::process::Command::new("node")
            .arg(root.join("csaf.mjs"))
            .arg(&file)
            .current_dir(&root)
            .output()
            .expect("node runs the validator");
        let _ = std::fs::remove_file(&file);
        assert!(
            !out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("INVALID"));
    }

    #[test]
    fn without_statements_there_is_no_vex_and_without_products_no_advisory() {
        let mut a = sample::advisory();
        a.statements.clear();
        assert!(matches!(vex(&a), Err(FormatError::Missing { .. })));
        a.products.clear();
        assert!(matches!(advisory(&a), Err(FormatError::Missing { .. })));
    }
}
