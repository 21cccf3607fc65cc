//! CVSS severity: parsing CVSS 3.0, 3.1 and 4.0 vector strings, their base score and
//! qualitative rating.
//!
//! The scoring itself is delegated to the RustSec `cvss` crate, so the 3.x formulas and the
//! 4.0 macro-vector tables are not maintained here. What this module adds is the front door:
//! a strict grammar check that names the offending metric in words a reporter can act on,
//! a single normalised spelling of every vector (so two spellings of the same assessment
//! compare equal), and our own [`Rating`] type so callers do not depend on the crate's.
//!
//! The grammar follows the FIRST specifications: every base metric is mandatory, each metric
//! appears at most once, values are case-sensitive abbreviations, and `X` (Not Defined) is
//! allowed only for the optional metrics. CVSS 4.0 requires metrics in the specification's
//! order; CVSS 3.x does not, so 3.x vectors in any order are accepted and normalised.

use std::fmt;
use std::str::FromStr;

/// The CVSS versions Vulndesk accepts. CVSS 2 is deliberately absent: its vectors carry no
/// version prefix and new advisories no longer use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// CVSS 3.0, which differs from 3.1 only in rounding and the environmental formula.
    V3_0,
    /// CVSS 3.1.
    V3_1,
    /// CVSS 4.0.
    V4_0,
}

impl Version {
    /// The version as written after `CVSS:` in a vector, e.g. `"3.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3_0 => "3.0",
            Version::V3_1 => "3.1",
            Version::V4_0 => "4.0",
        }
    }

    fn metrics(self) -> &'static [MetricSpec] {
        match self {
            Version::V3_0 | Version::V3_1 => V3_METRICS,
            Version::V4_0 => V4_METRICS,
        }
    }

    /// Only 4.0 makes the metric order part of the grammar (specification section 7).
    fn requires_order(self) -> bool {
        self == Version::V4_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The qualitative severity rating scale shared by CVSS 3.x and 4.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rating {
    /// Score 0.0.
    None,
    /// Score 0.1 to 3.9.
    Low,
    /// Score 4.0 to 6.9.
    Medium,
    /// Score 7.0 to 8.9.
    High,
    /// Score 9.0 to 10.0.
    Critical,
}

impl Rating {
    /// The rating for a score, per the specifications' qualitative scale. Scores are given
    /// to one decimal, so the bands are compared against the midpoints between them to
    /// stay correct if a caller passes a score with floating-point noise.
    pub fn from_score(score: f64) -> Rating {
        if score < 0.05 {
            Rating::None
        } else if score < 3.95 {
            Rating::Low
        } else if score < 6.95 {
            Rating::Medium
        } else if score < 8.95 {
            Rating::High
        } else {
            Rating::Critical
        }
    }

    /// The rating's name as the specifications write it, e.g. `"Critical"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::None => "None",
            Rating::Low => "Low",
            Rating::Medium => "Medium",
            Rating::High => "High",
            Rating::Critical => "Critical",
        }
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a vector was rejected. Messages name the metric at fault, because the usual reader is
/// a reporter who pasted a vector from a calculator and needs to know what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeverityError {
    /// The text does not start with a `CVSS:<version>/` prefix.
    #[error(
        "not a CVSS vector: expected it to start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/, got {0:?}"
    )]
    NotAVector(String),
    /// The prefix names a CVSS version we do not score.
    #[error("unsupported CVSS version {0:?}, expected 3.0, 3.1 or 4.0")]
    UnsupportedVersion(String),
    /// A `/`-separated part is not of the form `METRIC:VALUE` (including empty parts).
    #[error("CVSS:{version} vector: malformed component {component:?}, expected METRIC:VALUE")]
    MalformedComponent {
        /// The vector's version.
        version: Version,
        /// The offending part, as written.
        component: String,
    },
    /// A metric abbreviation the version does not define.
    #[error("CVSS:{version} vector: unknown metric {metric}")]
    UnknownMetric {
        /// The vector's version.
        version: Version,
        /// The metric, as written.
        metric: String,
    },
    /// A value the metric does not allow.
    #[error(
        "CVSS:{version} vector: unknown value {value} for metric {metric}, expected {expected}"
    )]
    UnknownValue {
        /// The vector's version.
        version: Version,
        /// The metric's abbreviation.
        metric: &'static str,
        /// The value, as written.
        value: String,
        /// The allowed values, as an English list ("N, A, L or P").
        expected: String,
    },
    /// A metric given twice.
    #[error("CVSS:{version} vector: duplicate metric {metric}")]
    DuplicateMetric {
        /// The vector's version.
        version: Version,
        /// The metric's abbreviation.
        metric: &'static str,
    },
    /// A mandatory (base) metric is absent.
    #[error("CVSS:{version} vector: missing metric {metric}")]
    MissingMetric {
        /// The vector's version.
        version: Version,
        /// The first missing metric, in specification order.
        metric: &'static str,
    },
    /// CVSS 4.0 only: a metric appears after one the specification orders later.
    #[error("CVSS:{version} vector: metrics out of order, {metric} must come before {after}")]
    OutOfOrder {
        /// The vector's version.
        version: Version,
        /// The metric that came too late.
        metric: &'static str,
        /// The metric it was found after.
        after: &'static str,
    },
    /// The scoring library refused a vector our grammar accepted. This would be a bug on one
    /// side or the other; it is an error rather than a panic so a bad vector can never take
    /// the desk down.
    #[error("CVSS:{version} vector: rejected by the scoring library: {detail}")]
    Scoring {
        /// The vector's version.
        version: Version,
        /// The library's message.
        detail: String,
    },
}

/// One metric of a version's vector grammar, in specification order.
struct MetricSpec {
    name: &'static str,
    values: &'static [&'static str],
    mandatory: bool,
}

const fn base(name: &'static str, values: &'static [&'static str]) -> MetricSpec {
    MetricSpec {
        name,
        values,
        mandatory: true,
    }
}

/// Optional metrics list `X` (Not Defined) among their values.
const fn opt(name: &'static str, values: &'static [&'static str]) -> MetricSpec {
    MetricSpec {
        name,
        values,
        mandatory: false,
    }
}

/// CVSS 3.x metrics in the order of the 3.1 specification, table 15 (base, temporal,
/// environmental), which is also the order of the normalised vector.
const V3_METRICS: &[MetricSpec] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "R"]),
    base("S", &["U", "C"]),
    base("C", &["H", "L", "N"]),
    base("I", &["H", "L", "N"]),
    base("A", &["H", "L", "N"]),
    opt("E", &["X", "H", "F", "P", "U"]),
    opt("RL", &["X", "U", "W", "T", "O"]),
    opt("RC", &["X", "C", "R", "U"]),
    opt("CR", &["X", "H", "M", "L"]),
    opt("IR", &["X", "H", "M", "L"]),
    opt("AR", &["X", "H", "M", "L"]),
    opt("MAV", &["X", "N", "A", "L", "P"]),
    opt("MAC", &["X", "L", "H"]),
    opt("MPR", &["X", "N", "L", "H"]),
    opt("MUI", &["X", "N", "R"]),
    opt("MS", &["X", "U", "C"]),
    opt("MC", &["X", "H", "L", "N"]),
    opt("MI", &["X", "H", "L", "N"]),
    opt("MA", &["X", "H", "L", "N"]),
];

/// CVSS 4.0 metrics in the order the 4.0 specification (section 7) requires: base, threat,
/// environmental, supplemental.
const V4_METRICS: &[MetricSpec] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("AT", &["N", "P"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "P", "A"]),
    base("VC", &["H", "L", "N"]),
    base("VI", &["H", "L", "N"]),
    base("VA", &["H", "L", "N"]),
    base("SC", &["H", "L", "N"]),
    base("SI", &["H", "L", "N"]),
    base("SA", &["H", "L", "N"]),
    opt("E", &["X", "A", "P", "U"]),
    opt("CR", &["X", "H", "M", "L"]),
    opt("IR", &["X", "H", "M", "L"]),
    opt("AR", &["X", "H", "M", "L"]),
    opt("MAV", &["X", "N", "A", "L", "P"]),
    opt("MAC", &["X", "L", "H"]),
    opt("MAT", &["X", "N", "P"]),
    opt("MPR", &["X", "N", "L", "H"]),
    opt("MUI", &["X", "N", "P", "A"]),
    opt("MVC", &["X", "H", "L", "N"]),
    opt("MVI", &["X", "H", "L", "N"]),
    opt("MVA", &["X", "H", "L", "N"]),
    opt("MSC", &["X", "H", "L", "N"]),
    // Only the modified subsequent integrity and availability may be Safety (S).
    opt("MSI", &["X", "S", "H", "L", "N"]),
    opt("MSA", &["X", "S", "H", "L", "N"]),
    opt("S", &["X", "N", "P"]),
    opt("AU", &["X", "N", "Y"]),
    opt("R", &["X", "A", "U", "I"]),
    opt("V", &["X", "D", "C"]),
    opt("RE", &["X", "L", "M", "H"]),
    opt("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// A parsed, validated and scored CVSS 3.0, 3.1 or 4.0 vector.
///
/// The score is computed once at parse time: a vector is immutable, and this keeps the
/// accessors infallible and cheap.
#[derive(Debug, Clone, PartialEq)]
pub struct Cvss {
    version: Version,
    normalised: String,
    score: f64,
}

impl Cvss {
    /// Parses a vector such as `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` or
    /// `CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N`.
    ///
    /// Leading and trailing whitespace is ignored (vectors are usually pasted); everything
    /// else must follow the specification's grammar exactly.
    pub fn parse(vector: &str) -> Result<Cvss, SeverityError> {
        let vector = vector.trim();
        let (prefix, rest) = vector
            .split_once('/')
            .ok_or_else(|| SeverityError::NotAVector(vector.to_owned()))?;
        let version = match prefix.strip_prefix("CVSS:") {
            Some("3.0") => Version::V3_0,
            Some("3.1") => Version::V3_1,
            Some("4.0") => Version::V4_0,
            Some(other) => return Err(SeverityError::UnsupportedVersion(other.to_owned())),
            None => return Err(SeverityError::NotAVector(vector.to_owned())),
        };
        let specs = version.metrics();

        let mut values: Vec<Option<&'static str>> = vec![None; specs.len()];
        let mut last: Option<usize> = None;
        for component in rest.split('/') {
            let malformed = || SeverityError::MalformedComponent {
                version,
                component: component.to_owned(),
            };
            let (metric, value) = component.split_once(':').ok_or_else(malformed)?;
            if metric.is_empty() || value.is_empty() {
                return Err(malformed());
            }
            let index = specs.iter().position(|s| s.name == metric).ok_or_else(|| {
                SeverityError::UnknownMetric {
                    version,
                    metric: metric.to_owned(),
                }
            })?;
            let spec = &specs[index];
            let value = spec
                .values
                .iter()
                .copied()
                .find(|v| *v == value)
                .ok_or_else(|| SeverityError::UnknownValue {
                    version,
                    metric: spec.name,
                    value: value.to_owned(),
                    expected: english_list(spec.values),
                })?;
            if values[index].is_some() {
                return Err(SeverityError::DuplicateMetric {
                    version,
                    metric: spec.name,
                });
            }
            if version.requires_order()
                && let Some(previous) = last
                && previous > index
            {
                return Err(SeverityError::OutOfOrder {
                    version,
                    metric: spec.name,
                    after: specs[previous].name,
                });
            }
            values[index] = Some(value);
            last = Some(index);
        }
        if let Some(spec) = specs
            .iter()
            .zip(&values)
            .find_map(|(spec, value)| (spec.mandatory && value.is_none()).then_some(spec))
        {
            return Err(SeverityError::MissingMetric {
                version,
                metric: spec.name,
            });
        }

        // Not Defined is the same as absent, so it is dropped: one assessment, one spelling.
        let mut normalised = format!("CVSS:{version}");
        for (spec, value) in specs.iter().zip(&values) {
            if let Some(value) = value.filter(|v| *v != "X") {
                normalised.push('/');
                normalised.push_str(spec.name);
                normalised.push(':');
                normalised.push_str(value);
            }
        }

        let scored = cvss::Cvss::from_str(&normalised).map_err(|e| SeverityError::Scoring {
            version,
            detail: e.to_string(),
        })?;
        // The crate already rounds per version (3.0 round-up, 3.1 Appendix A "Roundup", 4.0
        // half-up); re-rounding to one decimal only removes binary representation noise.
        let score = (scored.score() * 10.0).round() / 10.0;
        Ok(Cvss {
            version,
            normalised,
            score,
        })
    }

    /// The vector's CVSS version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The score, 0.0 to 10.0 with one decimal.
    ///
    /// For CVSS 3.x this is the base score: temporal and environmental metrics are
    /// validated and kept in the vector but do not change it. For CVSS 4.0 there is a single
    /// score computed from every metric present (CVSS-B, -BT, -BE or -BTE in the
    /// specification's nomenclature), which is the 4.0 macro-vector score.
    pub fn base_score(&self) -> f64 {
        self.score
    }

    /// The qualitative rating of [`Cvss::base_score`].
    pub fn severity(&self) -> Rating {
        Rating::from_score(self.score)
    }
}

impl FromStr for Cvss {
    type Err = SeverityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cvss::parse(s)
    }
}

/// The normalised vector: metrics in specification order, Not Defined (`X`) values omitted.
impl fmt::Display for Cvss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalised)
    }
}

/// `["N", "A", "L", "P"]` → `"N, A, L or P"`.
fn english_list(values: &[&str]) -> String {
    match values {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests;
