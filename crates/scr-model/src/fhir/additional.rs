//! SCR Additional Information ↔ IPS sections, both ways: History of Past Illness
//! (`Condition`), History of Procedures (`Procedure`), Immunizations (`Immunization`), Plan
//! of Care and Advance Directives (`CarePlan`, one per note), Functional Status
//! (`Observation` with the note as `valueString`: communication needs and preferences).
//!
//! A section the patient's preference keeps back is served with `emptyReason` `withheld`
//! and no entries; a section with nothing recorded is served empty with `emptyReason`
//! `nilknown`; a section not carried is left out. The reader gives back the same three
//! answers (`Section`). A sensitive-category entry carries our extension
//! `sensitive-category`; the Composition carries `sensitive-information-included` when the
//! patient asked for those categories to be shared.

use serde_json::{json, Map, Value};

use super::parse::{array, text};
use super::render::{
    codeable, empty_reason, ext_url, loinc_section, narrative, reserved_narrative,
};
use crate::additional::{
    AdditionalInformation, CareNote, Immunisation, ImmunisationStatus, PastCondition,
    PastProcedure, Section, SensitiveCategory,
};
use crate::systems::LOINC;
use crate::{ClinicalDate, Coding};

pub const LOINC_PAST_ILLNESS: &str = "11348-0";
pub const LOINC_PROCEDURES: &str = "47519-4";
pub const LOINC_IMMUNIZATIONS: &str = "11369-6";
pub const LOINC_PLAN_OF_CARE: &str = "18776-5";
pub const LOINC_ADVANCE_DIRECTIVES: &str = "42348-3";
pub const LOINC_FUNCTIONAL_STATUS: &str = "47420-5";

pub(crate) const EXT_SENSITIVE_CATEGORY: &str = "sensitive-category";
pub(crate) const EXT_SENSITIVE_INCLUDED: &str = "sensitive-information-included";

/// Which Additional Information section an IPS section is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AdditionalKind {
    History,
    Procedures,
    Immunisations,
    AnticipatoryCare,
    EndOfLife,
    Communication,
}

impl AdditionalKind {
    const ALL: [AdditionalKind; 6] = [
        AdditionalKind::History,
        AdditionalKind::Procedures,
        AdditionalKind::Immunisations,
        AdditionalKind::AnticipatoryCare,
        AdditionalKind::EndOfLife,
        AdditionalKind::Communication,
    ];

    fn loinc(self) -> (&'static str, &'static str) {
        match self {
            AdditionalKind::History => (LOINC_PAST_ILLNESS, "History of Past illness Narrative"),
            AdditionalKind::Procedures => (LOINC_PROCEDURES, "History of Procedures Document"),
            AdditionalKind::Immunisations => {
                (LOINC_IMMUNIZATIONS, "History of Immunization Narrative")
            }
            AdditionalKind::AnticipatoryCare => (LOINC_PLAN_OF_CARE, "Plan of care note"),
            AdditionalKind::EndOfLife => (LOINC_ADVANCE_DIRECTIVES, "Advance directives"),
            AdditionalKind::Communication => {
                (LOINC_FUNCTIONAL_STATUS, "Functional status assessment note")
            }
        }
    }

    /// The section title we serve, in the words of the SCR Additional Information headings.
    fn title(self) -> &'static str {
        match self {
            AdditionalKind::History => "Significant medical history",
            AdditionalKind::Procedures => "Procedures",
            AdditionalKind::Immunisations => "Immunisations",
            AdditionalKind::AnticipatoryCare => "Anticipatory care",
            AdditionalKind::EndOfLife => "End of life care preferences",
            AdditionalKind::Communication => "Communication needs and preferences",
        }
    }

    fn nothing_recorded(self) -> &'static str {
        match self {
            AdditionalKind::History => "No significant medical history recorded",
            AdditionalKind::Procedures => "No procedures recorded",
            AdditionalKind::Immunisations => "No immunisations recorded",
            AdditionalKind::AnticipatoryCare => "No anticipatory care recorded",
            AdditionalKind::EndOfLife => "No end of life care preferences recorded",
            AdditionalKind::Communication => "No communication needs recorded",
        }
    }

    /// By LOINC code; by title only where a title cannot mean anything else.
    pub(crate) fn of_section(section: &Value) -> Option<AdditionalKind> {
        let codes: Vec<&str> = section
            .get("code")
            .map(|cc| array(cc, "coding"))
            .unwrap_or(&[])
            .iter()
            .filter(|c| text(c, "system") == Some(LOINC))
            .filter_map(|c| text(c, "code"))
            .collect();
        if let Some(kind) = Self::ALL.into_iter().find(|k| codes.contains(&k.loinc().0)) {
            return Some(kind);
        }
        let title = text(section, "title").unwrap_or("").to_lowercase();
        if title.contains("immuni") || title.contains("vaccin") {
            Some(AdditionalKind::Immunisations)
        } else if title.contains("procedure") {
            Some(AdditionalKind::Procedures)
        } else if title.contains("advance directive") {
            Some(AdditionalKind::EndOfLife)
        } else {
            None
        }
    }
}

fn sensitive_extension(category: Option<SensitiveCategory>) -> Option<Value> {
    category.map(|c| json!([{ "url": ext_url(EXT_SENSITIVE_CATEGORY), "valueCode": c.code() }]))
}

fn with_date(r: &mut Map<String, Value>, key: &str, d: Option<&ClinicalDate>) {
    if let Some(d) = d {
        r.insert(key.into(), json!(d.to_fhir()));
    }
}

fn condition(patient_ref: &str, c: &PastCondition) -> (Value, String) {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Condition"));
    if let Some(ext) = sensitive_extension(c.sensitive) {
        r.insert("extension".into(), ext);
    }
    r.insert(
        "clinicalStatus".into(),
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved" }] }),
    );
    r.insert("code".into(), codeable(&c.condition));
    r.insert("subject".into(), json!({ "reference": patient_ref }));
    with_date(&mut r, "onsetDateTime", c.onset.as_ref());
    with_date(&mut r, "abatementDateTime", c.ended.as_ref());
    (Value::Object(r), c.condition.display.clone())
}

fn procedure(patient_ref: &str, p: &PastProcedure) -> (Value, String) {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Procedure"));
    if let Some(ext) = sensitive_extension(p.sensitive) {
        r.insert("extension".into(), ext);
    }
    r.insert("status".into(), json!("completed"));
    r.insert("code".into(), codeable(&p.procedure));
    r.insert("subject".into(), json!({ "reference": patient_ref }));
    with_date(&mut r, "performedDateTime", p.performed.as_ref());
    (Value::Object(r), p.procedure.display.clone())
}

fn immunization(patient_ref: &str, i: &Immunisation) -> (Value, String) {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Immunization"));
    let (status, line) = match i.status {
        ImmunisationStatus::Given => ("completed", i.vaccine.display.clone()),
        ImmunisationStatus::NotGiven => ("not-done", format!("{} (not given)", i.vaccine.display)),
    };
    r.insert("status".into(), json!(status));
    r.insert("vaccineCode".into(), codeable(&i.vaccine));
    r.insert("patient".into(), json!({ "reference": patient_ref }));
    // `occurrence[x]` is required in R4: a date not recorded is said in words.
    match &i.date {
        Some(d) => r.insert("occurrenceDateTime".into(), json!(d.to_fhir())),
        None => r.insert("occurrenceString".into(), json!("Date not recorded")),
    };
    (Value::Object(r), line)
}

fn note_line(n: &CareNote) -> String {
    match &n.detail {
        Some(d) => format!("{}: {d}", n.title),
        None => n.title.clone(),
    }
}

fn care_plan(patient_ref: &str, n: &CareNote) -> (Value, String) {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("CarePlan"));
    r.insert("status".into(), json!("active"));
    r.insert("intent".into(), json!("plan"));
    r.insert("title".into(), json!(n.title));
    if let Some(d) = &n.detail {
        r.insert("description".into(), json!(d));
    }
    r.insert("subject".into(), json!({ "reference": patient_ref }));
    with_date(&mut r, "created", n.recorded.as_ref());
    (Value::Object(r), note_line(n))
}

fn communication(patient_ref: &str, n: &CareNote) -> (Value, String) {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Observation"));
    r.insert("status".into(), json!("final"));
    r.insert("code".into(), json!({ "text": n.title }));
    r.insert("subject".into(), json!({ "reference": patient_ref }));
    if let Some(d) = &n.detail {
        r.insert("valueString".into(), json!(d));
    }
    with_date(&mut r, "effectiveDateTime", n.recorded.as_ref());
    (Value::Object(r), note_line(n))
}

/// The sections of `ai` and their entries (`(fullUrl, resource)`), ids from `next_id`.
pub(crate) fn render_sections(
    ai: &AdditionalInformation,
    patient_ref: &str,
    next_id: &mut dyn FnMut() -> String,
) -> (Vec<Value>, Vec<(String, Value)>) {
    let mut sections = Vec::new();
    let mut entries = Vec::new();
    let mut add = |kind: AdditionalKind,
                   shared: bool,
                   text_only: Option<&String>,
                   resources: Vec<(Value, String)>| {
        let (code, display) = kind.loinc();
        let mut s = Map::new();
        s.insert("title".into(), json!(kind.title()));
        s.insert("code".into(), loinc_section(code, display));
        match shared {
            // Withheld: said in words and by emptyReason, with no entry.
            false => {
                s.insert(
                    "text".into(),
                    narrative(
                        &[],
                        "Not shared: the patient's preference covers the core record only",
                    ),
                );
                s.insert(
                    "emptyReason".into(),
                    empty_reason("withheld", "Information Withheld"),
                );
            }
            true => {
                let lines: Vec<String> = resources.iter().map(|(_, l)| l.clone()).collect();
                let mut refs = Vec::new();
                for (resource, _) in resources {
                    let id = next_id();
                    let url = format!("urn:uuid:{id}");
                    let mut resource = resource;
                    if let Some(obj) = resource.as_object_mut() {
                        obj.insert("id".into(), json!(id));
                    }
                    entries.push((url.clone(), resource));
                    refs.push(json!({ "reference": url }));
                }
                match (refs.is_empty(), text_only) {
                    (true, Some(sent)) => {
                        s.insert("text".into(), reserved_narrative(sent));
                    }
                    (true, None) => {
                        s.insert("text".into(), narrative(&[], kind.nothing_recorded()));
                        s.insert("emptyReason".into(), empty_reason("nilknown", "Nil Known"));
                    }
                    (false, _) => {
                        s.insert("text".into(), narrative(&lines, kind.nothing_recorded()));
                        s.insert("entry".into(), Value::Array(refs));
                    }
                }
            }
        }
        sections.push(Value::Object(s));
    };
    fn state<T>(s: &Section<T>) -> Option<(bool, Option<&String>, &[T])> {
        match s {
            Section::NotIncluded => None,
            Section::Withheld => Some((false, None, &[])),
            Section::Recorded { entries, text } => Some((true, text.as_ref(), entries)),
        }
    }
    if let Some((shared, t, items)) = state(&ai.history) {
        let r = items.iter().map(|c| condition(patient_ref, c)).collect();
        add(AdditionalKind::History, shared, t, r);
    }
    if let Some((shared, t, items)) = state(&ai.procedures) {
        let r = items.iter().map(|p| procedure(patient_ref, p)).collect();
        add(AdditionalKind::Procedures, shared, t, r);
    }
    if let Some((shared, t, items)) = state(&ai.immunisations) {
        let r = items.iter().map(|i| immunization(patient_ref, i)).collect();
        add(AdditionalKind::Immunisations, shared, t, r);
    }
    if let Some((shared, t, items)) = state(&ai.anticipatory_care) {
        let r = items.iter().map(|n| care_plan(patient_ref, n)).collect();
        add(AdditionalKind::AnticipatoryCare, shared, t, r);
    }
    if let Some((shared, t, items)) = state(&ai.end_of_life) {
        let r = items.iter().map(|n| care_plan(patient_ref, n)).collect();
        add(AdditionalKind::EndOfLife, shared, t, r);
    }
    if let Some((shared, t, items)) = state(&ai.communication) {
        let r = items
            .iter()
            .map(|n| communication(patient_ref, n))
            .collect();
        add(AdditionalKind::Communication, shared, t, r);
    }
    (sections, entries)
}

/// The Composition's extension saying the patient asked for the sensitive categories.
pub(crate) fn sensitive_included_extension() -> Value {
    json!({ "url": ext_url(EXT_SENSITIVE_INCLUDED), "valueBoolean": true })
}

pub(crate) fn has_sensitive_included(composition: &Value) -> bool {
    let url = ext_url(EXT_SENSITIVE_INCLUDED);
    array(composition, "extension").iter().any(|e| {
        text(e, "url") == Some(url.as_str()) && e.get("valueBoolean") == Some(&json!(true))
    })
}

/// What reading one section of a kind gathers.
#[derive(Default)]
pub(crate) struct SectionReading {
    pub history: Vec<PastCondition>,
    pub procedures: Vec<PastProcedure>,
    pub immunisations: Vec<Immunisation>,
    pub notes: Vec<CareNote>,
    /// Entries read (including ones deliberately not shown, such as entered in error).
    pub read: usize,
}

fn sensitive_of(r: &Value) -> Result<Option<SensitiveCategory>, String> {
    let url = ext_url(EXT_SENSITIVE_CATEGORY);
    match array(r, "extension")
        .iter()
        .find(|e| text(e, "url") == Some(url.as_str()))
    {
        None => Ok(None),
        Some(e) => {
            let code = text(e, "valueCode").unwrap_or("");
            SensitiveCategory::from_code(code)
                .map(Some)
                .ok_or_else(|| format!("unknown sensitive category {code:?}"))
        }
    }
}

/// Reads one entry of an Additional Information section into `into`. `Err` says in words
/// why the entry could not be read; the caller warns (a foreign document) or refuses (an
/// upload). An unknown sensitive category is an error either way: it must never be read as
/// "not sensitive".
pub(crate) fn read_entry(
    kind: AdditionalKind,
    r: &Value,
    coding_of: fn(&Value) -> Option<Coding>,
    date: fn(&Value, &str) -> Option<ClinicalDate>,
    into: &mut SectionReading,
) -> Result<(), String> {
    let resource_type = text(r, "resourceType").unwrap_or("");
    let status = text(r, "status");
    if status == Some("entered-in-error") {
        into.read += 1;
        return Ok(());
    }
    match (kind, resource_type) {
        (AdditionalKind::History, "Condition") => {
            let condition = r
                .get("code")
                .and_then(coding_of)
                .ok_or("a past illness without a code or text")?;
            into.history.push(PastCondition {
                condition,
                onset: date(r, "onsetDateTime")
                    .or_else(|| r.get("onsetPeriod").and_then(|p| date(p, "start"))),
                ended: date(r, "abatementDateTime"),
                sensitive: sensitive_of(r)?,
            });
        }
        (AdditionalKind::Procedures, "Procedure") => {
            let procedure = r
                .get("code")
                .and_then(coding_of)
                .ok_or("a procedure without a code or text")?;
            into.procedures.push(PastProcedure {
                procedure,
                performed: date(r, "performedDateTime")
                    .or_else(|| r.get("performedPeriod").and_then(|p| date(p, "start"))),
                sensitive: sensitive_of(r)?,
            });
        }
        (AdditionalKind::Immunisations, "Immunization") => {
            let vaccine = r
                .get("vaccineCode")
                .and_then(coding_of)
                .ok_or("an immunisation without a vaccine")?;
            into.immunisations.push(Immunisation {
                vaccine,
                status: if status == Some("not-done") {
                    ImmunisationStatus::NotGiven
                } else {
                    ImmunisationStatus::Given
                },
                date: date(r, "occurrenceDateTime"),
            });
        }
        (
            AdditionalKind::AnticipatoryCare | AdditionalKind::EndOfLife,
            "CarePlan" | "Consent" | "DocumentReference",
        ) => {
            let title = text(r, "title")
                .or_else(|| {
                    r.get("category")
                        .and_then(|c| c.get(0))
                        .and_then(|c| text(c, "text"))
                })
                .or_else(|| r.get("type").and_then(|t| text(t, "text")))
                .unwrap_or(match kind {
                    AdditionalKind::EndOfLife => "Advance directive",
                    _ => "Care plan",
                });
            into.notes.push(CareNote {
                title: title.to_string(),
                detail: text(r, "description").map(str::to_string),
                recorded: date(r, "created").or_else(|| date(r, "dateTime")),
            });
        }
        (AdditionalKind::Communication, "Observation" | "ClinicalImpression" | "Condition") => {
            let title = r
                .get("code")
                .and_then(coding_of)
                .map(|c| c.display)
                .ok_or("a functional status entry without a code or text")?;
            into.notes.push(CareNote {
                title,
                detail: text(r, "valueString").map(str::to_string).or_else(|| {
                    r.get("valueCodeableConcept")
                        .and_then(coding_of)
                        .map(|c| c.display)
                }),
                recorded: date(r, "effectiveDateTime"),
            });
        }
        (_, other) => {
            return Err(format!(
                "a {other} entry in the {} section is not one the viewer reads",
                kind.title().to_lowercase()
            ))
        }
    }
    into.read += 1;
    Ok(())
}

/// Puts what a section held into `ai`: withheld by `emptyReason`, otherwise the entries read,
/// and the section's text where no entry could be read.
pub(crate) fn store_section(
    ai: &mut AdditionalInformation,
    kind: AdditionalKind,
    withheld: bool,
    reading: SectionReading,
    text_only: Option<String>,
) {
    fn put<T>(slot: &mut Section<T>, withheld: bool, entries: Vec<T>, text: Option<String>) {
        *slot = if withheld {
            Section::Withheld
        } else {
            Section::Recorded { entries, text }
        };
    }
    let text = text_only.filter(|_| reading.read == 0);
    match kind {
        AdditionalKind::History => put(&mut ai.history, withheld, reading.history, text),
        AdditionalKind::Procedures => put(&mut ai.procedures, withheld, reading.procedures, text),
        AdditionalKind::Immunisations => {
            put(&mut ai.immunisations, withheld, reading.immunisations, text)
        }
        AdditionalKind::AnticipatoryCare => {
            put(&mut ai.anticipatory_care, withheld, reading.notes, text)
        }
        AdditionalKind::EndOfLife => put(&mut ai.end_of_life, withheld, reading.notes, text),
        AdditionalKind::Communication => put(&mut ai.communication, withheld, reading.notes, text),
    }
}

pub(crate) fn is_withheld(section: &Value) -> bool {
    section
        .get("emptyReason")
        .map(|cc| array(cc, "coding"))
        .unwrap_or(&[])
        .iter()
        .any(|c| text(c, "code") == Some("withheld"))
}
