// Generated from the Rust types in crates/scr-app (view.rs, viewer.rs). Do not edit:
// run `SCR_UPDATE_TS=1 cargo test -p scr-app --test typescript` after changing them.

export type AppError = { code: string, message: string, 
/**
 * For `WRONG_PASSCODE`: tries left before the card blocks.
 */
triesLeft: number | null, };

export type CardStatus = { "state": "serviceUnavailable" } | { "state": "noReader" } | { "state": "noCard", readers: Array<string>, } | { "state": "cardPresent", reader: string, } | { "state": "unknownCard", reader: string, };

export type RoleView = { id: string, roleName: string, roleCode: string, orgName: string, orgOds: string, 
/**
 * The role may open summaries (B0370 permission or B0168 emergency).
 */
clinical: boolean, };

export type SignedInView = { userName: string, userId: string, roles: Array<RoleView>, 
/**
 * The spine's idle timeout: the app locks itself after this long without activity.
 */
idleTimeoutSecs: number, cache: CacheStatus, };

export type CacheStatus = { "state": "on", maxAgeHours: number, } | { "state": "off", reason: string, };

export type OfflineEntryView = { nhsNumber: string, patient: PatientView | null, fetchedAt: string, viewedAt: string, emergency: boolean, };

export type OfflineSignedInView = { userName: string, userId: string, entries: Array<OfflineEntryView>, idleTimeoutSecs: number, 
/**
 * Entries found altered or moved, deleted and not shown.
 */
removedAltered: number, };

export type PatientView = { 
/**
 * Ten digits; the UI groups them 3-3-4.
 */
nhsNumber: string | null, title: string | null, given: Array<string>, family: string | null, nameText: string | null, gender: string | null, birthDate: string | null, addressLines: Array<string>, postcode: string | null, gpOds: string | null, restricted: boolean, 
/**
 * Trace match score (0–1), for search results.
 */
score: number | null, };

export type AllergyView = { substance: string, reaction: string | null, severity: string | null, highCriticality: boolean, 
/**
 * Not confirmed (unconfirmed or presumed): the UI marks it.
 */
unconfirmed: boolean, recorded: string | null, };

export type AllergySection = { "state": "known", allergies: Array<AllergyView>, } | { "state": "noKnownAllergies", recorded: string | null, } | { "state": "notRecorded" } | { "state": "describedInText", text: DocumentText, };

export type TextBlockView = { "kind": "heading", text: string, } | { "kind": "paragraph", text: string, } | { "kind": "item", text: string, } | { "kind": "row", cells: Array<string>, };

export type DocumentText = { blocks: Array<TextBlockView>, complete: boolean, };

export type DocumentTexts = { allergies: DocumentText | null, medication: DocumentText | null, problems: DocumentText | null, };

export type MedicationView = { medicine: string, dosage: string | null, quantity: string | null, started: string | null, lastIssued: string | null, discontinued: string | null, };

export type ProblemView = { condition: string, status: string, onset: string | null, };

export type ProvenanceView = { practiceName: string | null, practiceOds: string | null, lastUpdated: string | null, 
/**
 * A restricted record: the source practice is withheld by the spine, and the window
 * says so rather than "an unnamed source".
 */
withheld: boolean, };

export type SummaryView = { patient: PatientView, allergies: AllergySection, repeatMedication: Array<MedicationView>, 
/**
 * Acute medication started or issued in the last 12 months.
 */
acuteMedication: Array<MedicationView>, discontinuedMedication: Array<MedicationView>, problems: Array<ProblemView>, provenance: ProvenanceView, 
/**
 * Each section's own text (None where the document sent none).
 */
documentText: DocumentTexts, 
/**
 * Parts of the document that could not be read (shown, never silently dropped).
 */
warnings: Array<string>, 
/**
 * When this copy was fetched from the spine (RFC 3339).
 */
fetchedAt: string, 
/**
 * Opened with emergency access (reported to the privacy officer).
 */
emergency: boolean, 
/**
 * A copy from this computer's offline cache, not fresh from the spine.
 */
offlineCopy: boolean, };

export type SharingView = { "status": "optedOut", code: string, recorded: string, } | { "status": "sharesCore", code: string, recorded: string, } | { "status": "sharesCoreAndAdditional", code: string, recorded: string, } | { "status": "noPreference" };

export type AccessReason = "permissionToView" | "emergency";

export type TraceQuery = { family: string, given: string | null, 
/**
 * `YYYY-MM-DD`.
 */
birthDate: string, gender: string | null, postcode: string | null, };
