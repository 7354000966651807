//! What changed between two copies of one patient's summary: the copy a user saw last time
//! and the one just served. Pure: no clock, no I/O, so the rules can be tested over pairs of
//! summaries and used wherever both copies are at hand.
//!
//! Two entries are the same allergy, medicine or problem when they name the same concept:
//! by code where both are coded in the same system, otherwise by their words (trimmed, runs
//! of white space made one, case ignored). A code in one system cannot be compared with a
//! code in another (a practice moving from Read to SNOMED CT), nor with an uncoded entry, so
//! those fall back to the words too. Order never matters, and an exact duplicate within one
//! copy counts once: neither is a change on the record.
//!
//! What counts, and what deliberately does not:
//! - allergies: added, removed (a refuted or entered-in-error entry is no allergy, so one
//!   that becomes either is removed), reaction, severity, criticality or verification
//!   changed; the section's state (known, no known allergies, not recorded, described in
//!   text only) changed; the text changed where text is all the section has.
//! - medicines: started (or started again after being stopped), stopped, no longer listed,
//!   dose, quantity, kind (acute or repeat), status or reason changed. A new issue of a
//!   repeat (its last-issued date) is routine and is not reported; neither is a stopped
//!   medicine that has since left the list. A reason is compared only when both copies carry
//!   one: it comes and goes with the patient's Additional Information preference, and a
//!   reason no longer shared is not a change to the medicine.
//! - problems: added, resolved (or made inactive), any other status change, no longer
//!   listed.
//! - the text of a section that has no coded entries in either copy.
//!
//! Dates of recording and the codes themselves (an entry coded since, a term reworded under
//! the same code) are not changes a clinician acts on and are not reported.

use crate::narrative::{narrative_text, TextBlock};
use crate::{
    Allergy, AllergyState, Coding, Medication, MedicationStatus, Problem, ProblemStatus, Summary,
    Verification,
};

/// The allergy section's state, without its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllergyStateKind {
    Known,
    NoKnownAllergies,
    NotRecorded,
    DescribedInText,
}

impl AllergyStateKind {
    pub fn of(state: &AllergyState) -> AllergyStateKind {
        match state {
            AllergyState::Known { .. } => AllergyStateKind::Known,
            AllergyState::NoKnownAllergies { .. } => AllergyStateKind::NoKnownAllergies,
            AllergyState::NotRecorded => AllergyStateKind::NotRecorded,
            AllergyState::DescribedInText => AllergyStateKind::DescribedInText,
        }
    }
}

/// The allergy section went from one state to another (e.g. no known allergies → known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllergyStateChange {
    pub before: AllergyStateKind,
    pub after: AllergyStateKind,
}

/// Which detail of an allergy that is still there has changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllergyField {
    Reaction,
    Severity,
    Criticality,
    Verification,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllergyChange {
    Added(Allergy),
    Removed(Allergy),
    Changed {
        before: Allergy,
        after: Allergy,
        fields: Vec<AllergyField>,
    },
}

/// Which detail of a medicine still current has changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MedicationField {
    Dosage,
    Quantity,
    Kind,
    Status,
    /// The reason for the medication (Additional Information), when both copies give one.
    Reason,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MedicationChange {
    /// Not there last time, and not stopped.
    Started(Medication),
    /// Stopped last time, current now.
    StartedAgain {
        before: Medication,
        after: Medication,
    },
    /// Now stopped: current last time, or not there at all (`before` is then `None`).
    Stopped {
        before: Option<Medication>,
        after: Medication,
    },
    /// Current last time, gone from the record now (not marked stopped).
    NoLongerListed(Medication),
    /// Current both times, with a different dose, quantity, kind, status or reason.
    Changed {
        before: Medication,
        after: Medication,
        fields: Vec<MedicationField>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemChange {
    Added(Problem),
    /// Active (or of unknown status) last time, resolved or inactive now.
    Resolved {
        before: Problem,
        after: Problem,
    },
    /// Any other change of status, e.g. resolved → active.
    StatusChanged {
        before: Problem,
        after: Problem,
    },
    NoLongerListed(Problem),
}

/// A section of the summary, where its own text changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Allergies,
    Medication,
    Problems,
}

/// Everything that changed, each list in the order a reader needs it: allergies added,
/// changed, removed; medicines started, started again, stopped, changed, no longer listed;
/// problems added, resolved, changed, no longer listed. Within a kind, entries keep the order
/// of the copy they come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SummaryChanges {
    pub allergy_state: Option<AllergyStateChange>,
    pub allergies: Vec<AllergyChange>,
    pub medications: Vec<MedicationChange>,
    pub problems: Vec<ProblemChange>,
    /// Sections with no coded entries in either copy whose own text differs.
    pub texts: Vec<Section>,
}

impl SummaryChanges {
    pub fn is_empty(&self) -> bool {
        self.allergy_state.is_none()
            && self.allergies.is_empty()
            && self.medications.is_empty()
            && self.problems.is_empty()
            && self.texts.is_empty()
    }
}

/// Words as compared when there is no code to go by.
pub fn normalised_text(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// System and code, when the concept has both.
fn code_of(c: &Coding) -> Option<(&str, &str)> {
    let system = c
        .system
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    let code = c.code.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    Some((system, code))
}

/// Both coded in the same system, with the same code.
fn same_code(a: &Coding, b: &Coding) -> bool {
    matches!((code_of(a), code_of(b)), (Some(x), Some(y)) if x == y)
}

/// Whether two entries name the same concept (see the module's rules).
pub fn same_concept(a: &Coding, b: &Coding) -> bool {
    match (code_of(a), code_of(b)) {
        (Some((sa, ca)), Some((sb, cb))) if sa == sb => ca == cb,
        _ => normalised_text(&a.display) == normalised_text(&b.display),
    }
}

/// Entries of two copies matched up: pairs naming the same concept, and those left over.
struct Matched<'a, T> {
    pairs: Vec<(&'a T, &'a T)>,
    only_before: Vec<&'a T>,
    only_after: Vec<&'a T>,
}

/// The entries once each: an exact duplicate says nothing more.
fn distinct<T: PartialEq>(items: &[T]) -> Vec<&T> {
    let mut out: Vec<&T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Matches entries of `before` with entries of `after`: identical entries first, then the
/// same code, then the same concept by the module's rules; among several candidates, the
/// one with most details alike (`likeness`), the first on a tie. Greedy, in `before`'s
/// order: summaries are short and the rare ambiguity (two entries of one medicine both
/// changed) still reports every entry, only perhaps paired differently.
fn match_up<'a, T: PartialEq>(
    before: &'a [T],
    after: &'a [T],
    concept: impl Fn(&T) -> &Coding,
    likeness: impl Fn(&T, &T) -> usize,
) -> Matched<'a, T> {
    let before = distinct(before);
    let after = distinct(after);
    let mut paired_after = vec![false; after.len()];
    let mut partner: Vec<Option<usize>> = vec![None; before.len()];
    // Identical, then the same code, then the same concept: a closer match is never taken
    // by a looser one first.
    let fits = |pass: u8, b: &T, a: &T| match pass {
        0 => b == a,
        1 => same_code(concept(b), concept(a)),
        _ => same_concept(concept(b), concept(a)),
    };
    for pass in 0..3u8 {
        for (i, b) in before.iter().enumerate() {
            if partner[i].is_some() {
                continue;
            }
            let best = after
                .iter()
                .enumerate()
                .filter(|(j, a)| !paired_after[*j] && fits(pass, b, a))
                .max_by_key(|(j, a)| (likeness(b, a), std::cmp::Reverse(*j)))
                .map(|(j, _)| j);
            if let Some(j) = best {
                paired_after[j] = true;
                partner[i] = Some(j);
            }
        }
    }
    let mut pairs = Vec::new();
    let mut only_before = Vec::new();
    for (i, b) in before.iter().enumerate() {
        match partner[i] {
            Some(j) => pairs.push((*b, after[j])),
            None => only_before.push(*b),
        }
    }
    // Pairs in the current copy's order, as it is shown.
    pairs.sort_by_key(|(_, a)| after.iter().position(|x| std::ptr::eq(*x, *a)));
    let only_after = after
        .iter()
        .enumerate()
        .filter(|(j, _)| !paired_after[*j])
        .map(|(_, a)| *a)
        .collect();
    Matched {
        pairs,
        only_before,
        only_after,
    }
}

/// The allergies a reader is shown: refuted and entered-in-error entries are no allergy.
fn listed_allergies(state: &AllergyState) -> Vec<Allergy> {
    match state {
        AllergyState::Known { allergies } => allergies
            .iter()
            .filter(|a| {
                !matches!(
                    a.verification,
                    Verification::Refuted | Verification::EnteredInError
                )
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

fn allergy_fields(b: &Allergy, a: &Allergy) -> Vec<AllergyField> {
    let reaction = |x: &Allergy| x.reaction.as_deref().map(normalised_text);
    let mut fields = Vec::new();
    if reaction(b) != reaction(a) {
        fields.push(AllergyField::Reaction);
    }
    if b.severity != a.severity {
        fields.push(AllergyField::Severity);
    }
    if b.criticality != a.criticality {
        fields.push(AllergyField::Criticality);
    }
    if b.verification != a.verification {
        fields.push(AllergyField::Verification);
    }
    fields
}

fn medication_fields(b: &Medication, a: &Medication) -> Vec<MedicationField> {
    let text = |x: &Option<String>| x.as_deref().map(normalised_text);
    let mut fields = Vec::new();
    if text(&b.dosage) != text(&a.dosage) {
        fields.push(MedicationField::Dosage);
    }
    if text(&b.quantity) != text(&a.quantity) {
        fields.push(MedicationField::Quantity);
    }
    if b.kind != a.kind {
        fields.push(MedicationField::Kind);
    }
    if b.status != a.status {
        fields.push(MedicationField::Status);
    }
    if let (Some(before), Some(after)) = (text(&b.reason), text(&a.reason)) {
        if before != after {
            fields.push(MedicationField::Reason);
        }
    }
    fields
}

fn is_current(m: &Medication) -> bool {
    m.status != MedicationStatus::Discontinued
}

fn is_resolved(s: ProblemStatus) -> bool {
    matches!(s, ProblemStatus::Resolved | ProblemStatus::Inactive)
}

/// A section's own text as compared: its words in order, markup and layout gone.
fn section_words(xhtml: Option<&str>) -> Option<String> {
    let text = narrative_text(xhtml?);
    let mut words = Vec::new();
    for block in &text.blocks {
        match block {
            TextBlock::Heading { text }
            | TextBlock::Paragraph { text }
            | TextBlock::Item { text } => words.push(text.as_str()),
            TextBlock::Row { cells } => words.extend(cells.iter().map(String::as_str)),
        }
    }
    let joined = normalised_text(&words.join(" "));
    (!joined.is_empty()).then_some(joined)
}

fn allergy_changes(before: &Summary, after: &Summary) -> Vec<AllergyChange> {
    let was = listed_allergies(&before.allergies);
    let now = listed_allergies(&after.allergies);
    let m = match_up(
        &was,
        &now,
        |a| &a.substance,
        |b, a| 4 - allergy_fields(b, a).len(),
    );
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for a in &m.only_after {
        added.push(AllergyChange::Added((*a).clone()));
    }
    for (b, a) in &m.pairs {
        let fields = allergy_fields(b, a);
        if !fields.is_empty() {
            changed.push(AllergyChange::Changed {
                before: (*b).clone(),
                after: (*a).clone(),
                fields,
            });
        }
    }
    let removed = m
        .only_before
        .iter()
        .map(|b| AllergyChange::Removed((*b).clone()));
    added.into_iter().chain(changed).chain(removed).collect()
}

fn medication_changes(before: &Summary, after: &Summary) -> Vec<MedicationChange> {
    let m = match_up(
        &before.medications,
        &after.medications,
        |x| &x.medicine,
        |b, a| 4 - medication_fields(b, a).len(),
    );
    let (mut started, mut again, mut stopped, mut changed, mut gone) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for a in &m.only_after {
        if is_current(a) {
            started.push(MedicationChange::Started((*a).clone()));
        } else {
            stopped.push(MedicationChange::Stopped {
                before: None,
                after: (*a).clone(),
            });
        }
    }
    for (b, a) in &m.pairs {
        match (is_current(b), is_current(a)) {
            (true, true) => {
                let fields = medication_fields(b, a);
                if !fields.is_empty() {
                    changed.push(MedicationChange::Changed {
                        before: (*b).clone(),
                        after: (*a).clone(),
                        fields,
                    });
                }
            }
            (true, false) => stopped.push(MedicationChange::Stopped {
                before: Some((*b).clone()),
                after: (*a).clone(),
            }),
            (false, true) => again.push(MedicationChange::StartedAgain {
                before: (*b).clone(),
                after: (*a).clone(),
            }),
            (false, false) => {}
        }
    }
    for b in &m.only_before {
        if is_current(b) {
            gone.push(MedicationChange::NoLongerListed((*b).clone()));
        }
    }
    started
        .into_iter()
        .chain(again)
        .chain(stopped)
        .chain(changed)
        .chain(gone)
        .collect()
}

fn problem_changes(before: &Summary, after: &Summary) -> Vec<ProblemChange> {
    let m = match_up(
        &before.problems,
        &after.problems,
        |p| &p.condition,
        |b, a| usize::from(b.status == a.status),
    );
    let mut added: Vec<ProblemChange> = m
        .only_after
        .iter()
        .map(|a| ProblemChange::Added((*a).clone()))
        .collect();
    let mut resolved = Vec::new();
    let mut changed = Vec::new();
    for (b, a) in &m.pairs {
        if b.status == a.status {
            continue;
        }
        let (before, after) = ((*b).clone(), (*a).clone());
        if is_resolved(a.status) && !is_resolved(b.status) {
            resolved.push(ProblemChange::Resolved { before, after });
        } else {
            changed.push(ProblemChange::StatusChanged { before, after });
        }
    }
    added.extend(resolved);
    added.extend(changed);
    added.extend(
        m.only_before
            .iter()
            .map(|b| ProblemChange::NoLongerListed((*b).clone())),
    );
    added
}

fn text_changes(before: &Summary, after: &Summary) -> Vec<Section> {
    let mut out = Vec::new();
    let text_only = |s: &Summary| s.allergies == AllergyState::DescribedInText;
    if text_only(before)
        && text_only(after)
        && section_words(before.narratives.allergies.as_deref())
            != section_words(after.narratives.allergies.as_deref())
    {
        out.push(Section::Allergies);
    }
    if before.medications.is_empty()
        && after.medications.is_empty()
        && section_words(before.narratives.medications.as_deref())
            != section_words(after.narratives.medications.as_deref())
    {
        out.push(Section::Medication);
    }
    if before.problems.is_empty()
        && after.problems.is_empty()
        && section_words(before.narratives.problems.as_deref())
            != section_words(after.narratives.problems.as_deref())
    {
        out.push(Section::Problems);
    }
    out
}

/// What changed from `before` (the copy seen last time) to `after` (the one served now).
/// Both must be the same patient's; that is the caller's to check.
pub fn compare(before: &Summary, after: &Summary) -> SummaryChanges {
    let was = AllergyStateKind::of(&before.allergies);
    let now = AllergyStateKind::of(&after.allergies);
    SummaryChanges {
        allergy_state: (was != now).then_some(AllergyStateChange {
            before: was,
            after: now,
        }),
        allergies: allergy_changes(before, after),
        medications: medication_changes(before, after),
        problems: problem_changes(before, after),
        texts: text_changes(before, after),
    }
}
