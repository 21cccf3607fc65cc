//! Threading keys: which case an inbound message belongs to.
//!
//! The intake issue orders them: a per-case reply address (or its tag)
//! first, then `In-Reply-To`/`References` against the Message-IDs the case
//! already holds. The tag is a 128-bit secret (32 lowercase hex digits) in
//! the subaddress, so guessing another case's address is infeasible.

use crate::parse::Inbound;

const TAG_LEN: usize = 32;

/// The per-case tag in `security+<32 lowercase hex>@example.org`, or `None`
/// for any other shape (no tag, wrong length, uppercase, no domain):
/// `security+3f9a0c1d2e3f405162738495a6b7c8d9@example.org` gives
/// `3f9a0c1d2e3f405162738495a6b7c8d9`, `security@example.org` gives `None`.
pub fn reply_tag(recipient: &str) -> Option<String> {
    let (local, domain) = recipient.trim().rsplit_once('@')?;
    let (base, tag) = local.rsplit_once('+')?;
    let is_tag =
        tag.len() == TAG_LEN && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (is_tag && !base.is_empty() && !domain.is_empty()).then(|| tag.to_owned())
}

/// The per-case reply address: `tag` as subaddress of `base`
/// (`security@example.org` → `security+<tag>@example.org`). The inverse of
/// [`reply_tag`]. `base` should be an address; without `@` the tag is
/// appended.
pub fn reply_address(base: &str, tag: &str) -> String {
    match base.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{tag}@{domain}"),
        None => format!("{base}+{tag}"),
    }
}

/// The per-case tag found among the recipients, if any.
pub fn find_reply_tag(inbound: &Inbound) -> Option<String> {
    inbound.to.iter().find_map(|r| reply_tag(r))
}

/// How many `References` ids are used, newest first: the nearest ancestors
/// find the thread, and a header of thousands of ids must not cost a
/// look-up or a stored row each (RFC 5322 section 3.6.4 lets senders trim
/// it the same way).
pub const MAX_REFERENCES: usize = 20;
/// How many `In-Reply-To` ids are used (RFC 5322 expects one).
pub const MAX_IN_REPLY_TO: usize = 5;

/// Message-IDs to look up, most telling first: `In-Reply-To`, then
/// `References` newest first (the last one written is the direct parent),
/// without duplicates, at most [`MAX_IN_REPLY_TO`] + [`MAX_REFERENCES`].
pub fn candidate_ids(inbound: &Inbound) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in inbound
        .in_reply_to
        .iter()
        .take(MAX_IN_REPLY_TO)
        .chain(inbound.references.iter().rev().take(MAX_REFERENCES))
    {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "3f9a0c1d2e3f405162738495a6b7c8d9";

    #[test]
    fn reply_tag_accepts_only_32_lowercase_hex_subaddresses() {
        assert_eq!(
            reply_tag(&format!("security+{TAG}@example.org")).as_deref(),
            Some(TAG)
        );
        assert_eq!(
            reply_tag(&format!("sec+intake+{TAG}@example.org")).as_deref(),
            Some(TAG)
        );
        for not_a_tag in [
            "security@example.org".to_owned(),
            format!("security+{}@example.org", TAG.to_uppercase()),
            format!("security+{}@example.org", &TAG[1..]),
            format!("security+{TAG}0@example.org"),
            format!("security+{}g@example.org", &TAG[1..]),
            format!("security+{TAG}@"),
            format!("+{TAG}@example.org"),
            format!("security+{TAG}"),
        ] {
            assert_eq!(reply_tag(&not_a_tag), None, "{not_a_tag}");
        }
    }

    #[test]
    fn reply_address_is_the_inverse_of_reply_tag() {
        let address = reply_address("security@example.org", TAG);
        assert_eq!(address, format!("security+{TAG}@example.org"));
        assert_eq!(reply_tag(&address).as_deref(), Some(TAG));
    }

    #[test]
    fn reply_tag_is_found_among_all_recipients() {
        let inbound = Inbound {
            to: vec![
                "security@example.org".into(),
                reply_address("security@example.org", TAG),
            ],
            ..Inbound::default()
        };
        assert_eq!(find_reply_tag(&inbound).as_deref(), Some(TAG));
        assert_eq!(find_reply_tag(&Inbound::default()), None);
    }

    #[test]
    fn candidate_ids_put_in_reply_to_first_then_references_newest_first() {
        let inbound = Inbound {
            in_reply_to: vec!["c@x".into()],
            references: vec!["a@x".into(), "b@x".into(), "c@x".into()],
            ..Inbound::default()
        };
        assert_eq!(candidate_ids(&inbound), ["c@x", "b@x", "a@x"]);
        assert!(candidate_ids(&Inbound::default()).is_empty());
    }

    #[test]
    fn candidate_ids_are_bounded_to_the_nearest_ancestors() {
        let inbound = Inbound {
            in_reply_to: (0..50).map(|n| format!("p{n}@x")).collect(),
            references: (0..100_000).map(|n| format!("r{n}@x")).collect(),
            ..Inbound::default()
        };
        let ids = candidate_ids(&inbound);
        assert_eq!(ids.len(), MAX_IN_REPLY_TO + MAX_REFERENCES);
        assert_eq!(ids[MAX_IN_REPLY_TO], "r99999@x", "the direct parent first");
        assert_eq!(ids.last().map(String::as_str), Some("r99980@x"));
    }
}
