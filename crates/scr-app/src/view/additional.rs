//! SCR Additional Information as the window shows it: six headings, each in one of three
//! states that must never be mistaken for one another — not shared (the patient's
//! preference), nothing recorded, or the entries — plus "not included" where the summary or
//! document does not carry the heading at all.

use scr_model::{AdditionalInformation, CareNote, ImmunisationStatus, Section, SensitiveCategory};
use serde::Serialize;
use ts_rs::TS;

use super::DocumentText;

/// One entry under a heading: what it is, a detail, a date with what the date means.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalItemView {
    pub text: String,
    pub detail: Option<String>,
    /// FHIR date text; the UI formats it (`12-Mar-1970`).
    pub date: Option<String>,
    /// What the date is: "since", "ended", "performed", "given", "recorded".
    pub date_label: Option<String>,
    /// A sensitive category shared at the patient's request, in words.
    pub sensitive: Option<String>,
    /// An immunisation recorded as not given (declined or contraindicated).
    pub not_given: bool,
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum AdditionalSectionView {
    /// The summary (or document) does not carry this heading.
    NotIncluded,
    /// Held back by the patient's sharing preference (core record only).
    NotShared,
    /// Shared. No items and no text: nothing recorded under this heading.
    Recorded {
        items: Vec<AdditionalItemView>,
        /// The section's own text, where it has no entry the viewer reads.
        text: Option<DocumentText>,
    },
}

/// The six headings, in the order the window shows them.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalView {
    pub history: AdditionalSectionView,
    pub procedures: AdditionalSectionView,
    pub immunisations: AdditionalSectionView,
    pub anticipatory_care: AdditionalSectionView,
    pub end_of_life: AdditionalSectionView,
    pub communication: AdditionalSectionView,
}

fn section<T>(s: &Section<T>, item: impl Fn(&T) -> AdditionalItemView) -> AdditionalSectionView {
    match s {
        Section::NotIncluded => AdditionalSectionView::NotIncluded,
        Section::Withheld => AdditionalSectionView::NotShared,
        Section::Recorded { entries, text } => AdditionalSectionView::Recorded {
            items: entries.iter().map(item).collect(),
            text: text.as_deref().map(DocumentText::from_xhtml),
        },
    }
}

fn sensitive(c: Option<SensitiveCategory>) -> Option<String> {
    c.map(|c| format!("{}: shared at the patient's request", c.words()))
}

fn dated(date: Option<&scr_model::ClinicalDate>, label: &str) -> (Option<String>, Option<String>) {
    match date {
        Some(d) => (Some(d.to_fhir()), Some(label.to_string())),
        None => (None, None),
    }
}

fn note(n: &CareNote) -> AdditionalItemView {
    let (date, date_label) = dated(n.recorded.as_ref(), "recorded");
    AdditionalItemView {
        text: n.title.clone(),
        detail: n.detail.clone(),
        date,
        date_label,
        sensitive: None,
        not_given: false,
    }
}

impl AdditionalView {
    pub fn from_model(ai: &AdditionalInformation) -> AdditionalView {
        AdditionalView {
            history: section(&ai.history, |c| {
                let (date, date_label) = match (&c.onset, &c.ended) {
                    (_, Some(ended)) => dated(Some(ended), "ended"),
                    (Some(onset), None) => dated(Some(onset), "since"),
                    (None, None) => (None, None),
                };
                AdditionalItemView {
                    text: c.condition.display.clone(),
                    detail: None,
                    date,
                    date_label,
                    sensitive: sensitive(c.sensitive),
                    not_given: false,
                }
            }),
            procedures: section(&ai.procedures, |p| {
                let (date, date_label) = dated(p.performed.as_ref(), "performed");
                AdditionalItemView {
                    text: p.procedure.display.clone(),
                    detail: None,
                    date,
                    date_label,
                    sensitive: sensitive(p.sensitive),
                    not_given: false,
                }
            }),
            immunisations: section(&ai.immunisations, |i| {
                let not_given = i.status == ImmunisationStatus::NotGiven;
                let (date, date_label) = dated(
                    i.date.as_ref(),
                    if not_given { "recorded" } else { "given" },
                );
                AdditionalItemView {
                    text: i.vaccine.display.clone(),
                    detail: not_given.then(|| "Not given".to_string()),
                    date,
                    date_label,
                    sensitive: None,
                    not_given,
                }
            }),
            anticipatory_care: section(&ai.anticipatory_care, note),
            end_of_life: section(&ai.end_of_life, note),
            communication: section(&ai.communication, note),
        }
    }
}
