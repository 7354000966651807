//! What the screens show, shaped for the UI. The TypeScript mirror (`ui/src/generated/
//! types.ts`) is generated from these types; a test fails when it drifts.
//!
//! Dates travel as FHIR text (`1970`, `1970-03`, `1970-03-12`, or an instant) so the UI
//! shows exactly the precision the record has; it formats them (`12-Mar-1970`).

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use scr_model::fhir::{AlertItem, DocumentPatient, PatientSummaryDocument};
use scr_model::narrative::{narrative_text, TextBlock};
use scr_model::registration::{CardRevoked, CardView, RegisteredUser};
use scr_model::{
    AccessReason, Activity, AlertKind, AllergyState, AuditAction, AuditOutcome, AuditRecord,
    ConsentRecord, Criticality, MedicationKind, MedicationStatus, ProblemStatus, RelationshipBasis,
    RoleProfile, Severity, SharingPreference, Verification, VolumeScope, VolumeWarning,
    VolumeWindow,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod additional;
pub use additional::{AdditionalItemView, AdditionalSectionView, AdditionalView};

/// The smartcard state the first screen shows.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum CardStatus {
    /// pcscd is not running: no reader can be seen.
    ServiceUnavailable,
    NoReader,
    NoCard {
        readers: Vec<String>,
    },
    CardPresent {
        reader: String,
    },
    /// A card without the PIV application (a bank card, say): this app cannot use it.
    UnknownCard {
        reader: String,
    },
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub id: String,
    pub role_name: String,
    pub role_code: String,
    pub org_name: String,
    pub org_ods: String,
    /// The role may open summaries (B0370 permission or B0168 emergency).
    pub clinical: bool,
    /// A privacy officer's role: it receives alerts (B0015 emergency access, B0016
    /// self-claimed relationships) and views no summaries (no B0370), so its work is the
    /// alerts and the trail. The spine decides what it may see regardless.
    pub privacy_officer: bool,
    /// The role is the registration authority's (the local activity RA-MANAGE): the window
    /// opens "Users and cards" for it when it is not clinical too.
    pub registration: bool,
}

impl From<&RoleProfile> for RoleView {
    fn from(p: &RoleProfile) -> Self {
        use scr_model::Activity::*;
        RoleView {
            id: p.id.clone(),
            role_name: p.role_name.clone(),
            role_code: p.role_code.clone(),
            org_name: p.org_name.clone(),
            org_ods: p.org_ods.clone(),
            clinical: p.allows(B0370) || p.allows(B0168),
            privacy_officer: (p.allows(B0015) || p.allows(B0016)) && !p.allows(B0370),
            registration: p.allows(RaManage),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SignedInView {
    pub user_name: String,
    pub user_id: String,
    pub roles: Vec<RoleView>,
    /// The spine's idle timeout: the app locks itself after this long without activity.
    pub idle_timeout_secs: u32,
    pub cache: CacheStatus,
}

/// Whether this computer keeps offline copies for the user just signed in.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum CacheStatus {
    On {
        #[serde(rename = "maxAgeHours")]
        max_age_hours: u32,
    },
    Off {
        reason: String,
    },
}

/// One line of "Offline — recently viewed records".
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OfflineEntryView {
    pub nhs_number: String,
    pub patient: Option<PatientView>,
    pub fetched_at: String,
    pub viewed_at: String,
    pub emergency: bool,
}

/// An offline sign-in: who, and their cached records on this computer.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OfflineSignedInView {
    pub user_name: String,
    pub user_id: String,
    pub entries: Vec<OfflineEntryView>,
    pub idle_timeout_secs: u32,
    /// Entries found altered or moved, deleted and not shown.
    pub removed_altered: u32,
}

/// Also read back from the offline cache, where it labels an entry.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PatientView {
    /// Ten digits; the UI groups them 3-3-4.
    pub nhs_number: Option<String>,
    pub title: Option<String>,
    pub given: Vec<String>,
    pub family: Option<String>,
    pub name_text: Option<String>,
    pub gender: Option<String>,
    pub birth_date: Option<String>,
    pub address_lines: Vec<String>,
    pub postcode: Option<String>,
    pub gp_ods: Option<String>,
    pub restricted: bool,
    /// Trace match score (0–1), for search results.
    pub score: Option<f64>,
    /// The patient has died. Absent from offline labels written before it existed.
    #[serde(default)]
    pub deceased: Option<DeceasedView>,
}

/// A recorded death: the date as FHIR text (the UI shows `12-Mar-2025`), or none when the
/// record says only that the patient died.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeceasedView {
    pub date: Option<String>,
}

impl PatientView {
    pub fn from_model(p: &DocumentPatient, score: Option<f64>) -> PatientView {
        PatientView {
            nhs_number: p.nhs_number.map(|n| n.as_digits()),
            title: p.title.clone(),
            given: p.given.clone(),
            family: p.family.clone(),
            name_text: p.name_text.clone(),
            gender: p.gender.map(|g| g.code().to_string()),
            birth_date: p.birth_date.as_ref().map(|d| d.to_fhir()),
            address_lines: p.address.lines.clone(),
            postcode: p.address.postcode.clone(),
            gp_ods: p.gp_ods.clone(),
            restricted: p.restricted,
            score,
            deceased: p.deceased.map(|d| DeceasedView {
                date: d.date.map(|x| x.to_fhir()),
            }),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AllergyView {
    pub substance: String,
    pub reaction: Option<String>,
    pub severity: Option<String>,
    pub high_criticality: bool,
    /// Not confirmed (unconfirmed or presumed): the UI marks it.
    pub unconfirmed: bool,
    pub recorded: Option<String>,
}

/// The allergy section: four states from the record, never confused with each other.
/// (The fifth, "allergies unavailable", is the UI's when the fetch itself failed.)
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum AllergySection {
    Known {
        allergies: Vec<AllergyView>,
    },
    NoKnownAllergies {
        recorded: Option<String>,
    },
    NotRecorded,
    /// No coded entry; the document's own text, which may name allergies, is all there is.
    DescribedInText {
        text: DocumentText,
    },
}

/// One block of a section's own text, as plain text (the document's markup is gone).
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TextBlockView {
    Heading { text: String },
    Paragraph { text: String },
    Item { text: String },
    Row { cells: Vec<String> },
}

/// A section's own text. `complete` false: more was sent than could be read or shown.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocumentText {
    pub blocks: Vec<TextBlockView>,
    pub complete: bool,
}

impl DocumentText {
    fn from_xhtml(xhtml: &str) -> DocumentText {
        DocumentText::from_narrative(narrative_text(xhtml))
    }

    /// A narrative already reduced to plain text (`scr_model::narrative`).
    pub fn from_narrative(n: scr_model::narrative::NarrativeText) -> DocumentText {
        DocumentText {
            blocks: n
                .blocks
                .into_iter()
                .map(|b| match b {
                    TextBlock::Heading { text } => TextBlockView::Heading { text },
                    TextBlock::Paragraph { text } => TextBlockView::Paragraph { text },
                    TextBlock::Item { text } => TextBlockView::Item { text },
                    TextBlock::Row { cells } => TextBlockView::Row { cells },
                })
                .collect(),
            complete: n.complete,
        }
    }
}

/// Each section's own text as the document sent it, shown where a section has no coded
/// entries and on request beside them.
#[derive(Clone, Debug, Default, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocumentTexts {
    pub allergies: Option<DocumentText>,
    pub medication: Option<DocumentText>,
    pub problems: Option<DocumentText>,
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MedicationView {
    pub medicine: String,
    pub dosage: Option<String>,
    pub quantity: Option<String>,
    pub started: Option<String>,
    pub last_issued: Option<String>,
    pub discontinued: Option<String>,
    /// Why it was prescribed (Additional Information: absent unless shared).
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProblemView {
    pub condition: String,
    pub status: String,
    pub onset: Option<String>,
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceView {
    pub practice_name: Option<String>,
    pub practice_ods: Option<String>,
    pub last_updated: Option<String>,
    /// A restricted record: the source practice is withheld by the spine, and the window
    /// says so rather than "an unnamed source".
    pub withheld: bool,
}

/// The flags shown before the summary, each in a banner of its own above the allergies.
#[derive(Clone, Debug, Default, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FlagsView {
    pub reasonable_adjustment: Option<ReasonableAdjustmentView>,
    /// A child protection plan in force: the window asks whether the child is attending an
    /// unscheduled care setting before it shows the summary.
    pub child_protection: Option<ChildProtectionView>,
    pub other: Vec<OtherFlagView>,
}

/// The adjustments in words; none means the flag came without them (the window says so).
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReasonableAdjustmentView {
    pub adjustments: Vec<String>,
    pub recorded: Option<String>,
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChildProtectionView {
    pub responsible_ods: Option<String>,
    pub responsible_name: Option<String>,
    pub since: Option<String>,
    /// A restricted record: the spine withholds the responsible organisation (it would
    /// locate the child) and still notifies it.
    pub withheld: bool,
}

#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OtherFlagView {
    pub text: String,
    pub category: Option<String>,
}

impl FlagsView {
    /// The document's flags as the window shows them on `today`: a plan that has ended is
    /// not in force and asks nothing.
    pub fn from_model(flags: &scr_model::Flags, restricted: bool, today: NaiveDate) -> FlagsView {
        FlagsView {
            reasonable_adjustment: flags.reasonable_adjustment.as_ref().map(|r| {
                ReasonableAdjustmentView {
                    adjustments: r.adjustments.clone(),
                    recorded: r.recorded.as_ref().map(|d| d.to_fhir()),
                }
            }),
            child_protection: flags
                .child_protection
                .as_ref()
                .filter(|p| p.in_force_on(today))
                .map(|p| ChildProtectionView {
                    responsible_ods: p.responsible_ods.clone(),
                    responsible_name: p.responsible_name.clone(),
                    since: p.start.as_ref().map(|d| d.to_fhir()),
                    withheld: restricted && p.responsible_ods.is_none(),
                }),
            other: flags
                .other
                .iter()
                .map(|o| OtherFlagView {
                    text: o.text.clone(),
                    category: o.category.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SummaryView {
    pub patient: PatientView,
    /// Shown before the summary, above the allergies (with the patient's death and a
    /// restricted record's notice, which are in `patient`).
    pub flags: FlagsView,
    /// What changed since this user last fetched the patient's summary on this computer
    /// (shown with the allergies). None for a first look here, an offline copy, or with
    /// the offline cache off.
    pub changes: Option<crate::changes::ChangesView>,
    pub allergies: AllergySection,
    pub repeat_medication: Vec<MedicationView>,
    /// Acute medication started or issued in the last 12 months.
    pub acute_medication: Vec<MedicationView>,
    pub discontinued_medication: Vec<MedicationView>,
    pub problems: Vec<ProblemView>,
    /// SCR Additional Information, under its own headings after the core record.
    pub additional: AdditionalView,
    pub provenance: ProvenanceView,
    /// Each section's own text (None where the document sent none).
    pub document_text: DocumentTexts,
    /// Parts of the document that could not be read (shown, never silently dropped).
    pub warnings: Vec<String>,
    /// When this copy was fetched from the spine (RFC 3339).
    pub fetched_at: String,
    /// Opened with emergency access (reported to the privacy officer).
    pub emergency: bool,
    /// A copy from this computer's offline cache, not fresh from the spine.
    pub offline_copy: bool,
    /// The spine served it past a soft volume limit: words for the window ("You have
    /// opened 31 different patients' records in the last hour.").
    pub volume_warning: Option<String>,
}

/// What printing did: the dialog was opened (`saved_to` none), or the PDF was written there.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PrintedView {
    pub saved_to: Option<String>,
}

/// The sharing preference a receptionist confirms.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum SharingView {
    OptedOut { code: String, recorded: String },
    SharesCore { code: String, recorded: String },
    SharesCoreAndAdditional { code: String, recorded: String },
    NoPreference,
}

impl SharingView {
    pub fn from_model(c: Option<&ConsentRecord>) -> SharingView {
        let Some(c) = c else {
            return SharingView::NoPreference;
        };
        let code = c.code.clone();
        let recorded = c.recorded.format("%Y-%m-%d").to_string();
        match c.preference {
            SharingPreference::Dissent => SharingView::OptedOut { code, recorded },
            SharingPreference::ImpliedConsentCore | SharingPreference::ExpressConsentCore => {
                SharingView::SharesCore { code, recorded }
            }
            SharingPreference::ExpressConsentCoreAndAdditional => {
                SharingView::SharesCoreAndAdditional { code, recorded }
            }
        }
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Mild => "mild",
        Severity::Moderate => "moderate",
        Severity::Severe => "severe",
    }
}

fn problem_status(s: ProblemStatus) -> &'static str {
    match s {
        ProblemStatus::Active => "active",
        ProblemStatus::Inactive => "inactive",
        ProblemStatus::Resolved => "resolved",
        ProblemStatus::Unknown => "unknown",
    }
}

impl SummaryView {
    /// Shapes a parsed `$summary` for the screen. `now` decides what "the last 12 months" is.
    pub fn from_document(
        doc: &PatientSummaryDocument,
        fetched_at: DateTime<Utc>,
        emergency: bool,
        now: DateTime<Utc>,
    ) -> SummaryView {
        let s = &doc.summary;
        let allergies = match &s.allergies {
            AllergyState::Known { allergies } => AllergySection::Known {
                allergies: allergies
                    .iter()
                    .filter(|a| {
                        !matches!(
                            a.verification,
                            Verification::Refuted | Verification::EnteredInError
                        )
                    })
                    .map(|a| AllergyView {
                        substance: a.substance.display.clone(),
                        reaction: a.reaction.clone(),
                        severity: a.severity.map(|s| severity(s).to_string()),
                        high_criticality: a.criticality == Some(Criticality::High),
                        unconfirmed: matches!(
                            a.verification,
                            Verification::Unconfirmed | Verification::Presumed
                        ),
                        recorded: a.recorded.as_ref().map(|d| d.to_fhir()),
                    })
                    .collect(),
            },
            AllergyState::NoKnownAllergies { recorded } => AllergySection::NoKnownAllergies {
                recorded: recorded.as_ref().map(|d| d.to_fhir()),
            },
            AllergyState::NotRecorded => AllergySection::NotRecorded,
            AllergyState::DescribedInText => AllergySection::DescribedInText {
                text: s
                    .narratives
                    .allergies
                    .as_deref()
                    .map(DocumentText::from_xhtml)
                    // The parser only says "text only" when there is text; should a copy
                    // ever lack it, the state still says so and the reader is told.
                    .unwrap_or(DocumentText {
                        blocks: vec![],
                        complete: false,
                    }),
            },
        };
        let year_ago = (now - Duration::days(365)).date_naive();
        let recent = |d: &Option<scr_model::ClinicalDate>| {
            d.as_ref()
                .and_then(|d| d.day())
                .is_some_and(|day| day >= year_ago)
        };
        let med = |m: &scr_model::Medication| MedicationView {
            medicine: m.medicine.display.clone(),
            dosage: m.dosage.clone(),
            quantity: m.quantity.clone(),
            started: m.started.as_ref().map(|d| d.to_fhir()),
            last_issued: m.last_issued.as_ref().map(|d| d.to_fhir()),
            discontinued: m.discontinued.as_ref().map(|d| d.to_fhir()),
            reason: m.reason.clone(),
        };
        let mut repeat = Vec::new();
        let mut acute = Vec::new();
        let mut discontinued = Vec::new();
        for m in &s.medications {
            if m.status == MedicationStatus::Discontinued {
                discontinued.push(med(m));
            } else if m.kind == MedicationKind::Acute {
                if recent(&m.last_issued) || recent(&m.started) {
                    acute.push(med(m));
                }
            } else {
                repeat.push(med(m));
            }
        }
        SummaryView {
            patient: PatientView::from_model(&doc.patient, None),
            flags: FlagsView::from_model(&s.flags, doc.patient.restricted, now.date_naive()),
            changes: None,
            allergies,
            repeat_medication: repeat,
            acute_medication: acute,
            discontinued_medication: discontinued,
            problems: s
                .problems
                .iter()
                .map(|p| ProblemView {
                    condition: p.condition.display.clone(),
                    status: problem_status(p.status).to_string(),
                    onset: p.onset.as_ref().map(|d| d.to_fhir()),
                })
                .collect(),
            additional: AdditionalView::from_model(&s.additional),
            provenance: ProvenanceView {
                practice_name: s.provenance.practice_name.clone(),
                practice_ods: s.provenance.practice_ods.clone(),
                last_updated: s.provenance.last_updated.map(|t| t.to_rfc3339()),
                withheld: doc.patient.restricted,
            },
            document_text: DocumentTexts {
                allergies: s
                    .narratives
                    .allergies
                    .as_deref()
                    .map(DocumentText::from_xhtml),
                medication: s
                    .narratives
                    .medications
                    .as_deref()
                    .map(DocumentText::from_xhtml),
                problems: s
                    .narratives
                    .problems
                    .as_deref()
                    .map(DocumentText::from_xhtml),
            },
            warnings: doc.warnings.clone(),
            fetched_at: fetched_at.to_rfc3339(),
            emergency,
            offline_copy: false,
            volume_warning: None,
        }
    }
}

/// A soft volume limit passed, in words: who, how many different patients, over what time.
pub fn volume_warning_words(w: &VolumeWarning) -> String {
    let who = match w.scope {
        VolumeScope::User => "You have",
        VolumeScope::Organisation => "Your organisation has",
    };
    let window = match w.window {
        VolumeWindow::Hour => "hour",
        VolumeWindow::Day => "day",
    };
    let patients = if w.opened == 1 {
        "patient's record"
    } else {
        "different patients' records"
    };
    format!("{who} opened {} {patients} in the last {window}.", w.opened)
}

/// An alert kind, in words for the privacy officer.
pub fn alert_kind_words(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::EmergencyAccess => "Emergency access",
        AlertKind::SelfClaimedRelationship => "Self-claimed relationship",
        AlertKind::VolumeSoftLimit => "Many records opened (soft limit passed)",
        AlertKind::VolumeHardLimit => "Volume limit reached (access refused)",
        AlertKind::UnmatchedOfflineView => "Offline view with no matching online access",
        AlertKind::ChildProtectionAttendance => "Child protection: unscheduled care attendance",
    }
}

/// What an access relied on, in words.
pub fn relationship_words(basis: RelationshipBasis) -> &'static str {
    match basis {
        RelationshipBasis::Registered => "Registered at the organisation",
        RelationshipBasis::Encounter => "Open encounter at the organisation",
        RelationshipBasis::Referral => "Open referral to the organisation",
        RelationshipBasis::SelfClaimed => "Self-claimed by the user",
    }
}

/// The answer to "Has the patient given permission to view their record?", in words.
pub fn answer_words(reason: AccessReason) -> &'static str {
    match reason {
        AccessReason::PermissionToView => "Yes, the patient gave permission",
        AccessReason::PermissionRefused => "No, the patient refused",
        AccessReason::Emergency => "Emergency: the patient could not be asked",
    }
}

/// What an entry of the trail records being done, in words.
pub fn action_words(action: AuditAction) -> &'static str {
    match action {
        AuditAction::SignIn => "Signed in",
        AuditAction::SignOut => "Signed out",
        AuditAction::SelectRole => "Chose a role",
        AuditAction::PatientRead => "Looked up the patient's details",
        AuditAction::PatientTrace => "Searched for a patient",
        AuditAction::SummaryRead => "Opened the Summary Care Record",
        AuditAction::ConsentRead => "Read the sharing preference",
        AuditAction::Upload => "Uploaded a summary",
        AuditAction::AuditRead => "Read the audit trail",
        AuditAction::OfflineView => "Viewed an offline copy",
        AuditAction::CardRevoke => "Revoked a smartcard",
        AuditAction::AlertReview => "Reviewed an alert",
        AuditAction::UserRegister => "Registered a user",
        AuditAction::RoleAdd => "Added a role profile",
        AuditAction::RoleRemove => "Removed a role profile",
        AuditAction::CardIssue => "Issued a smartcard",
        AuditAction::RegistrationRead => "Read the registrations",
        AuditAction::KeepAlive => "Kept the session alive",
        AuditAction::CpAttendance => "Recorded a child's attendance at unscheduled care",
        AuditAction::SummaryPrint => "Printed the summary",
    }
}

/// An alert kind: its code (for the UI to branch on) and its words.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AlertKindView {
    pub code: String,
    pub words: String,
}

impl From<AlertKind> for AlertKindView {
    fn from(kind: AlertKind) -> Self {
        AlertKindView {
            code: kind.code().to_string(),
            words: alert_kind_words(kind).to_string(),
        }
    }
}

/// One entry of the audit trail as the privacy officer reads it.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TrailEntryView {
    /// The AuditEvent's id (`audit-N`): what a review names.
    pub id: String,
    /// When the spine recorded it (RFC 3339, UTC); the UI shows `12-Mar-2026 14:05`.
    pub at: String,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub role_code: Option<String>,
    /// The ODS code of the organisation the user acted for.
    pub org_ods: Option<String>,
    /// Ten digits; the UI groups them 3-3-4.
    pub nhs_number: Option<String>,
    /// `AuditAction`'s code (`summary-read`, …) and its words.
    pub action: String,
    pub action_words: String,
    /// The answer to the permission question, in words.
    pub answer: Option<String>,
    /// The user's reason in words (emergency access, a self-claim, a review's note).
    pub reason_given: Option<String>,
    /// The legitimate relationship relied on, in words.
    pub relationship: Option<String>,
    /// Whether it was done: `success`, `refused`, `not-found` or `invalid`.
    pub outcome: String,
    /// The code it was refused with (`PERMISSION_REFUSED`, …), if any.
    pub refusal: Option<String>,
    /// The alerts this entry raised.
    pub alerts: Vec<AlertKindView>,
    /// For a view of an offline copy: when it happened (`at` is when it was reported).
    pub offline_viewed_at: Option<String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<&AuditRecord> for TrailEntryView {
    fn from(r: &AuditRecord) -> Self {
        let e = &r.entry;
        TrailEntryView {
            id: format!("audit-{}", r.seq),
            at: rfc3339(r.at),
            user_id: e.user_id.clone(),
            user_name: e.user_name.clone(),
            role_code: e.role_code.clone(),
            org_ods: e.org_ods.clone(),
            nhs_number: e.patient.map(|n| n.as_digits()),
            action: e.action.code().to_string(),
            action_words: action_words(e.action).to_string(),
            answer: e.reason.map(|r| answer_words(r).to_string()),
            reason_given: e.justification.clone(),
            relationship: e.relationship.map(|b| relationship_words(b).to_string()),
            outcome: e.outcome.code().to_string(),
            refusal: e
                .detail
                .clone()
                .filter(|_| e.outcome != AuditOutcome::Success),
            alerts: e.alerts.iter().copied().map(AlertKindView::from).collect(),
            offline_viewed_at: e
                .offline
                .as_ref()
                .map(|o| o.viewed_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

/// Whether an alert still waits for review.
#[derive(Clone, Copy, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum AlertStatusView {
    Open,
    Reviewed,
}

/// Who reviewed an alert, when, and their note.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    /// The reviewing officer's SDS user id.
    pub reviewed_by: String,
    pub reviewed_at: String,
    pub note: String,
}

/// One alert on the privacy officer's list: the access that raised it, what about it
/// alerted (the kinds this officer receives), and its review.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    pub entry: TrailEntryView,
    pub kinds: Vec<AlertKindView>,
    pub status: AlertStatusView,
    pub review: Option<ReviewView>,
}

impl From<&AlertItem> for AlertView {
    fn from(item: &AlertItem) -> Self {
        AlertView {
            entry: TrailEntryView::from(&item.record),
            kinds: item
                .kinds
                .iter()
                .copied()
                .map(AlertKindView::from)
                .collect(),
            status: if item.review.is_some() {
                AlertStatusView::Reviewed
            } else {
                AlertStatusView::Open
            },
            review: item.review.as_ref().map(|r| ReviewView {
                reviewed_by: r.reviewed_by.clone(),
                reviewed_at: rfc3339(r.reviewed_at),
                note: r.note.clone(),
            }),
        }
    }
}

/// What the window asks first: whether the settings are usable, and which spine they name.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StartupStatus {
    /// Set when the settings are missing or wrong: the UI shows it instead of sign-in.
    pub config_error: Option<String>,
    pub spine_url: Option<String>,
}

/// An activity a role profile may carry, for the registration authority's form: its code as
/// the spine takes it (`B0264`, `RA-MANAGE`) and what it allows.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    pub code: String,
    pub meaning: String,
}

impl ActivityView {
    /// Every activity the spine knows, in `Activity::ALL`'s order.
    pub fn all() -> Vec<ActivityView> {
        Activity::ALL
            .iter()
            .map(|&a| ActivityView {
                code: a.code().to_string(),
                meaning: activity_meaning(a).to_string(),
            })
            .collect()
    }
}

/// What holding an activity allows, in the RA's words (DOMAIN.md). Every activity is named,
/// so one added to the model does not build until it is described here.
fn activity_meaning(a: Activity) -> &'static str {
    match a {
        Activity::B0264 => "Patient trace and access to the Summary Care Record application",
        Activity::B0370 => "View summary health records (with permission)",
        Activity::B0168 => "Emergency access to view the Summary Care Record",
        Activity::B0015 => "Receive emergency access alerts (privacy officer)",
        Activity::B0016 => "Receive self-claimed relationship alerts (privacy officer)",
        Activity::B0020 => "Record consent: see and confirm the sharing preference",
        Activity::B0098 => "National postcode search",
        Activity::GpSystemUpload => {
            "Upload summaries for the practice's registered patients (a GP system; local to this service)"
        }
        Activity::RaManage => {
            "Manage users, role profiles and cards (registration authority; local to this service)"
        }
        Activity::EncounterUpload => {
            "Upload the organisation's own encounters (a hospital system; local to this service)"
        }
    }
}

/// A role profile as the registration authority sees it, activities by code.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RoleProfileView {
    pub id: String,
    pub role_code: String,
    pub role_name: String,
    pub org_ods: String,
    pub org_name: String,
    pub activities: Vec<String>,
}

impl From<&RoleProfile> for RoleProfileView {
    fn from(p: &RoleProfile) -> Self {
        RoleProfileView {
            id: p.id.clone(),
            role_code: p.role_code.clone(),
            role_name: p.role_name.clone(),
            org_ods: p.org_ods.clone(),
            org_name: p.org_name.clone(),
            activities: p.activities.iter().map(|a| a.code().to_string()).collect(),
        }
    }
}

/// One of a user's cards: the certificate's issuer and serial (lowercase hex), whether it is
/// revoked, and how many live sessions were opened with it.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredCardView {
    pub issuer: String,
    pub serial: String,
    pub revoked: bool,
    pub live_sessions: u32,
}

/// A registered user with what they hold.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredUserView {
    pub user_id: String,
    pub name: String,
    pub role_profiles: Vec<RoleProfileView>,
    pub cards: Vec<RegisteredCardView>,
}

/// The registration authority's "Users and cards".
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationView {
    pub users: Vec<RegisteredUserView>,
    /// What the "Add a role profile" form offers.
    pub activities: Vec<ActivityView>,
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl RegistrationView {
    /// The users as the spine listed them, each with the role profiles the spine gave for
    /// them (`profiles`, by user id) and their cards. A card whose holder is not in the user
    /// list (registered between the two reads) still shows, under its holder.
    pub fn from_model(
        users: &[RegisteredUser],
        profiles: &[(String, Vec<RoleProfile>)],
        cards: &[CardView],
    ) -> RegistrationView {
        let mut out: Vec<RegisteredUserView> = users
            .iter()
            .map(|u| RegisteredUserView {
                user_id: u.user_id.clone(),
                name: u.name.clone(),
                role_profiles: profiles
                    .iter()
                    .find(|(id, _)| *id == u.user_id)
                    .map(|(_, p)| p.iter().map(RoleProfileView::from).collect())
                    .unwrap_or_default(),
                cards: Vec::new(),
            })
            .collect();
        for card in cards {
            let view = RegisteredCardView {
                issuer: card.issuer.clone(),
                serial: card.serial.clone(),
                revoked: card.revoked,
                live_sessions: count(card.live_sessions),
            };
            match out.iter_mut().find(|u| u.user_id == card.user_id) {
                Some(user) => user.cards.push(view),
                None => out.push(RegisteredUserView {
                    user_id: card.user_id.clone(),
                    name: card.name.clone(),
                    role_profiles: Vec::new(),
                    cards: vec![view],
                }),
            }
        }
        RegistrationView {
            users: out,
            activities: ActivityView::all(),
        }
    }
}

/// A card just revoked: whose it was and how many of their live sessions it ended.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CardRevokedView {
    pub serial: String,
    pub user_id: String,
    pub user_name: Option<String>,
    pub sessions_ended: u32,
}

impl CardRevokedView {
    /// `serial` is the one asked for, should the spine's answer not name the certificate.
    pub fn from_model(serial: &str, r: &CardRevoked) -> CardRevokedView {
        CardRevokedView {
            serial: r
                .certificate
                .as_ref()
                .map_or_else(|| serial.to_string(), |c| c.serial.clone()),
            user_id: r.user.user_id.clone(),
            user_name: r.user.name.clone(),
            sessions_ended: u32::try_from(r.sessions_ended).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, activities: Vec<Activity>) -> RoleProfile {
        RoleProfile {
            id: id.into(),
            role_code: "R8001".into(),
            role_name: "Nurse Access Role".into(),
            org_ods: "RX901".into(),
            org_name: "Synthetic General Hospital".into(),
            activities,
        }
    }

    fn card(user_id: &str, name: &str, serial: &str, revoked: bool) -> CardView {
        CardView {
            issuer: "ab12".into(),
            serial: serial.into(),
            user_id: user_id.into(),
            name: name.into(),
            revoked,
            live_sessions: if revoked { 0 } else { 2 },
        }
    }

    #[test]
    fn only_an_ra_manage_role_is_marked_for_registration() {
        let ra = RoleView::from(&profile("ra", vec![Activity::RaManage]));
        assert!(ra.registration && !ra.clinical);
        let nurse = RoleView::from(&profile("n", vec![Activity::B0264, Activity::B0370]));
        assert!(!nurse.registration && nurse.clinical);
    }

    #[test]
    fn each_user_shows_their_own_profiles_and_cards_and_no_card_is_lost() {
        let users = vec![
            RegisteredUser {
                user_id: "555000000202".into(),
                name: "Sam Patel".into(),
                role_profiles: 1,
                active_cards: 1,
            },
            RegisteredUser {
                user_id: "555000000999".into(),
                name: "Alex Jones".into(),
                role_profiles: 0,
                active_cards: 0,
            },
        ];
        let profiles = vec![
            (
                "555000000202".to_string(),
                vec![profile("desk", vec![Activity::B0264, Activity::RaManage])],
            ),
            ("555000000999".to_string(), vec![]),
        ];
        let cards = vec![
            card("555000000202", "Sam Patel", "0a", true),
            card("555000000202", "Sam Patel", "0b", false),
            // Registered after the user list was read.
            card("555000000777", "Jo Bloggs", "0c", false),
        ];
        let view = RegistrationView::from_model(&users, &profiles, &cards);
        let ids: Vec<&str> = view.users.iter().map(|u| u.user_id.as_str()).collect();
        assert_eq!(ids, ["555000000202", "555000000999", "555000000777"]);
        let sam = &view.users[0];
        assert_eq!(sam.role_profiles.len(), 1);
        assert_eq!(sam.role_profiles[0].activities, ["B0264", "RA-MANAGE"]);
        let serials: Vec<(&str, bool, u32)> = sam
            .cards
            .iter()
            .map(|c| (c.serial.as_str(), c.revoked, c.live_sessions))
            .collect();
        assert_eq!(serials, [("0a", true, 0), ("0b", false, 2)]);
        assert!(view.users[1].role_profiles.is_empty() && view.users[1].cards.is_empty());
        assert_eq!(view.users[2].name, "Jo Bloggs");
        // The form offers every activity the spine knows, by the code it takes.
        let codes: Vec<&str> = view.activities.iter().map(|a| a.code.as_str()).collect();
        let all: Vec<&str> = Activity::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes, all);
        assert!(view.activities.iter().all(|a| !a.meaning.is_empty()));
    }
}
