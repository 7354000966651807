//! The patient trace query (`GET /FHIR/R4/Patient?…`): the raw query string is split into
//! pairs as the handler does (form_urlencoded), then parsed; an accepted query is planned
//! and scored against a patient, as the handler goes on to do.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scr_model::{Address, Demographics, Gender, NhsNumber};
use scr_spine::trace;

fn patient() -> &'static Demographics {
    static P: OnceLock<Demographics> = OnceLock::new();
    P.get_or_init(|| Demographics {
        nhs_number: NhsNumber::nth_test_number(1).expect("test number"),
        title: Some("Ms".into()),
        given: vec!["Jane".into(), "Anne".into()],
        family: "Smith".into(),
        gender: Gender::Female,
        birth_date: chrono::NaiveDate::from_ymd_opt(1970, 3, 12).expect("date"),
        address: Address {
            lines: vec!["1 High Street".into(), "Leeds".into()],
            postcode: Some("LS1 4AB".into()),
        },
        gp_ods: Some("A81001".into()),
        restricted: false,
        deceased: None,
    })
}

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    if let Ok(q) = trace::parse_query(&pairs) {
        let _ = trace::candidate_plan(&q);
        let _ = trace::score(&q, patient());
    }
});
