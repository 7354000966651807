// The error codes the UI can meet, and short words for each. The codes are a closed union
// generated from Rust (`AppError["code"]`, which takes in every spine `ErrorCode`), so the
// switch below is checked by tsc: a code added in Rust and not named here fails `npm run check`.

import type { AppError as RustError } from "./generated/types";

/** An error from a command, or the UI's own `UNEXPECTED` for anything that is not one. */
export type AppError = RustError | { code: "UNEXPECTED"; message: string };
export type AppErrorCode = AppError["code"];

/** Short words naming what went wrong, for a heading; the error's `message` says more. */
export function errorTitle(err: AppError): string {
  switch (err.code) {
    // The smartcard.
    case "CARD_SERVICE_UNAVAILABLE":
      return "The smartcard service is not running";
    case "NO_READER":
    case "READER_NOT_FOUND":
      return "No smartcard reader is connected";
    case "NO_CARD":
      return "No smartcard in the reader";
    case "CARD_REMOVED":
      return "The smartcard was removed";
    case "CARD_CHANGED":
      return "The smartcard was changed during sign-in";
    case "NOT_PIV_CARD":
    case "NO_CERTIFICATE":
      return "This card cannot be used to sign in";
    case "WRONG_PASSCODE":
      return "Wrong passcode";
    case "CARD_BLOCKED":
      return "Your smartcard is blocked";
    case "PASSCODE_FORMAT":
      return "The passcode must be 6 to 8 digits";
    case "PASSCODE_REQUIRED":
      return "The card needs your passcode";
    case "CARD_TIMEOUT":
      return "The smartcard did not answer in time";
    case "CARD_MALFORMED_RESPONSE":
    case "CARD_ENDLESS_RESPONSE":
    case "CARD_REFUSED":
    case "CARD_COMMUNICATION":
      return "The smartcard could not be read";

    // Signing in and the session.
    case "CERTIFICATE_NOT_ACCEPTED":
    case "INVALID_CERTIFICATE":
    case "SIGNATURE_INVALID":
      return "Your smartcard was not accepted";
    case "CERTIFICATE_REVOKED":
      return "Your smartcard has been revoked";
    case "CHALLENGE_INVALID":
    case "CHALLENGE_EXPIRED":
      return "Sign-in was interrupted; try again";
    case "SESSION_ENDED":
    case "SESSION_EXPIRED":
    case "UNAUTHENTICATED":
      return "Your session has ended";
    case "ROLE_NOT_SELECTED":
      return "Choose a role first";
    case "ROLE_NOT_HELD":
      return "That role is not one of yours";
    case "NOT_PERMITTED_FOR_ROLE":
      return "Your role does not allow this";

    // Reaching the service.
    case "SPINE_UNREACHABLE":
    case "SPINE_TIMEOUT":
      return "The Summary Care Record service cannot be reached";
    case "TLS_FAILURE":
      return "The connection to the Summary Care Record service is not secure";
    case "TOO_MANY_REQUESTS":
    case "SERVICE_BUSY":
      return "The service is busy; try again shortly";
    case "SERVICE_UNAVAILABLE":
    case "TIMEOUT":
      return "The service is not available just now; try again shortly";
    case "AUDIT_UNAVAILABLE":
      return "This access cannot be recorded just now, so no record is shown";
    case "INTERNAL_ERROR":
    case "INVALID_REQUEST":
    case "NOT_FOUND":
    case "METHOD_NOT_ALLOWED":
    case "SPINE_UNKNOWN_CODE":
      return "The service could not complete the request";
    case "SPINE_PROTOCOL":
      return "The service sent an answer that cannot be read";
    case "CONFIG":
      return "The app is not set up correctly";

    // Finding the patient and their record.
    case "INVALID_NHS_NUMBER":
      return "Not a valid NHS number";
    case "INVALID_DATE":
      return "Not a valid date";
    case "INVALID_SEARCH_DATA":
      return "The search details are not valid";
    case "MISSING_SEARCH_PARAMETERS":
      return "More search details are needed";
    case "TOO_MANY_MATCHES":
      return "Too many patients match; add more details";
    case "PATIENT_NOT_FOUND":
      return "No patient has this NHS number";
    case "ACCESS_REASON_REQUIRED":
      return "Say why you are accessing this record";
    case "PATIENT_DISSENTED":
      return "The patient has opted out of sharing their record";
    case "NO_SUMMARY_HELD":
      return "No Summary Care Record is held for this patient";
    case "NO_LEGITIMATE_RELATIONSHIP":
      return "Your organisation has no recorded relationship with this patient";
    case "PERMISSION_REFUSED":
      return "The patient refused permission to view their record";
    case "JUSTIFICATION_REQUIRED":
      return "Emergency access needs a reason";
    case "INVALID_JUSTIFICATION":
      return "The reason given cannot be recorded";
    case "VOLUME_LIMIT_REACHED":
      return "You have opened as many records as allowed for now";
    case "ALERT_NOT_FOUND":
      return "There is no such alert";
    case "ALERT_ALREADY_REVIEWED":
      return "This alert has already been reviewed";
    case "REVIEW_NOTE_REQUIRED":
      return "A review needs a note";
    case "UNREADABLE_RECORD":
      return "The record could not be read; it is not shown";
    case "WRONG_PATIENT":
      return "The record was for a different patient; it is not shown";

    // A practice's upload: the viewer does not upload, but the codes are the spine's.
    case "SUMMARY_TOO_LARGE":
    case "MISSING_NHS_NUMBER":
    case "INVALID_BUNDLE":
    case "NOT_REGISTERED_AT_PRACTICE":
    case "BUNDLE_IDENTIFIER_REUSED":
    case "NOTHING_TO_APPLY":
    case "OLDER_THAN_HELD":
    case "ENCOUNTER_NOT_AT_UPLOADER":
      return "The service refused the upload";
    case "NO_CHILD_PROTECTION_PLAN":
      return "No child protection plan is in force for this patient";

    // Offline records and the report of views made offline.
    case "BUNDLE_TOO_LARGE":
    case "TOO_MANY_ENTRIES":
    case "INVALID_OFFLINE_VIEW":
    case "OFFLINE_VIEW_QUOTA":
      return "Offline views could not be reported";
    case "WRONG_CARD":
      return "This is not the card that set up the offline records";
    case "OFFLINE_NOT_SET_UP":
      return "This card has no offline records on this computer";
    case "CACHE_UNAVAILABLE":
      return "Offline records are not available";
    case "OFFLINE_RECORD_GONE":
      return "This offline record is no longer available";

    // The registration authority's refusals ("Users and cards"); the message is the
    // spine's own words.
    case "USER_NOT_FOUND":
      return "No user is registered with this id";
    case "USER_EXISTS":
      return "A user is already registered with this id";
    case "ROLE_PROFILE_NOT_FOUND":
      return "The user does not hold this role profile";
    case "ROLE_PROFILE_EXISTS":
      return "The user already holds this role profile";
    case "CARD_NOT_FOUND":
      return "No registered card has this serial";
    case "CARD_AMBIGUOUS":
      return "More than one card has this serial";
    case "INVALID_REGISTRATION":
      return "The registration details are not valid";
    case "OWN_ROLE_CHANGE":
      return "You cannot change your own role profiles";
    case "INVALID_INPUT":
      return "The details entered cannot be sent";
    case "PRINT_FAILED":
      return "The summary could not be printed";

    // A document opened from a file (screens/document.ts).
    case "DOCUMENT_REFUSED":
      return "This file cannot be opened as a patient summary";
    case "CLINICAL_ROLE_REQUIRED":
      return "Your role does not allow this";

    case "UNEXPECTED":
      return "Something went wrong";
    default: {
      // tsc fails here when a code is not named above.
      const unhandled: never = err;
      return (unhandled as AppError).message;
    }
  }
}
