//! What the core's tests share: the reference policies, and a case's first event.

use std::collections::BTreeMap;

use crate::case::{Channel, Event, Recorded};
use crate::policy::Policy;

/// The reference policy `name` from `policies/`.
pub fn policy(name: &str) -> Policy {
    let path = format!("{}/../../policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    Policy::parse(&path, &source).unwrap_or_else(|e| panic!("{e}"))
}

/// A case's log: a report of `product` through the form on 2026-11-20, naming `version`.
pub fn reported(product: &str, version: Option<&str>) -> Vec<Recorded> {
    let fields: BTreeMap<String, String> = version
        .map(|v| [("version".to_owned(), v.to_owned())].into())
        .unwrap_or_default();
    vec![Recorded {
        at: "2026-11-20T10:00:00Z".parse().unwrap(),
        actor: "reporter".into(),
        event: Event::Reported {
            product: product.into(),
            title: "t".into(),
            description: "d".into(),
            reporter_contact: None,
            channel: Channel::Web,
            fields,
            language: None,
        },
    }]
}
