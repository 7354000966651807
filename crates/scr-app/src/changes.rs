//! "Changes since you last looked": what `scr_model::changes::compare` found between the
//! copy of a summary this user last fetched on this computer and the one just served, in
//! words for the window. Every item carries its mark as a word ("Added", "Stopped", …) as
//! well as a kind the page styles, so a change is never told by colour alone.

use scr_model::changes::{
    AllergyChange, AllergyField, AllergyStateKind, MedicationChange, MedicationField,
    ProblemChange, Section, SummaryChanges,
};
use scr_model::{
    Allergy, ClinicalDate, Criticality, Medication, MedicationKind, MedicationStatus, Problem,
    ProblemStatus, Severity, Verification,
};
use serde::Serialize;
use ts_rs::TS;

/// How a change is marked on screen (with its label's word as well).
#[derive(Clone, Copy, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ChangeMark {
    /// New since the last look (an allergy added, a medicine started, a problem added).
    Added,
    /// Gone or ended since (an allergy removed, a medicine stopped or no longer listed).
    Removed,
    /// Still there, with something different.
    Changed,
}

/// The part of the summary a change is in.
#[derive(Clone, Copy, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ChangeSection {
    Allergies,
    Medication,
    Problems,
}

/// One change, in words: `label` `what` — `detail`, e.g. "Stopped: Amlodipine 5mg tablets —
/// stopped 10-Mar-2026".
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    pub mark: ChangeMark,
    pub section: ChangeSection,
    /// The mark in words: "Added", "Removed", "Changed", "Started", "Started again",
    /// "Stopped", "Resolved", "No longer listed".
    pub label: String,
    /// The allergy, medicine or problem as the record names it.
    pub what: String,
    pub detail: Option<String>,
}

/// What changed since the copy this user last fetched on this computer. Present only when
/// there was such a copy; `items` empty means nothing changed.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChangesView {
    /// When the copy compared with was fetched (RFC 3339): the last look.
    pub since: String,
    /// Allergies first, then medication, then problems.
    pub items: Vec<ChangeView>,
}

fn item(
    mark: ChangeMark,
    section: ChangeSection,
    label: &str,
    what: &str,
    detail: Option<String>,
) -> ChangeView {
    ChangeView {
        mark,
        section,
        label: label.to_string(),
        what: what.to_string(),
        detail: detail.filter(|d| !d.is_empty()),
    }
}

fn state_words(s: AllergyStateKind) -> &'static str {
    match s {
        AllergyStateKind::Known => "known allergies",
        AllergyStateKind::NoKnownAllergies => "no known allergies",
        AllergyStateKind::NotRecorded => "not recorded",
        AllergyStateKind::DescribedInText => "described in text only",
    }
}

fn severity_words(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Mild) => "mild",
        Some(Severity::Moderate) => "moderate",
        Some(Severity::Severe) => "severe",
        None => "not recorded",
    }
}

fn criticality_words(c: Option<Criticality>) -> &'static str {
    match c {
        Some(Criticality::High) => "high risk",
        Some(Criticality::Low) => "low risk",
        Some(Criticality::UnableToAssess) => "risk unable to assess",
        None => "risk not recorded",
    }
}

fn verification_words(v: Verification) -> &'static str {
    match v {
        Verification::Confirmed => "confirmed",
        Verification::Unconfirmed => "unconfirmed",
        Verification::Presumed => "presumed",
        Verification::Refuted => "refuted",
        Verification::EnteredInError => "entered in error",
    }
}

fn kind_words(k: MedicationKind) -> &'static str {
    match k {
        MedicationKind::Acute => "acute",
        MedicationKind::Repeat => "repeat",
        MedicationKind::Unspecified => "kind not stated",
    }
}

fn medication_status_words(s: MedicationStatus) -> &'static str {
    match s {
        MedicationStatus::Active => "active",
        MedicationStatus::Completed => "completed",
        MedicationStatus::Discontinued => "stopped",
        MedicationStatus::Unknown => "status unknown",
    }
}

fn problem_status_words(s: ProblemStatus) -> &'static str {
    match s {
        ProblemStatus::Active => "active",
        ProblemStatus::Inactive => "inactive",
        ProblemStatus::Resolved => "resolved",
        ProblemStatus::Unknown => "status unknown",
    }
}

fn or_none(v: &Option<String>) -> String {
    match v.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => format!("“{t}”"),
        _ => "none recorded".to_string(),
    }
}

fn was_now(what: &str, before: &str, after: &str) -> String {
    format!("{what}: was {before}, now {after}")
}

/// "Anaphylaxis · severe · high risk · unconfirmed": what a reader needs of an allergy.
fn allergy_detail(a: &Allergy) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(r) = a.reaction.as_deref().filter(|r| !r.trim().is_empty()) {
        parts.push(r.trim().to_string());
    }
    if a.severity.is_some() {
        parts.push(severity_words(a.severity).to_string());
    }
    if a.criticality == Some(Criticality::High) {
        parts.push("high risk".to_string());
    }
    if a.verification != Verification::Confirmed {
        parts.push(verification_words(a.verification).to_string());
    }
    parts.join(" · ")
}

fn allergy_field_words(f: AllergyField, b: &Allergy, a: &Allergy) -> String {
    match f {
        AllergyField::Reaction => was_now("reaction", &or_none(&b.reaction), &or_none(&a.reaction)),
        AllergyField::Severity => was_now(
            "severity",
            severity_words(b.severity),
            severity_words(a.severity),
        ),
        AllergyField::Criticality => was_now(
            "risk",
            criticality_words(b.criticality),
            criticality_words(a.criticality),
        ),
        AllergyField::Verification => was_now(
            "status",
            verification_words(b.verification),
            verification_words(a.verification),
        ),
    }
}

/// "Repeat · One tablet once a day · 28 tablet".
fn medication_detail(m: &Medication) -> String {
    let mut parts: Vec<String> = Vec::new();
    if m.kind != MedicationKind::Unspecified {
        parts.push(kind_words(m.kind).to_string());
    }
    for t in [&m.dosage, &m.quantity] {
        if let Some(t) = t.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            parts.push(t.to_string());
        }
    }
    parts.join(" · ")
}

fn medication_field_words(f: MedicationField, b: &Medication, a: &Medication) -> String {
    match f {
        MedicationField::Dosage => was_now("dose", &or_none(&b.dosage), &or_none(&a.dosage)),
        MedicationField::Quantity => {
            was_now("quantity", &or_none(&b.quantity), &or_none(&a.quantity))
        }
        MedicationField::Kind => was_now("kind", kind_words(b.kind), kind_words(a.kind)),
        MedicationField::Status => was_now(
            "status",
            medication_status_words(b.status),
            medication_status_words(a.status),
        ),
        MedicationField::Reason => was_now("reason", &or_none(&b.reason), &or_none(&a.reason)),
    }
}

fn date(d: &Option<ClinicalDate>) -> Option<String> {
    d.as_ref().map(|d| d.to_string())
}

fn problem_detail(p: &Problem) -> String {
    match date(&p.onset) {
        Some(onset) => format!("{} · since {onset}", problem_status_words(p.status)),
        None => problem_status_words(p.status).to_string(),
    }
}

fn allergy_items(changes: &SummaryChanges) -> Vec<ChangeView> {
    use ChangeMark::*;
    let s = ChangeSection::Allergies;
    let mut out = Vec::new();
    if let Some(state) = changes.allergy_state {
        out.push(item(
            Changed,
            s,
            "Changed",
            "Allergy status",
            Some(format!(
                "was {}, now {}",
                state_words(state.before),
                state_words(state.after)
            )),
        ));
    }
    for c in &changes.allergies {
        out.push(match c {
            AllergyChange::Added(a) => item(
                Added,
                s,
                "Added",
                &a.substance.display,
                Some(allergy_detail(a)),
            ),
            AllergyChange::Removed(a) => item(
                Removed,
                s,
                "Removed",
                &a.substance.display,
                Some(allergy_detail(a)),
            ),
            AllergyChange::Changed {
                before,
                after,
                fields,
            } => item(
                Changed,
                s,
                "Changed",
                &after.substance.display,
                Some(
                    fields
                        .iter()
                        .map(|f| allergy_field_words(*f, before, after))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
        });
    }
    out
}

fn medication_items(changes: &SummaryChanges) -> Vec<ChangeView> {
    use ChangeMark::*;
    let s = ChangeSection::Medication;
    changes
        .medications
        .iter()
        .map(|c| match c {
            MedicationChange::Started(m) => item(
                Added,
                s,
                "Started",
                &m.medicine.display,
                Some(medication_detail(m)),
            ),
            MedicationChange::StartedAgain { after, .. } => item(
                Added,
                s,
                "Started again",
                &after.medicine.display,
                Some(medication_detail(after)),
            ),
            MedicationChange::Stopped { before, after } => {
                let when = date(&after.discontinued).map(|d| format!("stopped {d}"));
                let detail = match (before, when) {
                    (Some(_), when) => when,
                    (None, Some(when)) => Some(format!("{when} (not listed last time)")),
                    (None, None) => Some("not listed last time".to_string()),
                };
                item(Removed, s, "Stopped", &after.medicine.display, detail)
            }
            MedicationChange::NoLongerListed(m) => item(
                Removed,
                s,
                "No longer listed",
                &m.medicine.display,
                Some(format!(
                    "not marked as stopped; last time: {}",
                    medication_detail(m)
                )),
            ),
            MedicationChange::Changed {
                before,
                after,
                fields,
            } => item(
                Changed,
                s,
                "Changed",
                &after.medicine.display,
                Some(
                    fields
                        .iter()
                        .map(|f| medication_field_words(*f, before, after))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
        })
        .collect()
}

fn problem_items(changes: &SummaryChanges) -> Vec<ChangeView> {
    use ChangeMark::*;
    let s = ChangeSection::Problems;
    changes
        .problems
        .iter()
        .map(|c| match c {
            ProblemChange::Added(p) => item(
                Added,
                s,
                "Added",
                &p.condition.display,
                Some(problem_detail(p)),
            ),
            ProblemChange::Resolved { before, after } => item(
                Changed,
                s,
                "Resolved",
                &after.condition.display,
                Some(format!(
                    "was {}, now {}",
                    problem_status_words(before.status),
                    problem_status_words(after.status)
                )),
            ),
            ProblemChange::StatusChanged { before, after } => item(
                Changed,
                s,
                "Changed",
                &after.condition.display,
                Some(format!(
                    "was {}, now {}",
                    problem_status_words(before.status),
                    problem_status_words(after.status)
                )),
            ),
            ProblemChange::NoLongerListed(p) => item(
                Removed,
                s,
                "No longer listed",
                &p.condition.display,
                Some(problem_detail(p)),
            ),
        })
        .collect()
}

fn text_item(section: Section) -> ChangeView {
    let (s, what) = match section {
        Section::Allergies => (ChangeSection::Allergies, "Allergies (text only)"),
        Section::Medication => (ChangeSection::Medication, "Medication (text only)"),
        Section::Problems => (ChangeSection::Problems, "Problems (text only)"),
    };
    item(
        ChangeMark::Changed,
        s,
        "Changed",
        what,
        Some("the practice's text is different: read it in full".to_string()),
    )
}

impl ChangesView {
    /// The changes in words, in the order of the summary: allergies (their text too), then
    /// medication, then problems. `since` is when the earlier copy was fetched.
    pub fn from_model(changes: &SummaryChanges, since: String) -> ChangesView {
        let text = |section: Section| {
            changes
                .texts
                .iter()
                .filter(move |t| **t == section)
                .map(|t| text_item(*t))
        };
        let items = allergy_items(changes)
            .into_iter()
            .chain(text(Section::Allergies))
            .chain(medication_items(changes))
            .chain(text(Section::Medication))
            .chain(problem_items(changes))
            .chain(text(Section::Problems))
            .collect();
        ChangesView { since, items }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scr_model::changes::AllergyStateChange;
    use scr_model::Coding;

    fn coding(display: &str) -> Coding {
        Coding {
            system: None,
            code: None,
            display: display.into(),
        }
    }

    fn allergy(substance: &str) -> Allergy {
        Allergy {
            substance: coding(substance),
            reaction: Some("Anaphylaxis".into()),
            severity: Some(Severity::Severe),
            criticality: Some(Criticality::High),
            verification: Verification::Unconfirmed,
            recorded: None,
        }
    }

    fn med(medicine: &str) -> Medication {
        Medication {
            medicine: coding(medicine),
            kind: MedicationKind::Repeat,
            status: MedicationStatus::Active,
            dosage: Some("One tablet once a day".into()),
            quantity: Some("28 tablet".into()),
            started: None,
            last_issued: None,
            discontinued: None,
            reason: None,
        }
    }

    fn said(view: &ChangesView) -> Vec<String> {
        view.items
            .iter()
            .map(|c| match &c.detail {
                Some(d) => format!("{}: {} — {d}", c.label, c.what),
                None => format!("{}: {}", c.label, c.what),
            })
            .collect()
    }

    #[test]
    fn each_change_is_said_in_words_allergies_first() {
        let mut stopped = med("Amlodipine 5mg tablets");
        stopped.status = MedicationStatus::Discontinued;
        stopped.discontinued = ClinicalDate::parse("2026-03-10");
        let mut doubled = med("Metformin 500mg tablets");
        doubled.dosage = Some("Two tablets once a day".into());
        doubled.quantity = None;
        let mut confirmed = allergy("Latex");
        confirmed.verification = Verification::Confirmed;
        let problem = |status| Problem {
            condition: coding("Asthma"),
            status,
            onset: ClinicalDate::parse("2019"),
            recorded: None,
        };
        let changes = SummaryChanges {
            allergy_state: Some(AllergyStateChange {
                before: AllergyStateKind::NoKnownAllergies,
                after: AllergyStateKind::Known,
            }),
            allergies: vec![
                AllergyChange::Added(allergy("Penicillin")),
                AllergyChange::Changed {
                    before: allergy("Latex"),
                    after: confirmed,
                    fields: vec![AllergyField::Verification],
                },
            ],
            medications: vec![
                MedicationChange::Started(med("Ramipril 2.5mg capsules")),
                MedicationChange::Stopped {
                    before: Some(med("Amlodipine 5mg tablets")),
                    after: stopped,
                },
                MedicationChange::Changed {
                    before: med("Metformin 500mg tablets"),
                    after: doubled,
                    fields: vec![MedicationField::Dosage, MedicationField::Quantity],
                },
                MedicationChange::NoLongerListed(med("Emollient cream")),
            ],
            problems: vec![ProblemChange::Resolved {
                before: problem(ProblemStatus::Active),
                after: problem(ProblemStatus::Resolved),
            }],
            texts: vec![Section::Problems],
        };
        let view = ChangesView::from_model(&changes, "2026-03-12T14:05:00+00:00".into());
        assert_eq!(view.since, "2026-03-12T14:05:00+00:00");
        assert_eq!(
            said(&view),
            vec![
                "Changed: Allergy status — was no known allergies, now known allergies",
                "Added: Penicillin — Anaphylaxis · severe · high risk · unconfirmed",
                "Changed: Latex — status: was unconfirmed, now confirmed",
                "Started: Ramipril 2.5mg capsules — repeat · One tablet once a day · 28 tablet",
                "Stopped: Amlodipine 5mg tablets — stopped 10-Mar-2026",
                "Changed: Metformin 500mg tablets — dose: was “One tablet once a day”, now “Two tablets once a day”; quantity: was “28 tablet”, now none recorded",
                "No longer listed: Emollient cream — not marked as stopped; last time: repeat · One tablet once a day · 28 tablet",
                "Resolved: Asthma — was active, now resolved",
                "Changed: Problems (text only) — the practice's text is different: read it in full",
            ]
        );
        let marks: Vec<ChangeMark> = view.items.iter().map(|c| c.mark).collect();
        use ChangeMark::*;
        assert_eq!(
            marks,
            vec![Changed, Added, Changed, Added, Removed, Changed, Removed, Changed, Changed]
        );
    }

    #[test]
    fn nothing_changed_is_an_empty_list_not_no_comparison() {
        let view =
            ChangesView::from_model(&SummaryChanges::default(), "2026-03-12T14:05:00Z".into());
        assert!(view.items.is_empty());
        assert_eq!(view.since, "2026-03-12T14:05:00Z");
    }
}
