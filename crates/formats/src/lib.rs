//! Pure renderers of a published advisory ([`vulndesk_core::advisory::Advisory`]) into the
//! formats others read it in: a CVE JSON 5 record ([`cve`]), an OSV entry ([`osv`]), and
//! CSAF 2.0 documents, the security advisory and the parties' VEX ([`csaf`]). No I/O: each
//! takes the advisory and answers a JSON document, checked in this crate's tests by the
//! format's official judge: its schema (`schemas/`), or for CSAF the BSI's validator
//! library (`tests/validators/`).

pub mod csaf;
pub mod cve;
pub mod osv;

/// Why an advisory cannot be rendered in a format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The format needs something the advisory does not have yet.
    #[error("{format} needs {what}")]
    Missing {
        format: &'static str,
        what: &'static str,
    },
}

/// An instant as every format here writes it: RFC 3339 in UTC, to the second.
pub(crate) fn utc(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(any(test, feature = "judges"))]
pub mod judges;
#[cfg(test)]
pub(crate) mod sample;
