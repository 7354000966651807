//! What changed since the last look, over pairs of summaries: coded and text-only entries,
//! reordering and duplicates (no change), and each kind of change a clinician acts on.

use scr_model::changes::{
    compare, AllergyChange, AllergyField, AllergyStateChange, AllergyStateKind, MedicationChange,
    MedicationField, ProblemChange, Section, SummaryChanges,
};
use scr_model::{
    systems, Allergy, AllergyState, ClinicalDate, Coding, Medication, MedicationKind,
    MedicationStatus, Problem, ProblemStatus, Provenance, Severity, Summary, Verification,
};

// Small builders, so each test says only what it is about.

fn snomed(code: &str, display: &str) -> Coding {
    Coding {
        system: Some(systems::SNOMED.into()),
        code: Some(code.into()),
        display: display.into(),
    }
}

fn dmd(code: &str, display: &str) -> Coding {
    Coding {
        system: Some(systems::DMD.into()),
        code: Some(code.into()),
        display: display.into(),
    }
}

fn text(display: &str) -> Coding {
    Coding {
        system: None,
        code: None,
        display: display.into(),
    }
}

fn allergy(substance: Coding) -> Allergy {
    Allergy {
        substance,
        reaction: Some("Rash".into()),
        severity: Some(Severity::Moderate),
        criticality: None,
        verification: Verification::Confirmed,
        recorded: ClinicalDate::parse("2020-01-05"),
    }
}

fn med(medicine: Coding) -> Medication {
    Medication {
        medicine,
        kind: MedicationKind::Repeat,
        status: MedicationStatus::Active,
        dosage: Some("One tablet once a day".into()),
        quantity: Some("28 tablet".into()),
        started: ClinicalDate::parse("2024-02-01"),
        last_issued: ClinicalDate::parse("2026-02-01"),
        discontinued: None,
        reason: None,
    }
}

fn problem(condition: Coding, status: ProblemStatus) -> Problem {
    Problem {
        condition,
        status,
        onset: ClinicalDate::parse("2019"),
        recorded: None,
    }
}

fn summary() -> Summary {
    Summary {
        allergies: AllergyState::NotRecorded,
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

fn known(allergies: Vec<Allergy>) -> AllergyState {
    AllergyState::Known { allergies }
}

fn penicillin() -> Coding {
    snomed("764146007", "Penicillin")
}

fn latex() -> Coding {
    snomed("111088007", "Latex")
}

fn amlodipine() -> Coding {
    dmd("319283006", "Amlodipine 5mg tablets")
}

fn metformin() -> Coding {
    dmd("325278007", "Metformin 500mg tablets")
}

fn asthma() -> Coding {
    snomed("195967001", "Asthma")
}

/// A summary with a bit of everything, for "nothing changed" tests.
fn full() -> Summary {
    let mut s = summary();
    s.allergies = known(vec![allergy(penicillin()), allergy(text("Elastoplast"))]);
    s.medications = vec![med(amlodipine()), med(text("Emollient cream"))];
    s.problems = vec![
        problem(asthma(), ProblemStatus::Active),
        problem(text("Recurrent falls"), ProblemStatus::Active),
    ];
    s
}

#[test]
fn the_same_summary_twice_has_no_changes() {
    let changes = compare(&full(), &full());
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(changes, SummaryChanges::default());
}

#[test]
fn reordering_every_list_is_no_change() {
    let mut after = full();
    if let AllergyState::Known { allergies } = &mut after.allergies {
        allergies.reverse();
    }
    after.medications.reverse();
    after.problems.reverse();
    assert!(compare(&full(), &after).is_empty());
}

#[test]
fn a_repeat_issued_again_or_a_date_recorded_differently_is_no_change() {
    let mut after = full();
    after.medications[0].last_issued = ClinicalDate::parse("2026-03-01");
    if let AllergyState::Known { allergies } = &mut after.allergies {
        allergies[0].recorded = ClinicalDate::parse("2020");
    }
    after.problems[0].onset = None;
    assert!(compare(&full(), &after).is_empty());
}

#[test]
fn an_allergy_added_and_one_removed_are_both_reported() {
    let mut before = summary();
    before.allergies = known(vec![allergy(penicillin())]);
    let mut after = summary();
    after.allergies = known(vec![allergy(latex())]);
    let changes = compare(&before, &after);
    assert_eq!(changes.allergy_state, None);
    assert_eq!(
        changes.allergies,
        vec![
            AllergyChange::Added(allergy(latex())),
            AllergyChange::Removed(allergy(penicillin())),
        ]
    );
}

#[test]
fn no_known_allergies_becoming_known_says_both_the_state_and_the_allergy() {
    let mut before = summary();
    before.allergies = AllergyState::NoKnownAllergies {
        recorded: ClinicalDate::parse("2021-06-01"),
    };
    let mut after = summary();
    after.allergies = known(vec![allergy(penicillin())]);
    let changes = compare(&before, &after);
    assert_eq!(
        changes.allergy_state,
        Some(AllergyStateChange {
            before: AllergyStateKind::NoKnownAllergies,
            after: AllergyStateKind::Known,
        })
    );
    assert_eq!(
        changes.allergies,
        vec![AllergyChange::Added(allergy(penicillin()))]
    );
}

#[test]
fn known_allergies_no_longer_recorded_lists_each_one_lost() {
    let mut before = summary();
    before.allergies = known(vec![allergy(penicillin()), allergy(latex())]);
    let changes = compare(&before, &summary());
    assert_eq!(
        changes.allergy_state,
        Some(AllergyStateChange {
            before: AllergyStateKind::Known,
            after: AllergyStateKind::NotRecorded,
        })
    );
    assert_eq!(changes.allergies.len(), 2);
    assert!(changes
        .allergies
        .iter()
        .all(|c| matches!(c, AllergyChange::Removed(_))));
}

#[test]
fn an_allergy_refuted_or_entered_in_error_is_removed() {
    let mut before = summary();
    before.allergies = known(vec![allergy(penicillin()), allergy(latex())]);
    let mut after = before.clone();
    if let AllergyState::Known { allergies } = &mut after.allergies {
        allergies[0].verification = Verification::Refuted;
        allergies[1].verification = Verification::EnteredInError;
    }
    let changes = compare(&before, &after);
    assert_eq!(
        changes.allergies,
        vec![
            AllergyChange::Removed(allergy(penicillin())),
            AllergyChange::Removed(allergy(latex())),
        ]
    );
}

#[test]
fn an_allergys_details_changing_is_a_change_naming_each_detail() {
    let mut before = summary();
    let mut was = allergy(penicillin());
    was.verification = Verification::Unconfirmed;
    before.allergies = known(vec![was.clone()]);
    let mut now = was.clone();
    now.verification = Verification::Confirmed;
    now.severity = Some(Severity::Severe);
    now.reaction = Some("Anaphylaxis".into());
    let mut after = summary();
    after.allergies = known(vec![now.clone()]);
    assert_eq!(
        compare(&before, &after).allergies,
        vec![AllergyChange::Changed {
            before: was,
            after: now,
            fields: vec![
                AllergyField::Reaction,
                AllergyField::Severity,
                AllergyField::Verification
            ],
        }]
    );
}

#[test]
fn text_only_entries_are_matched_by_their_words_ignoring_case_and_spacing() {
    let mut before = summary();
    before.allergies = known(vec![allergy(text("Elastoplast  dressings"))]);
    before.medications = vec![med(text("Emollient cream"))];
    let mut after = summary();
    after.allergies = known(vec![allergy(text(" elastoplast dressings"))]);
    after.medications = vec![med(text("EMOLLIENT CREAM"))];
    assert!(compare(&before, &after).is_empty());

    // Different words are a different entry.
    after.allergies = known(vec![allergy(text("Elastoplast"))]);
    let changes = compare(&before, &after);
    assert_eq!(changes.allergies.len(), 2, "{changes:?}");
}

#[test]
fn a_coded_entry_and_an_uncoded_one_with_the_same_words_are_the_same() {
    let mut before = summary();
    before.allergies = known(vec![allergy(text("Penicillin"))]);
    before.problems = vec![problem(text("asthma"), ProblemStatus::Active)];
    let mut after = summary();
    after.allergies = known(vec![allergy(penicillin())]);
    after.problems = vec![problem(asthma(), ProblemStatus::Active)];
    assert!(compare(&before, &after).is_empty());
}

#[test]
fn coded_entries_are_matched_by_code_whatever_their_words() {
    let mut before = summary();
    before.medications = vec![med(dmd("319283006", "Amlodipine 5mg tablets"))];
    let mut after = summary();
    after.medications = vec![med(dmd("319283006", "Amlodipine 5 mg tablet"))];
    assert!(compare(&before, &after).is_empty(), "reworded, same code");

    // Same words, another code in the same system: another medicine.
    after.medications = vec![med(dmd("999999999", "Amlodipine 5mg tablets"))];
    let changes = compare(&before, &after);
    assert_eq!(changes.medications.len(), 2, "{changes:?}");
    assert!(matches!(
        changes.medications[0],
        MedicationChange::Started(_)
    ));
    assert!(matches!(
        changes.medications[1],
        MedicationChange::NoLongerListed(_)
    ));
}

#[test]
fn codes_in_different_systems_fall_back_to_the_words() {
    let mut before = summary();
    before.problems = vec![problem(
        Coding {
            system: Some(systems::READ_V2.into()),
            code: Some("H33..".into()),
            display: "Asthma".into(),
        },
        ProblemStatus::Active,
    )];
    let mut after = summary();
    after.problems = vec![problem(asthma(), ProblemStatus::Active)];
    assert!(compare(&before, &after).is_empty());
}

#[test]
fn exact_duplicates_count_once() {
    let mut before = summary();
    before.allergies = known(vec![allergy(penicillin()), allergy(penicillin())]);
    before.medications = vec![med(amlodipine())];
    let mut after = summary();
    after.allergies = known(vec![allergy(penicillin())]);
    after.medications = vec![med(amlodipine()), med(amlodipine())];
    assert!(compare(&before, &after).is_empty());
}

#[test]
fn a_second_entry_of_one_medicine_with_another_dose_is_started() {
    let mut before = summary();
    before.medications = vec![med(amlodipine())];
    let mut second = med(amlodipine());
    second.dosage = Some("Two tablets once a day".into());
    let mut after = summary();
    after.medications = vec![second.clone(), med(amlodipine())];
    assert_eq!(
        compare(&before, &after).medications,
        vec![MedicationChange::Started(second)]
    );
}

#[test]
fn medicines_started_stopped_and_no_longer_listed() {
    let mut before = summary();
    before.medications = vec![med(amlodipine()), med(text("Emollient cream"))];
    let mut stopped = med(amlodipine());
    stopped.status = MedicationStatus::Discontinued;
    stopped.discontinued = ClinicalDate::parse("2026-03-10");
    let mut after = summary();
    after.medications = vec![stopped.clone(), med(metformin())];
    assert_eq!(
        compare(&before, &after).medications,
        vec![
            MedicationChange::Started(med(metformin())),
            MedicationChange::Stopped {
                before: Some(med(amlodipine())),
                after: stopped,
            },
            MedicationChange::NoLongerListed(med(text("Emollient cream"))),
        ]
    );
}

#[test]
fn a_stopped_medicine_started_again_and_a_new_one_already_stopped() {
    let mut stopped = med(amlodipine());
    stopped.status = MedicationStatus::Discontinued;
    let mut before = summary();
    before.medications = vec![stopped.clone()];
    let mut new_stopped = med(metformin());
    new_stopped.status = MedicationStatus::Discontinued;
    let mut after = summary();
    after.medications = vec![med(amlodipine()), new_stopped.clone()];
    assert_eq!(
        compare(&before, &after).medications,
        vec![
            MedicationChange::StartedAgain {
                before: stopped.clone(),
                after: med(amlodipine()),
            },
            MedicationChange::Stopped {
                before: None,
                after: new_stopped,
            },
        ]
    );
    // A stopped medicine leaving the list is not reported: it was not being taken.
    let mut later = summary();
    later.medications = vec![];
    before.medications = vec![stopped];
    assert!(compare(&before, &later).is_empty());
}

#[test]
fn a_medicines_dose_quantity_kind_or_status_changing_is_a_change() {
    let mut before = summary();
    before.medications = vec![med(amlodipine())];
    let mut now = med(amlodipine());
    now.dosage = Some("Two tablets once a day".into());
    now.quantity = Some("56 tablet".into());
    now.kind = MedicationKind::Acute;
    now.status = MedicationStatus::Completed;
    let mut after = summary();
    after.medications = vec![now.clone()];
    assert_eq!(
        compare(&before, &after).medications,
        vec![MedicationChange::Changed {
            before: med(amlodipine()),
            after: now,
            fields: vec![
                MedicationField::Dosage,
                MedicationField::Quantity,
                MedicationField::Kind,
                MedicationField::Status,
            ],
        }]
    );
}

#[test]
fn a_changed_reason_is_a_change_but_a_reason_no_longer_shared_is_not() {
    let mut given = med(amlodipine());
    given.reason = Some("Hypertension".into());
    let mut before = summary();
    before.medications = vec![given.clone()];
    let mut other = med(amlodipine());
    other.reason = Some("Angina".into());
    let mut after = summary();
    after.medications = vec![other.clone()];
    assert_eq!(
        compare(&before, &after).medications,
        vec![MedicationChange::Changed {
            before: given.clone(),
            after: other,
            fields: vec![MedicationField::Reason],
        }]
    );
    // The reason is Additional Information: under a later core-only preference it is
    // simply not sent, which says nothing about the medicine.
    let mut core_only = summary();
    core_only.medications = vec![med(amlodipine())];
    assert!(compare(&before, &core_only).is_empty());
    assert!(compare(&core_only, &before).is_empty());
}

#[test]
fn the_entry_most_alike_is_taken_as_the_same_one() {
    // Two entries of one medicine at different doses; one of them changes its quantity.
    let mut low = med(amlodipine());
    low.dosage = Some("One tablet once a day".into());
    let mut high = med(amlodipine());
    high.dosage = Some("Two tablets once a day".into());
    let mut before = summary();
    before.medications = vec![low.clone(), high.clone()];
    let mut high_more = high.clone();
    high_more.quantity = Some("112 tablet".into());
    let mut after = summary();
    after.medications = vec![high_more.clone(), low];
    assert_eq!(
        compare(&before, &after).medications,
        vec![MedicationChange::Changed {
            before: high,
            after: high_more,
            fields: vec![MedicationField::Quantity],
        }]
    );
}

#[test]
fn problems_added_resolved_reopened_and_no_longer_listed() {
    let mut before = summary();
    before.problems = vec![
        problem(asthma(), ProblemStatus::Active),
        problem(text("Recurrent falls"), ProblemStatus::Resolved),
        problem(text("Low back pain"), ProblemStatus::Active),
    ];
    let mut after = summary();
    after.problems = vec![
        problem(snomed("44054006", "Type 2 diabetes"), ProblemStatus::Active),
        problem(asthma(), ProblemStatus::Resolved),
        problem(text("recurrent falls"), ProblemStatus::Active),
    ];
    assert_eq!(
        compare(&before, &after).problems,
        vec![
            ProblemChange::Added(problem(
                snomed("44054006", "Type 2 diabetes"),
                ProblemStatus::Active
            )),
            ProblemChange::Resolved {
                before: problem(asthma(), ProblemStatus::Active),
                after: problem(asthma(), ProblemStatus::Resolved),
            },
            ProblemChange::StatusChanged {
                before: problem(text("Recurrent falls"), ProblemStatus::Resolved),
                after: problem(text("recurrent falls"), ProblemStatus::Active),
            },
            ProblemChange::NoLongerListed(problem(text("Low back pain"), ProblemStatus::Active)),
        ]
    );
}

fn xhtml(body: &str) -> String {
    format!(r#"<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>"#)
}

#[test]
fn text_only_sections_compare_their_words_not_their_markup() {
    let mut before = summary();
    before.allergies = AllergyState::DescribedInText;
    before.narratives.allergies = Some(xhtml("<p>Penicillin: anaphylaxis</p>"));
    before.narratives.medications = Some(xhtml("<ul><li>Amlodipine 5 mg</li></ul>"));
    let mut after = before.clone();
    // The same words in other markup and spacing: no change.
    after.narratives.allergies = Some(xhtml(
        "<table><tr><td>Penicillin:</td><td>anaphylaxis</td></tr></table>",
    ));
    after.narratives.medications = Some(xhtml("<p>Amlodipine   5 mg</p>"));
    assert!(compare(&before, &after).is_empty());

    after.narratives.allergies = Some(xhtml("<p>Penicillin: anaphylaxis. Latex: rash</p>"));
    after.narratives.problems = Some(xhtml("<p>Asthma</p>"));
    let changes = compare(&before, &after);
    assert_eq!(changes.texts, vec![Section::Allergies, Section::Problems]);
    assert_eq!(changes.allergy_state, None);
}

#[test]
fn text_only_allergies_becoming_coded_say_the_state_and_each_allergy() {
    let mut before = summary();
    before.allergies = AllergyState::DescribedInText;
    before.narratives.allergies = Some(xhtml("<p>Penicillin: anaphylaxis</p>"));
    let mut after = summary();
    after.allergies = known(vec![allergy(penicillin())]);
    after.narratives.allergies = Some(xhtml("<p>Penicillin</p>"));
    let changes = compare(&before, &after);
    assert_eq!(
        changes.allergy_state,
        Some(AllergyStateChange {
            before: AllergyStateKind::DescribedInText,
            after: AllergyStateKind::Known,
        })
    );
    assert_eq!(
        changes.allergies,
        vec![AllergyChange::Added(allergy(penicillin()))]
    );
    // Beside coded entries the section's text is theirs, not compared on its own.
    assert!(changes.texts.is_empty());
}

#[test]
fn an_empty_summary_becoming_full_lists_everything_as_new() {
    let changes = compare(&summary(), &full());
    assert_eq!(
        changes.allergy_state,
        Some(AllergyStateChange {
            before: AllergyStateKind::NotRecorded,
            after: AllergyStateKind::Known,
        })
    );
    assert_eq!(changes.allergies.len(), 2);
    assert_eq!(changes.medications.len(), 2);
    assert_eq!(changes.problems.len(), 2);
    assert!(changes
        .medications
        .iter()
        .all(|c| matches!(c, MedicationChange::Started(_))));
}
