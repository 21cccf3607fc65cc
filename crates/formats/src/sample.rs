//! A published advisory for the renderers' tests, and the official schemas' judgement.

use serde_json::Value;
use vulndesk_core::advisory::*;
use vulndesk_core::coordination::{Justification, VexStatus};
use vulndesk_core::severity::Cvss;

pub use crate::judges::{CVE_SCHEMA, OSV_SCHEMA, errors, valid};

/// Kamailio's advisory of a heap overflow, fixed on one line and not yet on another.
pub fn advisory() -> Advisory {
    Advisory {
        id: "KAMAILIO-2026-0001".into(),
        cve: Some("CVE-2026-31337".into()),
        url: "https://desk.example/o/kamailio/advisories/KAMAILIO-2026-0001".into(),
        publisher: Publisher {
            name: "Kamailio".into(),
            namespace: "https://www.kamailio.org".into(),
            contact: "security@kamailio.org".into(),
            cna: Some(Cna {
                org_id: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6".into(),
                short_name: "kamailio".into(),
            }),
        },
        title: "Heap overflow in the SIP parser".into(),
        summary: "A crafted SIP message overflows a heap buffer in the SIP parser.".into(),
        description: "An attacker who can send SIP messages to the server can crash it.\n\n\
                      Upgrade to 5.7.4."
            .into(),
        component: Some("parser".into()),
        products: vec![Product {
            vendor: "Kamailio".into(),
            name: "kamailio".into(),
            package: None,
            lines: vec![
                LineRange {
                    line: "5.7".into(),
                    introduced: "5.7.0".into(),
                    fixed: Some("5.7.4".into()),
                },
                LineRange {
                    line: "5.6".into(),
                    introduced: "5.6.0".into(),
                    fixed: None,
                },
            ],
        }],
        cvss: vec![Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H").unwrap()],
        ssvc: Some(vulndesk_core::ssvc::Ssvc {
            exploitation: vulndesk_core::ssvc::Exploitation::PublicPoc,
            automatable: vulndesk_core::ssvc::Automatable::No,
            technical_impact: vulndesk_core::ssvc::TechnicalImpact::Total,
            mission_impact: vulndesk_core::ssvc::MissionImpact::High,
        }),
        weaknesses: vec![vulndesk_core::cwe::weakness("CWE-787").unwrap()],
        references: vec![Reference {
            url: "https://github.com/kamailio/kamailio/commit/0123456789abcdef0123456789abcdef01234567"
                .into(),
            kind: ReferenceKind::Fix,
        }],
        workarounds: "Drop SIP messages over 8 KiB at the edge.".into(),
        credits: vec![
            Credit {
                name: "Alfred E. Finder".into(),
                kind: CreditKind::Finder,
            },
            Credit {
                name: "Daniel-Constantin".into(),
                kind: CreditKind::RemediationDeveloper,
            },
        ],
        statements: vec![PartyStatement {
            party: "Debian".into(),
            products: vec!["kamailio (Debian packages)".into()],
            status: VexStatus::NotAffected,
            justification: Some(Justification::VulnerableCodeNotPresent),
            statement: "Debian's packages build without the parser's fast path.".into(),
        }],
        revisions: vec![Revision {
            number: 1,
            at: "2026-11-30T12:00:00Z".parse().unwrap(),
            summary: "Initial publication.".into(),
        }],
        withdrawn: None,
    }
}

/// The judges judge: what the formats do not allow is refused by their schemas.
#[test]
fn the_schemas_refuse_what_their_formats_do_not_allow() {
    let advisory = advisory();
    let mut record = crate::cve::record(&advisory).unwrap();
    record["cveMetadata"]["cveId"] = "CVE-26-1".into();
    record["containers"]["cna"]["references"] = Value::Array(Vec::new());
    let found = errors(CVE_SCHEMA, &record);
    assert!(!found.is_empty(), "a bad CVE ID and no references pass");
    let mut entry = crate::osv::entry(&advisory).unwrap();
    entry["id"] = "KAMAILIO-2026-0001".into();
    assert!(
        !errors(OSV_SCHEMA, &entry).is_empty(),
        "an id outside OSV's namespaces passes"
    );
    let mut entry = crate::osv::entry(&advisory).unwrap();
    entry["modified"] = "2026-11-30 12:00".into();
    assert!(!errors(OSV_SCHEMA, &entry).is_empty(), "a bad time passes");
}
