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
        additional: Default::default(),
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

// ---- The access model in the window (issue 13) ----

use chrono::TimeZone;
use scr_app::{
    around, AlertFilter, AlertFilterStatus, AlertStatusView, AlertView, RoleView, TrailEntryView,
};
use scr_model::fhir::{AlertItem, AlertReview};
use scr_model::{
    AccessReason, Activity, AlertKind, AuditAction, AuditEntry, AuditOutcome, AuditRecord,
    RelationshipBasis, RoleProfile, VolumeScope, VolumeWarning, VolumeWindow,
};

#[test]
fn a_volume_warning_reads_as_words_for_the_window() {
    let words = |scope, window, opened| {
        scr_app::volume_warning_words(&VolumeWarning {
            scope,
            window,
            opened,
            limit: 30,
        })
    };
    assert_eq!(
        words(VolumeScope::User, VolumeWindow::Hour, 31),
        "You have opened 31 different patients' records in the last hour."
    );
    assert_eq!(
        words(VolumeScope::Organisation, VolumeWindow::Day, 501),
        "Your organisation has opened 501 different patients' records in the last day."
    );
    // A fresh summary carries none until the spine sends one.
    assert_eq!(
        shown(&summary(AllergyState::NotRecorded)).volume_warning,
        None
    );
}

fn role(activities: Vec<Activity>) -> RoleView {
    RoleView::from(&RoleProfile {
        id: "r".into(),
        role_code: "R0001".into(),
        role_name: "Privacy Officer Access Role".into(),
        org_ods: "RX901".into(),
        org_name: "Synthetic General Hospital".into(),
        activities,
    })
}

#[test]
fn a_privacy_officer_is_a_role_with_alerts_and_no_summaries() {
    use Activity::*;
    let officer = role(vec![B0015, B0016]);
    assert!(officer.privacy_officer && !officer.clinical);
    assert!(role(vec![B0016]).privacy_officer);
    // A clinician who also receives alerts still works from "Find a patient".
    let both = role(vec![B0264, B0370, B0015]);
    assert!(!both.privacy_officer && both.clinical);
    assert!(!role(vec![B0264, B0020]).privacy_officer);
}

fn at(h: u32, m: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 12, h, m, 0)
        .single()
        .expect("time")
}

fn claimed_read() -> AuditRecord {
    let mut entry = AuditEntry {
        user_id: Some("555000000101".into()),
        user_name: Some("Dr Amara Okafor".into()),
        role_code: Some("R8000".into()),
        org_ods: Some("RX901".into()),
        patient: Some(NhsNumber::parse("9434765919").expect("nhs")),
        action: AuditAction::SummaryRead,
        reason: Some(AccessReason::PermissionToView),
        outcome: AuditOutcome::Success,
        detail: None,
        alert: false,
        offline: None,
        relationship: Some(RelationshipBasis::SelfClaimed),
        justification: Some("Seeing them in the fracture clinic".into()),
        alerts: vec![],
        alert_org: None,
    };
    entry.raise(AlertKind::SelfClaimedRelationship);
    AuditRecord {
        seq: 42,
        at: at(14, 5),
        entry,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

#[test]
fn an_alert_reaches_the_officer_in_words() {
    let item = AlertItem {
        record: claimed_read(),
        kinds: vec![
            AlertKind::SelfClaimedRelationship,
            AlertKind::VolumeSoftLimit,
        ],
        review: None,
    };
    let view = AlertView::from(&item);
    assert_eq!(view.status, AlertStatusView::Open);
    assert!(view.review.is_none());
    let e = &view.entry;
    assert_eq!(e.id, "audit-42");
    assert_eq!(e.at, "2026-03-12T14:05:00Z");
    assert_eq!(
        (
            e.user_name.as_deref(),
            e.user_id.as_deref(),
            e.org_ods.as_deref()
        ),
        (Some("Dr Amara Okafor"), Some("555000000101"), Some("RX901"))
    );
    assert_eq!(e.nhs_number.as_deref(), Some("9434765919"));
    assert_eq!(
        e.reason_given.as_deref(),
        Some("Seeing them in the fracture clinic")
    );
    assert_eq!(e.relationship.as_deref(), Some("Self-claimed by the user"));
    assert_eq!(
        e.answer.as_deref(),
        Some("Yes, the patient gave permission")
    );
    let kinds: Vec<(&str, &str)> = view
        .kinds
        .iter()
        .map(|k| (k.code.as_str(), k.words.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("self-claimed-relationship", "Self-claimed relationship"),
            (
                "volume-soft-limit",
                "Many records opened (soft limit passed)"
            )
        ]
    );

    let reviewed = AlertView::from(&AlertItem {
        review: Some(AlertReview {
            reviewed_by: "555000000303".into(),
            reviewed_at: at(16, 30),
            note: "Confirmed with the clinic lead.".into(),
        }),
        ..item
    });
    assert_eq!(reviewed.status, AlertStatusView::Reviewed);
    let review = reviewed.review.expect("review");
    assert_eq!(
        (
            review.reviewed_by.as_str(),
            review.reviewed_at.as_str(),
            review.note.as_str()
        ),
        (
            "555000000303",
            "2026-03-12T16:30:00Z",
            "Confirmed with the clinic lead."
        )
    );
}

#[test]
fn a_refused_read_shows_its_code_and_a_success_none() {
    let mut record = claimed_read();
    record.entry.outcome = AuditOutcome::Refused;
    record.entry.reason = Some(AccessReason::PermissionRefused);
    record.entry.detail = Some("PERMISSION_REFUSED".into());
    let refused = TrailEntryView::from(&record);
    assert_eq!(refused.outcome, "refused");
    assert_eq!(refused.refusal.as_deref(), Some("PERMISSION_REFUSED"));
    assert_eq!(refused.answer.as_deref(), Some("No, the patient refused"));
    assert_eq!(refused.action_words, "Opened the Summary Care Record");
    // A success's detail (a review names the entry it reviewed) is no refusal.
    let mut review = claimed_read();
    review.entry.action = AuditAction::AlertReview;
    review.entry.detail = Some("audit-7".into());
    assert_eq!(TrailEntryView::from(&review).refusal, None);
}

#[test]
fn the_accesses_around_an_alert_are_twelve_hours_either_side() {
    let (since, until) = around(at(2, 5));
    assert_eq!(since, Utc.with_ymd_and_hms(2026, 3, 11, 14, 5, 0).unwrap());
    assert_eq!(until, at(14, 5));
}

#[test]
fn the_officers_filter_is_checked_before_anything_is_sent() {
    let all_blank = AlertFilter {
        status: AlertFilterStatus::Open,
        user_id: Some("  ".into()),
        nhs_number: Some(String::new()),
        organisation: None,
        from: Some(" ".into()),
        to: None,
    };
    let q = all_blank.query().expect("blank is no filter");
    assert_eq!(q.query(), "status=open&_count=200");
    let full = AlertFilter {
        status: AlertFilterStatus::Reviewed,
        user_id: Some("555000000101".into()),
        nhs_number: Some("943 476 5919".into()),
        organisation: Some("RX901".into()),
        from: Some("2026-03-01".into()),
        to: Some("2026-03-12".into()),
    };
    assert_eq!(
        full.query().expect("valid").query(),
        "status=reviewed&agent=555000000101&patient=9434765919&organization=RX901&date=ge2026-03-01&date=le2026-03-12&_count=200"
    );
    let code = |f: AlertFilter| f.query().map(|_| ()).map_err(|e| e.code());
    assert_eq!(
        code(AlertFilter {
            nhs_number: Some("9434765918".into()),
            ..full.clone()
        }),
        Err("INVALID_NHS_NUMBER".into())
    );
    assert_eq!(
        code(AlertFilter {
            from: Some("12-03-2026".into()),
            ..full.clone()
        }),
        Err("INVALID_DATE".into())
    );
    assert_eq!(
        code(AlertFilter {
            from: Some("2026-03-13".into()),
            ..full.clone()
        }),
        Err("INVALID_DATE".into()),
        "from after to"
    );
    // What the window sends when a filter is left out.
    let sent: AlertFilter = serde_json::from_value(serde_json::json!({})).expect("defaults");
    assert_eq!(sent.status, AlertFilterStatus::Open);
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

/// Each Additional Information heading reaches the window in its own state: not shared,
/// nothing recorded, entries (with what their date means), not included.
#[test]
fn additional_information_reaches_the_window_with_not_shared_and_nothing_recorded_apart() {
    use scr_app::AdditionalSectionView as V;
    use scr_model::{
        ClinicalDate, Coding, Immunisation, ImmunisationStatus, PastProcedure, Section,
        SensitiveCategory, SharingPreference,
    };
    let text = |d: &str| Coding {
        system: None,
        code: None,
        display: d.into(),
    };
    let mut s = summary(AllergyState::NotRecorded);
    s.additional.procedures = Section::recorded(vec![PastProcedure {
        procedure: text("In vitro fertilisation"),
        performed: Some(ClinicalDate::Year(2011)),
        sensitive: Some(SensitiveCategory::FertilityTreatment),
    }]);
    s.additional.sensitive_included = true;
    s.additional.immunisations = Section::recorded(vec![Immunisation {
        vaccine: text("Hepatitis B vaccine"),
        status: ImmunisationStatus::NotGiven,
        date: None,
    }]);
    s.additional.end_of_life = Section::recorded(Vec::new());

    let view = shown(&s).additional;
    let V::Recorded { items, text: None } = &view.procedures else {
        panic!("{:?}", view.procedures)
    };
    assert_eq!(items[0].text, "In vitro fertilisation");
    assert_eq!(items[0].date.as_deref(), Some("2011"));
    assert_eq!(items[0].date_label.as_deref(), Some("performed"));
    assert_eq!(
        items[0].sensitive.as_deref(),
        Some("fertility treatment: shared at the patient's request")
    );
    let V::Recorded { items, .. } = &view.immunisations else {
        panic!("{:?}", view.immunisations)
    };
    assert!(items[0].not_given);
    assert_eq!(items[0].detail.as_deref(), Some("Not given"));
    assert_eq!(
        view.end_of_life,
        V::Recorded {
            items: vec![],
            text: None
        },
        "nothing recorded"
    );
    assert_eq!(view.history, V::NotIncluded);

    // The same summary under core-only consent: every heading carried is "not shared",
    // never "nothing recorded".
    let core = shown(&s.as_held_under(Some(SharingPreference::ExpressConsentCore))).additional;
    assert_eq!(core.procedures, V::NotShared);
    assert_eq!(core.immunisations, V::NotShared);
    assert_eq!(core.end_of_life, V::NotShared);
    assert_eq!(core.history, V::NotIncluded);
}
