// The app's flow: card → passcode → role → find → the permission question → summary (or,
// for reception roles, the sharing status; for a privacy officer's role, the alerts, in
// officer.ts; the registration authority's role lands on "Users and cards",
// screens/registration.ts). The spine's answers to the question that are not a summary (no
// recorded relationship, permission refused, the volume limit) each have a screen
// (screens/access.ts). Offline (chosen, or because the spine cannot be reached at sign-in):
// card → passcode → the offline records on this computer → an offline copy.
// A session-ended event clears every patient detail from the page at once and returns to
// "Insert your smartcard", online or offline. "Change role" (session-bar.ts) clears the
// patient too and returns to the role screen. The idle lock and its warning: idle-warning.ts.
// A clinical role may also open a patient summary document from a file ("Open a document…"
// on Find a patient, or a file dropped on the window): screens/document.ts.
import type { AppErrorCode } from "./errors";
import { api, asAppError, onCardStatus, onSessionEnded, type AppError } from "./ipc";
import type {
  AccessRequest,
  CardStatus,
  OfflineEntryView,
  OfflineSignedInView,
  PatientView,
  RoleView,
  SignedInView,
  TraceQuery,
} from "./generated/types";
import { errorSummary, h, show } from "./dom";
import { cardScreen } from "./screens/card";
import { passcodeScreen, type PasscodeActions } from "./screens/passcode";
import { cacheOffNotice, offlineScreen, type OfflineScreenOptions } from "./screens/offline";
import { roleScreen } from "./screens/role";
import { findScreen } from "./screens/find";
import { reasonScreen } from "./screens/reason";
import { allergySection, summaryScreen } from "./screens/summary";
import { sharingScreen } from "./screens/sharing";
import { configScreen } from "./screens/config";
import { patientBanner } from "./screens/banner";
import { renderSessionBar } from "./session-bar";
import { stopIdleWatch, watchIdle } from "./idle-warning";
import { noRelationshipScreen, permissionRefusedScreen, volumeLimitScreen } from "./screens/access";
import { officerHome } from "./officer";
import { askBeforeSummary } from "./screens/flags";
import { isRegistrationRole, registrationScreen } from "./screens/registration";
import { documentRefusedScreen, documentScreen, tooLarge } from "./screens/document";

type Session =
  | { mode: "online"; user: SignedInView; role: RoleView | null }
  | {
      mode: "offline";
      user: OfflineSignedInView;
      entries: OfflineEntryView[];
      removedAltered: number;
      /** Offline because the spine could not be reached at sign-in. */
      fallback: boolean;
    };

let session: Session | null = null;
/** "Offline records are off on this computer" is said once per app run. */
let cacheNoticeShown = false;
let signingIn = false;
/** Bumped whenever the session ends or the role changes, so answers to requests made before are dropped. */
let generation = 0;

function statusBar(): void {
  const actions = { changeRole, signOut: () => void api.signOut() };
  if (!session) renderSessionBar(null, actions);
  else if (session.mode === "offline") renderSessionBar({ mode: "offline", userName: session.user.userName }, actions);
  else {
    const { user, role } = session;
    renderSessionBar({ mode: "online", userName: user.userName, role, canChangeRole: user.roles.length > 1 }, actions);
  }
}

/** The idle lock (and its warning) of the session just begun; online, input keeps the spine's session too. */
function watchSessionIdle(timeoutSecs: number, online: boolean): void {
  watchIdle(timeoutSecs, {
    lock: () => void api.lockIdle(),
    signOut: () => void api.signOut(),
    keepAlive: online ? () => api.keepAlive() : undefined,
  });
}

function renderCard(status: CardStatus, notice?: string): void {
  if (status.state === "cardPresent") {
    passcodeScreen(passcodeActions);
    if (notice) {
      const main = document.getElementById("main");
      main?.prepend(h("div", { class: "nhsuk-inset-text", id: "session-notice" }, h("p", {}, notice)));
    }
  } else {
    cardScreen(status, notice);
  }
}

async function showCardState(notice?: string): Promise<void> {
  try {
    renderCard(await api.cardStatus(), notice);
  } catch (e) {
    cardScreen({ state: "serviceUnavailable" }, asAppError(e).message);
  }
}

const passcodeActions: PasscodeActions = {
  signIn: (passcode) => void signIn(passcode),
  workOffline: (passcode) => void workOffline(passcode),
};

/** The spine refused before the card was asked: no passcode try was spent. */
const SPINE_DOWN: ReadonlySet<AppErrorCode> = new Set<AppErrorCode>(["SPINE_UNREACHABLE", "SPINE_TIMEOUT"]);
/** Offline sign-in is not possible on this computer with this card (not a passcode problem). */
const NO_OFFLINE: ReadonlySet<AppErrorCode> = new Set<AppErrorCode>(["OFFLINE_NOT_SET_UP", "CACHE_UNAVAILABLE", "WRONG_CARD"]);

async function signIn(passcode: string): Promise<void> {
  if (signingIn) return;
  signingIn = true;
  const mine = generation;
  show(h("h1", {}, "Signing in…"), h("p", { role: "status" }, "Checking your card and passcode."));
  try {
    const user = await api.signIn(passcode);
    if (mine !== generation) return;
    session = { mode: "online", user, role: null };
    watchSessionIdle(user.idleTimeoutSecs, true);
    statusBar();
    roleScreen(user, chooseRole, undefined, cacheNotice(user));
  } catch (e) {
    if (mine !== generation) return;
    const err = asAppError(e);
    if (SPINE_DOWN.has(err.code)) await fallBackOffline(passcode, err, mine);
    else await signInFailed(err);
  } finally {
    signingIn = false;
  }
}

/** Shown once per app run, after the first online sign-in that finds the cache off. */
function cacheNotice(user: SignedInView): HTMLElement | null {
  if (user.cache.state !== "off" || cacheNoticeShown) return null;
  cacheNoticeShown = true;
  return cacheOffNotice(user.cache.reason);
}

async function signInFailed(err: AppError): Promise<void> {
  if (err.code === "NO_CARD" || err.code === "CARD_REMOVED") await showCardState(err.message);
  else passcodeScreen(passcodeActions, err);
}

/** Online sign-in found the spine unreachable: try the offline records with the same passcode. */
async function fallBackOffline(passcode: string, spineError: AppError, mine: number): Promise<void> {
  show(
    h("h1", {}, "Working offline…"),
    h("p", { role: "status" }, "The Summary Care Record service cannot be reached. Opening the offline records on this computer."),
  );
  try {
    const view = await api.signInOffline(passcode);
    if (mine !== generation) return;
    startOffline(view, true);
  } catch (e) {
    if (mine !== generation) return;
    const err = asAppError(e);
    if (NO_OFFLINE.has(err.code)) passcodeScreen(passcodeActions, { ...spineError, message: describe(spineError) }, err.message);
    else await signInFailed(err);
  }
}

async function workOffline(passcode: string): Promise<void> {
  if (signingIn) return;
  signingIn = true;
  const mine = generation;
  show(h("h1", {}, "Signing in to work offline…"), h("p", { role: "status" }, "Checking your card and passcode."));
  try {
    const view = await api.signInOffline(passcode);
    if (mine !== generation) return;
    startOffline(view, false);
  } catch (e) {
    if (mine !== generation) return;
    await signInFailed(asAppError(e));
  } finally {
    signingIn = false;
  }
}

function startOffline(view: OfflineSignedInView, fallback: boolean): void {
  session = { mode: "offline", user: view, entries: view.entries, removedAltered: view.removedAltered, fallback };
  watchSessionIdle(view.idleTimeoutSecs, false);
  statusBar();
  showOffline();
}

const offlineActions = {
  open: (nhsNumber: string) => void openOffline(nhsNumber),
  remove: () => void removeOffline(),
};

function showOffline(opts: Omit<OfflineScreenOptions, "fallback"> = {}): void {
  if (session?.mode !== "offline") return;
  offlineScreen(session, offlineActions, { fallback: session.fallback, ...opts });
}

/** The list again, re-read from the cache (entries expire, or are found altered). */
async function refreshOffline(error?: OfflineScreenOptions["error"]): Promise<void> {
  const mine = generation;
  try {
    const entries = await api.offlineRecords();
    if (mine !== generation || session?.mode !== "offline") return;
    session.entries = entries;
    showOffline({ error });
  } catch (e) {
    if (mine !== generation) return;
    showOffline({ error: error ?? { title: "The offline records could not be read", message: asAppError(e).message } });
  }
}

async function openOffline(nhsNumber: string): Promise<void> {
  const mine = generation;
  show(h("h1", {}, "Opening the offline copy…"));
  try {
    const summary = await api.openOfflineSummary(nhsNumber);
    if (mine !== generation || session?.mode !== "offline") return;
    summaryScreen(summary, new Date(), () => void refreshOffline(), "offline");
  } catch (e) {
    if (mine !== generation) return;
    const err = asAppError(e);
    const error = { title: "The offline record could not be opened", message: err.message };
    if (err.code === "OFFLINE_RECORD_GONE") await refreshOffline(error);
    else showOffline({ error });
  }
}

/** "Remove my offline records", online (find screen) or offline (the list). */
async function removeOffline(): Promise<void> {
  const mine = generation;
  try {
    const removed = await api.removeOfflineRecords();
    if (mine !== generation || !session) return;
    if (session.mode === "offline") {
      session.entries = [];
      session.removedAltered = 0;
      showOffline({ removed });
    } else {
      findScreen(findActions(), undefined, undefined, { removed });
    }
  } catch (e) {
    if (mine !== generation || !session) return;
    const message = asAppError(e).message;
    if (session.mode === "offline") showOffline({ error: { title: "Offline records could not be removed", message } });
    else findScreen(findActions(), undefined, undefined, { error: message });
  }
}

async function chooseRole(role: RoleView): Promise<void> {
  const mine = generation;
  try {
    const chosen = await api.selectRole(role.id);
    if (mine !== generation || session?.mode !== "online") return;
    session.role = chosen;
    statusBar();
    landing();
  } catch (e) {
    if (mine === generation && session?.mode === "online") roleScreen(session.user, chooseRole, asAppError(e).message, null, roleChange());
  }
}

/** "Change role": the patient goes from the page first, and answers still on their way are dropped. */
function changeRole(): void {
  if (session?.mode !== "online" || !session.role) return;
  generation += 1;
  roleScreen(session.user, chooseRole, undefined, null, roleChange());
}

/** Cancel keeps the role in force, where it starts (no patient is brought back). */
function roleChange() {
  if (session?.mode !== "online" || !session.role) return undefined;
  return { current: session.role, cancel: landing };
}

/** Where the role in force starts: the registration authority's "Users and cards", or "Find a patient". */
function landing(): void {
  if (session?.mode === "online" && session.role && isRegistrationRole(session.role)) {
    const mine = generation;
    void registrationScreen({ current: () => mine === generation, ownUserId: session.user.userId });
  } else if (session?.mode === "online" && session.role?.privacyOfficer) {
    officerHome(fresh);
  } else {
    findScreen(findActions());
  }
}

/** A check, made now, that is false once this session has ended (for officer.ts). */
function fresh(): () => boolean {
  const mine = generation;
  return () => mine === generation;
}

function findActions() {
  return {
    byNumber: (digits: string) => void lookUp(() => api.findPatient(digits).then((p) => [p])),
    byDetails: (query: TraceQuery) => void lookUp(() => api.tracePatients(query), true),
    choose: (p: PatientView) => void next(p),
    removeOffline: () => void removeOffline(),
    // Only a clinical role is offered it (the Rust side refuses any other regardless).
    openDocument: mayOpenDocuments() ? (file: File) => void openDocument(file) : undefined,
  };
}

/** A document from a file shows patient data: only a clinical role in force, online. */
function mayOpenDocuments(): boolean {
  return session?.mode === "online" && session.role?.clinical === true;
}

const documentActions = {
  close: () => findScreen(findActions()),
  open: (file: File) => void openDocument(file),
};

/** "Open a document…" or a file dropped on the window: the size is checked before the file is
 * read, then its text goes to the Rust side, which checks the role and the size again. */
async function openDocument(file: File): Promise<void> {
  if (!mayOpenDocuments()) return;
  const mine = generation;
  const big = tooLarge(file);
  if (big) {
    documentRefusedScreen(file.name, big, documentActions);
    return;
  }
  show(h("h1", {}, "Opening the document…"), h("p", { role: "status" }, `Reading ${file.name}.`));
  try {
    const text = await file.text();
    if (mine !== generation) return;
    const doc = await api.openDocument(file.name, text);
    if (mine !== generation) return;
    documentScreen(doc, new Date(), documentActions);
  } catch (e) {
    if (mine !== generation) return;
    documentRefusedScreen(file.name, asAppError(e), documentActions);
  }
}

/** A file dropped anywhere on the window. The webview must never navigate to it (it would
 * replace the app with the file), so every drop is taken; one document, in a clinical role,
 * is opened, and anything else is said, over the screen as it is. */
function onDrop(e: DragEvent): void {
  e.preventDefault();
  const files = e.dataTransfer?.files;
  if (!files || files.length === 0) return;
  const first = files[0];
  if (!mayOpenDocuments()) {
    dropNotice("Documents can be opened only when you are signed in, online, in a clinical role.");
  } else if (files.length > 1) {
    dropNotice("Drop one document at a time.");
  } else if (first) {
    void openDocument(first);
  }
}

function dropNotice(message: string): void {
  document.getElementById("drop-refused")?.remove();
  document.getElementById("main")?.prepend(errorSummary("The file was not opened", message, "drop-refused"));
}

/** Set as the window's handlers (not added), so there is only ever one of each. */
function watchDrops(): void {
  window.ondragover = (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = mayOpenDocuments() ? "copy" : "none";
  };
  window.ondrop = onDrop;
}

async function lookUp(search: () => Promise<PatientView[]>, list = false): Promise<void> {
  const mine = generation;
  try {
    const found = await search();
    if (mine !== generation) return;
    if (!list && found[0]) await next(found[0]);
    else findScreen(findActions(), undefined, found);
  } catch (e) {
    if (mine !== generation) return;
    findScreen(findActions(), describe(asAppError(e)));
  }
}

function describe(err: AppError): string {
  switch (err.code) {
    case "SPINE_UNREACHABLE":
    case "SPINE_TIMEOUT":
    case "TLS_FAILURE":
      return `The Summary Care Record service cannot be reached. ${err.message} Try again in a moment.`;
    default:
      return err.message;
  }
}

async function next(patient: PatientView): Promise<void> {
  if (session?.mode !== "online" || !session.role || !patient.nhsNumber) return;
  const nhs = patient.nhsNumber;
  if (session.role.clinical) {
    reasonScreen(patient, (access) => void openSummary(patient, nhs, access));
  } else {
    const mine = generation;
    try {
      const sharing = await api.sharingStatus(nhs);
      if (mine !== generation) return;
      sharingScreen(patient, sharing, () => findScreen(findActions()));
    } catch (e) {
      if (mine === generation) findScreen(findActions(), describe(asAppError(e)));
    }
  }
}

async function openSummary(patient: PatientView, nhs: string, access: AccessRequest): Promise<void> {
  const mine = generation;
  show(h("h1", {}, access.reason === "permission-refused" ? "Recording the refusal…" : "Opening the summary…"));
  try {
    const summary = await api.openSummary(nhs, access);
    if (mine !== generation) return;
    // A child protection plan's question comes first (flags.ts).
    askBeforeSummary(summary, new Date(), {
      record: api.recordCpAttendance,
      current: () => mine === generation,
      show: (cp) => summaryScreen(summary, new Date(), () => findScreen(findActions()), "find", cp),
    });
  } catch (e) {
    if (mine !== generation) return;
    const err = asAppError(e);
    const toFind = () => findScreen(findActions());
    switch (err.code) {
      case "NO_LEGITIMATE_RELATIONSHIP":
        // A claim already made and still refused is not offered again.
        if (!access.selfClaimedRelationship) {
          noRelationshipScreen(patient, access, { confirm: (claimed) => void openSummary(patient, nhs, claimed), cancel: toFind });
          return;
        }
        break;
      case "PERMISSION_REFUSED":
        permissionRefusedScreen(patient, toFind);
        return;
      case "VOLUME_LIMIT_REACHED":
        volumeLimitScreen(patient, err.message, toFind);
        return;
      case "JUSTIFICATION_REQUIRED":
      case "INVALID_JUSTIFICATION":
        reasonScreen(patient, (again) => void openSummary(patient, nhs, again), err.message);
        return;
    }
    const retry = h("button", { class: "nhsuk-button", type: "button", id: "retry" }, "Try again");
    retry.addEventListener("click", () => void openSummary(patient, nhs, access));
    const back = h("button", { class: "nhsuk-button nhsuk-button--secondary", type: "button", id: "find-another" }, "Find another patient");
    back.addEventListener("click", () => findScreen(findActions()));
    show(patientBanner(patient, new Date()), allergySection({ state: "unavailable", message: describe(err) }), h("div", {}, retry, " ", back));
  }
}

function endSession(message: string): void {
  generation += 1;
  session = null;
  stopIdleWatch();
  statusBar();
  // Clear first, synchronously: no patient detail stays on screen while we ask for the card state.
  show(h("h1", {}, "Session ended"), h("p", { id: "session-ended" }, message));
  void showCardState(`Session ended: ${message} Sign in again with your card and passcode.`);
}

async function start(): Promise<void> {
  // First, before anything can fail: a file dropped on any screen must not replace the app.
  watchDrops();
  const status = await api.startupStatus().catch((e) => ({ configError: asAppError(e).message, spineUrl: null }));
  if (status.configError) {
    configScreen(status.configError);
    return;
  }
  await onSessionEnded((e) => endSession(e.message));
  await onCardStatus((s) => {
    if (!session && !signingIn) renderCard(s);
  });
  await showCardState();
}

void start();
