//! Clinical dates as real records carry them: often only a year or a month. Displayed in the
//! NHS CUI form `12-Mar-1970` whatever the locale, so a date can never be misread.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A FHIR `date` or `dateTime` at the precision it was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClinicalDate {
    Year(i32),
    YearMonth(i32, u32),
    Day(NaiveDate),
    Instant(DateTime<FixedOffset>),
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `12-Mar-1970`.
pub fn format_day(d: NaiveDate) -> String {
    format!(
        "{:02}-{}-{:04}",
        d.day(),
        MONTHS[d.month0() as usize],
        d.year()
    )
}

impl ClinicalDate {
    /// Parses FHIR `date` / `dateTime` text: `1970`, `1970-03`, `1970-03-12`,
    /// `1970-03-12T10:00:00+01:00` (or `Z`). Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        match t.len() {
            4 => t.parse().ok().map(ClinicalDate::Year),
            7 => {
                let (y, m) = t.split_once('-')?;
                let m: u32 = m.parse().ok()?;
                (1..=12)
                    .contains(&m)
                    .then_some(ClinicalDate::YearMonth(y.parse().ok()?, m))
            }
            10 => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .map(ClinicalDate::Day),
            _ => DateTime::parse_from_rfc3339(t)
                .ok()
                .map(ClinicalDate::Instant),
        }
    }

    /// The FHIR text form, at the recorded precision.
    pub fn to_fhir(&self) -> String {
        match self {
            ClinicalDate::Year(y) => format!("{y:04}"),
            ClinicalDate::YearMonth(y, m) => format!("{y:04}-{m:02}"),
            ClinicalDate::Day(d) => d.format("%Y-%m-%d").to_string(),
            ClinicalDate::Instant(t) => t.to_rfc3339(),
        }
    }

    /// The calendar day, where the precision reaches it.
    pub fn day(&self) -> Option<NaiveDate> {
        match self {
            ClinicalDate::Day(d) => Some(*d),
            ClinicalDate::Instant(t) => Some(t.date_naive()),
            _ => None,
        }
    }
}

/// `12-Mar-1970`, `Mar-1970`, `1970`, or `12-Mar-1970 14:02` for an instant (24-hour).
impl fmt::Display for ClinicalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClinicalDate::Year(y) => write!(f, "{y:04}"),
            ClinicalDate::YearMonth(y, m) => {
                write!(f, "{}-{y:04}", MONTHS[(*m as usize).clamp(1, 12) - 1])
            }
            ClinicalDate::Day(d) => f.write_str(&format_day(*d)),
            ClinicalDate::Instant(t) => {
                write!(f, "{} {}", format_day(t.date_naive()), t.format("%H:%M"))
            }
        }
    }
}

impl Serialize for ClinicalDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_fhir())
    }
}

impl<'de> Deserialize<'de> for ClinicalDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ClinicalDate::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a FHIR date: {s:?}")))
    }
}
