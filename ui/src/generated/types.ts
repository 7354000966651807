// Generated from the Rust types in crates/scr-app (error.rs, view.rs, changes.rs, viewer.rs, events.rs) and
// scr_model::ErrorCode. Do not edit:
// run `SCR_UPDATE_TS=1 cargo test -p scr-app --test typescript` after changing them.

/**
 * The spine's error codes (scr_model::ErrorCode): the code of an AppError that the spine refused with.
 */
export type ErrorCode =
  /** 400 The request body is not the JSON this call expects. */
  | "INVALID_REQUEST"
  /** 404 No such resource or operation. */
  | "NOT_FOUND"
  /** 405 The method is not supported on this resource. */
  | "METHOD_NOT_ALLOWED"
  /** 400 The certificate is not base64 DER. */
  | "INVALID_CERTIFICATE"
  /** 401 The certificate does not chain to the CA, is out of date, or is not registered. */
  | "CERTIFICATE_NOT_ACCEPTED"
  /** 401 The card's certificate has been revoked. */
  | "CERTIFICATE_REVOKED"
  /** 401 The sign-in challenge is unknown or already used. */
  | "CHALLENGE_INVALID"
  /** 401 The sign-in challenge has expired. */
  | "CHALLENGE_EXPIRED"
  /** 401 The signature over the challenge is not valid for the certificate. */
  | "SIGNATURE_INVALID"
  /** 401 No session token, or one the spine does not know. */
  | "UNAUTHENTICATED"
  /** 401 The session was ended (signed out or its card revoked). */
  | "SESSION_ENDED"
  /** 401 The session passed its idle or absolute expiry. */
  | "SESSION_EXPIRED"
  /** 403 No role has been chosen for the session. */
  | "ROLE_NOT_SELECTED"
  /** 403 The role profile asked for is not the user's. */
  | "ROLE_NOT_HELD"
  /** 403 The selected role does not allow this. */
  | "NOT_PERMITTED_FOR_ROLE"
  /** 400 Not a valid NHS number (length or check digit). */
  | "INVALID_NHS_NUMBER"
  /** 400 A search parameter has a value the spine cannot use. */
  | "INVALID_SEARCH_DATA"
  /** 400 Not enough search parameters were given. */
  | "MISSING_SEARCH_PARAMETERS"
  /** 422 The trace matches too many patients to list. */
  | "TOO_MANY_MATCHES"
  /** 404 No patient has this NHS number. */
  | "PATIENT_NOT_FOUND"
  /** 403 The summary was asked for without a reason for access. */
  | "ACCESS_REASON_REQUIRED"
  /** 403 The patient has opted out of sharing (final: do not retry). */
  | "PATIENT_DISSENTED"
  /** 404 No summary has been received from the patient's practice. */
  | "NO_SUMMARY_HELD"
  /** 403 No relationship between the user's organisation and the patient is recorded; the user may self-claim one. */
  | "NO_LEGITIMATE_RELATIONSHIP"
  /** 403 The patient refused permission to view; the refusal is recorded and nothing clinical is released. */
  | "PERMISSION_REFUSED"
  /** 403 Emergency access needs a reason in words. */
  | "JUSTIFICATION_REQUIRED"
  /** 400 The reason in words is too long or not readable. */
  | "INVALID_JUSTIFICATION"
  /** 403 The user or organisation has opened as many patients as the hour or day allows. */
  | "VOLUME_LIMIT_REACHED"
  /** 404 No such alert for the privacy officer's organisations. */
  | "ALERT_NOT_FOUND"
  /** 409 The alert was already reviewed. */
  | "ALERT_ALREADY_REVIEWED"
  /** 400 A review needs a note in words. */
  | "REVIEW_NOTE_REQUIRED"
  /** 413 The request body is larger than the spine accepts. */
  | "BUNDLE_TOO_LARGE"
  /** 413 The summary would be served larger than viewers accept. */
  | "SUMMARY_TOO_LARGE"
  /** 400 The Bundle names no patient by NHS number. */
  | "MISSING_NHS_NUMBER"
  /** 400 The Bundle is not one the spine can read. */
  | "INVALID_BUNDLE"
  /** 403 The patient is not registered at the uploading practice. */
  | "NOT_REGISTERED_AT_PRACTICE"
  /** 409 The Bundle identifier was already used for different content. */
  | "BUNDLE_IDENTIFIER_REUSED"
  /** 400 The Bundle has neither a summary nor a sharing preference. */
  | "NOTHING_TO_APPLY"
  /** 409 The summary was composed before the one already held. */
  | "OLDER_THAN_HELD"
  /** 400 The report has more views than one Bundle may carry. */
  | "TOO_MANY_ENTRIES"
  /** 400 A reported view is incomplete, misdated or has an unknown reason. */
  | "INVALID_OFFLINE_VIEW"
  /** 429 The user has reported as many offline views as a day allows. */
  | "OFFLINE_VIEW_QUOTA"
  /** 429 Too many requests from this caller; wait and retry. */
  | "TOO_MANY_REQUESTS"
  /** 503 Too many requests in flight; retry shortly. */
  | "SERVICE_BUSY"
  /** 503 The records cannot be reached for now; retry shortly. */
  | "SERVICE_UNAVAILABLE"
  /** 503 The request passed the spine's deadline; retry. */
  | "TIMEOUT"
  /** 503 The access cannot be audited, so no data is released; retry shortly. */
  | "AUDIT_UNAVAILABLE"
  /** 500 The spine failed; the detail is in its log. */
  | "INTERNAL_ERROR"
  /** 404 No user is registered with this user id. */
  | "USER_NOT_FOUND"
  /** 409 A user with this user id is already registered. */
  | "USER_EXISTS"
  /** 404 The user holds no role profile with this id. */
  | "ROLE_PROFILE_NOT_FOUND"
  /** 409 A role profile with this id already exists. */
  | "ROLE_PROFILE_EXISTS"
  /** 404 No registered card has this serial (and issuer). */
  | "CARD_NOT_FOUND"
  /** 409 Cards from more than one issuer have this serial; name the issuer. */
  | "CARD_AMBIGUOUS"
  /** 400 A user id, name, role, organisation or activity is not in the form required. */
  | "INVALID_REGISTRATION"
  /** 403 A registration authority agent may not add or remove their own role profiles. */
  | "OWN_ROLE_CHANGE"
  /** 403 An uploaded encounter is at another organisation than the uploader's; only the organisation it is at may record it. */
  | "ENCOUNTER_NOT_AT_UPLOADER"
  /** 404 The patient has no child protection plan in force, so no attendance can be recorded. */
  | "NO_CHILD_PROTECTION_PLAN";

/**
 * Why the user is opening the record (scr_model::AccessReason; sent as X-Access-Reason).
 */
export type AccessReason = "permission-to-view" | "permission-refused" | "emergency";

/**
 * What the user says when they open a record (scr_model::AccessRequest): the answer to the permission question,
 * the reason in words (required for an emergency, at most 500 characters), and whether they claim a relationship
 * with the patient that the spine has no record of (recorded, and an alert for the privacy officer).
 */
export type AccessRequest = { reason: AccessReason; justification: string | null; selfClaimedRelationship: boolean };

/**
 * The largest document file the viewer opens (scr_model::fhir::MAX_DOCUMENT_BYTES): the page checks a file's size
 * before reading it, and the Rust side checks again.
 */
export const MAX_DOCUMENT_BYTES = 4194304;

export type AppError = { 
/**
 * Words for the user, specific to this failure.
 */
message: string, } & ({ "code": "CARD_SERVICE_UNAVAILABLE" } | { "code": "NO_READER" } | { "code": "READER_NOT_FOUND" } | { "code": "NO_CARD" } | { "code": "CARD_REMOVED" } | { "code": "NOT_PIV_CARD" } | { "code": "NO_CERTIFICATE" } | { "code": "WRONG_PASSCODE", triesLeft: number, } | { "code": "CARD_BLOCKED" } | { "code": "PASSCODE_FORMAT" } | { "code": "PASSCODE_REQUIRED" } | { "code": "CARD_TIMEOUT" } | { "code": "CARD_MALFORMED_RESPONSE" } | { "code": "CARD_ENDLESS_RESPONSE" } | { "code": "CARD_REFUSED" } | { "code": "CARD_COMMUNICATION" } | { "code": "SPINE_UNREACHABLE" } | { "code": "TLS_FAILURE" } | { "code": "SPINE_TIMEOUT" } | { "code": "CERTIFICATE_NOT_ACCEPTED" } | { "code": "CERTIFICATE_REVOKED" } | { "code": "SESSION_ENDED" } | { "code": "CARD_CHANGED" } | { "code": "WRONG_CARD" } | { "code": "OFFLINE_NOT_SET_UP" } | { "code": "SPINE_PROTOCOL" } | { "code": "CONFIG" } | { "code": "INVALID_NHS_NUMBER" } | { "code": "INVALID_DATE" } | { "code": "UNREADABLE_RECORD" } | { "code": "WRONG_PATIENT" } | { "code": "CACHE_UNAVAILABLE" } | { "code": "OFFLINE_RECORD_GONE" } | { "code": "INVALID_INPUT" } | { "code": "PRINT_FAILED" } | { "code": "DOCUMENT_REFUSED", reason: DocumentRefusal, } | { "code": "CLINICAL_ROLE_REQUIRED" } | { "code": "SPINE_UNKNOWN_CODE", spineCode: string, } | { code: ErrorCode });

export type CardStatus = { "state": "serviceUnavailable" } | { "state": "noReader" } | { "state": "noCard", readers: Array<string>, } | { "state": "cardPresent", reader: string, } | { "state": "unknownCard", reader: string, };

export type RoleView = { id: string, roleName: string, roleCode: string, orgName: string, orgOds: string, 
/**
 * The role may open summaries (B0370 permission or B0168 emergency).
 */
clinical: boolean, 
/**
 * A privacy officer's role: it receives alerts (B0015 emergency access, B0016
 * self-claimed relationships) and views no summaries (no B0370), so its work is the
 * alerts and the trail. The spine decides what it may see regardless.
 */
privacyOfficer: boolean, 
/**
 * The role is the registration authority's (the local activity RA-MANAGE): the window
 * opens "Users and cards" for it when it is not clinical too.
 */
registration: boolean, };

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
score: number | null, 
/**
 * The patient has died. Absent from offline labels written before it existed.
 */
deceased: DeceasedView | null, };

export type DeceasedView = { date: string | null, };

export type FlagsView = { reasonableAdjustment: ReasonableAdjustmentView | null, 
/**
 * A child protection plan in force: the window asks whether the child is attending an
 * unscheduled care setting before it shows the summary.
 */
childProtection: ChildProtectionView | null, other: Array<OtherFlagView>, };

export type ReasonableAdjustmentView = { adjustments: Array<string>, recorded: string | null, };

export type ChildProtectionView = { responsibleOds: string | null, responsibleName: string | null, since: string | null, 
/**
 * A restricted record: the spine withholds the responsible organisation (it would
 * locate the child) and still notifies it.
 */
withheld: boolean, };

export type OtherFlagView = { text: string, category: string | null, };

export type AllergyView = { substance: string, reaction: string | null, severity: string | null, highCriticality: boolean, 
/**
 * Not confirmed (unconfirmed or presumed): the UI marks it.
 */
unconfirmed: boolean, recorded: string | null, };

export type AllergySection = { "state": "known", allergies: Array<AllergyView>, } | { "state": "noKnownAllergies", recorded: string | null, } | { "state": "notRecorded" } | { "state": "describedInText", text: DocumentText, };

export type AdditionalItemView = { text: string, detail: string | null, 
/**
 * FHIR date text; the UI formats it (`12-Mar-1970`).
 */
date: string | null, 
/**
 * What the date is: "since", "ended", "performed", "given", "recorded".
 */
dateLabel: string | null, 
/**
 * A sensitive category shared at the patient's request, in words.
 */
sensitive: string | null, 
/**
 * An immunisation recorded as not given (declined or contraindicated).
 */
notGiven: boolean, };

export type AdditionalSectionView = { "state": "notIncluded" } | { "state": "notShared" } | { "state": "recorded", items: Array<AdditionalItemView>, 
/**
 * The section's own text, where it has no entry the viewer reads.
 */
text: DocumentText | null, };

export type AdditionalView = { history: AdditionalSectionView, procedures: AdditionalSectionView, immunisations: AdditionalSectionView, anticipatoryCare: AdditionalSectionView, endOfLife: AdditionalSectionView, communication: AdditionalSectionView, };

export type PrintedView = { savedTo: string | null, };

export type TextBlockView = { "kind": "heading", text: string, } | { "kind": "paragraph", text: string, } | { "kind": "item", text: string, } | { "kind": "row", cells: Array<string>, };

export type DocumentText = { blocks: Array<TextBlockView>, complete: boolean, };

export type DocumentTexts = { allergies: DocumentText | null, medication: DocumentText | null, problems: DocumentText | null, };

export type MedicationView = { medicine: string, dosage: string | null, quantity: string | null, started: string | null, lastIssued: string | null, discontinued: string | null, 
/**
 * Why it was prescribed (Additional Information: absent unless shared).
 */
reason: string | null, };

export type ProblemView = { condition: string, status: string, onset: string | null, };

export type ProvenanceView = { practiceName: string | null, practiceOds: string | null, lastUpdated: string | null, 
/**
 * A restricted record: the source practice is withheld by the spine, and the window
 * says so rather than "an unnamed source".
 */
withheld: boolean, };

export type SummaryView = { patient: PatientView, 
/**
 * Shown before the summary, above the allergies (with the patient's death and a
 * restricted record's notice, which are in `patient`).
 */
flags: FlagsView, 
/**
 * What changed since this user last fetched the patient's summary on this computer
 * (shown with the allergies). None for a first look here, an offline copy, or with
 * the offline cache off.
 */
changes: ChangesView | null, allergies: AllergySection, repeatMedication: Array<MedicationView>, 
/**
 * Acute medication started or issued in the last 12 months.
 */
acuteMedication: Array<MedicationView>, discontinuedMedication: Array<MedicationView>, problems: Array<ProblemView>, 
/**
 * SCR Additional Information, under its own headings after the core record.
 */
additional: AdditionalView, provenance: ProvenanceView, 
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
offlineCopy: boolean, 
/**
 * The spine served it past a soft volume limit: words for the window ("You have
 * opened 31 different patients' records in the last hour.").
 */
volumeWarning: string | null, };

export type ChangeMark = "added" | "removed" | "changed";

export type ChangeSection = "allergies" | "medication" | "problems";

export type ChangeView = { mark: ChangeMark, section: ChangeSection, 
/**
 * The mark in words: "Added", "Removed", "Changed", "Started", "Started again",
 * "Stopped", "Resolved", "No longer listed".
 */
label: string, 
/**
 * The allergy, medicine or problem as the record names it.
 */
what: string, detail: string | null, };

export type ChangesView = { 
/**
 * When the copy compared with was fetched (RFC 3339): the last look.
 */
since: string, 
/**
 * Allergies first, then medication, then problems.
 */
items: Array<ChangeView>, };

export type DocumentRefusal = "tooLarge" | "empty" | "notJson" | "notABundle" | "notADocument" | "noPatient" | "invalidNhsNumber";

export type DocumentSourceView = { 
/**
 * The file's name as the user chose it (the last path component only).
 */
fileName: string, 
/**
 * `Composition.title`.
 */
title: string | null, 
/**
 * `Composition.author`: people and organisations, by name.
 */
authors: Array<string>, 
/**
 * `Composition.custodian`: the organisation that keeps the document.
 */
custodian: string | null, 
/**
 * `Composition.date` as FHIR text (the UI shows `12-Mar-1970` or `12-Mar-1970 14:02`).
 */
date: string | null, 
/**
 * When it was opened here (RFC 3339).
 */
openedAt: string, };

export type OtherSectionView = { 
/**
 * The section's title (or its code's words); none when the document gave neither.
 */
title: string | null, 
/**
 * Its text as plain-text blocks; none when the section sent no text.
 */
text: DocumentText | null, 
/**
 * How many entries it listed, none of which is shown as coded data.
 */
entries: number, };

export type DocumentView = { source: DocumentSourceView, summary: SummaryView, otherSections: Array<OtherSectionView>, };

export type SharingView = { "status": "optedOut", code: string, recorded: string, } | { "status": "sharesCore", code: string, recorded: string, } | { "status": "sharesCoreAndAdditional", code: string, recorded: string, } | { "status": "noPreference" };

export type TraceQuery = { family: string, given: string | null, 
/**
 * `YYYY-MM-DD`.
 */
birthDate: string, gender: string | null, postcode: string | null, };

export type AlertKindView = { code: string, words: string, };

export type TrailEntryView = { 
/**
 * The AuditEvent's id (`audit-N`): what a review names.
 */
id: string, 
/**
 * When the spine recorded it (RFC 3339, UTC); the UI shows `12-Mar-2026 14:05`.
 */
at: string, userId: string | null, userName: string | null, roleCode: string | null, 
/**
 * The ODS code of the organisation the user acted for.
 */
orgOds: string | null, 
/**
 * Ten digits; the UI groups them 3-3-4.
 */
nhsNumber: string | null, 
/**
 * `AuditAction`'s code (`summary-read`, …) and its words.
 */
action: string, actionWords: string, 
/**
 * The answer to the permission question, in words.
 */
answer: string | null, 
/**
 * The user's reason in words (emergency access, a self-claim, a review's note).
 */
reasonGiven: string | null, 
/**
 * The legitimate relationship relied on, in words.
 */
relationship: string | null, 
/**
 * Whether it was done: `success`, `refused`, `not-found` or `invalid`.
 */
outcome: string, 
/**
 * The code it was refused with (`PERMISSION_REFUSED`, …), if any.
 */
refusal: string | null, 
/**
 * The alerts this entry raised.
 */
alerts: Array<AlertKindView>, 
/**
 * For a view of an offline copy: when it happened (`at` is when it was reported).
 */
offlineViewedAt: string | null, };

export type AlertStatusView = "open" | "reviewed";

export type ReviewView = { 
/**
 * The reviewing officer's SDS user id.
 */
reviewedBy: string, reviewedAt: string, note: string, };

export type AlertView = { entry: TrailEntryView, kinds: Array<AlertKindView>, status: AlertStatusView, review: ReviewView | null, };

export type AlertFilterStatus = "open" | "reviewed" | "all";

export type AlertFilter = { status: AlertFilterStatus, 
/**
 * The SDS user id of whoever raised them.
 */
userId: string | null, nhsNumber: string | null, 
/**
 * An ODS code among the officer's organisations.
 */
organisation: string | null, 
/**
 * First and last day, `YYYY-MM-DD`, both inclusive.
 */
from: string | null, to: string | null, };

export type ActivityView = { code: string, meaning: string, };

export type RoleProfileView = { id: string, roleCode: string, roleName: string, orgOds: string, orgName: string, activities: Array<string>, };

export type RegisteredCardView = { issuer: string, serial: string, revoked: boolean, liveSessions: number, };

export type RegisteredUserView = { userId: string, name: string, roleProfiles: Array<RoleProfileView>, cards: Array<RegisteredCardView>, };

export type RegistrationView = { users: Array<RegisteredUserView>, 
/**
 * What the "Add a role profile" form offers.
 */
activities: Array<ActivityView>, };

export type CardRevokedView = { serial: string, userId: string, userName: string | null, sessionsEnded: number, };

export type NewUserInput = { 
/**
 * The SDS user id (12 digits).
 */
userId: string, name: string, };

export type NewRoleProfileInput = { roleCode: string, roleName: string, orgOds: string, orgName: string, 
/**
 * Activity codes (`B0264`, `RA-MANAGE`), as `RegistrationView::activities` lists them.
 */
activities: Array<string>, };

export type CardRevocationInput = { serial: string, 
/**
 * The issuer as the card list shows it, so a serial two issuers share is not ambiguous.
 */
issuer: string | null, reason: string, };

export type StartupStatus = { 
/**
 * Set when the settings are missing or wrong: the UI shows it instead of sign-in.
 */
configError: string | null, spineUrl: string | null, };

export type SessionEndReason = "CARD_REMOVED" | "CARD_CHANGED" | "READER_DETACHED" | "CARD_SERVICE_STOPPED" | "SIGNED_OUT" | "IDLE_TIMEOUT" | "ENDED_BY_SPINE";

export type SessionEnded = { reason: SessionEndReason, 
/**
 * What the user is told.
 */
message: string, };

export type AppEvent = { "event": "card-status", "payload": CardStatus } | { "event": "session-ended", "payload": SessionEnded };
