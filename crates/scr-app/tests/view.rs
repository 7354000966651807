//! What the window is given for each allergy state, from a real `$summary` document.

use chrono::Utc;
use scr_app::{AllergySection, SummaryView, TextBlockView};
use scr_model::fhir::{parse_document, summary_document, SummaryDocumentInput};
use scr_model::{Address, AllergyState, Demographics, Gender, NhsNumber, Provenance, Summary};

fn shown(summary: &Summary) -> SummaryView {
    let patient = Demographics {
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
    let doc = summary_document(&SummaryDocumentInput {
        patient: &patient,
        summary,
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
