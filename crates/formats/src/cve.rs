//! A CVE JSON 5 record (CVE Record Format 5.1): what a CNA publishes to the CVE Program, or
//! the rejection of a withdrawn advisory's CVE.

use serde_json::{Value, json};
use vulndesk_core::advisory::{Advisory, CreditKind, ReferenceKind};
use vulndesk_core::severity::Version;
use vulndesk_core::ssvc::{Automatable, Exploitation, MissionImpact, Ssvc, TechnicalImpact};

use crate::{FormatError, utc};

/// The record's format version.
pub const DATA_VERSION: &str = "5.1";

/// Longest description the record format accepts.
const MAX_DESCRIPTION: usize = 4096;

fn missing(what: &'static str) -> FormatError {
    FormatError::Missing {
        format: "a CVE record",
        what,
    }
}

/// The CVE record of `advisory`: published, or rejected when the advisory was withdrawn.
pub fn record(advisory: &Advisory) -> Result<Value, FormatError> {
    let cve = advisory.cve.as_deref().ok_or_else(|| {
        missing("a CVE ID: assign one from the pool, or record the one requested")
    })?;
    let cna = advisory.publisher.cna.as_ref().ok_or_else(|| {
        missing("the identity of the CNA that assigns its CVE ID (the policy's [advisories] cna, or where the ID was requested: GitHub or MITRE)")
    })?;
    let published = advisory
        .published()
        .ok_or_else(|| missing("a publication (a first revision)"))?;
    let updated = advisory.modified().unwrap_or(published);
    let provider = json!({
        "orgId": cna.org_id,
        "shortName": cna.short_name,
        "dateUpdated": utc(updated),
    });
    let metadata = |state: &str| {
        json!({
            "cveId": cve,
            "assignerOrgId": cna.org_id,
            "assignerShortName": cna.short_name,
            "state": state,
            "datePublished": utc(published),
            "dateUpdated": utc(updated),
        })
    };
    if let Some(withdrawn) = &advisory.withdrawn {
        let mut metadata = metadata("REJECTED");
        metadata["dateRejected"] = json!(utc(withdrawn.at));
        let cna = json!({
            "providerMetadata": provider,
            "rejectedReasons": [{ "lang": "en", "value": withdrawn.reason }],
        });
        return Ok(envelope(metadata, cna));
    }
    let details = advisory.details();
    let mut cna_container = json!({
        "providerMetadata": provider,
        "datePublic": utc(published),
        "title": truncate(&advisory.title, 256),
        "descriptions": [{
            "lang": "en",
            "value": truncate(&details, MAX_DESCRIPTION),
            "supportingMedia": [{ "type": "text/markdown", "base64": false, "value": details }],
        }],
        "affected": affected(advisory),
        "references": references(advisory),
    });
    let c = cna_container.as_object_mut().expect("an object");
    if !advisory.weaknesses.is_empty() {
        let descriptions: Vec<Value> = advisory
            .weaknesses
            .iter()
            .map(|w| {
                json!({
                    "lang": "en",
                    "cweId": format!("CWE-{}", w.id),
                    "description": format!("CWE-{} {}", w.id, w.name),
                    "type": "CWE",
                })
            })
            .collect();
        c.insert(
            "problemTypes".into(),
            json!([{ "descriptions": descriptions }]),
        );
    }
    let mut metrics: Vec<Value> = advisory
        .cvss
        .iter()
        .map(|v| {
            let key = match v.version() {
                Version::V3_0 => "cvssV3_0",
                Version::V3_1 => "cvssV3_1",
                Version::V4_0 => "cvssV4_0",
            };
            json!({
                "format": "CVSS",
                key: {
                    "version": v.version().as_str(),
                    "vectorString": v.to_string(),
                    "baseScore": v.base_score(),
                    "baseSeverity": v.severity().as_str().to_ascii_uppercase(),
                }
            })
        })
        .collect();
    // SSVC as CISA's ADP writes it in CVE records: an `other` metric of type `ssvc`.
    if let Some(ssvc) = advisory.ssvc {
        let mut content = json!({
            "options": ssvc_options(&ssvc),
            "decision": ssvc.decision().label(),
            "role": "Coordinator",
            "version": "2.0.3",
        });
        if let Some(at) = advisory.published() {
            content["timestamp"] = json!(utc(at));
        }
        if let Some(cve) = &advisory.cve {
            content["id"] = json!(cve);
        }
        metrics.push(json!({ "other": { "type": "ssvc", "content": content } }));
    }
    if !metrics.is_empty() {
        c.insert("metrics".into(), Value::Array(metrics));
    }
    if !advisory.workarounds.trim().is_empty() {
        c.insert(
            "workarounds".into(),
            json!([{ "lang": "en", "value": advisory.workarounds.trim() }]),
        );
    }
    if !advisory.credits.is_empty() {
        let credits: Vec<Value> = advisory
            .credits
            .iter()
            .map(|credit| {
                json!({ "lang": "en", "value": credit.name, "type": credit_type(credit.kind) })
            })
            .collect();
        c.insert("credits".into(), Value::Array(credits));
    }
    Ok(envelope(metadata("PUBLISHED"), cna_container))
}

/// The SSVC points' values as SSVC writes them.
fn ssvc_options(s: &Ssvc) -> Value {
    let exploitation = match s.exploitation {
        Exploitation::None => "none",
        Exploitation::PublicPoc => "public PoC",
        Exploitation::Active => "active",
    };
    let automatable = match s.automatable {
        Automatable::No => "no",
        Automatable::Yes => "yes",
    };
    let technical = match s.technical_impact {
        TechnicalImpact::Partial => "partial",
        TechnicalImpact::Total => "total",
    };
    let mission = match s.mission_impact {
        MissionImpact::Low => "low",
        MissionImpact::Medium => "medium",
        MissionImpact::High => "high",
    };
    json!([
        { "Exploitation": exploitation },
        { "Automatable": automatable },
        { "Technical Impact": technical },
        { "Mission and Well-Being Impact": mission },
    ])
}

/// The record around its metadata and its CNA container.
fn envelope(metadata: Value, cna: Value) -> Value {
    json!({
        "dataType": "CVE_RECORD",
        "dataVersion": DATA_VERSION,
        "cveMetadata": metadata,
        "containers": { "cna": cna },
    })
}

/// Each product with its lines: affected from the first affected version up to (not
/// including) the fixed one, or from it on while no fix is released.
fn affected(advisory: &Advisory) -> Vec<Value> {
    advisory
        .products
        .iter()
        .map(|p| {
            let versions: Vec<Value> = p
                .lines
                .iter()
                .map(|l| match &l.fixed {
                    Some(fixed) => json!({
                        "version": l.introduced,
                        "lessThan": fixed,
                        "status": "affected",
                        "versionType": "custom",
                    }),
                    // The format's own way to say "and every later version".
                    None => json!({
                        "version": l.introduced,
                        "lessThan": "*",
                        "status": "affected",
                        "versionType": "custom",
                    }),
                })
                .collect();
            let mut product = json!({
                "vendor": p.vendor,
                "product": p.name,
                "defaultStatus": "unaffected",
                "versions": versions,
            });
            if let (Some(component), Some(o)) =
                (advisory.component.as_deref(), product.as_object_mut())
            {
                o.insert("modules".into(), json!([component]));
            }
            if let (Some(package), Some(o)) = (&p.package, product.as_object_mut()) {
                o.insert("packageName".into(), json!(package.name));
            }
            product
        })
        .collect()
}

/// The advisory's own page first (the record needs at least one reference), then the rest.
fn references(advisory: &Advisory) -> Vec<Value> {
    let mut out = vec![json!({ "url": advisory.url, "tags": ["vendor-advisory"] })];
    for r in &advisory.references {
        if r.url == advisory.url {
            continue;
        }
        let tag = match r.kind {
            ReferenceKind::Advisory => "third-party-advisory",
            ReferenceKind::Fix => "patch",
            ReferenceKind::ReleaseNotes => "release-notes",
            ReferenceKind::Report => "issue-tracking",
            ReferenceKind::Web => "related",
        };
        out.push(json!({ "url": r.url, "tags": [tag] }));
    }
    out
}

/// The record format's name for a credit's kind (words, not kebab-case).
fn credit_type(kind: CreditKind) -> String {
    kind.as_str().replace('-', " ")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(max - 1).collect();
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn a_published_advisory_is_a_valid_record_naming_what_was_found() {
        let record = record(&sample::advisory()).unwrap();
        sample::valid(sample::CVE_SCHEMA, &record);
        let cna = &record["containers"]["cna"];
        assert_eq!(record["cveMetadata"]["state"], "PUBLISHED");
        assert_eq!(cna["affected"][0]["versions"][0]["lessThan"], "5.7.4");
        assert_eq!(cna["affected"][0]["versions"][1]["lessThan"], "*");
        assert_eq!(cna["metrics"][0]["cvssV3_1"]["baseSeverity"], "HIGH");
        let ssvc = &cna["metrics"][1]["other"];
        assert_eq!(ssvc["type"], "ssvc");
        assert_eq!(ssvc["content"]["decision"], "Attend");
        assert_eq!(ssvc["content"]["options"][0]["Exploitation"], "public PoC");
        assert_eq!(
            cna["problemTypes"][0]["descriptions"][0]["cweId"],
            "CWE-787"
        );
        assert_eq!(cna["credits"][0]["type"], "finder");
        assert_eq!(cna["credits"][1]["type"], "remediation developer");
        assert_eq!(cna["references"][0]["tags"], json!(["vendor-advisory"]));
        assert!(
            cna["descriptions"][0]["value"]
                .as_str()
                .unwrap()
                .starts_with("A crafted SIP message")
        );
    }

    #[test]
    fn a_withdrawn_advisory_rejects_its_cve_with_the_reason() {
        let mut advisory = sample::advisory();
        advisory.withdrawn = Some(vulndesk_core::advisory::Withdrawal {
            at: "2026-12-01T09:00:00Z".parse().unwrap(),
            reason: "A duplicate of CVE-2026-1111.".into(),
        });
        let record = record(&advisory).unwrap();
        sample::valid(sample::CVE_SCHEMA, &record);
        assert_eq!(record["cveMetadata"]["state"], "REJECTED");
        assert_eq!(
            record["containers"]["cna"]["rejectedReasons"][0]["value"],
            "A duplicate of CVE-2026-1111."
        );
    }

    #[test]
    fn the_record_needs_a_cve_id_and_a_cna() {
        let mut advisory = sample::advisory();
        advisory.cve = None;
        assert!(
            matches!(record(&advisory), Err(FormatError::Missing { what, .. }) if what.starts_with("a CVE ID"))
        );
        let mut advisory = sample::advisory();
        advisory.publisher.cna = None;
        assert!(
            matches!(record(&advisory), Err(FormatError::Missing { what, .. }) if what.contains("CNA"))
        );
    }

    #[test]
    fn a_description_over_the_formats_limit_is_cut_in_its_text_and_kept_whole_in_markdown() {
        let mut advisory = sample::advisory();
        advisory.description = "x".repeat(5000);
        let record = record(&advisory).unwrap();
        sample::valid(sample::CVE_SCHEMA, &record);
        let d = &record["containers"]["cna"]["descriptions"][0];
        assert_eq!(
            d["value"].as_str().unwrap().chars().count(),
            MAX_DESCRIPTION
        );
        assert!(d["supportingMedia"][0]["value"].as_str().unwrap().len() > 5000);
    }
}
