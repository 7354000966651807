//! A document opened from a file, as text: what the viewer's document screen shows, in the
//! same order (where it came from, the patient, the flags, the allergy state first, then
//! medication, problems, Additional Information, provenance, warnings, and the sections
//! shown only as text), with
//! the same display rules (NHS number `943 476 5919`, dates `12-Mar-1970` at the precision
//! recorded). The `scr-doc` binary prints it; the rendering lives here so it is tested.

use std::fmt::Write as _;

use scr_app::{
    AdditionalSectionView, AdditionalView, AllergySection, DocumentText, DocumentView,
    MedicationView, PatientView, TextBlockView,
};
use scr_model::{ClinicalDate, NhsNumber};

/// The first line of every rendering: a document from a file is never the SCR.
pub const SOURCE_BANNER: &str = "Document from a file — not from the Summary Care Record";

/// Text from a document, safe to print to a terminal: control characters (escape sequences
/// among them) are dropped, so a hostile document cannot drive the reader's terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

/// A FHIR date as the viewer shows it, at the precision recorded; text that is not a date
/// is shown as it came. A time is shown in UTC and says so (the window shows UK time; a
/// script's reader should not have to guess which zone a bare time is in).
pub fn date(fhir: &str) -> String {
    match ClinicalDate::parse(fhir) {
        Some(ClinicalDate::Instant(t)) => {
            let utc = t.with_timezone(&chrono::Utc).fixed_offset();
            format!("{} UTC", ClinicalDate::Instant(utc))
        }
        Some(d) => d.to_string(),
        None => clean(fhir),
    }
}

fn opt_date(d: &Option<String>) -> String {
    d.as_deref().map_or_else(|| "not recorded".into(), date)
}

/// `943 476 5919`; the ten digits as given if they are somehow not an NHS number.
pub fn nhs_number(digits: &str) -> String {
    NhsNumber::parse(digits).map_or_else(|_| clean(digits), |n| n.to_string())
}

/// `SURNAME, Given Middle (Title)`, or the name as text where the document gave no parts.
pub fn name(p: &PatientView) -> String {
    if p.family.is_none() && p.given.is_empty() {
        return p
            .name_text
            .as_deref()
            .map_or_else(|| "Name not recorded".into(), clean);
    }
    let mut out = clean(&p.family.clone().unwrap_or_default().to_uppercase());
    let given = clean(&p.given.join(" "));
    if !given.is_empty() {
        out.push_str(", ");
        out.push_str(&given);
    }
    if let Some(t) = &p.title {
        let _ = write!(out, " ({})", clean(t));
    }
    out
}

fn gender(code: &Option<String>) -> &'static str {
    match code.as_deref() {
        Some("female") => "Female",
        Some("male") => "Male",
        Some("other") => "Other",
        _ => "Not known",
    }
}

fn text_blocks(out: &mut String, text: &DocumentText, indent: &str) {
    for b in &text.blocks {
        let _ = match b {
            TextBlockView::Heading { text } => {
                writeln!(out, "{indent}{}", clean(text).to_uppercase())
            }
            TextBlockView::Paragraph { text } => writeln!(out, "{indent}{}", clean(text)),
            TextBlockView::Item { text } => writeln!(out, "{indent}- {}", clean(text)),
            TextBlockView::Row { cells } => writeln!(
                out,
                "{indent}| {} |",
                cells
                    .iter()
                    .map(|c| clean(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        };
    }
    if !text.complete {
        let _ = writeln!(
            out,
            "{indent}[More text was sent than could be read or shown here.]"
        );
    }
}

fn medication_list(out: &mut String, title: &str, meds: &[MedicationView], empty: &str) {
    let _ = writeln!(out, "{title}");
    if meds.is_empty() {
        let _ = writeln!(out, "  {empty}");
    }
    for m in meds {
        let mut line = format!("  - {}", clean(&m.medicine));
        for part in [&m.dosage, &m.quantity].into_iter().flatten() {
            let _ = write!(line, "; {}", clean(part));
        }
        let dates: Vec<String> = [
            ("started", &m.started),
            ("last issued", &m.last_issued),
            ("stopped", &m.discontinued),
        ]
        .into_iter()
        .filter_map(|(what, d)| d.as_deref().map(|d| format!("{what} {}", date(d))))
        .collect();
        if !dates.is_empty() {
            let _ = write!(line, " ({})", dates.join(", "));
        }
        if let Some(reason) = &m.reason {
            let _ = write!(line, " — for {}", clean(reason));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The six Additional Information headings, each in its state; one line when the document
/// carries none. "Withheld" is the document's own word (`emptyReason`), not a preference
/// this viewer knows.
fn additional(out: &mut String, a: &AdditionalView) {
    let headings = [
        ("Significant medical history", &a.history),
        ("Procedures", &a.procedures),
        ("Immunisations", &a.immunisations),
        ("Anticipatory care", &a.anticipatory_care),
        ("End of life care preferences", &a.end_of_life),
        ("Communication needs and preferences", &a.communication),
    ];
    if headings
        .iter()
        .all(|(_, s)| **s == AdditionalSectionView::NotIncluded)
    {
        let _ = writeln!(
            out,
            "Additional information: none is included in this document."
        );
        return;
    }
    let _ = writeln!(out, "Additional information");
    for (title, section) in headings {
        match section {
            AdditionalSectionView::NotIncluded => {
                let _ = writeln!(out, "  {title}: not included in this document.");
            }
            AdditionalSectionView::NotShared => {
                let _ = writeln!(out, "  {title}: WITHHELD, the document says.");
            }
            AdditionalSectionView::Recorded { items, text } => {
                if items.is_empty() && text.is_none() {
                    let _ = writeln!(out, "  {title}: nothing recorded.");
                    continue;
                }
                let _ = writeln!(out, "  {title}");
                if items.is_empty() {
                    if let Some(t) = text {
                        let _ = writeln!(out, "    (described in text only)");
                        text_blocks(out, t, "    ");
                    }
                }
                for i in items {
                    let mut line = format!("    - {}", clean(&i.text));
                    if let Some(d) = &i.detail {
                        let _ = write!(line, ": {}", clean(d));
                    }
                    if let Some(d) = &i.date {
                        let label = i.date_label.as_deref().unwrap_or("date");
                        let _ = write!(line, " ({label} {})", date(d));
                    }
                    if i.not_given {
                        line.push_str(" — NOT GIVEN");
                    }
                    if let Some(sens) = &i.sensitive {
                        let _ = write!(line, " [sensitive — {}]", clean(sens));
                    }
                    let _ = writeln!(out, "{line}");
                }
            }
        }
    }
}

fn allergies(out: &mut String, section: &AllergySection) {
    let _ = match section {
        AllergySection::Known { allergies } => {
            let _ = writeln!(out, "ALLERGIES AND ADVERSE REACTIONS ({})", allergies.len());
            for a in allergies {
                let mut line = format!("  - {}", clean(&a.substance));
                let _ = write!(
                    line,
                    ": {}",
                    a.reaction.as_deref().map_or_else(|| "reaction not recorded".into(), clean)
                );
                let mut notes = vec![a.severity.clone().unwrap_or_else(|| "severity not recorded".into())];
                if a.high_criticality {
                    notes.push("high risk".into());
                }
                notes.push(if a.unconfirmed { "UNCONFIRMED" } else { "confirmed" }.into());
                if let Some(r) = &a.recorded {
                    notes.push(format!("recorded {}", date(r)));
                }
                let _ = write!(line, " ({})", notes.join(", "));
                let _ = writeln!(out, "{line}");
            }
            Ok(())
        }
        AllergySection::NoKnownAllergies { recorded } => writeln!(
            out,
            "ALLERGIES: No known allergies{}",
            recorded
                .as_deref()
                .map(|d| format!(" (recorded {})", date(d)))
                .unwrap_or_default()
        ),
        AllergySection::NotRecorded => writeln!(
            out,
            "ALLERGIES: NOT RECORDED. The document has no allergy entry and no record of \"no known allergies\". Do not assume the patient has no allergies: ask the patient or their carer."
        ),
        AllergySection::DescribedInText { text } => {
            let _ = writeln!(
                out,
                "ALLERGIES: DESCRIBED IN TEXT ONLY. The document sent its allergy information as text, not as coded entries. Read all of it: it may name allergies."
            );
            text_blocks(out, text, "  ");
            Ok(())
        }
    };
}

/// The document as text, in the order the window shows it.
pub fn render(view: &DocumentView) -> String {
    let mut out = String::new();
    let src = &view.source;
    let s = &view.summary;
    let p = &s.patient;
    let _ = writeln!(out, "{SOURCE_BANNER}");
    let _ = writeln!(out, "File: {}", clean(&src.file_name));
    if let Some(t) = &src.title {
        let _ = writeln!(out, "Title: {}", clean(t));
    }
    let authors: Vec<String> = src.authors.iter().map(|a| clean(a)).collect();
    let _ = writeln!(
        out,
        "Author: {}",
        if authors.is_empty() {
            "not given".into()
        } else {
            authors.join("; ")
        }
    );
    let _ = writeln!(
        out,
        "Custodian: {}",
        src.custodian
            .as_deref()
            .map_or_else(|| "not given".into(), clean)
    );
    let _ = writeln!(out, "Dated: {}", opt_date(&src.date));
    let _ = writeln!(out);

    let _ = writeln!(out, "Patient: {}", name(p));
    let _ = writeln!(out, "  Born: {}", opt_date(&p.birth_date));
    if let Some(d) = &p.deceased {
        let _ = writeln!(
            out,
            "  DIED: {}",
            d.date
                .as_deref()
                .map_or_else(|| "date not recorded".into(), date)
        );
    }
    let _ = writeln!(out, "  Gender: {}", gender(&p.gender));
    let _ = writeln!(
        out,
        "  NHS number: {}",
        p.nhs_number
            .as_deref()
            .map_or_else(|| "not given in the document".into(), nhs_number)
    );
    let address: Vec<String> = p
        .address_lines
        .iter()
        .chain(p.postcode.iter())
        .map(|l| clean(l))
        .collect();
    let _ = writeln!(
        out,
        "  Address: {}",
        if p.restricted {
            "Restricted record: address withheld".into()
        } else if address.is_empty() {
            "not recorded".into()
        } else {
            address.join(", ")
        }
    );
    let f = &s.flags;
    if let Some(raf) = &f.reasonable_adjustment {
        let _ = writeln!(out, "REASONABLE ADJUSTMENTS:");
        if raf.adjustments.is_empty() {
            let _ = writeln!(out, "  (details not sent: ask the patient or their carer)");
        }
        for a in &raf.adjustments {
            let _ = writeln!(out, "  - {}", clean(a));
        }
    }
    if let Some(cp) = &f.child_protection {
        let who = cp
            .responsible_name
            .as_deref()
            .or(cp.responsible_ods.as_deref())
            .map_or_else(|| "not recorded".into(), clean);
        let _ = writeln!(out, "CHILD PROTECTION PLAN: responsible organisation {who}");
    }
    for o in &f.other {
        let _ = writeln!(out, "ALERT: {}", clean(&o.text));
    }
    let _ = writeln!(out);
    allergies(&mut out, &s.allergies);
    let _ = writeln!(out);

    let none = s.repeat_medication.is_empty()
        && s.acute_medication.is_empty()
        && s.discontinued_medication.is_empty();
    match (&s.document_text.medication, none) {
        (Some(text), true) => {
            let _ = writeln!(out, "Medication: described in text only");
            text_blocks(&mut out, text, "  ");
        }
        _ => {
            medication_list(
                &mut out,
                "Current repeat medication",
                &s.repeat_medication,
                "None.",
            );
            medication_list(
                &mut out,
                "Acute medication (last 12 months)",
                &s.acute_medication,
                "None in the last 12 months.",
            );
            medication_list(
                &mut out,
                "Recently discontinued medication",
                &s.discontinued_medication,
                "None.",
            );
        }
    }
    let _ = writeln!(out);
    match (&s.document_text.problems, s.problems.is_empty()) {
        (Some(text), true) => {
            let _ = writeln!(out, "Problems: described in text only");
            text_blocks(&mut out, text, "  ");
        }
        _ => {
            let _ = writeln!(out, "Problems");
            if s.problems.is_empty() {
                let _ = writeln!(out, "  None recorded.");
            }
            for pr in &s.problems {
                let since = pr.onset.as_deref().map(|d| format!(", since {}", date(d)));
                let _ = writeln!(
                    out,
                    "  - {} ({}{})",
                    clean(&pr.condition),
                    pr.status,
                    since.unwrap_or_default()
                );
            }
        }
    }
    let _ = writeln!(out);
    additional(&mut out, &s.additional);
    let _ = writeln!(out);
    let pv = &s.provenance;
    let from = match (&pv.practice_name, &pv.practice_ods) {
        _ if pv.withheld => "a source withheld (restricted record)".to_string(),
        (Some(n), Some(o)) => format!("{} ({})", clean(n), clean(o)),
        (Some(n), None) => clean(n),
        (None, Some(o)) => clean(o),
        (None, None) => "an unnamed source".into(),
    };
    let _ = writeln!(
        out,
        "Provenance: from {from}{}",
        pv.last_updated
            .as_deref()
            .map(|d| format!(", last updated {}", date(d)))
            .unwrap_or_default()
    );
    if !s.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Parts of this document could not be read:");
        for w in &s.warnings {
            let _ = writeln!(out, "  - {}", clean(w));
        }
    }
    if !view.other_sections.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Other sections, shown as the document's own text (not read as coded data):"
        );
        for o in &view.other_sections {
            let title = o
                .title
                .as_deref()
                .map_or_else(|| "Untitled section".into(), clean);
            let _ = writeln!(out, "== {title} ==");
            match &o.text {
                Some(t) => text_blocks(&mut out, t, "  "),
                None => {
                    let _ = writeln!(
                        out,
                        "  (no text; {} entr{} not shown)",
                        o.entries,
                        if o.entries == 1 { "y" } else { "ies" }
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    /// A small IPS document (synthetic: an NHS number from the documented example).
    fn document() -> String {
        serde_json::json!({
            "resourceType": "Bundle",
            "type": "document",
            "entry": [
                {"fullUrl": "urn:uuid:c", "resource": {
                    "resourceType": "Composition",
                    "title": "Patient summary",
                    "date": "2026-03-12T14:02:00Z",
                    "subject": {"reference": "urn:uuid:p"},
                    "author": [{"display": "Dr Jo Bloggs"}],
                    "custodian": {"reference": "urn:uuid:o"},
                    "section": [
                        {"title": "Allergies", "code": {"coding": [{"system": "http://loinc.org", "code": "48765-2"}]},
                         "entry": [{"reference": "urn:uuid:a"}]},
                        {"title": "Medication", "code": {"coding": [{"system": "http://loinc.org", "code": "10160-0"}]},
                         "entry": [{"reference": "urn:uuid:m"}, {"reference": "urn:uuid:gone"}]},
                        {"title": "Immunizations", "code": {"coding": [{"system": "http://loinc.org", "code": "11369-6"}]},
                         "entry": [{"reference": "urn:uuid:i"}]},
                        {"title": "Advance directives", "code": {"coding": [{"system": "http://loinc.org", "code": "42348-3"}]},
                         "emptyReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "withheld"}]}},
                        {"title": "Results", "text": {"div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>HbA1c 48 \u{1b}[31mmmol/mol</p></div>"},
                         "entry": [{"reference": "urn:uuid:missing"}]}
                    ]}},
                {"fullUrl": "urn:uuid:p", "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
                    "name": [{"family": "Lovelace", "given": ["Ada"], "prefix": ["Mrs"]}],
                    "gender": "female", "birthDate": "1970-03-12"}},
                {"fullUrl": "urn:uuid:o", "resource": {"resourceType": "Organization", "name": "Hôpital Synthétique"}},
                {"fullUrl": "urn:uuid:a", "resource": {
                    "resourceType": "AllergyIntolerance",
                    "code": {"text": "Penicillin"},
                    "reaction": [{"manifestation": [{"text": "Hives"}], "severity": "severe"}],
                    "criticality": "high"}},
                {"fullUrl": "urn:uuid:i", "resource": {
                    "resourceType": "Immunization", "status": "completed",
                    "vaccineCode": {"text": "Tetanus vaccine"},
                    "occurrenceDateTime": "2020-01-02"}},
                {"fullUrl": "urn:uuid:m", "resource": {
                    "resourceType": "MedicationStatement", "status": "active",
                    "medicationCodeableConcept": {"text": "Metformin 500mg tablets"},
                    "dosage": [{"text": "One twice a day"}],
                    "effectivePeriod": {"start": "2025-06"}}}
            ]
        })
        .to_string()
    }

    fn rendered() -> String {
        let view = scr_app::read_document(document().as_bytes(), "/tmp/ada.json", Utc::now())
            .expect("shown");
        render(&view)
    }

    #[test]
    fn says_first_that_it_is_not_the_scr_and_where_it_came_from() {
        let out = rendered();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(SOURCE_BANNER));
        assert_eq!(lines.next(), Some("File: ada.json"));
        assert!(out.contains("Author: Dr Jo Bloggs\n"), "{out}");
        assert!(out.contains("Custodian: Hôpital Synthétique\n"), "{out}");
        assert!(out.contains("Dated: 12-Mar-2026 14:02 UTC\n"), "{out}");
        assert_eq!(date("2026-03-12T15:02:00+01:00"), "12-Mar-2026 14:02 UTC");
    }

    #[test]
    fn shows_the_patient_by_the_display_rules_and_the_allergies_before_the_medication() {
        let out = rendered();
        assert!(out.contains("Patient: LOVELACE, Ada (Mrs)\n"), "{out}");
        assert!(out.contains("  Born: 12-Mar-1970\n"), "{out}");
        assert!(out.contains("  NHS number: 943 476 5919\n"), "{out}");
        let allergy = out
            .find("ALLERGIES AND ADVERSE REACTIONS (1)")
            .expect("allergies");
        let line = out[allergy..].lines().nth(1).expect("allergy line");
        assert_eq!(
            line,
            "  - Penicillin: Hives (severe, high risk, UNCONFIRMED)"
        );
        let meds = out.find("Current repeat medication").expect("medication");
        assert!(allergy < meds);
        assert!(
            out.contains("  - Metformin 500mg tablets; One twice a day (started Jun-2025)"),
            "{out}"
        );
    }

    #[test]
    fn lists_the_warnings_and_the_other_sections_as_text_without_terminal_escapes() {
        let out = rendered();
        let warnings = out
            .find("Parts of this document could not be read:")
            .expect("warnings");
        assert!(out[warnings..].contains("urn:uuid:gone"), "{out}");
        assert!(
            out.contains("== Results ==\n  HbA1c 48 [31mmmol/mol\n"),
            "{out}"
        );
        assert!(
            !out.contains('\u{1b}'),
            "an escape sequence reached the terminal"
        );
        assert!(!out.contains("<p>"));
    }

    #[test]
    fn shows_the_additional_information_after_the_problems_with_a_withheld_heading_said_so() {
        let out = rendered();
        let problems = out.find("\nProblems\n").expect("problems");
        let ai = out
            .find("Additional information\n")
            .expect("additional information");
        let provenance = out.find("Provenance:").expect("provenance");
        assert!(problems < ai && ai < provenance, "{out}");
        assert!(
            out.contains("  Immunisations\n    - Tetanus vaccine (given 02-Jan-2020)\n"),
            "{out}"
        );
        assert!(
            out.contains("  End of life care preferences: WITHHELD, the document says.\n"),
            "{out}"
        );
        assert!(
            out.contains("  Procedures: not included in this document.\n"),
            "{out}"
        );
    }

    #[test]
    fn each_allergy_state_reads_differently() {
        let not_recorded = {
            let mut out = String::new();
            allergies(&mut out, &AllergySection::NotRecorded);
            out
        };
        let none_known = {
            let mut out = String::new();
            allergies(
                &mut out,
                &AllergySection::NoKnownAllergies {
                    recorded: Some("2024-01".into()),
                },
            );
            out
        };
        assert!(not_recorded.contains("NOT RECORDED") && not_recorded.contains("Do not assume"));
        assert_eq!(
            none_known,
            "ALLERGIES: No known allergies (recorded Jan-2024)\n"
        );
        assert!(!not_recorded.contains("No known allergies"));
    }
}
