//! Durations written the way security policies state them: "3 business days",
//! "90 days", "2 weeks".

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};

/// The unit a policy counts a period in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Calendar days: every day counts.
    Days,
    /// Days that are business days of the policy's calendar.
    BusinessDays,
    /// Seven calendar days each.
    Weeks,
}

/// A period such as "3 business days", parsed once so later code can trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub count: u32,
    pub unit: Unit,
}

/// Why a period could not be parsed; the message is written for the policy's author.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("expected a period such as \"3 business days\", \"90 days\" or \"2 weeks\", got {0:?}")]
    Shape(String),
    #[error("{0:?} is not a whole number of days, expected a number from 0 to 100000")]
    Count(String),
    #[error("unknown unit {0:?}, expected days, business days or weeks")]
    Unit(String),
}

/// Longest period a policy may state; far beyond any real policy, small enough that
/// date arithmetic never overflows.
const MAX_COUNT: u32 = 100_000;

impl Period {
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let text = text.trim();
        let (count, unit) = text
            .split_once(char::is_whitespace)
            .ok_or_else(|| PeriodError::Shape(text.to_string()))?;
        let count: u32 = count
            .parse()
            .ok()
            .filter(|n| *n <= MAX_COUNT)
            .ok_or_else(|| PeriodError::Count(count.to_string()))?;
        let unit_words: Vec<&str> = unit.split_whitespace().collect();
        let unit = match unit_words.join(" ").to_ascii_lowercase().as_str() {
            "day" | "days" | "calendar day" | "calendar days" => Unit::Days,
            "business day" | "business days" | "working day" | "working days" | "work day"
            | "work days" => Unit::BusinessDays,
            "week" | "weeks" => Unit::Weeks,
            _ => return Err(PeriodError::Unit(unit_words.join(" "))),
        };
        Ok(Period { count, unit })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.count == 1;
        let unit = match (self.unit, one) {
            (Unit::Days, true) => "day",
            (Unit::Days, false) => "days",
            (Unit::BusinessDays, true) => "business day",
            (Unit::BusinessDays, false) => "business days",
            (Unit::Weeks, true) => "week",
            (Unit::Weeks, false) => "weeks",
        };
        write!(f, "{} {unit}", self.count)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Period::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ways_policies_write_periods() {
        let cases = [
            ("3 business days", 3, Unit::BusinessDays),
            ("90 days", 90, Unit::Days),
            ("1 day", 1, Unit::Days),
            ("2 weeks", 2, Unit::Weeks),
            ("60  Business   Days", 60, Unit::BusinessDays),
            ("5 working days", 5, Unit::BusinessDays),
            (" 45 calendar days ", 45, Unit::Days),
        ];
        for (text, count, unit) in cases {
            assert_eq!(Period::parse(text), Ok(Period { count, unit }), "{text}");
        }
    }

    #[test]
    fn misspelt_unit_names_the_unit_and_the_choices() {
        let err = Period::parse("3 buisness days").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown unit \"buisness days\", expected days, business days or weeks"
        );
    }

    #[test]
    fn rejects_missing_units_signs_and_huge_counts() {
        assert!(matches!(Period::parse("90"), Err(PeriodError::Shape(_))));
        assert!(matches!(
            Period::parse("-3 days"),
            Err(PeriodError::Count(_))
        ));
        assert!(matches!(
            Period::parse("1.5 days"),
            Err(PeriodError::Count(_))
        ));
        assert!(matches!(
            Period::parse("100001 days"),
            Err(PeriodError::Count(_))
        ));
        assert!(matches!(
            Period::parse("3 months"),
            Err(PeriodError::Unit(_))
        ));
    }

    #[test]
    fn displays_back_in_policy_words() {
        for text in ["1 day", "3 business days", "2 weeks", "1 business day"] {
            assert_eq!(Period::parse(text).unwrap().to_string(), text);
        }
    }
}
