//! Alertmanager time intervals (`time_intervals:` and the deprecated `mute_time_intervals:`):
//! times of day, weekdays, days of the month (negative counts from the month's end), months and
//! years, evaluated in UTC or the machine's local time zone.

use chrono::{DateTime, Datelike, Local, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer};

/// A named list of time intervals; it contains a moment when any of its intervals does.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeInterval {
    /// The name routes refer to.
    pub name: String,
    /// The intervals.
    #[serde(default)]
    pub time_intervals: Vec<TimeInterval>,
}

impl NamedTimeInterval {
    /// True when `t_ms` falls into any of the intervals.
    pub fn contains(&self, t_ms: i64) -> bool {
        self.time_intervals.iter().any(|ti| ti.contains(t_ms))
    }
}

/// The time zone an interval is evaluated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Location {
    /// UTC (the default).
    #[default]
    Utc,
    /// The machine's local time zone.
    Local,
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "UTC" | "" => Ok(Location::Utc),
            "Local" => Ok(Location::Local),
            _ => Err(serde::de::Error::custom(format!(
                "unsupported time interval location {s:?} (vigia supports \"UTC\" and \"Local\")"
            ))),
        }
    }
}

/// One interval; every field that is set must contain the moment.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct TimeInterval {
    /// Times of day, `[start_time, end_time)`.
    #[serde(default)]
    pub times: Option<Vec<TimeRange>>,
    /// Weekday ranges (0 = Sunday).
    #[serde(default)]
    pub weekdays: Option<Vec<WeekdayRange>>,
    /// Day-of-month ranges; negative days count from the end of the month.
    #[serde(default)]
    pub days_of_month: Option<Vec<DayOfMonthRange>>,
    /// Month ranges (1 = January).
    #[serde(default)]
    pub months: Option<Vec<MonthRange>>,
    /// Year ranges.
    #[serde(default)]
    pub years: Option<Vec<YearRange>>,
    /// Time zone.
    #[serde(default)]
    pub location: Option<Location>,
}

struct Parts {
    minute_of_day: u32,
    weekday: u32,
    day: u32,
    days_in_month: u32,
    month: u32,
    year: i32,
}

fn parts<Tz: TimeZone>(t: DateTime<Tz>) -> Parts {
    let (y, m) = (t.year(), t.month());
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let days_in_month = chrono::NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day());
    Parts {
        minute_of_day: t.hour() * 60 + t.minute(),
        weekday: t.weekday().num_days_from_sunday(),
        day: t.day(),
        days_in_month,
        month: m,
        year: y,
    }
}

impl TimeInterval {
    /// True when `t_ms` (Unix milliseconds) falls into this interval.
    pub fn contains(&self, t_ms: i64) -> bool {
        let Some(utc) = DateTime::<Utc>::from_timestamp_millis(t_ms) else {
            return false;
        };
        let p = match self.location.unwrap_or_default() {
            Location::Utc => parts(utc),
            Location::Local => parts(utc.with_timezone(&Local)),
        };
        if let Some(ts) = &self.times
            && !ts
                .iter()
                .any(|r| p.minute_of_day >= r.start && p.minute_of_day < r.end)
        {
            return false;
        }
        if let Some(ds) = &self.days_of_month {
            let dim = p.days_in_month as i32;
            let hit = ds.iter().any(|r| {
                let b = if r.begin < 0 {
                    dim + r.begin + 1
                } else {
                    r.begin
                };
                let e = if r.end < 0 { dim + r.end + 1 } else { r.end };
                if b > dim {
                    return false;
                }
                let (b, e) = (b.clamp(1, dim), e.clamp(1, dim));
                (b..=e).contains(&(p.day as i32))
            });
            if !hit {
                return false;
            }
        }
        if let Some(ms) = &self.months
            && !ms.iter().any(|r| (r.begin..=r.end).contains(&p.month))
        {
            return false;
        }
        if let Some(ws) = &self.weekdays
            && !ws.iter().any(|r| (r.begin..=r.end).contains(&p.weekday))
        {
            return false;
        }
        if let Some(ys) = &self.years
            && !ys.iter().any(|r| (r.begin..=r.end).contains(&p.year))
        {
            return false;
        }
        true
    }
}

/// `start_time`/`end_time` as minutes of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First minute (inclusive).
    pub start: u32,
    /// End minute (exclusive, up to 1440).
    pub end: u32,
}

fn parse_hhmm(s: &str) -> Result<u32, String> {
    let err = || format!("couldn't parse timestamp {s}, invalid format");
    let (h, m) = s.split_once(':').ok_or_else(err)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(err());
    }
    let h: u32 = h.parse().map_err(|_| err())?;
    let m: u32 = m.parse().map_err(|_| err())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(err());
    }
    Ok(h * 60 + m)
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            start_time: String,
            end_time: String,
        }
        let r = Raw::deserialize(d)?;
        let start = parse_hhmm(&r.start_time).map_err(serde::de::Error::custom)?;
        let end = parse_hhmm(&r.end_time).map_err(serde::de::Error::custom)?;
        if start >= end {
            return Err(serde::de::Error::custom(
                "start time cannot be equal or greater than end time",
            ));
        }
        Ok(TimeRange { start, end })
    }
}

fn split_range(s: &str) -> (&str, &str) {
    match s.split_once(':') {
        Some((a, b)) => (a, b),
        None => (s, s),
    }
}

macro_rules! range_type {
    ($name:ident, $t:ty, $doc:literal, $parse:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            /// First value (inclusive).
            pub begin: $t,
            /// Last value (inclusive).
            pub end: $t,
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let f: fn(&str) -> Result<($t, $t), String> = $parse;
                let (begin, end) = f(s.trim()).map_err(serde::de::Error::custom)?;
                Ok($name { begin, end })
            }
        }
    };
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn weekday(s: &str) -> Result<u32, String> {
    let l = s.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .position(|w| *w == l)
        .map(|p| p as u32)
        .ok_or_else(|| format!("{s} is not a valid weekday"))
}

fn month(s: &str) -> Result<u32, String> {
    let l = s.to_ascii_lowercase();
    if let Some(p) = MONTHS.iter().position(|m| *m == l) {
        return Ok(p as u32 + 1);
    }
    // Alertmanager 0.25 accepts any number; out-of-range values are clamped to 0 or 13,
    // which keeps ranges ordered and never matches a month by itself.
    l.parse::<i64>()
        .map(|n| n.clamp(0, 13) as u32)
        .map_err(|_| format!("{s} is not a valid month"))
}

range_type!(
    WeekdayRange,
    u32,
    "A weekday range such as `monday:friday` (0 = Sunday).",
    |s| {
        let (a, b) = split_range(s);
        let (a, b) = (weekday(a)?, weekday(b)?);
        if a > b {
            return Err("start day cannot be before end day".to_string());
        }
        Ok((a, b))
    }
);

range_type!(
    MonthRange,
    u32,
    "A month range such as `january:march` or `1:3`.",
    |s| {
        let (a, b) = split_range(s);
        let (a, b) = (month(a)?, month(b)?);
        if a > b {
            let name = |m: u32| {
                MONTHS
                    .get((m as usize).wrapping_sub(1))
                    .map_or(m.to_string(), |s| s.to_string())
            };
            return Err(format!(
                "end month {} is before start month {}",
                name(b),
                name(a)
            ));
        }
        Ok((a, b))
    }
);

range_type!(
    DayOfMonthRange,
    i32,
    "A day-of-month range such as `1:5` or `-3:-1` (negative days count from the end).",
    |s| {
        let (a, b) = split_range(s);
        let p = |x: &str| -> Result<i32, String> {
            let n: i32 = x
                .parse()
                .map_err(|_| format!("{x} is not a valid day of the month"))?;
            if n == 0 || !(-31..=31).contains(&n) {
                return Err(format!("{n} is not a valid day of the month: out of range"));
            }
            Ok(n)
        };
        let (a, b) = (p(a)?, p(b)?);
        if a < 0 && b > 0 {
            return Err("end day must be negative if start day is negative".to_string());
        }
        if a.signum() == b.signum() && a > b {
            return Err(format!("end day {b} is always before start day {a}"));
        }
        Ok((a, b))
    }
);

range_type!(YearRange, i32, "A year range such as `2024:2026`.", |s| {
    let (a, b) = split_range(s);
    let p = |x: &str| -> Result<i32, String> {
        x.parse::<i32>()
            .ok()
            .ok_or_else(|| format!("{x} is not a valid year"))
    };
    let (a, b) = (p(a)?, p(b)?);
    if a > b {
        return Err(format!("end year {b} is before start year {a}"));
    }
    Ok((a, b))
});

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn business_hours() {
        let ti: TimeInterval = serde_saphyr::from_str(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']\nlocation: UTC\n",
        )
        .unwrap();
        // 2026-11-23 is a Monday.
        assert!(ti.contains(ms(2026, 11, 23, 9, 0)));
        assert!(ti.contains(ms(2026, 11, 23, 16, 59)));
        assert!(!ti.contains(ms(2026, 11, 23, 17, 0)));
        assert!(!ti.contains(ms(2026, 11, 22, 12, 0))); // Sunday
    }

    #[test]
    fn negative_days_months_years() {
        let ti: TimeInterval = serde_saphyr::from_str(
            "days_of_month: ['-3:-1']\nmonths: ['february', '11:12']\nyears: ['2026:2027']\n",
        )
        .unwrap();
        assert!(ti.contains(ms(2026, 11, 28, 0, 0)));
        assert!(!ti.contains(ms(2026, 11, 27, 23, 59)));
        assert!(ti.contains(ms(2027, 2, 26, 1, 0))); // 28-day February
        assert!(!ti.contains(ms(2027, 3, 30, 1, 0)));
        assert!(!ti.contains(ms(2028, 11, 30, 1, 0)));
    }

    #[test]
    fn bad_intervals() {
        for bad in [
            "times: [{start_time: '17:00', end_time: '09:00'}]",
            "times: [{start_time: '25:00', end_time: '26:00'}]",
            "weekdays: [funday]",
            "weekdays: ['friday:monday']",
            "days_of_month: ['0']",
            "days_of_month: ['-1:5']",
            "months: ['jan']",
            "location: Europe/Berlin",
            "hours: ['1']",
        ] {
            assert!(
                serde_saphyr::from_str::<TimeInterval>(bad).is_err(),
                "accepted {bad}"
            );
        }
    }
}
