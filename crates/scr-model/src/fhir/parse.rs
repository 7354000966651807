//! FHIR R4 JSON → model. Tolerant of what real systems send (`parse_document`), strict
//! where the spine must be sure (`parse_upload`: NHS number, resolvable references).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::additional::{self, AdditionalKind, SectionReading};
use super::render::{
    ext_url, EXT_LAST_ISSUED, EXT_MEDICATION_KIND, EXT_QUANTITY, EXT_REASONABLE_ADJUSTMENT,
};
use super::resolve::Resolver;
use super::{
    CareEvent, CareEventKind, FhirError, Upload, IPS_ABSENT_UNKNOWN, LOINC_ALERTS, LOINC_ALLERGIES,
    LOINC_MEDICATIONS, LOINC_PROBLEMS, MAX_DOCUMENT_BYTES, SNOMED_NO_KNOWN_ALLERGY,
    SNOMED_PATIENT_REFERRAL,
};
use crate::consent::SharingPreference;
use crate::flags::{
    FLAG_KIND_CHILD_PROTECTION, FLAG_KIND_REASONABLE_ADJUSTMENT, FLAG_KIND_SYSTEM,
    SNOMED_REASONABLE_ADJUSTMENT_FLAG,
};
use crate::systems::{NHS_NUMBER, ODS_CODE, SNOMED};
use crate::{
    Address, Allergy, AllergyState, ChildProtectionPlan, ClinicalDate, Coding, ConsentRecord,
    Criticality, Deceased, Demographics, Flags, Gender, Medication, MedicationKind,
    MedicationStatus, Narratives, NhsNumber, OtherFlag, Problem, ProblemStatus, Provenance,
    ReasonableAdjustment, Severity, Summary, Verification,
};

/// The patient as a document describes them. Foreign documents carry no NHS number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentPatient {
    pub nhs_number: Option<NhsNumber>,
    /// Other identifiers as (system, value).
    pub identifiers: Vec<(Option<String>, String)>,
    pub title: Option<String>,
    pub given: Vec<String>,
    pub family: Option<String>,
    /// `name.text` where the document gives no parts.
    pub name_text: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<ClinicalDate>,
    pub address: Address,
    /// The registered GP practice's ODS code (`generalPractitioner`), if given.
    pub gp_ods: Option<String>,
    /// Marked restricted (`meta.security` R): address and practice are withheld.
    pub restricted: bool,
    /// `deceasedDateTime` (or `deceasedBoolean: true`): the patient has died.
    pub deceased: Option<Deceased>,
}

/// A parsed patient summary document (our `$summary` or another vendor's IPS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientSummaryDocument {
    pub patient: DocumentPatient,
    pub summary: Summary,
    pub title: Option<String>,
    pub date: Option<ClinicalDate>,
    /// What was skipped or could not be read; the viewer shows these.
    pub warnings: Vec<String>,
    /// Who wrote the document and who keeps it, as the document says (for a document
    /// opened from a file, whose source is only its own word).
    pub source: DocumentSource,
    /// The sections this parser does not read (`SectionKind::Other`), in document order,
    /// each with its title and its own text: shown as the document's text, never dropped.
    pub other_sections: Vec<OtherSection>,
}

/// A document's own account of where it came from: `Composition.author` (people and
/// organisations, by name or the reference's display) and `Composition.custodian`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentSource {
    pub authors: Vec<String>,
    pub custodian: Option<String>,
}

/// A section the viewer cannot read as coded entries: its title, its narrative as plain text
/// (no markup survives `narrative::narrative_text`) and how many entries it listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtherSection {
    pub title: Option<String>,
    /// `None` when the section sent no text (or only whitespace).
    pub text: Option<crate::narrative::NarrativeText>,
    pub entries: usize,
}

fn load(json: &[u8]) -> Result<Value, FhirError> {
    load_as(json, "Bundle")
}

/// Size check, JSON parse and resource type check, before anything else is read.
pub(super) fn load_as(json: &[u8], expected: &str) -> Result<Value, FhirError> {
    if json.len() > MAX_DOCUMENT_BYTES {
        return Err(FhirError::TooLarge {
            size: json.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let value: Value =
        serde_json::from_slice(json).map_err(|e| FhirError::NotJson(e.to_string()))?;
    let found = value
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("no resourceType");
    if found != expected {
        return Err(FhirError::WrongResourceType {
            expected: expected.into(),
            found: found.into(),
        });
    }
    Ok(value)
}

pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub(super) fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn codings(cc: &Value) -> &[Value] {
    array(cc, "coding")
}

fn has_code(cc: &Value, system: &str, codes: &[&str]) -> bool {
    codings(cc).iter().any(|c| {
        text(c, "system") == Some(system)
            && text(c, "code").is_some_and(|code| codes.contains(&code))
    })
}

fn first_code(cc: Option<&Value>) -> Option<&str> {
    cc.and_then(|cc| codings(cc).iter().find_map(|c| text(c, "code")))
}

/// A CodeableConcept as one Coding: the clinician's text first, then a coding's display.
fn coding_of(cc: &Value) -> Option<Coding> {
    let preferred = codings(cc)
        .iter()
        .find(|c| text(c, "display").is_some())
        .or_else(|| codings(cc).first());
    let display = text(cc, "text")
        .or_else(|| preferred.and_then(|c| text(c, "display")))
        .or_else(|| preferred.and_then(|c| text(c, "code")))?;
    Some(Coding {
        system: preferred
            .and_then(|c| text(c, "system"))
            .map(str::to_string),
        code: preferred.and_then(|c| text(c, "code")).map(str::to_string),
        display: display.to_string(),
    })
}

fn date(v: &Value, key: &str) -> Option<ClinicalDate> {
    text(v, key).and_then(ClinicalDate::parse)
}

fn to_utc(d: &ClinicalDate) -> Option<DateTime<Utc>> {
    match d {
        ClinicalDate::Instant(t) => Some(t.with_timezone(&Utc)),
        ClinicalDate::Day(day) => day.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t)),
        _ => None,
    }
}

fn extension<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let url = ext_url(name);
    array(v, "extension")
        .iter()
        .find(|e| text(e, "url") == Some(url.as_str()))
}

fn human_name(name: &Value) -> String {
    if let Some(t) = text(name, "text") {
        return t.to_string();
    }
    let mut parts: Vec<&str> = array(name, "prefix")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    parts.extend(array(name, "given").iter().filter_map(Value::as_str));
    parts.extend(text(name, "family"));
    parts.join(" ")
}

fn patient_info(p: &Value) -> Result<DocumentPatient, FhirError> {
    let mut info = DocumentPatient::default();
    for id in array(p, "identifier") {
        let Some(value) = text(id, "value") else {
            continue;
        };
        if text(id, "system") == Some(NHS_NUMBER) {
            info.nhs_number = Some(NhsNumber::parse(value).map_err(FhirError::InvalidNhsNumber)?);
        } else {
            info.identifiers
                .push((text(id, "system").map(str::to_string), value.to_string()));
        }
    }
    let names = array(p, "name");
    let name = names
        .iter()
        .find(|n| text(n, "use") == Some("official"))
        .or_else(|| names.first());
    if let Some(n) = name {
        info.family = text(n, "family").map(str::to_string);
        info.given = array(n, "given")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        info.title = array(n, "prefix")
            .iter()
            .filter_map(Value::as_str)
            .next()
            .map(str::to_string);
        if info.family.is_none() && info.given.is_empty() {
            info.name_text = Some(human_name(n)).filter(|s| !s.is_empty());
        }
    }
    info.gender = text(p, "gender").and_then(Gender::from_code);
    info.birth_date = date(p, "birthDate");
    if let Some(a) = array(p, "address").first() {
        info.address = Address {
            lines: array(a, "line")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .chain(text(a, "city").map(str::to_string))
                .collect(),
            postcode: text(a, "postalCode").map(str::to_string),
        };
    }
    info.gp_ods = array(p, "generalPractitioner")
        .iter()
        .find_map(|g| g.get("identifier").and_then(|i| text(i, "value")))
        .map(str::to_string);
    info.restricted = is_restricted(p);
    info.deceased = deceased(p);
    Ok(info)
}

/// `deceasedDateTime`, or `deceasedBoolean: true`. A date that cannot be read still says the
/// patient died (its date unknown): a record is never shown as a live one for a bad date.
fn deceased(p: &Value) -> Option<Deceased> {
    if let Some(t) = text(p, "deceasedDateTime") {
        return Some(Deceased {
            date: ClinicalDate::parse(t),
        });
    }
    match p.get("deceasedBoolean").and_then(Value::as_bool) {
        Some(true) => Some(Deceased { date: None }),
        _ => None,
    }
}

/// Reads a `Patient` resource (the spine's `GET /Patient/{nhs}`).
pub fn parse_patient(json: &[u8]) -> Result<DocumentPatient, FhirError> {
    patient_info(&load_as(json, "Patient")?)
}

/// Reads a trace answer: a searchset `Bundle` of `Patient`s, each with its match score,
/// best first as the spine sent them.
pub fn parse_patient_searchset(
    json: &[u8],
) -> Result<Vec<(DocumentPatient, Option<f64>)>, FhirError> {
    let bundle = load(json)?;
    entries(&bundle)
        .iter()
        .filter(|e| e.get("resource").and_then(|r| text(r, "resourceType")) == Some("Patient"))
        .map(|e| {
            let score = e
                .get("search")
                .and_then(|s| s.get("score"))
                .and_then(Value::as_f64);
            patient_info(&e["resource"]).map(|p| (p, score))
        })
        .collect()
}

/// Reads a `Consent` searchset: the patient's recorded sharing preference, if any.
pub fn parse_consent_searchset(json: &[u8]) -> Result<Option<ConsentRecord>, FhirError> {
    let bundle = load(json)?;
    entries(&bundle)
        .iter()
        .filter_map(|e| e.get("resource"))
        .find(|r| text(r, "resourceType") == Some("Consent"))
        .map(consent_record)
        .transpose()
}

fn is_restricted(p: &Value) -> bool {
    p.get("meta")
        .map(|m| array(m, "security"))
        .unwrap_or(&[])
        .iter()
        .any(|s| text(s, "code") == Some("R"))
}

/// A Patient from a GP upload: NHS number, family name and birth date are required.
fn demographics_strict(p: &Value) -> Result<Demographics, FhirError> {
    let info = patient_info(p)?;
    let nhs_number = info.nhs_number.ok_or(FhirError::MissingNhsNumber)?;
    let family = info
        .family
        .ok_or_else(|| FhirError::Missing("Patient.name.family".into()))?;
    let birth_date = info
        .birth_date
        .and_then(|d| d.day())
        .ok_or_else(|| FhirError::Missing("Patient.birthDate (a full date)".into()))?;
    let gp_ods = array(p, "generalPractitioner")
        .iter()
        .find_map(|g| g.get("identifier").and_then(|i| text(i, "value")))
        .map(str::to_string);
    // The spine records a death from an upload: its date must be one it can read.
    if let (Some(raw), Some(d)) = (text(p, "deceasedDateTime"), &info.deceased) {
        if d.date.is_none() {
            return Err(FhirError::Invalid(format!(
                "Patient.deceasedDateTime {raw:?} is not a FHIR date"
            )));
        }
    }
    Ok(Demographics {
        nhs_number,
        title: info.title,
        given: info.given,
        family,
        gender: info.gender.unwrap_or(Gender::Unknown),
        birth_date,
        address: info.address,
        gp_ods,
        restricted: is_restricted(p),
        deceased: info.deceased,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Allergies,
    Medications,
    Problems,
    /// The IPS Alerts section: `Flag` entries.
    Alerts,
    /// An SCR Additional Information section (`additional.rs`).
    Additional(AdditionalKind),
    Other,
}

fn section_kind(section: &Value) -> SectionKind {
    let code = section.get("code");
    let loinc = |c: &str| code.is_some_and(|cc| has_code(cc, crate::systems::LOINC, &[c]));
    if loinc(LOINC_ALLERGIES) {
        return SectionKind::Allergies;
    }
    if loinc(LOINC_MEDICATIONS) {
        return SectionKind::Medications;
    }
    if loinc(LOINC_PROBLEMS) {
        return SectionKind::Problems;
    }
    if loinc(LOINC_ALERTS) {
        return SectionKind::Alerts;
    }
    if let Some(kind) = AdditionalKind::of_section(section) {
        return SectionKind::Additional(kind);
    }
    let title = text(section, "title").unwrap_or("").to_lowercase();
    if title.contains("allerg") {
        SectionKind::Allergies
    } else if title.contains("medic") {
        SectionKind::Medications
    } else if title.contains("problem") {
        SectionKind::Problems
    } else if title.contains("alert") {
        SectionKind::Alerts
    } else {
        SectionKind::Other
    }
}

enum AllergyEntry {
    Allergy(Allergy),
    NoKnownAllergies(Option<ClinicalDate>),
    NoInformation,
}

const NO_KNOWN_ALLERGY_CODES: &[&str] = &[
    "no-known-allergies",
    "no-known-medication-allergies",
    "no-known-environmental-allergies",
    "no-known-food-allergies",
];

fn read_allergy(r: &Value) -> Option<AllergyEntry> {
    let code = r.get("code")?;
    let recorded = date(r, "recordedDate").or_else(|| date(r, "onsetDateTime"));
    if has_code(code, IPS_ABSENT_UNKNOWN, &["no-allergy-info"]) {
        return Some(AllergyEntry::NoInformation);
    }
    // 716186003 "No known allergy"; 409137002 "No known drug allergy".
    if has_code(code, IPS_ABSENT_UNKNOWN, NO_KNOWN_ALLERGY_CODES)
        || has_code(code, SNOMED, &[SNOMED_NO_KNOWN_ALLERGY, "409137002"])
    {
        return Some(AllergyEntry::NoKnownAllergies(recorded));
    }
    let substance = coding_of(code)?;
    // No verification status means nobody confirmed it: show it as unconfirmed.
    let verification = match first_code(r.get("verificationStatus")) {
        Some("confirmed") => Verification::Confirmed,
        Some("refuted") => Verification::Refuted,
        Some("entered-in-error") => Verification::EnteredInError,
        Some("presumed") => Verification::Presumed,
        _ => Verification::Unconfirmed,
    };
    let reaction = array(r, "reaction").first();
    let manifestation = reaction
        .map(|re| array(re, "manifestation"))
        .and_then(|m| m.first())
        .and_then(coding_of)
        .map(|c| c.display);
    let severity = reaction.and_then(|re| match text(re, "severity") {
        Some("mild") => Some(Severity::Mild),
        Some("moderate") => Some(Severity::Moderate),
        Some("severe") => Some(Severity::Severe),
        _ => None,
    });
    let criticality = match text(r, "criticality") {
        Some("low") => Some(Criticality::Low),
        Some("high") => Some(Criticality::High),
        Some("unable-to-assess") => Some(Criticality::UnableToAssess),
        _ => None,
    };
    Some(AllergyEntry::Allergy(Allergy {
        substance,
        reaction: manifestation,
        severity,
        criticality,
        verification,
        recorded,
    }))
}

const ABSENT_MEDICATION: &[&str] = &["no-medication-info", "no-known-medications"];
const ABSENT_PROBLEM: &[&str] = &["no-problem-info", "no-known-problems"];

fn read_medication(resolver: &Resolver, r: &Value) -> Option<Medication> {
    let concept = match r.get("medicationCodeableConcept") {
        Some(cc) => Some(cc),
        None => r
            .get("medicationReference")
            .and_then(|mr| resolver.follow(r, mr).ok())
            .and_then(|m| m.get("code")),
    }?;
    if has_code(concept, IPS_ABSENT_UNKNOWN, ABSENT_MEDICATION) {
        return None;
    }
    let medicine = coding_of(concept)?;
    let request = text(r, "resourceType") == Some("MedicationRequest");
    let status = match text(r, "status") {
        Some("active" | "on-hold" | "intended") => MedicationStatus::Active,
        Some("completed") => MedicationStatus::Completed,
        Some("stopped" | "cancelled" | "not-taken") => MedicationStatus::Discontinued,
        _ => MedicationStatus::Unknown,
    };
    let kind = match extension(r, EXT_MEDICATION_KIND).and_then(|e| text(e, "valueCode")) {
        Some("acute") => MedicationKind::Acute,
        Some("repeat") => MedicationKind::Repeat,
        _ => MedicationKind::Unspecified,
    };
    let dosages = if request {
        array(r, "dosageInstruction")
    } else {
        array(r, "dosage")
    };
    let dosage = dosages
        .first()
        .and_then(|d| text(d, "text").or_else(|| text(d, "patientInstruction")))
        .map(str::to_string);
    let quantity = extension(r, EXT_QUANTITY)
        .and_then(|e| text(e, "valueString"))
        .map(str::to_string)
        .or_else(|| {
            let q = r.get("dispenseRequest")?.get("quantity")?;
            let value = q.get("value")?;
            Some(
                format!("{} {}", value, text(q, "unit").unwrap_or(""))
                    .trim()
                    .to_string(),
            )
        });
    let period = r.get("effectivePeriod");
    let started = period
        .and_then(|p| date(p, "start"))
        .or_else(|| date(r, "effectiveDateTime"))
        .or_else(|| date(r, "authoredOn"));
    let discontinued = period
        .and_then(|p| date(p, "end"))
        .filter(|_| status == MedicationStatus::Discontinued);
    let last_issued = extension(r, EXT_LAST_ISSUED).and_then(|e| date(e, "valueDateTime"));
    Some(Medication {
        medicine,
        kind,
        status,
        dosage,
        quantity,
        started,
        last_issued,
        discontinued,
        reason: array(r, "reasonCode")
            .iter()
            .find_map(coding_of)
            .map(|c| c.display),
    })
}

fn read_problem(r: &Value) -> Option<Problem> {
    let code = r.get("code")?;
    if has_code(code, IPS_ABSENT_UNKNOWN, ABSENT_PROBLEM) {
        return None;
    }
    let condition = coding_of(code)?;
    let status = match first_code(r.get("clinicalStatus")) {
        Some("active" | "recurrence" | "relapse") => ProblemStatus::Active,
        Some("inactive" | "remission") => ProblemStatus::Inactive,
        Some("resolved") => ProblemStatus::Resolved,
        _ => ProblemStatus::Unknown,
    };
    let onset =
        date(r, "onsetDateTime").or_else(|| r.get("onsetPeriod").and_then(|p| date(p, "start")));
    Some(Problem {
        condition,
        status,
        onset,
        recorded: date(r, "recordedDate"),
    })
}

/// An organisation named by a reference: its ODS code (the reference's own identifier, or
/// the identifier of the Organization it resolves to) and its name, where given.
fn organisation<'a>(
    resolver: &Resolver<'a>,
    from: &'a Value,
    reference: &'a Value,
) -> (Option<String>, Option<String>) {
    let ods_of = |ids: &[Value]| {
        ids.iter()
            .find(|i| text(i, "system") == Some(ODS_CODE))
            .or_else(|| ids.iter().find(|i| text(i, "system").is_none()))
            .and_then(|i| text(i, "value"))
            .map(str::to_string)
    };
    let mut ods = reference
        .get("identifier")
        .and_then(|i| ods_of(std::slice::from_ref(i)));
    let mut name = text(reference, "display").map(str::to_string);
    if let Ok(org) = resolver.follow(from, reference) {
        if text(org, "resourceType") == Some("Organization") {
            ods = ods.or_else(|| ods_of(array(org, "identifier")));
            name = name.or_else(|| text(org, "name").map(str::to_string));
        }
    }
    (ods, name)
}

/// A resource's own text (`text.div`), as plain text on one line.
fn resource_text(r: &Value) -> Option<String> {
    let div = r.get("text").and_then(|t| text(t, "div"))?;
    let words = crate::narrative::narrative_text(div)
        .blocks
        .iter()
        .map(|b| match b {
            crate::narrative::TextBlock::Heading { text }
            | crate::narrative::TextBlock::Paragraph { text }
            | crate::narrative::TextBlock::Item { text } => text.clone(),
            crate::narrative::TextBlock::Row { cells } => cells.join(" "),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let words = words.trim();
    (!words.is_empty()).then(|| words.to_string())
}

enum FlagEntry {
    Adjustment(ReasonableAdjustment),
    ChildProtection(ChildProtectionPlan),
    Other(OtherFlag),
    /// Inactive or entered in error: not shown.
    NotInForce,
}

fn flag_kind(r: &Value) -> Option<&str> {
    array(r, "category")
        .iter()
        .flat_map(codings)
        .find(|c| text(c, "system") == Some(FLAG_KIND_SYSTEM))
        .and_then(|c| text(c, "code"))
        .or_else(|| {
            r.get("code")
                .filter(|cc| has_code(cc, SNOMED, &[SNOMED_REASONABLE_ADJUSTMENT_FLAG]))
                .map(|_| FLAG_KIND_REASONABLE_ADJUSTMENT)
        })
}

/// Reads an IPS `Flag`. A GP upload must say what it means (`strict`): its status, the
/// adjustments in words, the child's responsible organisation; a foreign document's flag
/// is shown with what it has.
fn read_flag(resolver: &Resolver, r: &Value, strict: bool) -> Result<FlagEntry, FhirError> {
    match text(r, "status") {
        Some("active") => {}
        Some("inactive" | "entered-in-error") => return Ok(FlagEntry::NotInForce),
        // Not knowing, a foreign flag is shown: a flag wrongly shown costs a look, one
        // wrongly hidden may cost the patient.
        _ if !strict => {}
        other => {
            return Err(FhirError::Invalid(format!(
                "Flag.status {:?} is not active, inactive or entered-in-error",
                other.unwrap_or("(none)")
            )))
        }
    }
    let period = r.get("period");
    let start = period.and_then(|p| date(p, "start"));
    match flag_kind(r) {
        Some(FLAG_KIND_REASONABLE_ADJUSTMENT) => {
            let mut adjustments: Vec<String> = array(r, "extension")
                .iter()
                .filter(|e| text(e, "url") == Some(ext_url(EXT_REASONABLE_ADJUSTMENT).as_str()))
                .filter_map(|e| text(e, "valueString"))
                .map(str::to_string)
                .collect();
            if adjustments.is_empty() {
                adjustments.extend(
                    r.get("code")
                        .and_then(|cc| text(cc, "text"))
                        .map(str::to_string)
                        .or_else(|| resource_text(r)),
                );
            }
            if strict && adjustments.is_empty() {
                return Err(FhirError::Missing(
                    "the reasonable adjustments in words (Flag.code.text, or the reasonable-adjustment extension)".into(),
                ));
            }
            Ok(FlagEntry::Adjustment(ReasonableAdjustment {
                adjustments,
                recorded: start,
            }))
        }
        Some(FLAG_KIND_CHILD_PROTECTION) => {
            let (responsible_ods, responsible_name) = match r.get("author") {
                Some(author) => organisation(resolver, r, author),
                None => (None, None),
            };
            if strict && responsible_ods.is_none() {
                return Err(FhirError::Missing(
                    "Flag.author (the organisation responsible for the child, by ODS code)".into(),
                ));
            }
            Ok(FlagEntry::ChildProtection(ChildProtectionPlan {
                responsible_ods,
                responsible_name,
                start,
                end: period.and_then(|p| date(p, "end")),
            }))
        }
        _ => {
            let text_of = r
                .get("code")
                .and_then(coding_of)
                .map(|c| c.display)
                .or_else(|| resource_text(r));
            let Some(text_of) = text_of else {
                return Err(FhirError::Missing("Flag.code (what the flag says)".into()));
            };
            let category = array(r, "category")
                .iter()
                .find_map(coding_of)
                .map(|c| c.display);
            Ok(FlagEntry::Other(OtherFlag {
                text: text_of,
                category,
            }))
        }
    }
}

/// Adds one flag to the patient's: the adjustments of several flags together (each once),
/// the first child protection plan.
fn add_flag(flags: &mut Flags, entry: FlagEntry) {
    match entry {
        FlagEntry::Adjustment(a) => match &mut flags.reasonable_adjustment {
            Some(held) => {
                for adj in a.adjustments {
                    if !held.adjustments.contains(&adj) {
                        held.adjustments.push(adj);
                    }
                }
                held.recorded = held.recorded.or(a.recorded);
            }
            None => flags.reasonable_adjustment = Some(a),
        },
        FlagEntry::ChildProtection(p) => {
            if flags.child_protection.is_none() {
                flags.child_protection = Some(p);
            }
        }
        FlagEntry::Other(o) => {
            if !flags.other.contains(&o) {
                flags.other.push(o);
            }
        }
        FlagEntry::NotInForce => {}
    }
}

/// How references that do not resolve are treated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// A foreign document: skip the entry, say so in the warnings.
    Tolerant,
    /// A GP upload: refuse the Bundle.
    Strict,
}

fn read_summary(
    composition: &Value,
    resolver: &Resolver,
    strictness: Strictness,
    warnings: &mut Vec<String>,
) -> Result<Summary, FhirError> {
    let mut allergies = Vec::new();
    let mut no_known: Option<Option<ClinicalDate>> = None;
    let mut saw_allergy_section = false;
    let mut medications = Vec::new();
    let mut problems = Vec::new();
    let mut narratives = Narratives::default();
    let mut allergy_text_only = false;
    let mut flags = Flags::default();

    let mut additional = crate::AdditionalInformation {
        sensitive_included: additional::has_sensitive_included(composition),
        ..Default::default()
    };

    for section in array(composition, "section") {
        let kind = section_kind(section);
        if kind == SectionKind::Other {
            continue;
        }
        if let SectionKind::Additional(ai_kind) = kind {
            read_additional_section(
                composition,
                section,
                ai_kind,
                resolver,
                strictness,
                warnings,
                &mut additional,
            )?;
            continue;
        }
        let mut coded = 0usize;
        for reference in array(section, "entry") {
            let Some(resource) =
                follow_entry(composition, reference, resolver, strictness, warnings)?
            else {
                continue;
            };
            let resource_type = text(resource, "resourceType").unwrap_or("");
            match (kind, resource_type) {
                (SectionKind::Allergies, "AllergyIntolerance") => match read_allergy(resource) {
                    Some(AllergyEntry::Allergy(a)) => {
                        allergies.push(a);
                        coded += 1;
                    }
                    Some(AllergyEntry::NoKnownAllergies(d)) => {
                        no_known = Some(d);
                        coded += 1;
                    }
                    Some(AllergyEntry::NoInformation) => coded += 1,
                    None => {
                        warnings.push("an allergy entry without a substance was skipped".into())
                    }
                },
                (SectionKind::Medications, "MedicationStatement" | "MedicationRequest") => {
                    coded += 1;
                    if let Some(m) = read_medication(resolver, resource) {
                        medications.push(m);
                    }
                }
                (SectionKind::Problems, "Condition") => {
                    coded += 1;
                    if let Some(p) = read_problem(resource) {
                        problems.push(p);
                    }
                }
                (SectionKind::Alerts, "Flag") => {
                    match read_flag(resolver, resource, strictness == Strictness::Strict) {
                        Ok(entry) => add_flag(&mut flags, entry),
                        Err(e) if strictness == Strictness::Strict => return Err(e),
                        Err(e) => warnings.push(format!("a flag was skipped: {e}")),
                    }
                }
                _ => {}
            }
        }
        if kind == SectionKind::Allergies {
            saw_allergy_section = true;
        }
        // The section's own text, kept beside coded entries and alone where there are none
        // (the NHS SCR API sends allergies and medication this way). An emptyReason says
        // the section is empty on purpose; its text then only says so.
        let div = section
            .get("text")
            .and_then(|t| text(t, "div"))
            .filter(|d| crate::narrative::narrative_text(d).has_text())
            .map(str::to_string)
            // A section empty on purpose ("Nil Known", "Not Asked") has only that to say:
            // kept, its text would be served on as a text-only section ("described in
            // text only: No current medication") instead of as the empty list it is.
            .filter(|_| coded > 0 || section.get("emptyReason").is_none());
        if kind == SectionKind::Allergies && coded == 0 && section.get("emptyReason").is_none() {
            allergy_text_only = div.is_some();
        }
        match kind {
            SectionKind::Allergies => narratives.allergies = div,
            SectionKind::Medications => narratives.medications = div,
            SectionKind::Problems => narratives.problems = div,
            SectionKind::Alerts | SectionKind::Additional(_) | SectionKind::Other => {}
        }
    }
    if !saw_allergy_section {
        warnings.push("the document has no allergy section".into());
    }
    let allergy_state = if !allergies.is_empty() {
        AllergyState::Known { allergies }
    } else if let Some(recorded) = no_known {
        AllergyState::NoKnownAllergies { recorded }
    } else if allergy_text_only {
        // Text but no entry: the text may name an allergy, so it is never "not recorded".
        AllergyState::DescribedInText
    } else {
        // Nothing sent is never "no known allergies".
        AllergyState::NotRecorded
    };
    Ok(Summary {
        allergies: allergy_state,
        medications,
        problems,
        provenance: provenance(composition, resolver),
        narratives,
        flags,
        additional,
    })
}

/// The resource a section entry points at. One that does not resolve refuses an upload;
/// in a foreign document it is skipped (`None`) and the warnings say so.
fn follow_entry<'a>(
    composition: &'a Value,
    reference: &'a Value,
    resolver: &Resolver<'a>,
    strictness: Strictness,
    warnings: &mut Vec<String>,
) -> Result<Option<&'a Value>, FhirError> {
    match resolver.follow(composition, reference) {
        Ok(r) => Ok(Some(r)),
        Err(unresolved) => match strictness {
            Strictness::Strict => Err(FhirError::UnresolvedReference(unresolved)),
            Strictness::Tolerant => {
                warnings.push(format!(
                    "a section entry ({unresolved}) could not be found in the document and was skipped"
                ));
                Ok(None)
            }
        },
    }
}

/// One Additional Information section: withheld (by `emptyReason`), or its entries, or its
/// text where it has no entry the viewer reads.
fn read_additional_section(
    composition: &Value,
    section: &Value,
    kind: AdditionalKind,
    resolver: &Resolver,
    strictness: Strictness,
    warnings: &mut Vec<String>,
    into: &mut crate::AdditionalInformation,
) -> Result<(), FhirError> {
    let withheld = additional::is_withheld(section);
    let mut reading = SectionReading::default();
    if !withheld {
        for reference in array(section, "entry") {
            let Some(resource) =
                follow_entry(composition, reference, resolver, strictness, warnings)?
            else {
                continue;
            };
            if let Err(why) = additional::read_entry(kind, resource, coding_of, date, &mut reading)
            {
                match strictness {
                    Strictness::Strict => return Err(FhirError::Invalid(why)),
                    Strictness::Tolerant => warnings.push(format!("{why} was skipped")),
                }
            }
        }
    }
    // As for the core sections: a section empty on purpose has only that to say.
    let text_only = section
        .get("text")
        .and_then(|t| text(t, "div"))
        .filter(|d| crate::narrative::narrative_text(d).has_text())
        .filter(|_| section.get("emptyReason").is_none())
        .map(str::to_string);
    additional::store_section(into, kind, withheld, reading, text_only);
    Ok(())
}

fn provenance(composition: &Value, resolver: &Resolver) -> Provenance {
    let mut p = Provenance {
        practice_ods: None,
        practice_name: None,
        author: None,
        last_updated: None,
    };
    let mut organisations = Vec::new();
    for author in array(composition, "author") {
        match resolver.follow(composition, author) {
            Ok(r) if text(r, "resourceType") == Some("Organization") => organisations.push(r),
            Ok(r) => {
                if p.author.is_none() {
                    p.author = array(r, "name")
                        .first()
                        .map(human_name)
                        .filter(|s| !s.is_empty());
                }
            }
            Err(_) => {
                if p.author.is_none() {
                    p.author = text(author, "display").map(str::to_string);
                }
            }
        }
    }
    if let Some(custodian) = composition
        .get("custodian")
        .and_then(|c| resolver.follow(composition, c).ok())
    {
        organisations.push(custodian);
    }
    if let Some(org) = organisations.first() {
        p.practice_name = text(org, "name").map(str::to_string);
        let ids = array(org, "identifier");
        p.practice_ods = ids
            .iter()
            .find(|i| text(i, "system") == Some(ODS_CODE))
            .or_else(|| ids.first())
            .and_then(|i| text(i, "value"))
            .map(str::to_string);
    }
    p.last_updated = date(composition, "date").as_ref().and_then(to_utc);
    p
}

fn entries(bundle: &Value) -> &[Value] {
    array(bundle, "entry")
}

fn find<'a>(entries: &'a [Value], resource_type: &str) -> Option<&'a Value> {
    entries
        .iter()
        .filter_map(|e| e.get("resource"))
        .find(|r| text(r, "resourceType") == Some(resource_type))
}

/// Reads any IPS-style document Bundle. Refuses only what cannot be shown safely: not a
/// document, no Composition, a subject that is not a Patient in the document, an invalid
/// NHS number.
pub fn parse_document(json: &[u8]) -> Result<PatientSummaryDocument, FhirError> {
    let bundle = load(json)?;
    let kind = text(&bundle, "type").unwrap_or("(none)");
    let entries = entries(&bundle);
    let compositions = entries
        .iter()
        .filter_map(|e| e.get("resource"))
        .filter(|r| text(r, "resourceType") == Some("Composition"))
        .count();
    let mut warnings = Vec::new();
    match kind {
        "document" => {}
        // Some systems export a summary as a search result holding one Composition and its
        // entries; that reads the same way, and the viewer says so.
        "searchset" | "collection" if compositions == 1 => warnings.push(format!(
            "the Bundle is of type {kind}, not a document; it was read as one because it holds one Composition"
        )),
        _ => {
            return Err(FhirError::Invalid(format!(
                "the Bundle is of type {kind:?}, not a patient summary document"
            )))
        }
    }
    let composition = find(entries, "Composition")
        .ok_or_else(|| FhirError::Missing("the document's Composition".into()))?;
    let resolver = Resolver::new(entries);
    let subject = composition
        .get("subject")
        .ok_or_else(|| FhirError::Missing("Composition.subject".into()))?;
    let patient = resolver
        .follow(composition, subject)
        .map_err(FhirError::UnresolvedReference)?;
    if text(patient, "resourceType") != Some("Patient") {
        return Err(FhirError::WrongResourceType {
            expected: "Patient as the Composition's subject".into(),
            found: text(patient, "resourceType").unwrap_or("nothing").into(),
        });
    }
    let summary = read_summary(composition, &resolver, Strictness::Tolerant, &mut warnings)?;
    Ok(PatientSummaryDocument {
        patient: patient_info(patient)?,
        summary,
        title: text(composition, "title").map(str::to_string),
        date: date(composition, "date"),
        warnings,
        source: document_source(composition, &resolver),
        other_sections: other_sections(composition),
    })
}

/// A person's or an organisation's name, or a reference's display where it does not resolve.
fn name_of(resolver: &Resolver, from: &Value, reference: &Value) -> Option<String> {
    let named = match resolver.follow(from, reference) {
        Ok(r) => match text(r, "resourceType") {
            Some("Organization" | "Device") => text(r, "name")
                .or_else(|| text(r, "deviceName"))
                .map(str::to_string),
            _ => array(r, "name")
                .first()
                .map(human_name)
                .filter(|s| !s.is_empty()),
        },
        Err(_) => None,
    };
    named.or_else(|| text(reference, "display").map(str::to_string))
}

fn document_source(composition: &Value, resolver: &Resolver) -> DocumentSource {
    let mut authors: Vec<String> = Vec::new();
    for author in array(composition, "author") {
        if let Some(name) = name_of(resolver, composition, author) {
            if !authors.contains(&name) {
                authors.push(name);
            }
        }
    }
    DocumentSource {
        authors,
        custodian: composition
            .get("custodian")
            .and_then(|c| name_of(resolver, composition, c)),
    }
}

/// The sections `read_summary` skips, kept as text. Kept apart from `read_summary` so that
/// a section kind taught to the parser later simply stops appearing here.
fn other_sections(composition: &Value) -> Vec<OtherSection> {
    array(composition, "section")
        .iter()
        .filter(|s| section_kind(s) == SectionKind::Other)
        .map(|s| OtherSection {
            title: text(s, "title")
                .map(str::to_string)
                .or_else(|| s.get("code").and_then(coding_of).map(|c| c.display)),
            text: s
                .get("text")
                .and_then(|t| text(t, "div"))
                .map(crate::narrative::narrative_text)
                .filter(crate::narrative::NarrativeText::has_text),
            entries: array(s, "entry").len(),
        })
        .collect()
}

fn consent_record(c: &Value) -> Result<ConsentRecord, FhirError> {
    let code = array(c, "category")
        .iter()
        .flat_map(codings)
        .filter_map(|coding| text(coding, "code"))
        .find_map(|code| SharingPreference::from_code(code).map(|known| (code, known)));
    let (code, known) = code.ok_or_else(|| {
        FhirError::Invalid(
            "the Consent carries no recognised sharing code (9Ndl, 9Ndm, 9Ndn, 9Ndo, 93C2, 93C3)"
                .into(),
        )
    })?;
    // A SNOMED CT code is recorded as the Read code it pairs with.
    let code = if known.snomed == Some(code) {
        known.read
    } else {
        code
    };
    let recorded = date(c, "dateTime").and_then(|d| d.day()).ok_or_else(|| {
        FhirError::Missing("Consent.dateTime (the date the preference was recorded)".into())
    })?;
    let recorded_by_ods = array(c, "organization")
        .iter()
        .find_map(|o| o.get("identifier").and_then(|i| text(i, "value")))
        .map(str::to_string);
    Ok(ConsentRecord {
        preference: known.preference,
        code: code.to_string(),
        recorded,
        recorded_by_ods,
    })
}

/// Reads a GP practice's transaction Bundle.
pub fn parse_upload(json: &[u8]) -> Result<Upload, FhirError> {
    let bundle = load(json)?;
    let kind = text(&bundle, "type").unwrap_or("(none)");
    if kind != "transaction" {
        return Err(FhirError::Invalid(format!(
            "the Bundle is of type {kind:?}, not a transaction"
        )));
    }
    let bundle_id = bundle
        .get("identifier")
        .and_then(|i| text(i, "value"))
        .or_else(|| text(&bundle, "id"))
        .ok_or_else(|| FhirError::Missing("Bundle.identifier (retries are matched by it)".into()))?
        .to_string();
    let entries = entries(&bundle);
    let patient_resource =
        find(entries, "Patient").ok_or_else(|| FhirError::Missing("the Patient".into()))?;
    let patient = demographics_strict(patient_resource)?;
    let resolver = Resolver::new(entries);
    let summary = match find(entries, "Composition") {
        None => None,
        Some(composition) => {
            let subject = composition
                .get("subject")
                .ok_or_else(|| FhirError::Missing("Composition.subject".into()))?;
            let target = resolver
                .follow(composition, subject)
                .map_err(FhirError::UnresolvedReference)?;
            if !std::ptr::eq(target, patient_resource) {
                return Err(FhirError::Invalid(
                    "the Composition is about a different patient than the Bundle's Patient".into(),
                ));
            }
            let mut warnings = Vec::new();
            Some(read_summary(
                composition,
                &resolver,
                Strictness::Strict,
                &mut warnings,
            )?)
        }
    };
    let consent = find(entries, "Consent").map(consent_record).transpose()?;
    let care = care_events(entries, &resolver, patient_resource, patient.nhs_number)?;
    Ok(Upload {
        bundle_id,
        patient,
        summary,
        consent,
        care,
    })
}

/// The upload's encounters and referrals, each about the Bundle's patient; a problem is
/// named with its entry.
fn care_events(
    entries: &[Value],
    resolver: &Resolver,
    patient: &Value,
    nhs: NhsNumber,
) -> Result<Vec<CareEvent>, FhirError> {
    let mut events = Vec::new();
    for (index, e) in entries.iter().enumerate() {
        let Some(r) = e.get("resource") else { continue };
        let read = match text(r, "resourceType") {
            Some("Encounter") => read_encounter(resolver, r, patient, nhs),
            Some("ServiceRequest") => read_referral(resolver, r, patient, nhs),
            _ => continue,
        };
        events.push(read.map_err(|problem| FhirError::Entry {
            index,
            problem: Box::new(problem),
        })?);
    }
    Ok(events)
}

/// Refuses a care event about anyone but the Bundle's patient: by reference to its Patient,
/// or by NHS number.
fn about_patient(
    resolver: &Resolver,
    r: &Value,
    patient: &Value,
    nhs: NhsNumber,
    what: &str,
) -> Result<(), FhirError> {
    let subject = r
        .get("subject")
        .ok_or_else(|| FhirError::Missing(format!("{what}.subject")))?;
    let other = || {
        FhirError::Invalid(format!(
            "the {what} is about a different patient than the Bundle's Patient"
        ))
    };
    if let Some(id) = subject.get("identifier") {
        if text(id, "system") == Some(NHS_NUMBER) {
            let value = text(id, "value").ok_or(FhirError::MissingNhsNumber)?;
            let named = NhsNumber::parse(value).map_err(FhirError::InvalidNhsNumber)?;
            return if named == nhs { Ok(()) } else { Err(other()) };
        }
    }
    match resolver.follow(r, subject) {
        Ok(target) if std::ptr::eq(target, patient) => Ok(()),
        Ok(_) => Err(other()),
        Err(unresolved) => Err(FhirError::UnresolvedReference(unresolved)),
    }
}

fn instant_at(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    date(v, key).as_ref().and_then(to_utc)
}

/// An `Encounter`: at its `serviceProvider`, open while the patient is there (arrived,
/// triaged, in progress, on leave), closed once finished, cancelled or entered in error.
fn read_encounter(
    resolver: &Resolver,
    r: &Value,
    patient: &Value,
    nhs: NhsNumber,
) -> Result<CareEvent, FhirError> {
    about_patient(resolver, r, patient, nhs, "Encounter")?;
    let open = match text(r, "status") {
        Some("arrived" | "triaged" | "in-progress" | "onleave") => true,
        Some("finished" | "cancelled" | "entered-in-error") => false,
        other => {
            return Err(FhirError::Invalid(format!(
                "Encounter.status {:?} neither opens nor closes an encounter (arrived, triaged, in-progress or onleave open one; finished, cancelled or entered-in-error close it)",
                other.unwrap_or("(none)")
            )))
        }
    };
    let org_ods = r
        .get("serviceProvider")
        .and_then(|p| organisation(resolver, r, p).0)
        .ok_or_else(|| {
            FhirError::Missing(
                "Encounter.serviceProvider (the organisation the encounter is at, by ODS code)"
                    .into(),
            )
        })?;
    let period = r.get("period");
    Ok(CareEvent {
        kind: CareEventKind::Encounter,
        org_ods,
        open,
        start: period.and_then(|p| instant_at(p, "start")),
        end: period.and_then(|p| instant_at(p, "end")),
    })
}

/// A referral (`ServiceRequest` of category SNOMED CT 3457005, or a category that says
/// "referral"): to its `performer`, open while active, closed once completed, revoked or
/// entered in error. The spine records no other kind of request.
fn read_referral(
    resolver: &Resolver,
    r: &Value,
    patient: &Value,
    nhs: NhsNumber,
) -> Result<CareEvent, FhirError> {
    let referral = array(r, "category").iter().any(|cc| {
        has_code(cc, SNOMED, &[SNOMED_PATIENT_REFERRAL])
            || coding_of(cc).is_some_and(|c| c.display.to_lowercase().contains("referral"))
    });
    if !referral {
        return Err(FhirError::Invalid(
            "a ServiceRequest must be a referral (category SNOMED CT 3457005 Patient referral); the spine records no other requests".into(),
        ));
    }
    about_patient(resolver, r, patient, nhs, "ServiceRequest")?;
    let open = match text(r, "status") {
        Some("active") => true,
        Some("completed" | "revoked" | "entered-in-error") => false,
        other => {
            return Err(FhirError::Invalid(format!(
                "ServiceRequest.status {:?} neither opens nor closes a referral (active opens one; completed, revoked or entered-in-error close it)",
                other.unwrap_or("(none)")
            )))
        }
    };
    let org_ods = array(r, "performer")
        .iter()
        .find_map(|p| organisation(resolver, r, p).0)
        .ok_or_else(|| {
            FhirError::Missing(
                "ServiceRequest.performer (the organisation referred to, by ODS code)".into(),
            )
        })?;
    Ok(CareEvent {
        kind: CareEventKind::Referral,
        org_ods,
        open,
        start: instant_at(r, "authoredOn"),
        end: None,
    })
}
