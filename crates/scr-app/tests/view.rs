//! What the window is given for each allergy state, from a real `$summary` document.

use chrono::Utc;
use scr_app::{AllergySection, SummaryView, TextBlockView};
use scr_model::fhir::{parse_document, summary_document, SummaryDocumentInput};
use scr_model::{Address, AllergyState, Demographics, Gender, NhsNumber, Provenance, Summary};

fn shown(summary: &Summary) -> SummaryView {
    shown_for(summary, |_| {})
}

/// The window's view of `summary` for a patient changed by `change`, through the document
/// the spine serves (a restricted patient's as the spine serves it).
fn shown_for(summary: &Summary, change: impl FnOnce(&mut Demographics)) -> SummaryView {
    let mut patient = Demographics {
        nhs_number: NhsNumber::nth_test_number(0).expect("test number"),
        title: None,
        given: vec!["Ada".into()],
        family: "Lovelace".into(),
        gender: Gender::Female,
        birth_date: chrono::NaiveDate::from_ymd_opt(1970, 3, 12).expect("date"),
        address: Address::default(),
        gp_ods: Some("A81001".into()),
        restricted: false,
        deceased: None,
    };
    change(&mut patient);
    let served = if patient.restricted {
        summary.with_source_withheld()
    } else {
        summary.clone()
    };
    let doc = summary_document(&SummaryDocumentInput {
        patient: &patient.redacted_if_restricted(),
        summary: &served,
        document_id: "0123456789abcdef0123456789abcdef",
        generated_at: Utc::now(),
    });
    let parsed = parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    SummaryView::from_document(&parsed, Utc::now(), false, Utc::now())
}

fn summary(allergies: AllergyState) -> Summary {
    Summary {
        allergies,
        medications: vec![],
        problems: vec![],
        provenance: Provenance {
            practice_ods: Some("A81001".into()),
            practice_name: Some("The Surgery".into()),
            author: None,
            last_updated: None,
        },
        narratives: Default::default(),
        flags: Default::default(),
    }
}

#[test]
fn allergies_in_text_only_reach_the_window_as_text_never_as_not_recorded() {
    let mut s = summary(AllergyState::DescribedInText);
    s.narratives.allergies = Some(
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Penicillin: anaphylaxis</p><table><tr><td>Latex</td><td>rash</td></tr></table></div>"#.into(),
    );
    s.narratives.medications =
        Some(r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Amlodipine 5 mg</p></div>"#.into());
    let view = shown(&s);
    let AllergySection::DescribedInText { text } = &view.allergies else {
        panic!("text-only allergies shown as {:?}", view.allergies)
    };
    assert!(text.complete);
    assert_eq!(
        text.blocks,
        vec![
            TextBlockView::Paragraph {
                text: "Penicillin: anaphylaxis".into()
            },
            TextBlockView::Row {
                cells: vec!["Latex".into(), "rash".into()]
            },
        ]
    );
    let medication = view.document_text.medication.expect("medication text");
    assert_eq!(
        medication.blocks,
        vec![TextBlockView::Paragraph {
            text: "Amlodipine 5 mg".into()
        }]
    );
}

#[test]
fn not_recorded_stays_not_recorded() {
    let view = shown(&summary(AllergyState::NotRecorded));
    assert_eq!(view.allergies, AllergySection::NotRecorded);
}

fn flagged() -> Summary {
    let mut s = summary(AllergyState::NotRecorded);
    s.flags.reasonable_adjustment = Some(scr_model::ReasonableAdjustment {
        adjustments: vec!["Needs a British Sign Language interpreter".into()],
        recorded: None,
    });
    s.flags.child_protection = Some(scr_model::ChildProtectionPlan {
        responsible_ods: Some("LA901".into()),
        responsible_name: Some("Synthetic County Council Children's Services".into()),
        start: scr_model::ClinicalDate::parse("2025-09-01"),
        end: None,
    });
    s
}

#[test]
fn flags_and_a_death_reach_the_window_before_anything_else_is_decided() {
    let view = shown_for(&flagged(), |p| {
        p.deceased = Some(scr_model::Deceased {
            date: scr_model::ClinicalDate::parse("2025-03-12"),
        })
    });
    assert_eq!(
        view.patient.deceased,
        Some(scr_app::DeceasedView {
            date: Some("2025-03-12".into())
        })
    );
    assert_eq!(
        view.flags
            .reasonable_adjustment
            .as_ref()
            .map(|r| r.adjustments.clone()),
        Some(vec!["Needs a British Sign Language interpreter".to_string()])
    );
    let plan = view.flags.child_protection.expect("the plan");
    assert_eq!(plan.responsible_ods.as_deref(), Some("LA901"));
    assert_eq!(plan.since.as_deref(), Some("2025-09-01"));
    assert!(!plan.withheld);
}

#[test]
fn a_plan_that_has_ended_asks_nothing_and_a_restricted_childs_names_no_organisation() {
    let mut ended = flagged();
    if let Some(p) = &mut ended.flags.child_protection {
        p.end = scr_model::ClinicalDate::parse("2025-10-01");
    }
    assert_eq!(shown(&ended).flags.child_protection, None);
    let restricted = shown_for(&flagged(), |p| p.restricted = true);
    let plan = restricted
        .flags
        .child_protection
        .expect("the plan is still shown");
    assert!(plan.withheld);
    assert_eq!(plan.responsible_ods, None);
    assert_eq!(plan.responsible_name, None);
    assert!(restricted.patient.restricted);
}
