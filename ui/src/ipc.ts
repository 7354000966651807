// The one place that talks to the Rust side: commands return data or an AppError
// `{code, message}`; the screens branch on `code` (a closed union, see errors.ts).

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppError } from "./errors";
import type {
  AccessRequest,
  AlertFilter,
  AlertView,
  CardRevocationInput,
  CardRevokedView,
  CardStatus,
  DocumentView,
  NewRoleProfileInput,
  NewUserInput,
  OfflineEntryView,
  OfflineSignedInView,
  PatientView,
  PrintedView,
  RegisteredUserView,
  RegistrationView,
  RoleProfileView,
  RoleView,
  SharingView,
  SessionEnded,
  SignedInView,
  StartupStatus,
  SummaryView,
  TraceQuery,
  TrailEntryView,
} from "./generated/types";

export type { AppError, SessionEnded, StartupStatus };

export function asAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    // Rust's AppError, as generated: the code and what goes with it (`triesLeft`).
    return { ...e, code: String(e.code), message: String(e.message) } as AppError;
  }
  return { code: "UNEXPECTED", message: String(e) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asAppError(e);
  }
}

export const api = {
  startupStatus: () => call<StartupStatus>("startup_status"),
  cardStatus: () => call<CardStatus>("card_status"),
  signIn: (passcode: string) => call<SignedInView>("sign_in", { passcode }),
  selectRole: (roleId: string) => call<RoleView>("select_role", { roleId }),
  findPatient: (nhsNumber: string) => call<PatientView>("find_patient", { nhsNumber }),
  tracePatients: (query: TraceQuery) => call<PatientView[]>("trace_patients", { query }),
  openSummary: (nhsNumber: string, access: AccessRequest) =>
    call<SummaryView>("open_summary", { nhsNumber, access }),
  sharingStatus: (nhsNumber: string) => call<SharingView>("sharing_status", { nhsNumber }),
  signOut: () => call<void>("sign_out"),
  lockIdle: () => call<void>("lock_idle"),
  // Offline mode: the card signs in locally and opens this computer's encrypted copies.
  signInOffline: (passcode: string) => call<OfflineSignedInView>("sign_in_offline", { passcode }),
  offlineRecords: () => call<OfflineEntryView[]>("offline_records"),
  openOfflineSummary: (nhsNumber: string) => call<SummaryView>("open_offline_summary", { nhsNumber }),
  /** How many offline records were removed; works online and offline. */
  removeOfflineRecords: () => call<number>("remove_offline_records"),
  /** "Stay signed in", and the heartbeat while the user is active: the spine's idle clock starts again. */
  keepAlive: () => call<void>("keep_alive"),
  // The privacy officer's screens: the alerts, their review, and the audit trail.
  listAlerts: (filter: AlertFilter) => call<AlertView[]>("list_alerts", { filter }),
  reviewAlert: (id: string, note: string) => call<void>("review_alert", { id, note }),
  trailForPatient: (nhsNumber: string) => call<TrailEntryView[]>("trail_for_patient", { nhsNumber }),
  trailAround: (userId: string, at: string) => call<TrailEntryView[]>("trail_around", { userId, at }),
  /** "Yes, the child is attending an unscheduled care setting" (a child protection plan). */
  recordCpAttendance: (nhsNumber: string) => call<void>("record_cp_attendance", { nhsNumber }),
  /** Records the printing at the spine, then opens the print dialog or (`toPdf`) saves an A4 PDF. */
  printSummary: (nhsNumber: string, toPdf: boolean) => call<PrintedView>("print_summary", { nhsNumber, toPdf }),
  /** A document from a file, as the page read it (its size checked first): shown, never kept or sent. */
  openDocument: (fileName: string, text: string) => call<DocumentView>("open_document", { fileName, text }),
  // The registration authority (roles with RA-MANAGE; the spine refuses any other role).
  // Cards are issued at the spine's console only, so there is no call for that.
  registrationOverview: () => call<RegistrationView>("registration_overview"),
  registerUser: (user: NewUserInput) => call<RegisteredUserView>("register_user", { user }),
  addRoleProfile: (userId: string, profile: NewRoleProfileInput) =>
    call<RoleProfileView>("add_role_profile", { userId, profile }),
  /** How many live sessions were acting in the role removed. */
  removeRoleProfile: (userId: string, profileId: string) =>
    call<number>("remove_role_profile", { userId, profileId }),
  revokeCard: (revocation: CardRevocationInput) => call<CardRevokedView>("revoke_card", { revocation }),
};

export function onCardStatus(handler: (s: CardStatus) => void): Promise<UnlistenFn> {
  return listen<CardStatus>("card-status", (e) => handler(e.payload));
}

export function onSessionEnded(handler: (s: SessionEnded) => void): Promise<UnlistenFn> {
  return listen<SessionEnded>("session-ended", (e) => handler(e.payload));
}
