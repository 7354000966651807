//! Trace quality: typos, phonetic spellings, swapped day and month, transposed names.

use chrono::NaiveDate;
use reqwest::StatusCode;
use scr_model::{Address, Demographics, Gender, NhsNumber};
use scr_spine::store::PatientRow;

use crate::backend_tests;
use crate::harness::{error_code, TestSpine};

backend_tests!(
    finds_the_right_patient_despite_typos,
    too_many_matches_is_an_answer
);

fn person(
    index: u32,
    given: &str,
    family: &str,
    born: (i32, u32, u32),
    gender: Gender,
    postcode: &str,
) -> PatientRow {
    PatientRow {
        demographics: Demographics {
            // Far above the seeded range, so these never collide with the population.
            nhs_number: NhsNumber::nth_test_number(800_000 + index).expect("test number"),
            title: None,
            given: vec![given.to_string()],
            family: family.to_string(),
            gender,
            birth_date: NaiveDate::from_ymd_opt(born.0, born.1, born.2).expect("date"),
            address: Address {
                lines: vec!["1 High Street".into(), "Leeds".into()],
                postcode: Some(postcode.to_string()),
            },
            gp_ods: Some("A81001".into()),
            restricted: false,
            deceased: None,
        },
        summary: None,
        consent: None,
    }
}

async fn finds_the_right_patient_despite_typos(spine: &TestSpine) {
    let people = vec![
        person(
            1,
            "Jonathan",
            "Smith",
            (1970, 3, 12),
            Gender::Male,
            "LS6 2AB",
        ),
        person(
            2,
            "Catherine",
            "Thompson",
            (1985, 7, 23),
            Gender::Female,
            "YO1 7HH",
        ),
        person(
            3,
            "Mohammed",
            "Khan",
            (1962, 11, 5),
            Gender::Male,
            "B11 1AA",
        ),
        person(
            4,
            "Siobhan",
            "O'Neill",
            (1991, 2, 28),
            Gender::Female,
            "M14 5RT",
        ),
        // A near neighbour, to make ranking matter.
        person(
            5,
            "Jonathon",
            "Smyth",
            (1970, 3, 12),
            Gender::Male,
            "LS9 8XY",
        ),
    ];
    let nhs: Vec<String> = people
        .iter()
        .map(|p| p.demographics.nhs_number.as_digits())
        .collect();
    spine
        .store()
        .insert_patients_bulk(&people)
        .await
        .expect("insert");
    let token = spine.sign_in(&spine.identity("doctor"), None).await;

    // (query, expected top hit, expect an exact score)
    let cases: Vec<(&str, &str, bool)> = vec![
        ("family=Smith&birthdate=1970-03-12", &nhs[0], true),
        ("family=smith&given=jonathan&birthdate=eq1970-03-12", &nhs[0], true),
        ("family=Sm*&given=Jonathan&birthdate=1970-03-12", &nhs[0], true),
        ("family=Smith&given=Jonathan&birthdate=1970-03-12&_fuzzy-match=true", &nhs[0], true),
        ("family=Smiht&given=Jonathan&birthdate=1970-03-12&_fuzzy-match=true", &nhs[0], false),
        ("family=Smith&given=Jonathan&birthdate=1970-12-03&_fuzzy-match=true", &nhs[0], false),
        ("family=Jonathan&given=Smith&birthdate=1970-03-12&_fuzzy-match=true", &nhs[0], false),
        ("family=Smyth&given=Jonathon&birthdate=1970-03-12&_fuzzy-match=true", &nhs[4], true),
        ("family=Thomson&given=Katherine&birthdate=1985-07-23&_fuzzy-match=true", &nhs[1], false),
        ("family=Thompson&gender=female&birthdate=1985-07-23&address-postalcode=YO17HH&_fuzzy-match=true", &nhs[1], true),
        ("family=Kahn&given=Muhammad&birthdate=1962-11-05&_fuzzy-match=true", &nhs[2], false),
        ("family=Khan&given=Mohammed&birthdate=1962-05-11&_fuzzy-match=true", &nhs[2], false),
        ("family=ONeill&given=Siobhan&birthdate=1991-02-28&_fuzzy-match=true", &nhs[3], false),
    ];
    for (query, expected, exact) in cases {
        let (status, bundle) = spine
            .get(&format!("/FHIR/R4/Patient?{query}"), &token)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {bundle}");
        let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        assert!(!entries.is_empty(), "{query}: no match");
        let top = &entries[0];
        spine.keep_sample("patient-searchset", &bundle);
        assert_eq!(
            top["resource"]["id"].as_str(),
            Some(expected),
            "{query}: wrong top hit in {bundle}"
        );
        let score = top["search"]["score"].as_f64().expect("score");
        assert_eq!(score == 1.0, exact, "{query}: score {score}");
        // Best first.
        let scores: Vec<f64> = entries
            .iter()
            .filter_map(|e| e["search"]["score"].as_f64())
            .collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "{query}: not sorted {scores:?}"
        );
    }

    // A plain search does not guess: a typo finds nobody.
    let (status, bundle) = spine
        .get("/FHIR/R4/Patient?family=Smiht&birthdate=1970-03-12", &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 0, "{bundle}");
    // Not enough to search on is a clear refusal.
    let (status, body) = spine.get("/FHIR/R4/Patient?family=Smith", &token).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "MISSING_SEARCH_PARAMETERS")
    );
    let (status, body) = spine
        .get("/FHIR/R4/Patient?family=S*&birthdate=1970-03-12", &token)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_SEARCH_DATA")
    );
}

async fn too_many_matches_is_an_answer(spine: &TestSpine) {
    let people: Vec<PatientRow> = (0..12)
        .map(|i| {
            person(
                100 + i,
                ["Ann", "Bob", "Cat", "Dan"][i as usize % 4],
                "Brown",
                (1990, 1, 1),
                Gender::Female,
                "LS1 1AA",
            )
        })
        .collect();
    spine
        .store()
        .insert_patients_bulk(&people)
        .await
        .expect("insert");
    let token = spine.sign_in(&spine.identity("receptionist"), None).await;
    let (status, body) = spine
        .get("/FHIR/R4/Patient?family=Brown&birthdate=1990-01-01", &token)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "TOO_MANY_MATCHES")
    );
    let (status, bundle) = spine
        .get(
            "/FHIR/R4/Patient?family=Brown&birthdate=1990-01-01&_max-results=50",
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 12);
}
