//! Business-day calendars: weekends, built-in holiday sets, extra dates, and the
//! time zone that decides which day an instant belongs to.
//!
//! Holidays are decided from a date's month, day and weekday alone (see
//! [`HolidaySet::holiday_on`]), so the hot path never builds a list, allocates or
//! locks, and the rules hold for every date jiff can represent.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

/// A built-in holiday set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidaySet {
    /// US federal holidays (5 U.S.C. 6103) with their observed dates.
    UsFederal,
}

impl HolidaySet {
    /// Every built-in set, for listing the accepted names.
    pub const ALL: &'static [HolidaySet] = &[HolidaySet::UsFederal];

    /// The set with this policy-file name (`"us-federal"`), if there is one.
    pub fn parse(name: &str) -> Option<HolidaySet> {
        HolidaySet::ALL
            .iter()
            .copied()
            .find(|set| set.name() == name)
    }

    /// The name a policy file uses for this set.
    pub fn name(self) -> &'static str {
        match self {
            HolidaySet::UsFederal => "us-federal",
        }
    }

    /// How a holiday of this set is introduced in a sentence: "a US federal holiday".
    fn kind(self) -> &'static str {
        match self {
            HolidaySet::UsFederal => "a US federal holiday",
        }
    }

    /// The holiday observed on `d`, if any, e.g. `"Independence Day (observed)"`.
    ///
    /// A holiday falling on a weekend is not "observed" on that day: on the day it
    /// is observed instead, this returns the name with " (observed)".
    pub fn holiday_on(self, d: Date) -> Option<&'static str> {
        match self {
            HolidaySet::UsFederal => us_federal_on(d),
        }
    }

    /// The holidays *observed* in the given year, with names, in date order;
    /// e.g. (2026-07-03, "Independence Day (observed)").
    ///
    /// New Year's Day that falls on a Saturday is observed on 31 December of the year
    /// before, so it belongs to that year's list. Empty for years outside jiff's range.
    pub fn observed(self, year: i16) -> Vec<(Date, &'static str)> {
        let Ok(first) = Date::new(year, 1, 1) else {
            return Vec::new();
        };
        // Scanning the year with the per-date rule keeps one source of truth for
        // both the hot path and this list; 366 cheap checks are nothing here.
        std::iter::successors(Some(first), |d| d.tomorrow().ok())
            .take_while(|d| d.year() == year)
            .filter_map(|d| self.holiday_on(d).map(|name| (d, name)))
            .collect()
    }
}

impl fmt::Display for HolidaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A holiday's name on the day itself and on the day it is observed instead.
struct Named {
    on: &'static str,
    observed: &'static str,
}

const NEW_YEARS_DAY: Named = Named {
    on: "New Year's Day",
    observed: "New Year's Day (observed)",
};
const MLK_BIRTHDAY: &str = "Birthday of Martin Luther King, Jr.";
const WASHINGTONS_BIRTHDAY: &str = "Washington's Birthday";
const MEMORIAL_DAY: &str = "Memorial Day";
const JUNETEENTH: Named = Named {
    on: "Juneteenth National Independence Day",
    observed: "Juneteenth National Independence Day (observed)",
};
const INDEPENDENCE_DAY: Named = Named {
    on: "Independence Day",
    observed: "Independence Day (observed)",
};
const LABOR_DAY: &str = "Labor Day";
const COLUMBUS_DAY: &str = "Columbus Day";
const VETERANS_DAY: Named = Named {
    on: "Veterans Day",
    observed: "Veterans Day (observed)",
};
const THANKSGIVING_DAY: &str = "Thanksgiving Day";
const CHRISTMAS_DAY: Named = Named {
    on: "Christmas Day",
    observed: "Christmas Day (observed)",
};

/// The US federal holiday observed on `d`, from 5 U.S.C. 6103 as OPM applies it.
///
/// The rules in force since 1971 (Uniform Monday Holiday Act) are applied to every
/// year, with the dated exceptions that fall in 1971 and later: Martin Luther King
/// Jr.'s birthday from 1986, Veterans Day on the fourth Monday of October from 1971
/// to 1977, Juneteenth from 2021. Older years get today's rules rather than history.
fn us_federal_on(d: Date) -> Option<&'static str> {
    let (year, day, weekday) = (d.year(), d.day(), d.weekday());
    // The n-th given weekday of a month falls on day 7n-6 ..= 7n, which decides
    // "third Monday" and the like without building any date.
    let nth = |n: i8, wd: Weekday| weekday == wd && (7 * n - 6..=7 * n).contains(&day);
    let monday = |n| nth(n, Weekday::Monday);
    let when = |rule: bool, name: &'static str| rule.then_some(name);
    match d.month() {
        1 => fixed_date(day, weekday, 1, &NEW_YEARS_DAY)
            .or_else(|| when(year >= 1986 && monday(3), MLK_BIRTHDAY)),
        2 => when(monday(3), WASHINGTONS_BIRTHDAY),
        // The last Monday of May is the one within its last seven days (25..=31).
        5 => when(weekday == Weekday::Monday && day >= 25, MEMORIAL_DAY),
        6 if year >= 2021 => fixed_date(day, weekday, 19, &JUNETEENTH),
        7 => fixed_date(day, weekday, 4, &INDEPENDENCE_DAY),
        9 => when(monday(1), LABOR_DAY),
        10 => when(monday(2), COLUMBUS_DAY)
            .or_else(|| when(veterans_day_in_october(year) && monday(4), VETERANS_DAY.on)),
        11 => {
            let veterans = if veterans_day_in_october(year) {
                None
            } else {
                fixed_date(day, weekday, 11, &VETERANS_DAY)
            };
            veterans.or_else(|| when(nth(4, Weekday::Thursday), THANKSGIVING_DAY))
        }
        // New Year's Day on a Saturday is observed on Friday 31 December, which is
        // the only observed date that crosses into another month (and year).
        12 => fixed_date(day, weekday, 25, &CHRISTMAS_DAY).or_else(|| {
            when(
                day == 31 && weekday == Weekday::Friday,
                NEW_YEARS_DAY.observed,
            )
        }),
        _ => None,
    }
}

/// Public Law 90-363 moved Veterans Day to the fourth Monday of October from 1971;
/// Public Law 94-97 moved it back to 11 November from 1978.
fn veterans_day_in_october(year: i16) -> bool {
    (1971..=1977).contains(&year)
}

/// A fixed-date holiday on `holiday` of the month: observed that day on a weekday,
/// the Friday before when it is a Saturday, the Monday after when it is a Sunday
/// (5 U.S.C. 6103(b) and Executive Order 11582).
fn fixed_date(day: i8, weekday: Weekday, holiday: i8, name: &Named) -> Option<&'static str> {
    match weekday {
        Weekday::Saturday | Weekday::Sunday => None,
        _ if day == holiday => Some(name.on),
        Weekday::Friday if day + 1 == holiday => Some(name.observed),
        Weekday::Monday if day - 1 == holiday => Some(name.observed),
        _ => None,
    }
}

/// Why a date is not a business day. `Display` gives the words people read:
/// "Saturday", "a US federal holiday (Independence Day (observed))",
/// "an extra holiday of this policy".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonBusinessReason {
    /// A weekend day of the calendar.
    Weekend(Weekday),
    /// A holiday of one of the calendar's built-in sets.
    Holiday { set: HolidaySet, name: &'static str },
    /// One of the calendar's extra dates.
    Extra,
}

impl fmt::Display for NonBusinessReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonBusinessReason::Weekend(wd) => f.write_str(weekday_name(*wd)),
            NonBusinessReason::Holiday { set, name } => write!(f, "{} ({name})", set.kind()),
            NonBusinessReason::Extra => f.write_str("an extra holiday of this policy"),
        }
    }
}

fn weekday_name(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// One bit per weekday, Monday = bit 0.
fn weekday_bit(wd: Weekday) -> u8 {
    1 << wd.to_monday_zero_offset()
}

const ALL_WEEKDAYS: u8 = 0b111_1111;

/// Which days are business days, and which day an instant belongs to.
///
/// Cheap to clone apart from the extra dates; built once per policy.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    /// Weekend days as a bit set (see [`weekday_bit`]): tested once per day stepped.
    weekend: u8,
    sets: Vec<HolidaySet>,
    extra: BTreeSet<Date>,
}

impl Calendar {
    /// A calendar with these weekend days, built-in holiday sets and extra holidays,
    /// whose days are the civil days of `tz`. Duplicates are harmless.
    ///
    /// A set's observed dates do not depend on `weekend`: with a Friday/Saturday
    /// weekend, a US holiday observed on a Friday still falls on the weekend rather
    /// than moving to Thursday, because the set follows its own statute.
    pub fn new(
        tz: TimeZone,
        weekend: Vec<Weekday>,
        sets: Vec<HolidaySet>,
        extra: Vec<Date>,
    ) -> Calendar {
        let mut unique_sets = Vec::with_capacity(sets.len());
        for set in sets {
            if !unique_sets.contains(&set) {
                unique_sets.push(set);
            }
        }
        Calendar {
            tz,
            weekend: weekend
                .into_iter()
                .fold(0, |bits, wd| bits | weekday_bit(wd)),
            sets: unique_sets,
            extra: extra.into_iter().collect(),
        }
    }

    /// Saturday/Sunday weekend, no holidays, UTC.
    pub fn plain() -> Calendar {
        Calendar::new(
            TimeZone::UTC,
            vec![Weekday::Saturday, Weekday::Sunday],
            Vec::new(),
            Vec::new(),
        )
    }

    /// The time zone whose civil days this calendar counts.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The weekend days, Monday first.
    pub fn weekend(&self) -> Vec<Weekday> {
        (0..7)
            .filter_map(|i| Weekday::from_monday_zero_offset(i).ok())
            .filter(|wd| self.is_weekend(*wd))
            .collect()
    }

    /// The built-in holiday sets, in the order given, without duplicates.
    pub fn holiday_sets(&self) -> &[HolidaySet] {
        &self.sets
    }

    /// The extra holidays, in date order.
    pub fn extra_holidays(&self) -> impl Iterator<Item = Date> + '_ {
        self.extra.iter().copied()
    }

    /// The civil date of an instant in the calendar's time zone (decides "the day" of an event).
    pub fn local_date(&self, at: Timestamp) -> Date {
        self.tz.to_datetime(at).date()
    }

    fn is_weekend(&self, wd: Weekday) -> bool {
        self.weekend & weekday_bit(wd) != 0
    }

    /// With every weekday a weekend day, searching for a business day could only
    /// walk to the end of time, so the searches give up at once.
    fn has_business_days(&self) -> bool {
        self.weekend != ALL_WEEKDAYS
    }

    /// None if `d` is a business day, otherwise why not. A weekend day is reported as
    /// such even when it is also a holiday; a holiday before an extra date.
    pub fn non_business(&self, d: Date) -> Option<NonBusinessReason> {
        let wd = d.weekday();
        if self.is_weekend(wd) {
            return Some(NonBusinessReason::Weekend(wd));
        }
        for &set in &self.sets {
            if let Some(name) = set.holiday_on(d) {
                return Some(NonBusinessReason::Holiday { set, name });
            }
        }
        self.extra.contains(&d).then_some(NonBusinessReason::Extra)
    }

    /// None if `d` is a business day, otherwise why not, for people to read:
    /// "Saturday", "Sunday", "a US federal holiday (Independence Day (observed))",
    /// "an extra holiday of this policy". [`Calendar::non_business`] gives the same
    /// without allocating.
    pub fn non_business_reason(&self, d: Date) -> Option<String> {
        self.non_business(d).map(|reason| reason.to_string())
    }

    /// Whether `d` is neither a weekend day, nor a holiday of a built-in set, nor an
    /// extra holiday.
    pub fn is_business_day(&self, d: Date) -> bool {
        self.non_business(d).is_none()
    }

    /// `d` itself if it is a business day, else the first business day after it.
    ///
    /// Saturates: if no business day follows before [`Date::MAX`] (or the calendar
    /// has no business days at all), returns `Date::MAX` whatever it is.
    pub fn next_business_day_on_or_after(&self, d: Date) -> Date {
        if !self.has_business_days() {
            return Date::MAX;
        }
        let mut cur = d;
        while !self.is_business_day(cur) {
            match cur.tomorrow() {
                Ok(next) => cur = next,
                Err(_) => return Date::MAX,
            }
        }
        cur
    }

    /// The n-th business day strictly after `d` (n = 0 returns `d` unchanged). `d` itself
    /// never counts, whether or not it is a business day: a report on Saturday with
    /// "3 business days" is due Wednesday (Mon = 1, Tue = 2, Wed = 3) in a week without
    /// holidays.
    ///
    /// Steps day by day, so the cost grows with the answer, not with `d`. Saturates:
    /// if the n-th business day would lie past [`Date::MAX`] (or the calendar has no
    /// business days at all), returns `Date::MAX` whatever it is.
    pub fn add_business_days(&self, d: Date, n: u32) -> Date {
        if n == 0 {
            return d;
        }
        if !self.has_business_days() {
            return Date::MAX;
        }
        let mut cur = d;
        let mut left = n;
        while left > 0 {
            match cur.tomorrow() {
                Ok(next) => cur = next,
                Err(_) => return Date::MAX,
            }
            if self.is_business_day(cur) {
                left -= 1;
            }
        }
        cur
    }

    /// Business days strictly after `from` up to and including `to` (0 if to <= from),
    /// so that `business_days_between(d, add_business_days(d, n)) == n`.
    pub fn business_days_between(&self, from: Date, to: Date) -> u32 {
        if to <= from || !self.has_business_days() {
            return 0;
        }
        // jiff's whole range is under 7.4 million days, so the count fits in u32.
        let mut count = 0;
        let mut cur = from;
        while cur < to {
            match cur.tomorrow() {
                Ok(next) => cur = next,
                Err(_) => break,
            }
            if self.is_business_day(cur) {
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ToSpan;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn us_federal() -> Calendar {
        Calendar::new(
            TimeZone::UTC,
            vec![Weekday::Saturday, Weekday::Sunday],
            vec![HolidaySet::UsFederal],
            Vec::new(),
        )
    }

    #[test]
    fn holiday_set_names_round_trip() {
        assert_eq!(HolidaySet::parse("us-federal"), Some(HolidaySet::UsFederal));
        assert_eq!(HolidaySet::UsFederal.name(), "us-federal");
        assert_eq!(HolidaySet::parse("US-Federal"), None);
        assert_eq!(HolidaySet::parse("uk"), None);
        for &set in HolidaySet::ALL {
            assert_eq!(HolidaySet::parse(set.name()), Some(set));
        }
    }

    #[test]
    fn us_federal_observed_dates_follow_the_statute() {
        let cases = [
            // New Year's Day 2022 is a Saturday: observed Friday of the year before.
            (date(2021, 12, 31), Some("New Year's Day (observed)")),
            (date(2022, 1, 1), None),
            // New Year's Day 2023 is a Sunday: observed Monday after.
            (date(2023, 1, 2), Some("New Year's Day (observed)")),
            (date(2026, 1, 1), Some("New Year's Day")),
            (date(2026, 7, 3), Some("Independence Day (observed)")),
            (date(2026, 7, 4), None),
            (date(2021, 7, 5), Some("Independence Day (observed)")),
            // Juneteenth is a holiday from 2021 on; its first one was observed on a Friday.
            (date(2020, 6, 19), None),
            (
                date(2021, 6, 18),
                Some("Juneteenth National Independence Day (observed)"),
            ),
            (
                date(2027, 6, 18),
                Some("Juneteenth National Independence Day (observed)"),
            ),
            (
                date(2022, 6, 20),
                Some("Juneteenth National Independence Day (observed)"),
            ),
            (
                date(2026, 6, 19),
                Some("Juneteenth National Independence Day"),
            ),
            // Martin Luther King Jr.'s birthday is a holiday from 1986 on.
            (date(1985, 1, 21), None),
            (
                date(1986, 1, 20),
                Some("Birthday of Martin Luther King, Jr."),
            ),
            (
                date(2026, 1, 19),
                Some("Birthday of Martin Luther King, Jr."),
            ),
            (date(2026, 2, 16), Some("Washington's Birthday")),
            (date(2026, 5, 25), Some("Memorial Day")),
            (date(2026, 5, 18), None),
            (date(2026, 9, 7), Some("Labor Day")),
            (date(2026, 10, 12), Some("Columbus Day")),
            (date(2026, 11, 26), Some("Thanksgiving Day")),
            (date(2026, 11, 27), None),
            // Veterans Day sat on the fourth Monday of October from 1971 to 1977.
            (date(1975, 10, 27), Some("Veterans Day")),
            (date(1975, 11, 11), None),
            (date(1978, 11, 10), Some("Veterans Day (observed)")),
            (date(2023, 11, 10), Some("Veterans Day (observed)")),
            (date(2026, 11, 11), Some("Veterans Day")),
            (date(2022, 12, 26), Some("Christmas Day (observed)")),
            (date(2021, 12, 24), Some("Christmas Day (observed)")),
            (date(2026, 12, 25), Some("Christmas Day")),
            (date(2026, 12, 24), None),
        ];
        for (d, expected) in cases {
            assert_eq!(HolidaySet::UsFederal.holiday_on(d), expected, "{d}");
        }
    }

    #[test]
    fn observed_lists_a_saturday_new_year_in_the_year_before() {
        let y2021 = HolidaySet::UsFederal.observed(2021);
        assert_eq!(y2021.len(), 12);
        assert_eq!(
            y2021.last(),
            Some(&(date(2021, 12, 31), "New Year's Day (observed)"))
        );
        let y2022 = HolidaySet::UsFederal.observed(2022);
        assert_eq!(y2022.len(), 10);
        assert!(y2022.iter().all(|(d, _)| d.year() == 2022));
        assert!(!y2022.iter().any(|(_, name)| name.starts_with("New Year")));
    }

    #[test]
    fn observed_2026_lists_every_holiday_in_order() {
        assert_eq!(
            HolidaySet::UsFederal.observed(2026),
            vec![
                (date(2026, 1, 1), "New Year's Day"),
                (date(2026, 1, 19), "Birthday of Martin Luther King, Jr."),
                (date(2026, 2, 16), "Washington's Birthday"),
                (date(2026, 5, 25), "Memorial Day"),
                (date(2026, 6, 19), "Juneteenth National Independence Day"),
                (date(2026, 7, 3), "Independence Day (observed)"),
                (date(2026, 9, 7), "Labor Day"),
                (date(2026, 10, 12), "Columbus Day"),
                (date(2026, 11, 11), "Veterans Day"),
                (date(2026, 11, 26), "Thanksgiving Day"),
                (date(2026, 12, 25), "Christmas Day"),
            ]
        );
    }

    #[test]
    fn observed_is_total_at_the_edges_of_time() {
        assert!(!HolidaySet::UsFederal.observed(-9999).is_empty());
        assert!(!HolidaySet::UsFederal.observed(9999).is_empty());
        assert!(HolidaySet::UsFederal.observed(i16::MAX).is_empty());
        assert!(HolidaySet::UsFederal.observed(i16::MIN).is_empty());
    }

    /// The fixture comes from the Python `holidays` package; see
    /// scripts/gen-us-federal-fixture.py for how and why.
    #[test]
    fn us_federal_matches_reference_fixture() {
        let fixture = include_str!("../tests/fixtures/us-federal-1971-2100.txt");
        let reference: BTreeSet<Date> = fixture
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| line.parse().unwrap_or_else(|e| panic!("{line:?}: {e}")))
            .collect();
        assert!(reference.len() > 1400, "fixture looks truncated");

        let cal = us_federal();
        let mut mismatches = Vec::new();
        let mut d = date(1971, 1, 1);
        while d <= date(2100, 12, 31) {
            let weekend = matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
            let expected = !weekend && !reference.contains(&d);
            if cal.is_business_day(d) != expected {
                mismatches.push(format!(
                    "{d} ({:?}): reference business day = {expected}",
                    d.weekday()
                ));
            }
            d = d.tomorrow().unwrap();
        }
        assert!(
            mismatches.is_empty(),
            "{} mismatches:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );

        // The observed lists name exactly the reference's weekday dates.
        let observed: BTreeSet<Date> = (1971..=2100)
            .flat_map(|y| HolidaySet::UsFederal.observed(y))
            .map(|(d, _)| d)
            .collect();
        let reference_weekdays: BTreeSet<Date> = reference
            .iter()
            .copied()
            .filter(|d| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday))
            .collect();
        assert_eq!(observed, reference_weekdays);
    }

    #[test]
    fn reasons_read_like_sentences() {
        let cal = Calendar::new(
            TimeZone::UTC,
            vec![Weekday::Saturday, Weekday::Sunday],
            vec![HolidaySet::UsFederal],
            vec![date(2026, 3, 10), date(2026, 7, 3)],
        );
        assert_eq!(
            cal.non_business_reason(date(2026, 7, 4)).as_deref(),
            Some("Saturday")
        );
        assert_eq!(
            cal.non_business_reason(date(2026, 7, 5)).as_deref(),
            Some("Sunday")
        );
        assert_eq!(
            cal.non_business_reason(date(2026, 7, 3)).as_deref(),
            Some("a US federal holiday (Independence Day (observed))")
        );
        assert_eq!(
            cal.non_business_reason(date(2026, 3, 10)).as_deref(),
            Some("an extra holiday of this policy")
        );
        assert_eq!(cal.non_business_reason(date(2026, 3, 11)), None);
        assert_eq!(
            cal.non_business(date(2026, 7, 3)),
            Some(NonBusinessReason::Holiday {
                set: HolidaySet::UsFederal,
                name: "Independence Day (observed)"
            })
        );
    }

    #[test]
    fn business_days_never_count_the_start_day() {
        let cal = Calendar::plain();
        let saturday = date(2026, 3, 7);
        assert_eq!(cal.add_business_days(saturday, 0), saturday);
        assert_eq!(cal.add_business_days(saturday, 1), date(2026, 3, 9));
        assert_eq!(cal.add_business_days(saturday, 3), date(2026, 3, 11));
        let monday = date(2026, 3, 9);
        assert_eq!(cal.add_business_days(monday, 1), date(2026, 3, 10));
        assert_eq!(cal.add_business_days(monday, 5), date(2026, 3, 16));
        assert_eq!(cal.business_days_between(saturday, date(2026, 3, 11)), 3);
        assert_eq!(cal.business_days_between(monday, monday), 0);
        assert_eq!(cal.business_days_between(date(2026, 3, 11), monday), 0);
    }

    #[test]
    fn business_days_skip_us_federal_holidays() {
        let cal = us_federal();
        // Thursday 2 July 2026 + 1: Friday 3 July is Independence Day observed.
        assert_eq!(cal.add_business_days(date(2026, 7, 2), 1), date(2026, 7, 6));
        assert_eq!(
            cal.next_business_day_on_or_after(date(2026, 7, 3)),
            date(2026, 7, 6)
        );
        assert_eq!(
            cal.next_business_day_on_or_after(date(2026, 7, 6)),
            date(2026, 7, 6)
        );
        // Over Christmas and New Year 2021/22: Friday 24 and Friday 31 December are
        // both observed holidays, so Monday 27 December is day 1 and Monday 3 January day 5.
        assert_eq!(
            cal.add_business_days(date(2021, 12, 23), 1),
            date(2021, 12, 27)
        );
        assert_eq!(
            cal.add_business_days(date(2021, 12, 23), 5),
            date(2022, 1, 3)
        );
        assert_eq!(
            cal.business_days_between(date(2021, 12, 23), date(2022, 1, 3)),
            5
        );
    }

    #[test]
    fn plain_calendar_is_utc_with_a_saturday_sunday_weekend() {
        let cal = Calendar::plain();
        assert_eq!(cal.time_zone(), &TimeZone::UTC);
        assert_eq!(cal.weekend(), vec![Weekday::Saturday, Weekday::Sunday]);
        assert!(cal.holiday_sets().is_empty());
        assert!(cal.is_business_day(date(2026, 7, 3)));
        assert!(cal.is_business_day(date(2026, 12, 25)));
    }

    #[test]
    fn the_day_of_an_instant_is_the_day_in_the_calendar_time_zone() {
        let at: Timestamp = "2026-07-04T02:00:00Z".parse().unwrap();
        let new_york = Calendar::new(
            TimeZone::get("America/New_York").unwrap(),
            vec![Weekday::Saturday, Weekday::Sunday],
            vec![HolidaySet::UsFederal],
            Vec::new(),
        );
        assert_eq!(new_york.local_date(at), date(2026, 7, 3));
        assert_eq!(Calendar::plain().local_date(at), date(2026, 7, 4));
        assert_eq!(
            new_york
                .non_business_reason(new_york.local_date(at))
                .as_deref(),
            Some("a US federal holiday (Independence Day (observed))")
        );
    }

    #[test]
    fn custom_weekend_and_extra_dates_are_not_business_days() {
        let cal = Calendar::new(
            TimeZone::UTC,
            vec![Weekday::Friday, Weekday::Saturday, Weekday::Friday],
            Vec::new(),
            vec![date(2026, 3, 10), date(2026, 3, 10)],
        );
        assert_eq!(cal.weekend(), vec![Weekday::Friday, Weekday::Saturday]);
        assert_eq!(
            cal.extra_holidays().collect::<Vec<_>>(),
            vec![date(2026, 3, 10)]
        );
        assert_eq!(
            cal.non_business_reason(date(2026, 3, 6)).as_deref(),
            Some("Friday")
        );
        assert!(cal.is_business_day(date(2026, 3, 8)));
        // Thursday 5 March + 1 skips Friday and Saturday.
        assert_eq!(cal.add_business_days(date(2026, 3, 5), 1), date(2026, 3, 8));
        // Monday 9 March + 1 skips the extra holiday on Tuesday 10 March.
        assert_eq!(
            cal.add_business_days(date(2026, 3, 9), 1),
            date(2026, 3, 11)
        );
        assert_eq!(
            cal.business_days_between(date(2026, 3, 5), date(2026, 3, 12)),
            4
        );
    }

    #[test]
    fn duplicate_holiday_sets_are_kept_once() {
        let cal = Calendar::new(
            TimeZone::UTC,
            Vec::new(),
            vec![HolidaySet::UsFederal, HolidaySet::UsFederal],
            Vec::new(),
        );
        assert_eq!(cal.holiday_sets(), &[HolidaySet::UsFederal]);
        // No weekend at all: Saturday and Sunday are business days.
        assert!(cal.is_business_day(date(2026, 3, 7)));
    }

    #[test]
    fn searches_saturate_at_the_end_of_time() {
        let cal = us_federal();
        assert_eq!(cal.add_business_days(date(9999, 12, 1), 1_000), Date::MAX);
        assert_eq!(cal.add_business_days(date(9999, 1, 1), u32::MAX), Date::MAX);
        assert_eq!(cal.add_business_days(Date::MAX, 1), Date::MAX);
        assert_eq!(cal.business_days_between(date(9999, 12, 24), Date::MAX), 4);
        // 31 December 9999 is a Friday.
        assert_eq!(cal.next_business_day_on_or_after(Date::MAX), Date::MAX);
        let first = cal.add_business_days(Date::MIN, 1);
        assert!(first > Date::MIN && cal.is_business_day(first));
    }

    #[test]
    fn a_calendar_without_business_days_does_not_hang() {
        let every_day = (0..7)
            .map(|i| Weekday::from_monday_zero_offset(i).unwrap())
            .collect();
        let cal = Calendar::new(TimeZone::UTC, every_day, Vec::new(), Vec::new());
        let d = date(2026, 3, 9);
        assert!(!cal.is_business_day(d));
        assert_eq!(cal.next_business_day_on_or_after(d), Date::MAX);
        assert_eq!(cal.add_business_days(d, 1), Date::MAX);
        assert_eq!(cal.add_business_days(d, 0), d);
        assert_eq!(cal.business_days_between(d, date(2030, 1, 1)), 0);
    }

    #[test]
    fn calendar_is_shareable_across_threads() {
        fn assert_traits<T: Clone + fmt::Debug + Send + Sync>() {}
        assert_traits::<Calendar>();
        assert_traits::<HolidaySet>();
        assert_traits::<NonBusinessReason>();
    }

    /// Any date in 1900..=2200.
    fn any_date() -> impl Strategy<Value = Date> {
        (0i32..110_000).prop_map(|n| date(1900, 1, 1).checked_add(n.days()).unwrap())
    }

    /// Either a Saturday/Sunday US federal calendar with an extra date, or a
    /// Friday/Saturday one without holidays, so properties hold beyond the default.
    fn any_calendar() -> impl Strategy<Value = Calendar> {
        prop_oneof![
            any_date().prop_map(|extra| Calendar::new(
                TimeZone::UTC,
                vec![Weekday::Saturday, Weekday::Sunday],
                vec![HolidaySet::UsFederal],
                vec![extra],
            )),
            Just(Calendar::new(
                TimeZone::UTC,
                vec![Weekday::Friday, Weekday::Saturday],
                Vec::new(),
                Vec::new(),
            )),
        ]
    }

    proptest! {
        #[test]
        fn next_business_day_is_a_business_day_on_or_after_the_date(
            cal in any_calendar(),
            d in any_date(),
        ) {
            let next = cal.next_business_day_on_or_after(d);
            prop_assert!(next >= d);
            prop_assert!(cal.is_business_day(next));
            prop_assert_eq!(cal.non_business_reason(next), None);
            prop_assert_eq!(cal.business_days_between(d, next), u32::from(next != d));
        }

        #[test]
        fn adding_business_days_lands_on_a_business_day(
            cal in any_calendar(),
            d in any_date(),
            n in 1u32..400,
        ) {
            let due = cal.add_business_days(d, n);
            prop_assert!(due > d);
            prop_assert!(cal.is_business_day(due));
        }

        #[test]
        fn adding_business_days_is_monotonic_in_the_count(
            cal in any_calendar(),
            d in any_date(),
            n in 0u32..400,
            more in 0u32..50,
        ) {
            prop_assert!(cal.add_business_days(d, n) <= cal.add_business_days(d, n + more));
            prop_assert!(cal.add_business_days(d, n) < cal.add_business_days(d, n + 1));
        }

        #[test]
        fn adding_business_days_is_monotonic_in_the_date(
            cal in any_calendar(),
            d in any_date(),
            later in 0i32..60,
            n in 0u32..400,
        ) {
            let d2 = d.checked_add(later.days()).unwrap();
            prop_assert!(cal.add_business_days(d, n) <= cal.add_business_days(d2, n));
        }

        #[test]
        fn counting_business_days_undoes_adding_them(
            cal in any_calendar(),
            d in any_date(),
            n in 0u32..400,
        ) {
            let due = cal.add_business_days(d, n);
            prop_assert_eq!(cal.business_days_between(d, due), n);
        }
    }
}
