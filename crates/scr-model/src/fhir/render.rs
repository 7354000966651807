//! Model → FHIR R4 JSON.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::offline;
use super::{
    CareEvent, CareEventKind, Upload, AUDIT_ACTION_SYSTEM, EXTENSION_BASE, LOINC_ALERTS,
    LOINC_ALLERGIES, LOINC_MEDICATIONS, LOINC_PROBLEMS, SNOMED_NO_KNOWN_ALLERGY,
    SNOMED_PATIENT_REFERRAL, UPLOAD_ID_SYSTEM,
};
use crate::consent::SharingPreference;
use crate::flags::{
    FLAG_KIND_CHILD_PROTECTION, FLAG_KIND_REASONABLE_ADJUSTMENT, FLAG_KIND_SYSTEM,
    SNOMED_REASONABLE_ADJUSTMENT_FLAG,
};
use crate::systems::{LOINC, NHS_NUMBER, ODS_CODE, READ_V2, SDS_ROLE_CODE, SDS_USER_ID, SNOMED};
use crate::{
    Allergy, AllergyState, AuditAction, AuditOutcome, AuditRecord, ClinicalDate, Coding,
    ConsentRecord, Criticality, Demographics, Medication, MedicationKind, MedicationStatus,
    NhsNumber, Problem, ProblemStatus, Severity, Summary, Verification,
};

pub(crate) const EXT_MEDICATION_KIND: &str = "medication-kind";
pub(crate) const EXT_QUANTITY: &str = "quantity-supplied";
pub(crate) const EXT_LAST_ISSUED: &str = "last-issued";
/// One reasonable adjustment in words, on a reasonable adjustment `Flag` (repeated).
pub(crate) const EXT_REASONABLE_ADJUSTMENT: &str = "reasonable-adjustment";
const NHS_VERIFICATION_EXT: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const NHS_VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

pub(crate) fn ext_url(name: &str) -> String {
    format!("{EXTENSION_BASE}{name}")
}

/// A deterministic UUID (as `urn:uuid` text) from a seed string: FNV-1a, twice.
pub(crate) fn uuid_from(seed: &str) -> String {
    fn fnv(bytes: &[u8], basis: u64) -> u64 {
        bytes.iter().fold(basis, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        })
    }
    let a = fnv(seed.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = fnv(seed.as_bytes(), 0x8422_2325_cbf2_9ce4 ^ a);
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A narrative received from an uploader, served again as text in markup of our own (none of
/// the sender's markup passes through the spine).
pub(crate) fn reserved_narrative(sent: &str) -> Value {
    json!({
        "status": "additional",
        "div": crate::narrative::narrative_text(sent).to_xhtml(),
    })
}

pub(crate) fn narrative(items: &[String], empty: &str) -> Value {
    let body = if items.is_empty() {
        format!("<p>{}</p>", escape(empty))
    } else {
        let lis: String = items
            .iter()
            .map(|i| format!("<li>{}</li>", escape(i)))
            .collect();
        format!("<ul>{lis}</ul>")
    };
    json!({
        "status": "generated",
        "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{body}</div>")
    })
}

pub(crate) fn codeable(c: &Coding) -> Value {
    let mut coding = Map::new();
    if let Some(s) = &c.system {
        coding.insert("system".into(), json!(s));
    }
    if let Some(code) = &c.code {
        coding.insert("code".into(), json!(code));
    }
    coding.insert("display".into(), json!(c.display));
    if c.code.is_some() {
        json!({ "coding": [coding], "text": c.display })
    } else {
        json!({ "text": c.display })
    }
}

pub(crate) fn loinc_section(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": LOINC, "code": code, "display": display }] })
}

pub(crate) fn empty_reason(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": code, "display": display }] })
}

fn nhs_identifier(nhs: NhsNumber) -> Value {
    json!({
        "system": NHS_NUMBER,
        "value": nhs.as_digits(),
        "extension": [{
            "url": NHS_VERIFICATION_EXT,
            "valueCodeableConcept": { "coding": [{
                "system": NHS_VERIFICATION_SYSTEM,
                "code": "01",
                "display": "Number present and verified"
            }]}
        }]
    })
}

/// `Patient`, id = NHS number. Restricted patients carry no address or GP.
pub fn patient_resource(d: &Demographics) -> Value {
    let mut name = Map::new();
    name.insert("use".into(), json!("official"));
    name.insert("family".into(), json!(d.family));
    if !d.given.is_empty() {
        name.insert("given".into(), json!(d.given));
    }
    if let Some(t) = &d.title {
        name.insert("prefix".into(), json!([t]));
    }
    let mut p = Map::new();
    p.insert("resourceType".into(), json!("Patient"));
    p.insert("id".into(), json!(d.nhs_number.as_digits()));
    if d.restricted {
        p.insert(
            "meta".into(),
            json!({ "security": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R", "display": "restricted" }] }),
        );
    }
    p.insert("identifier".into(), json!([nhs_identifier(d.nhs_number)]));
    p.insert("name".into(), json!([name]));
    p.insert("gender".into(), json!(d.gender.code()));
    p.insert(
        "birthDate".into(),
        json!(d.birth_date.format("%Y-%m-%d").to_string()),
    );
    // A death is never withheld: nothing about it locates the patient, and a record must
    // never be taken for a live one.
    match d.deceased.as_ref().map(|x| x.date) {
        Some(Some(date)) => {
            p.insert("deceasedDateTime".into(), json!(date.to_fhir()));
        }
        Some(None) => {
            p.insert("deceasedBoolean".into(), json!(true));
        }
        None => {}
    }
    if !d.restricted {
        let mut address = Map::new();
        address.insert("use".into(), json!("home"));
        if !d.address.lines.is_empty() {
            address.insert("line".into(), json!(d.address.lines));
        }
        if let Some(pc) = &d.address.postcode {
            address.insert("postalCode".into(), json!(pc));
        }
        if address.len() > 1 {
            p.insert("address".into(), json!([address]));
        }
        if let Some(ods) = &d.gp_ods {
            p.insert(
                "generalPractitioner".into(),
                json!([{ "type": "Organization", "identifier": { "system": ODS_CODE, "value": ods } }]),
            );
        }
    }
    Value::Object(p)
}

/// `Bundle` searchset of trace matches, best first, each with its score.
pub fn patient_searchset(matches: &[(Demographics, f64)]) -> Value {
    let entries: Vec<Value> = matches
        .iter()
        .map(|(d, score)| {
            json!({
                "fullUrl": format!("urn:uuid:{}", uuid_from(&format!("patient:{}", d.nhs_number.as_digits()))),
                "resource": patient_resource(d),
                "search": { "mode": "match", "score": score }
            })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries })
}

pub struct SummaryDocumentInput<'a> {
    pub patient: &'a Demographics,
    pub summary: &'a Summary,
    pub document_id: &'a str,
    pub generated_at: DateTime<Utc>,
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Mild => "mild",
        Severity::Moderate => "moderate",
        Severity::Severe => "severe",
    }
}

fn criticality_code(c: Criticality) -> &'static str {
    match c {
        Criticality::Low => "low",
        Criticality::High => "high",
        Criticality::UnableToAssess => "unable-to-assess",
    }
}

pub(crate) fn verification_code(v: Verification) -> &'static str {
    match v {
        Verification::Confirmed => "confirmed",
        // R4 has no "presumed"; it is not confirmed, which is what the viewer must mark.
        Verification::Unconfirmed | Verification::Presumed => "unconfirmed",
        Verification::Refuted => "refuted",
        Verification::EnteredInError => "entered-in-error",
    }
}

fn allergy_resource(id: &str, patient_ref: &str, a: &Allergy) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("AllergyIntolerance"));
    r.insert("id".into(), json!(id));
    // ait-1/ait-2: no clinical status on an entry entered in error.
    if a.verification != Verification::EnteredInError {
        r.insert(
            "clinicalStatus".into(),
            json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] }),
        );
    }
    r.insert(
        "verificationStatus".into(),
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": verification_code(a.verification) }] }),
    );
    if let Some(c) = a.criticality {
        r.insert("criticality".into(), json!(criticality_code(c)));
    }
    r.insert("code".into(), codeable(&a.substance));
    r.insert("patient".into(), json!({ "reference": patient_ref }));
    if let Some(d) = &a.recorded {
        r.insert("recordedDate".into(), json!(d.to_fhir()));
    }
    if let Some(reaction) = &a.reaction {
        let mut re = Map::new();
        re.insert("manifestation".into(), json!([{ "text": reaction }]));
        if let Some(s) = a.severity {
            re.insert("severity".into(), json!(severity_code(s)));
        }
        r.insert("reaction".into(), json!([re]));
    }
    Value::Object(r)
}

fn no_known_allergy_resource(
    id: &str,
    patient_ref: &str,
    recorded: Option<&ClinicalDate>,
) -> Value {
    let mut r = json!({
        "resourceType": "AllergyIntolerance",
        "id": id,
        "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] },
        "verificationStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed" }] },
        "code": { "coding": [{ "system": SNOMED, "code": SNOMED_NO_KNOWN_ALLERGY, "display": "No known allergy" }], "text": "No known allergy" },
        "patient": { "reference": patient_ref }
    });
    if let (Some(d), Some(obj)) = (recorded, r.as_object_mut()) {
        obj.insert("recordedDate".into(), json!(d.to_fhir()));
    }
    r
}

fn medication_status(s: MedicationStatus) -> &'static str {
    match s {
        MedicationStatus::Active => "active",
        MedicationStatus::Completed => "completed",
        MedicationStatus::Discontinued => "stopped",
        MedicationStatus::Unknown => "unknown",
    }
}

fn medication_resource(id: &str, patient_ref: &str, m: &Medication) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("MedicationStatement"));
    r.insert("id".into(), json!(id));
    let mut ext = Vec::new();
    match m.kind {
        MedicationKind::Acute => {
            ext.push(json!({ "url": ext_url(EXT_MEDICATION_KIND), "valueCode": "acute" }))
        }
        MedicationKind::Repeat => {
            ext.push(json!({ "url": ext_url(EXT_MEDICATION_KIND), "valueCode": "repeat" }))
        }
        MedicationKind::Unspecified => {}
    }
    if let Some(q) = &m.quantity {
        ext.push(json!({ "url": ext_url(EXT_QUANTITY), "valueString": q }));
    }
    if let Some(d) = &m.last_issued {
        ext.push(json!({ "url": ext_url(EXT_LAST_ISSUED), "valueDateTime": d.to_fhir() }));
    }
    if !ext.is_empty() {
        r.insert("extension".into(), json!(ext));
    }
    r.insert("status".into(), json!(medication_status(m.status)));
    r.insert("medicationCodeableConcept".into(), codeable(&m.medicine));
    r.insert("subject".into(), json!({ "reference": patient_ref }));
    let mut period = Map::new();
    if let Some(s) = &m.started {
        period.insert("start".into(), json!(s.to_fhir()));
    }
    if let Some(e) = &m.discontinued {
        period.insert("end".into(), json!(e.to_fhir()));
    }
    if !period.is_empty() {
        r.insert("effectivePeriod".into(), Value::Object(period));
    }
    if let Some(d) = &m.dosage {
        r.insert("dosage".into(), json!([{ "text": d }]));
    }
    if let Some(reason) = &m.reason {
        r.insert("reasonCode".into(), json!([{ "text": reason }]));
    }
    Value::Object(r)
}

fn problem_resource(id: &str, patient_ref: &str, p: &Problem) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Condition"));
    r.insert("id".into(), json!(id));
    let status = match p.status {
        ProblemStatus::Active => Some("active"),
        ProblemStatus::Inactive => Some("inactive"),
        ProblemStatus::Resolved => Some("resolved"),
        ProblemStatus::Unknown => None,
    };
    if let Some(s) = status {
        r.insert(
            "clinicalStatus".into(),
            json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": s }] }),
        );
    }
    r.insert(
        "category".into(),
        json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item" }] }]),
    );
    r.insert("code".into(), codeable(&p.condition));
    r.insert("subject".into(), json!({ "reference": patient_ref }));
    if let Some(d) = &p.onset {
        r.insert("onsetDateTime".into(), json!(d.to_fhir()));
    }
    if let Some(d) = &p.recorded {
        r.insert("recordedDate".into(), json!(d.to_fhir()));
    }
    Value::Object(r)
}

fn allergy_line(a: &Allergy) -> String {
    let mut s = a.substance.display.clone();
    if let Some(r) = &a.reaction {
        s.push_str(&format!(" — {r}"));
    }
    if a.verification != Verification::Confirmed {
        s.push_str(&format!(" ({})", verification_code(a.verification)));
    }
    s
}

/// The summary as Composition + entries, shared by the `$summary` document and the GP
/// upload. Returns (composition, other entries as (fullUrl, resource)).
fn summary_entries(
    seed: &str,
    patient_url: &str,
    summary: &Summary,
    date: DateTime<Utc>,
) -> (Value, Vec<(String, Value)>) {
    let mut n = 0usize;
    let mut next_id = || {
        n += 1;
        uuid_from(&format!("{seed}:{n}"))
    };
    let mut entries: Vec<(String, Value)> = Vec::new();
    let composition_id = next_id();

    let practice = &summary.provenance;
    let org_id = next_id();
    let org_url = format!("urn:uuid:{org_id}");
    let mut org = Map::new();
    org.insert("resourceType".into(), json!("Organization"));
    org.insert("id".into(), json!(org_id));
    if let Some(ods) = &practice.practice_ods {
        org.insert(
            "identifier".into(),
            json!([{ "system": ODS_CODE, "value": ods }]),
        );
    }
    org.insert(
        "name".into(),
        json!(practice
            .practice_name
            .clone()
            .unwrap_or_else(|| "Not Known".into())),
    );
    entries.push((org_url.clone(), Value::Object(org)));

    // Allergies.
    let mut allergy_refs = Vec::new();
    let (allergy_lines, allergy_empty) = match &summary.allergies {
        AllergyState::Known { allergies } => {
            for a in allergies {
                let id = next_id();
                let url = format!("urn:uuid:{id}");
                entries.push((url.clone(), allergy_resource(&id, patient_url, a)));
                allergy_refs.push(json!({ "reference": url }));
            }
            (allergies.iter().map(allergy_line).collect::<Vec<_>>(), None)
        }
        AllergyState::NoKnownAllergies { recorded } => {
            let id = next_id();
            let url = format!("urn:uuid:{id}");
            entries.push((
                url.clone(),
                no_known_allergy_resource(&id, patient_url, recorded.as_ref()),
            ));
            allergy_refs.push(json!({ "reference": url }));
            (vec!["No known allergies".to_string()], None)
        }
        AllergyState::NotRecorded => (Vec::new(), Some(empty_reason("notasked", "Not Asked"))),
        // Text only: served as text only (no entry, no emptyReason), so a reader finds the
        // same state the uploader sent.
        AllergyState::DescribedInText => (Vec::new(), None),
    };
    let allergy_text = match (&summary.allergies, &summary.narratives.allergies) {
        (AllergyState::DescribedInText, Some(sent)) => reserved_narrative(sent),
        _ => narrative(&allergy_lines, "Allergies not recorded"),
    };
    let mut allergy_section = json!({
        "title": "Allergies and adverse reactions",
        "code": loinc_section(LOINC_ALLERGIES, "Allergies and adverse reactions Document"),
    });
    insert_moved(&mut allergy_section, "text", allergy_text);
    if let Some(obj) = allergy_section.as_object_mut() {
        match allergy_empty {
            Some(reason) => {
                obj.insert("emptyReason".into(), reason);
            }
            None if !allergy_refs.is_empty() => {
                obj.insert("entry".into(), Value::Array(allergy_refs));
            }
            None => {}
        }
    }

    let mut list_section = |title: &str,
                            code: &str,
                            display: &str,
                            items: Vec<(String, Value)>,
                            lines: Vec<String>,
                            empty: &str,
                            sent_text: Option<&String>| {
        let refs: Vec<Value> = items
            .iter()
            .map(|(u, _)| json!({ "reference": u }))
            .collect();
        // No entry but text from the uploader: the text is served, never "nil known".
        let text_only = refs.is_empty() && sent_text.is_some();
        let text = match sent_text {
            Some(sent) if text_only => reserved_narrative(sent),
            _ => narrative(&lines, empty),
        };
        let mut s = json!({
            "title": title,
            "code": loinc_section(code, display),
        });
        insert_moved(&mut s, "text", text);
        if let Some(obj) = s.as_object_mut() {
            if !refs.is_empty() {
                obj.insert("entry".into(), Value::Array(refs));
            } else if !text_only {
                obj.insert("emptyReason".into(), empty_reason("nilknown", "Nil Known"));
            }
        }
        entries.extend(items);
        s
    };
    let meds: Vec<(String, Value)> = summary
        .medications
        .iter()
        .map(|m| {
            let id = next_id();
            (
                format!("urn:uuid:{id}"),
                medication_resource(&id, patient_url, m),
            )
        })
        .collect();
    let med_lines = summary
        .medications
        .iter()
        .map(|m| m.medicine.display.clone())
        .collect();
    let medication_section = list_section(
        "Medication",
        LOINC_MEDICATIONS,
        "History of Medication use Narrative",
        meds,
        med_lines,
        "No current medication",
        summary.narratives.medications.as_ref(),
    );
    let problems: Vec<(String, Value)> = summary
        .problems
        .iter()
        .map(|p| {
            let id = next_id();
            (
                format!("urn:uuid:{id}"),
                problem_resource(&id, patient_url, p),
            )
        })
        .collect();
    let problem_lines = summary
        .problems
        .iter()
        .map(|p| p.condition.display.clone())
        .collect();
    let problem_section = list_section(
        "Problems",
        LOINC_PROBLEMS,
        "Problem list - Reported",
        problems,
        problem_lines,
        "No problems recorded",
        summary.narratives.problems.as_ref(),
    );

    let mut sections = vec![allergy_section, medication_section, problem_section];
    let (additional_sections, additional_entries) =
        super::additional::render_sections(&summary.additional, patient_url, &mut next_id);
    sections.extend(additional_sections);
    entries.extend(additional_entries);
    if !summary.flags.is_empty() {
        let mut refs = Vec::new();
        let mut lines = Vec::new();
        for (flag, line) in flag_resources(patient_url, &summary.flags) {
            let id = next_id();
            let url = format!("urn:uuid:{id}");
            let mut flag = flag;
            if let Some(obj) = flag.as_object_mut() {
                obj.insert("id".into(), json!(id));
            }
            entries.push((url.clone(), flag));
            refs.push(json!({ "reference": url }));
            lines.push(line);
        }
        sections.push(json!({
            "title": "Alerts",
            "code": loinc_section(LOINC_ALERTS, "Alert"),
            "text": narrative(&lines, "No alerts"),
            "entry": refs
        }));
    }

    let mut authors = vec![json!({ "reference": org_url })];
    if let Some(a) = &practice.author {
        authors.push(json!({ "display": a }));
    }
    let mut composition = json!({
        "resourceType": "Composition",
        "id": composition_id,
        "status": "final",
        "type": { "coding": [
            { "system": LOINC, "code": "60591-5", "display": "Patient summary Document" },
            { "system": SNOMED, "code": "196981000000101", "display": "General Practice Summary" }
        ]},
        "subject": { "reference": patient_url },
        "date": instant(practice.last_updated.unwrap_or(date)),
        "author": authors,
        "title": "Summary Care Record",
        "custodian": { "reference": org_url },
    });
    insert_moved(&mut composition, "section", Value::Array(sections));
    if summary.additional.sensitive_included {
        if let Some(obj) = composition.as_object_mut() {
            obj.insert(
                "extension".into(),
                json!([super::additional::sensitive_included_extension()]),
            );
        }
    }
    (composition, entries)
}

/// The patient's flags as IPS `Flag` resources (without ids), each with its line for the
/// Alerts section's text.
fn flag_resources(patient_url: &str, flags: &crate::Flags) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    let kind = |code: &str, display: &str| json!([{ "coding": [{ "system": FLAG_KIND_SYSTEM, "code": code, "display": display }] }]);
    if let Some(raf) = &flags.reasonable_adjustment {
        let words = raf.adjustments.join("; ");
        let mut r = json!({
            "resourceType": "Flag",
            "status": "active",
            "category": kind(FLAG_KIND_REASONABLE_ADJUSTMENT, "Reasonable adjustment"),
            "code": { "coding": [{ "system": SNOMED, "code": SNOMED_REASONABLE_ADJUSTMENT_FLAG }], "text": if words.is_empty() { "Reasonable adjustment flag".to_string() } else { words.clone() } },
            "subject": { "reference": patient_url },
        });
        if let Some(obj) = r.as_object_mut() {
            let ext: Vec<Value> = raf
                .adjustments
                .iter()
                .map(|a| json!({ "url": ext_url(EXT_REASONABLE_ADJUSTMENT), "valueString": a }))
                .collect();
            if !ext.is_empty() {
                obj.insert("extension".into(), json!(ext));
            }
            if let Some(d) = &raf.recorded {
                obj.insert("period".into(), json!({ "start": d.to_fhir() }));
            }
        }
        out.push((r, format!("Reasonable adjustments: {words}")));
    }
    if let Some(cp) = &flags.child_protection {
        let mut r = json!({
            "resourceType": "Flag",
            "status": "active",
            "category": kind(FLAG_KIND_CHILD_PROTECTION, "Child protection plan"),
            "code": { "text": "Child protection plan" },
            "subject": { "reference": patient_url },
        });
        if let Some(obj) = r.as_object_mut() {
            let mut period = Map::new();
            if let Some(d) = &cp.start {
                period.insert("start".into(), json!(d.to_fhir()));
            }
            if let Some(d) = &cp.end {
                period.insert("end".into(), json!(d.to_fhir()));
            }
            if !period.is_empty() {
                obj.insert("period".into(), Value::Object(period));
            }
            if let Some(ods) = &cp.responsible_ods {
                let mut author = Map::new();
                author.insert("type".into(), json!("Organization"));
                author.insert(
                    "identifier".into(),
                    json!({ "system": ODS_CODE, "value": ods }),
                );
                if let Some(name) = &cp.responsible_name {
                    author.insert("display".into(), json!(name));
                }
                obj.insert("author".into(), Value::Object(author));
            }
        }
        out.push((r, "Child protection plan".to_string()));
    }
    for o in &flags.other {
        let mut r = json!({
            "resourceType": "Flag",
            "status": "active",
            "code": { "text": o.text },
            "subject": { "reference": patient_url },
        });
        if let (Some(c), Some(obj)) = (&o.category, r.as_object_mut()) {
            obj.insert("category".into(), json!([{ "text": c }]));
        }
        out.push((r, o.text.clone()));
    }
    out
}

/// An encounter or referral of an upload, as a hospital or GP system writes it.
fn care_resource(patient_url: &str, event: &CareEvent) -> Value {
    let org = json!({ "type": "Organization", "identifier": { "system": ODS_CODE, "value": event.org_ods } });
    match event.kind {
        CareEventKind::Encounter => {
            let mut r = json!({
                "resourceType": "Encounter",
                "status": if event.open { "in-progress" } else { "finished" },
                // R4 needs a class; the model does not keep one ("unknown", an extensible
                // binding allows it).
                "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK", "display": "unknown" },
                "subject": { "reference": patient_url },
                "serviceProvider": org,
            });
            let mut period = Map::new();
            if let Some(t) = event.start {
                period.insert("start".into(), json!(instant(t)));
            }
            if let Some(t) = event.end {
                period.insert("end".into(), json!(instant(t)));
            }
            if let (false, Some(obj)) = (period.is_empty(), r.as_object_mut()) {
                obj.insert("period".into(), Value::Object(period));
            }
            r
        }
        CareEventKind::Referral => {
            let mut r = json!({
                "resourceType": "ServiceRequest",
                "status": if event.open { "active" } else { "completed" },
                "intent": "order",
                "category": [{ "coding": [{ "system": SNOMED, "code": SNOMED_PATIENT_REFERRAL, "display": "Patient referral" }] }],
                "subject": { "reference": patient_url },
                "performer": [org],
            });
            if let (Some(t), Some(obj)) = (event.start, r.as_object_mut()) {
                obj.insert("authoredOn".into(), json!(instant(t)));
            }
            r
        }
    }
}

/// The IPS-style `$summary` document: Composition first, then Patient, the practice, and
/// the entries.
pub fn summary_document(input: &SummaryDocumentInput) -> Value {
    let seed = format!("doc:{}", input.document_id);
    let patient_id = uuid_from(&format!("{seed}:patient"));
    let patient_url = format!("urn:uuid:{patient_id}");
    let (composition, rest) =
        summary_entries(&seed, &patient_url, input.summary, input.generated_at);
    let composition_url = format!(
        "urn:uuid:{}",
        composition["id"].as_str().unwrap_or_default()
    );
    let mut patient = patient_resource(input.patient);
    if let Some(obj) = patient.as_object_mut() {
        obj.insert("id".into(), json!(patient_id));
    }
    let mut entry = vec![
        bundle_entry(composition_url, composition),
        bundle_entry(patient_url, patient),
    ];
    entry.extend(rest.into_iter().map(|(u, r)| bundle_entry(u, r)));
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": input.document_id,
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", uuid_from(&seed)) },
        "type": "document",
        "timestamp": instant(input.generated_at),
    });
    insert_moved(&mut bundle, "entry", Value::Array(entry));
    bundle
}

/// A Bundle entry, the resource moved in. (`json!` copies a `Value` it is given by
/// serialising it again: over a whole document that was most of the time `$summary` spent
/// rendering.)
fn bundle_entry(full_url: String, resource: Value) -> Value {
    let mut entry = Map::new();
    entry.insert("fullUrl".into(), Value::String(full_url));
    entry.insert("resource".into(), resource);
    Value::Object(entry)
}

/// Adds `value` to the object `target` without copying it (see [`bundle_entry`]).
fn insert_moved(target: &mut Value, key: &str, value: Value) {
    if let Some(obj) = target.as_object_mut() {
        obj.insert(key.into(), value);
    }
}

fn policy_code(p: SharingPreference) -> &'static str {
    if p.is_dissent() {
        "OPTOUT"
    } else {
        "OPTIN"
    }
}

/// `Consent`: the sharing preference with its Read (and SNOMED CT) code and date.
pub fn consent_resource(nhs: NhsNumber, record: &ConsentRecord) -> Value {
    let known = SharingPreference::from_code(&record.code);
    let mut codings = vec![json!({
        "system": READ_V2,
        "code": record.code,
        "display": known.map(|k| k.term).unwrap_or("Sharing preference")
    })];
    if let Some(snomed) = known.and_then(|k| k.snomed) {
        codings.push(json!({ "system": SNOMED, "code": snomed, "display": known.map(|k| k.term).unwrap_or_default() }));
    }
    let mut r = json!({
        "resourceType": "Consent",
        "id": format!("scr-consent-{}", nhs.as_digits()),
        "status": "active",
        "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent" }] },
        "category": [
            { "coding": [{ "system": LOINC, "code": "59284-0", "display": "Patient Consent" }] },
            { "coding": codings }
        ],
        "patient": { "identifier": { "system": NHS_NUMBER, "value": nhs.as_digits() } },
        "dateTime": record.recorded.format("%Y-%m-%d").to_string(),
        "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": policy_code(record.preference) }] },
        "provision": { "type": if record.preference.is_dissent() { "deny" } else { "permit" } }
    });
    if let (Some(ods), Some(obj)) = (&record.recorded_by_ods, r.as_object_mut()) {
        obj.insert(
            "organization".into(),
            json!([{ "identifier": { "system": ODS_CODE, "value": ods } }]),
        );
    }
    r
}

/// `Consent?patient=`: one entry, or none when no preference is recorded (default sharing).
pub fn consent_searchset(nhs: NhsNumber, record: Option<&ConsentRecord>) -> Value {
    let entries: Vec<Value> = record
        .map(|r| {
            vec![json!({
                "fullUrl": format!("urn:uuid:{}", uuid_from(&format!("consent:{}", nhs.as_digits()))),
                "resource": consent_resource(nhs, r),
                "search": { "mode": "match" }
            })]
        })
        .unwrap_or_default();
    json!({ "resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries })
}

/// `AuditEvent` for one audit record, with its place in the hash chain.
pub fn audit_event(record: &AuditRecord) -> Value {
    let r = &record.entry;
    let (type_code, type_display) = match r.action {
        AuditAction::SignIn
        | AuditAction::SignOut
        | AuditAction::SelectRole
        | AuditAction::KeepAlive => ("110114", "User Authentication"),
        AuditAction::AuditRead => ("110101", "Audit Log Used"),
        // The registration authority changes who may sign in and as what (DICOM 110137).
        AuditAction::UserRegister
        | AuditAction::RoleAdd
        | AuditAction::RoleRemove
        | AuditAction::CardIssue
        | AuditAction::CardRevoke => ("110137", "User Security Attributes Changed"),
        AuditAction::RegistrationRead => ("110112", "Query"),
        _ => ("110110", "Patient Record"),
    };
    let action = match r.action {
        AuditAction::Upload
        | AuditAction::UserRegister
        | AuditAction::RoleAdd
        | AuditAction::CardIssue => "C",
        AuditAction::RoleRemove => "D",
        AuditAction::CardRevoke => "U",
        AuditAction::SignIn
        | AuditAction::SignOut
        | AuditAction::SelectRole
        | AuditAction::KeepAlive => "E",
        _ => "R",
    };
    let outcome = match r.outcome {
        AuditOutcome::Success => "0",
        AuditOutcome::Refused | AuditOutcome::NotFound | AuditOutcome::Invalid => "4",
    };
    let mut agent = Map::new();
    if let Some(role) = &r.role_code {
        agent.insert(
            "role".into(),
            json!([{ "coding": [{ "system": SDS_ROLE_CODE, "code": role }] }]),
        );
    }
    let mut who = Map::new();
    if let Some(id) = &r.user_id {
        who.insert(
            "identifier".into(),
            json!({ "system": SDS_USER_ID, "value": id }),
        );
    }
    who.insert(
        "display".into(),
        json!(r.user_name.clone().unwrap_or_else(|| NOT_SIGNED_IN.into())),
    );
    agent.insert("who".into(), Value::Object(who));
    agent.insert("requestor".into(), json!(true));
    if let Some(ods) = &r.org_ods {
        agent.insert(
            "location".into(),
            json!({ "identifier": { "system": ODS_CODE, "value": ods } }),
        );
    }
    let mut e = Map::new();
    e.insert("resourceType".into(), json!("AuditEvent"));
    e.insert("id".into(), json!(format!("audit-{}", record.seq)));
    e.insert(
        "extension".into(),
        json!([
            { "url": ext_url(CHAIN_EXTENSION), "extension": [
                { "url": "seq", "valueString": record.seq.to_string() },
                { "url": "prevHash", "valueString": record.prev_hash },
                { "url": "hash", "valueString": record.hash }
            ]},
            { "url": ext_url(PRIVACY_ALERT_EXTENSION), "valueBoolean": r.alert },
            // R4's outcome codes put refused, not found and invalid all under 4 (minor
            // failure); the trail's own code keeps them apart for whoever reads it back.
            { "url": ext_url(OUTCOME_EXTENSION), "valueCode": r.outcome.code() }
        ]),
    );
    if let Some(access) = access_extension(r) {
        if let Some(Value::Array(list)) = e.get_mut("extension") {
            list.push(access);
        }
    }
    e.insert("type".into(), json!({ "system": "http://dicom.nema.org/resources/ontology/DCM", "code": type_code, "display": type_display }));
    e.insert(
        "subtype".into(),
        json!([{ "system": AUDIT_ACTION_SYSTEM, "code": r.action.code() }]),
    );
    e.insert("action".into(), json!(action));
    e.insert("recorded".into(), json!(instant(record.at)));
    e.insert("outcome".into(), json!(outcome));
    if let Some(d) = &r.detail {
        e.insert("outcomeDesc".into(), json!(d));
    }
    if let Some(reason) = r.reason {
        e.insert(
            "purposeOfEvent".into(),
            offline::purpose_of_event(reason.header_value()),
        );
    }
    e.insert("agent".into(), json!([agent]));
    e.insert(
        "source".into(),
        json!({ "site": "scr-spine", "observer": { "display": "scr-spine" } }),
    );
    if let Some(o) = &r.offline {
        // When the view happened; `recorded` is when the spine received the report.
        e.insert(
            "period".into(),
            json!({ "start": offline::instant_ms(o.viewed_at), "end": offline::instant_ms(o.viewed_at) }),
        );
    }
    if let Some(p) = r.patient {
        let mut entity = json!({
            "what": { "identifier": { "system": NHS_NUMBER, "value": p.as_digits() } },
            "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" }
        });
        if let Some(o) = &r.offline {
            entity["detail"] = json!([
                { "type": offline::DETAIL_VIEW_ID, "valueString": o.view_id },
                { "type": offline::DETAIL_VIEWED_AT, "valueString": offline::instant_ms(o.viewed_at) },
                { "type": offline::DETAIL_FETCHED_AT, "valueString": offline::instant_ms(o.fetched_at) }
            ]);
        }
        e.insert("entity".into(), json!([entity]));
    }
    Value::Object(e)
}

/// What an access relied on and raised (the access model's part of an entry): the
/// relationship, the reason in words, the alert kinds. `None` for entries without any.
fn access_extension(r: &crate::AuditEntry) -> Option<Value> {
    let mut parts = Vec::new();
    if let Some(b) = r.relationship {
        parts.push(json!({ "url": "relationship", "valueCode": b.code() }));
    }
    if let Some(words) = &r.justification {
        parts.push(json!({ "url": "justification", "valueString": words }));
    }
    for kind in &r.alerts {
        parts.push(json!({ "url": "alert", "valueCode": kind.code() }));
    }
    if let Some(org) = &r.alert_org {
        parts.push(json!({ "url": "alertFor", "valueString": org }));
    }
    (!parts.is_empty()).then(|| json!({ "url": ext_url(ACCESS_EXTENSION), "extension": parts }))
}

/// The entry's place in the hash chain (`seq`, `prevHash`, `hash`).
pub(crate) const CHAIN_EXTENSION: &str = "audit-chain";
/// Whether the entry raised an alert for the privacy officer.
pub(crate) const PRIVACY_ALERT_EXTENSION: &str = "privacy-alert";
/// `AuditEvent.agent.who.display` of an entry made before anyone signed in.
pub(crate) const NOT_SIGNED_IN: &str = "Not signed in";
/// The extension carrying the entry's own outcome code (`AuditOutcome::code`).
pub(crate) const OUTCOME_EXTENSION: &str = "audit-outcome";
/// The access-model extension's name (under the project's extension base).
pub(crate) const ACCESS_EXTENSION: &str = "access";
/// The alert-review extension's name.
pub(crate) const ALERT_REVIEW_EXTENSION: &str = "privacy-alert-review";

/// A privacy officer's alert: the entry that raised it, the kinds raised, and its review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertItem {
    pub record: AuditRecord,
    /// The kinds this officer may see (the entry may have raised more).
    pub kinds: Vec<crate::AlertKind>,
    pub review: Option<AlertReview>,
}

/// Who reviewed an alert, when, and what they noted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertReview {
    pub reviewed_by: String,
    pub reviewed_at: chrono::DateTime<chrono::Utc>,
    pub note: String,
}

/// `AuditEvent/$alerts`: a searchset of the entries that raised alerts, each with the
/// review extension (`status` open or reviewed, and who, when and the note once reviewed).
pub fn alert_searchset(items: &[AlertItem]) -> Value {
    let entries: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut event = audit_event(&item.record);
            let mut review = vec![json!({ "url": "status", "valueCode": if item.review.is_some() { "reviewed" } else { "open" } })];
            for kind in &item.kinds {
                review.push(json!({ "url": "kind", "valueCode": kind.code() }));
            }
            if let Some(r) = &item.review {
                review.push(json!({ "url": "reviewedBy", "valueString": r.reviewed_by }));
                review.push(json!({ "url": "reviewedAt", "valueInstant": instant(r.reviewed_at) }));
                review.push(json!({ "url": "note", "valueString": r.note }));
            }
            if let Some(Value::Array(list)) = event.get_mut("extension") {
                list.push(json!({ "url": ext_url(ALERT_REVIEW_EXTENSION), "extension": review }));
            }
            json!({
                "fullUrl": format!("urn:uuid:{}", uuid_from(&format!("alert:{}:{}", item.record.seq, item.record.hash))),
                "resource": event,
                "search": { "mode": "match" }
            })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries })
}

pub fn audit_searchset(records: &[AuditRecord]) -> Value {
    let entries: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "fullUrl": format!("urn:uuid:{}", uuid_from(&format!("audit:{}:{}", r.seq, r.hash))),
                "resource": audit_event(r),
                "search": { "mode": "match" }
            })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries })
}

/// The transaction Bundle a GP practice system sends.
pub fn upload_bundle(upload: &Upload) -> Value {
    let seed = format!("upload:{}", upload.bundle_id);
    let nhs = upload.patient.nhs_number.as_digits();
    let patient_url = format!("urn:uuid:{}", uuid_from(&format!("{seed}:patient")));
    let mut entry = vec![json!({
        "fullUrl": patient_url,
        "resource": patient_resource(&upload.patient),
        "request": { "method": "PUT", "url": format!("Patient/{nhs}") }
    })];
    if let Some(summary) = &upload.summary {
        let date = summary.provenance.last_updated.unwrap_or_else(Utc::now);
        let (composition, rest) = summary_entries(&seed, &patient_url, summary, date);
        let composition_url = format!(
            "urn:uuid:{}",
            composition["id"].as_str().unwrap_or_default()
        );
        entry.push(json!({ "fullUrl": composition_url, "resource": composition, "request": { "method": "POST", "url": "Composition" } }));
        for (url, resource) in rest {
            let kind = resource["resourceType"]
                .as_str()
                .unwrap_or("Basic")
                .to_string();
            entry.push(json!({ "fullUrl": url, "resource": resource, "request": { "method": "POST", "url": kind } }));
        }
    }
    if let Some(consent) = &upload.consent {
        entry.push(json!({
            "fullUrl": format!("urn:uuid:{}", uuid_from(&format!("{seed}:consent"))),
            "resource": consent_resource(upload.patient.nhs_number, consent),
            "request": { "method": "POST", "url": "Consent" }
        }));
    }
    for (i, event) in upload.care.iter().enumerate() {
        let resource = care_resource(&patient_url, event);
        let kind = resource["resourceType"]
            .as_str()
            .unwrap_or("Basic")
            .to_string();
        entry.push(json!({
            "fullUrl": format!("urn:uuid:{}", uuid_from(&format!("{seed}:care:{i}"))),
            "resource": resource,
            "request": { "method": "POST", "url": kind }
        }));
    }
    json!({
        "resourceType": "Bundle",
        "identifier": { "system": UPLOAD_ID_SYSTEM, "value": upload.bundle_id },
        "type": "transaction",
        "entry": entry
    })
}
