//! Patient trace by demographics, after the PDS FHIR API's rules (DOMAIN.md): which
//! parameter combinations are allowed, wildcards, fuzzy matching (phonetic and typo-tolerant
//! names, transposed names, day and month swapped), and scored results best first.
//!
//! Every allowed combination includes a date of birth, so candidates come from the
//! birth-date index (a few dozen people per day even at national scale) and are scored in
//! memory.

use chrono::{Datelike, NaiveDate};
use rphonetic::{Encoder, Soundex};
use scr_model::{Demographics, Gender};

pub const DEFAULT_MAX_RESULTS: usize = 10;
pub const LIMIT_MAX_RESULTS: usize = 50;
/// Fuzzy matches below this score are not returned.
pub const FUZZY_THRESHOLD: f64 = 0.80;

/// How a trace narrows its candidates by family name (upper case).
pub enum FamilyFilter {
    Exact(String),
    Prefix(String),
    SoundexOrPrefix { soundex: String, prefix: String },
}

pub fn soundex(name: &str) -> String {
    let letters: String = name.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    if letters.is_empty() {
        return String::new();
    }
    Soundex::default().encode(&letters)
}

#[derive(Clone, Debug, PartialEq)]
pub enum BirthDate {
    On(NaiveDate),
    Range { from: NaiveDate, to: NaiveDate },
}

#[derive(Clone, Debug, PartialEq)]
pub struct TraceQuery {
    pub family: Option<String>,
    pub given: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<BirthDate>,
    pub postcode: Option<String>,
    pub fuzzy: bool,
    pub exact: bool,
    pub max_results: usize,
}

/// A refusal the caller can act on; the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceRejected {
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    NotEnoughParameters(&'static str),
}

/// Parses the query string pairs of `GET /Patient`.
pub fn parse_query(pairs: &[(String, String)]) -> Result<TraceQuery, TraceRejected> {
    let mut q = TraceQuery {
        family: None,
        given: None,
        gender: None,
        birth_date: None,
        postcode: None,
        fuzzy: false,
        exact: false,
        max_results: DEFAULT_MAX_RESULTS,
    };
    let mut from: Option<NaiveDate> = None;
    let mut to: Option<NaiveDate> = None;
    let mut on: Option<NaiveDate> = None;
    let bool_param = |name: &str, v: &str| match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(TraceRejected::InvalidParameter(format!(
            "{name} must be true or false"
        ))),
    };
    for (key, value) in pairs {
        let value = value.trim();
        match key.as_str() {
            "family" => q.family = Some(name_param("family", value)?),
            "given" => q.given = Some(name_param("given", value)?),
            "gender" => {
                q.gender = Some(Gender::from_code(value).ok_or_else(|| {
                    TraceRejected::InvalidParameter(
                        "gender must be male, female, other or unknown".into(),
                    )
                })?)
            }
            "birthdate" => {
                let (prefix, date) = match value.get(..2) {
                    Some(p @ ("eq" | "ge" | "le")) => (p, &value[2..]),
                    _ => ("eq", value),
                };
                let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                    TraceRejected::InvalidParameter(
                        "birthdate must be a date YYYY-MM-DD, optionally prefixed eq, ge or le"
                            .into(),
                    )
                })?;
                match prefix {
                    "ge" => from = Some(date),
                    "le" => to = Some(date),
                    _ => on = Some(date),
                }
            }
            "address-postalcode" | "address-postcode" => {
                q.postcode = Some(normalise_postcode(value))
            }
            "_fuzzy-match" => q.fuzzy = bool_param("_fuzzy-match", value)?,
            "_exact-match" => q.exact = bool_param("_exact-match", value)?,
            "_max-results" => {
                let n: usize = value.parse().map_err(|_| {
                    TraceRejected::InvalidParameter("_max-results must be a number".into())
                })?;
                if !(1..=LIMIT_MAX_RESULTS).contains(&n) {
                    return Err(TraceRejected::InvalidParameter(format!(
                        "_max-results must be between 1 and {LIMIT_MAX_RESULTS}"
                    )));
                }
                q.max_results = n;
            }
            other => {
                return Err(TraceRejected::InvalidParameter(format!(
                    "unsupported search parameter {other:?}"
                )))
            }
        }
    }
    q.birth_date = match (on, from, to) {
        (Some(d), None, None) => Some(BirthDate::On(d)),
        (None, Some(f), Some(t)) if f <= t => Some(BirthDate::Range { from: f, to: t }),
        (None, Some(f), None) => Some(BirthDate::Range {
            from: f,
            to: f.with_year(f.year() + 1).unwrap_or(f),
        }),
        (None, None, Some(t)) => Some(BirthDate::Range {
            from: t.with_year(t.year() - 1).unwrap_or(t),
            to: t,
        }),
        (None, None, None) => None,
        _ => {
            return Err(TraceRejected::InvalidParameter(
                "birthdate: give one date, or a ge/le range with ge before le".into(),
            ))
        }
    };
    if q.fuzzy && q.exact {
        return Err(TraceRejected::InvalidParameter(
            "_fuzzy-match and _exact-match cannot both be true".into(),
        ));
    }
    check_combination(&q)?;
    Ok(q)
}

fn name_param(name: &str, value: &str) -> Result<String, TraceRejected> {
    if value.is_empty() || value.len() > 100 {
        return Err(TraceRejected::InvalidParameter(format!(
            "{name} must be 1 to 100 characters"
        )));
    }
    if let Some(star) = value.find('*') {
        // PDS: a wildcard needs at least two characters before it, and only at the end.
        if star < 2 || star != value.len() - 1 {
            return Err(TraceRejected::InvalidParameter(format!(
                "{name}: a wildcard '*' must come at the end, after at least 2 characters"
            )));
        }
    }
    Ok(value.to_string())
}

fn check_combination(q: &TraceQuery) -> Result<(), TraceRejected> {
    let has = |o: bool| o;
    let family = has(q.family.is_some());
    let given = has(q.given.is_some());
    let dob = q.birth_date.is_some();
    let gender = q.gender.is_some();
    let postcode = q.postcode.is_some();
    if q.fuzzy {
        if !matches!(q.birth_date, Some(BirthDate::On(_))) {
            return Err(TraceRejected::NotEnoughParameters(
                "a fuzzy search needs one exact date of birth (no range)",
            ));
        }
        let wildcard = q.family.as_deref().is_some_and(|f| f.contains('*'))
            || q.given.as_deref().is_some_and(|g| g.contains('*'));
        if wildcard {
            return Err(TraceRejected::InvalidParameter(
                "wildcards cannot be used in a fuzzy search".into(),
            ));
        }
        let ok = (given && family && dob)
            || (family && dob && gender && postcode)
            || (given && dob && gender && postcode);
        if !ok {
            return Err(TraceRejected::NotEnoughParameters(
                "a fuzzy search needs given name, family name and date of birth; or family name, date of birth, gender and postcode; or given name, date of birth, gender and postcode",
            ));
        }
    } else if !(family && dob) {
        return Err(TraceRejected::NotEnoughParameters(
            "a search needs at least a family name and a date of birth",
        ));
    }
    Ok(())
}

pub fn normalise_postcode(p: &str) -> String {
    p.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(|c| c.to_uppercase())
        .collect()
}

fn swapped_day_month(d: NaiveDate) -> Option<NaiveDate> {
    if d.day() == d.month() || d.day() > 12 {
        return None;
    }
    NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())
}

/// What to ask the store for.
pub struct CandidatePlan {
    pub birth_dates: Vec<String>,
    pub range: Option<(String, String)>,
    pub family: Option<FamilyFilter>,
}

pub fn candidate_plan(q: &TraceQuery) -> CandidatePlan {
    let fmt = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let (birth_dates, range) = match &q.birth_date {
        Some(BirthDate::On(d)) => {
            let mut dates = vec![fmt(*d)];
            if q.fuzzy {
                dates.extend(swapped_day_month(*d).map(fmt));
            }
            (dates, None)
        }
        Some(BirthDate::Range { from, to }) => (Vec::new(), Some((fmt(*from), fmt(*to)))),
        None => (Vec::new(), None),
    };
    // A fuzzy search must survive a typo in the first letter or transposed names, so it takes
    // everyone born that day; a plain search narrows by family name in the index.
    let family = match (&q.family, q.fuzzy) {
        (Some(f), false) => Some(match f.strip_suffix('*') {
            Some(prefix) => FamilyFilter::Prefix(prefix.to_uppercase()),
            None => FamilyFilter::Exact(f.to_uppercase()),
        }),
        _ => None,
    };
    CandidatePlan {
        birth_dates,
        range,
        family,
    }
}

fn upper(s: &str) -> String {
    s.trim().to_uppercase()
}

/// Name similarity in [0, 1]: exact 1; same Soundex or a close spelling (Jaro-Winkler) scores
/// high; a prefix search (`Sm*`) matches any name with that prefix.
fn name_similarity(query: &str, candidate: &str) -> f64 {
    let q = upper(query);
    let c = upper(candidate);
    if let Some(prefix) = q.strip_suffix('*') {
        return if c.starts_with(prefix) { 1.0 } else { 0.0 };
    }
    if q == c {
        return 1.0;
    }
    let jw = strsim::jaro_winkler(&q, &c);
    let sound = if !q.is_empty() && soundex(&q) == soundex(&c) {
        0.9
    } else {
        0.0
    };
    let edit = if strsim::damerau_levenshtein(&q, &c) <= 1 && q.len() >= 4 {
        0.9
    } else {
        0.0
    };
    jw.max(sound).max(edit).min(0.99)
}

fn given_similarity(query: &str, candidate: &Demographics) -> f64 {
    candidate
        .given
        .iter()
        .map(|g| name_similarity(query, g))
        .fold(0.0, f64::max)
}

/// Scores one candidate against the query; `None` when a plain (non-fuzzy) search's
/// conditions are not met.
pub fn score(q: &TraceQuery, c: &Demographics) -> Option<f64> {
    let mut total = 0.0;
    let mut weight = 0.0;
    let mut add = |w: f64, s: f64| {
        total += w * s;
        weight += w;
    };

    let names = |family: Option<&str>, given: Option<&str>| {
        let f = family.map(|f| name_similarity(f, &c.family));
        let g = given.map(|g| given_similarity(g, c));
        (f, g)
    };
    let (mut fam, mut giv) = names(q.family.as_deref(), q.given.as_deref());
    if q.fuzzy {
        // Transposed names: family entered as given and given as family.
        if let (Some(f), Some(g)) = (q.family.as_deref(), q.given.as_deref()) {
            let swapped_f = given_similarity(f, c);
            let swapped_g = name_similarity(g, &c.family);
            let direct = fam.unwrap_or(0.0) + giv.unwrap_or(0.0);
            if (swapped_f + swapped_g) * 0.95 > direct {
                fam = Some(swapped_f * 0.95);
                giv = Some(swapped_g * 0.95);
            }
        }
    }
    if !q.fuzzy {
        // Plain search: every given item must match exactly (or by prefix wildcard).
        if fam.is_some_and(|s| s < 1.0) || giv.is_some_and(|s| s < 1.0) {
            return None;
        }
    }
    if let Some(f) = fam {
        add(0.40, f);
    }
    if let Some(g) = giv {
        add(0.30, g);
    }
    match &q.birth_date {
        Some(BirthDate::On(d)) => {
            let s = if *d == c.birth_date {
                1.0
            } else if swapped_day_month(*d) == Some(c.birth_date) {
                0.75
            } else {
                0.0
            };
            if !q.fuzzy && s < 1.0 {
                return None;
            }
            add(0.20, s);
        }
        Some(BirthDate::Range { from, to }) => {
            if c.birth_date < *from || c.birth_date > *to {
                return None;
            }
            add(0.20, 1.0);
        }
        None => {}
    }
    if let Some(g) = q.gender {
        let s = if g == c.gender { 1.0 } else { 0.0 };
        if !q.fuzzy && s < 1.0 {
            return None;
        }
        add(0.05, s);
    }
    if let Some(p) = &q.postcode {
        let candidate = c.address.postcode.as_deref().map(normalise_postcode);
        let s = if candidate.as_deref() == Some(p.as_str()) {
            1.0
        } else if candidate
            .as_deref()
            .zip(p.get(..p.len().saturating_sub(3)))
            .is_some_and(|(c, outward)| !outward.is_empty() && c.starts_with(outward))
        {
            0.5
        } else {
            0.0
        };
        if !q.fuzzy && s < 1.0 {
            return None;
        }
        add(0.05, s);
    }
    if weight == 0.0 {
        return None;
    }
    // Two decimals, as PDS reports; 1.0 only for an exact match on everything given.
    let s = (total / weight * 100.0).round() / 100.0;
    Some(s)
}

/// The outcome of scoring the candidates.
#[derive(Debug)]
pub enum TraceResult {
    Matches(Vec<(Demographics, f64)>),
    TooManyMatches(usize),
}

pub fn rank(q: &TraceQuery, candidates: Vec<Demographics>) -> TraceResult {
    let threshold = if q.exact {
        1.0
    } else if q.fuzzy {
        FUZZY_THRESHOLD
    } else {
        0.0
    };
    let mut scored: Vec<(Demographics, f64)> = candidates
        .into_iter()
        .filter_map(|c| score(q, &c).map(|s| (c, s)))
        .filter(|(_, s)| *s >= threshold)
        .collect();
    if scored.len() > q.max_results {
        return TraceResult::TooManyMatches(scored.len());
    }
    scored.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.nhs_number.cmp(&b.0.nhs_number))
    });
    TraceResult::Matches(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn soundex_groups_spellings() {
        assert_eq!(soundex("Smith"), soundex("Smyth"));
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(soundex(""), "");
    }

    #[test]
    fn plain_search_needs_family_and_birth_date() {
        let e = parse_query(&pairs(&[("family", "Smith")])).unwrap_err();
        assert!(matches!(e, TraceRejected::NotEnoughParameters(_)));
        assert!(parse_query(&pairs(&[
            ("family", "Smith"),
            ("birthdate", "eq1970-03-12")
        ]))
        .is_ok());
    }

    #[test]
    fn wildcard_needs_two_leading_characters() {
        let e = parse_query(&pairs(&[("family", "S*"), ("birthdate", "1970-03-12")])).unwrap_err();
        assert!(matches!(e, TraceRejected::InvalidParameter(_)));
        assert!(parse_query(&pairs(&[("family", "Sm*"), ("birthdate", "1970-03-12")])).is_ok());
    }

    #[test]
    fn fuzzy_needs_one_of_the_pds_combinations() {
        let e = parse_query(&pairs(&[
            ("family", "Smith"),
            ("birthdate", "1970-03-12"),
            ("_fuzzy-match", "true"),
        ]))
        .unwrap_err();
        assert!(matches!(e, TraceRejected::NotEnoughParameters(_)));
        assert!(parse_query(&pairs(&[
            ("family", "Smith"),
            ("given", "Jane"),
            ("birthdate", "1970-03-12"),
            ("_fuzzy-match", "true"),
        ]))
        .is_ok());
    }

    #[test]
    fn max_results_is_bounded() {
        let e = parse_query(&pairs(&[
            ("family", "Smith"),
            ("birthdate", "1970-03-12"),
            ("_max-results", "51"),
        ]))
        .unwrap_err();
        assert!(matches!(e, TraceRejected::InvalidParameter(_)));
    }

    #[test]
    fn swapped_day_and_month_only_when_both_could_be_months() {
        let d = NaiveDate::from_ymd_opt(1970, 3, 12).unwrap();
        assert_eq!(swapped_day_month(d), NaiveDate::from_ymd_opt(1970, 12, 3));
        assert_eq!(
            swapped_day_month(NaiveDate::from_ymd_opt(1970, 3, 13).unwrap()),
            None
        );
    }
}
