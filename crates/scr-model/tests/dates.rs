//! Dates display as `12-Mar-1970` whatever the precision they were recorded at.

use chrono::NaiveDate;
use scr_model::ClinicalDate;

#[test]
fn every_precision_displays_unambiguously() {
    let cases = [
        ("1970-03-12", "12-Mar-1970"),
        ("1970-03", "Mar-1970"),
        ("1970", "1970"),
        ("2026-11-23T14:02:00Z", "23-Nov-2026 14:02"),
        ("2026-11-23T09:05:00+01:00", "23-Nov-2026 09:05"),
    ];
    for (fhir, shown) in cases {
        let d = ClinicalDate::parse(fhir).unwrap_or_else(|| panic!("{fhir}"));
        assert_eq!(d.to_string(), shown, "{fhir}");
    }
    assert_eq!(
        ClinicalDate::parse("1970-03-12").and_then(|d| d.day()),
        NaiveDate::from_ymd_opt(1970, 3, 12)
    );
}

#[test]
fn nonsense_is_not_a_date() {
    for bad in [
        "",
        "12/03/1970",
        "1970-13",
        "1970-02-30",
        "yesterday",
        "19700312",
    ] {
        assert_eq!(ClinicalDate::parse(bad), None, "{bad}");
    }
}

#[test]
fn fhir_text_round_trips() {
    for fhir in ["1970", "1970-03", "1970-03-12", "2026-11-23T14:02:00+00:00"] {
        let d = ClinicalDate::parse(fhir).expect("parses");
        assert_eq!(ClinicalDate::parse(&d.to_fhir()), Some(d));
    }
}
