//! Which dates a person may plausibly give for a case: a fix release, a schedule, an
//! override, an observation. A typo such as year 9999 or 0202 would otherwise become a
//! promise (or push every clock past any horizon), so every date that enters from the
//! API, the team's forms or the command line is checked here, against one window.

use jiff::ToSpan;
use jiff::civil::{Date, date};

/// Nothing in a disclosure process predates 1990 (CERT/CC itself dates from 1988; the
/// first coordinated-disclosure policies came later).
pub const EARLIEST: Date = date(1990, 1, 1);

/// How far after the reference day a date may lie: deadlines and schedules are months
/// ahead, so ten years is far beyond any genuine plan and well before a typo's year 9999.
pub const YEARS_AHEAD: i16 = 10;

/// A date outside the window, with the field it came in and the bounds that apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{field}: {given} is not a plausible date; expected a day from {earliest} to {latest} ({YEARS_AHEAD} years after {reference})"
)]
pub struct ImplausibleDate {
    pub field: String,
    pub given: Date,
    pub earliest: Date,
    pub latest: Date,
    pub reference: Date,
}

/// The latest plausible day for dates given on `reference` (today, or the report day).
pub fn latest(reference: Date) -> Date {
    reference.saturating_add(i64::from(YEARS_AHEAD).years())
}

/// `given` if it lies from [`EARLIEST`] to [`YEARS_AHEAD`] years after `reference`.
pub fn check(field: &str, given: Date, reference: Date) -> Result<Date, ImplausibleDate> {
    let latest = latest(reference);
    if (EARLIEST..=latest).contains(&given) {
        Ok(given)
    } else {
        Err(ImplausibleDate {
            field: field.to_owned(),
            given,
            earliest: EARLIEST,
            latest,
            reference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_runs_from_1990_to_ten_years_after_the_reference() {
        let today = date(2026, 11, 25);
        assert_eq!(check("due", date(1990, 1, 1), today), Ok(date(1990, 1, 1)));
        assert_eq!(
            check("due", date(2036, 11, 25), today),
            Ok(date(2036, 11, 25))
        );
        for bad in [
            date(1989, 12, 31),
            date(2036, 11, 26),
            date(9999, 12, 31),
            date(202, 1, 1),
        ] {
            let e = check("due", bad, today).unwrap_err();
            assert_eq!(e.field, "due");
            assert_eq!(e.latest, date(2036, 11, 25));
        }
    }

    #[test]
    fn the_message_names_the_field_and_the_window() {
        let e = check("release", date(9999, 1, 1), date(2026, 4, 5)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "release: 9999-01-01 is not a plausible date; expected a day from 1990-01-01 to 2036-04-05 (10 years after 2026-04-05)"
        );
    }

    #[test]
    fn a_reference_near_the_end_of_time_saturates() {
        assert_eq!(latest(date(9995, 1, 1)), date(9999, 12, 31));
    }
}
