// The app's flow: card → passcode → role → find → reason → summary (or, for reception
// roles, the sharing status). A session-ended event clears every patient detail from the
// page at once and returns to "Insert your smartcard".
import { api, asAppError, onCardStatus, onSessionEnded, type AppError } from "./ipc";
import type { AccessReason, CardStatus, PatientView, RoleView, SignedInView, TraceQuery } from "./generated/types";
import { h, show } from "./dom";
import { cardScreen } from "./screens/card";
import { passcodeScreen } from "./screens/passcode";
import { roleScreen } from "./screens/role";
import { findScreen } from "./screens/find";
import { reasonScreen } from "./screens/reason";
import { allergySection, summaryScreen } from "./screens/summary";
import { sharingScreen } from "./screens/sharing";
import { configScreen } from "./screens/config";
import { patientBanner } from "./screens/banner";

interface Session {
  user: SignedInView;
  role: RoleView | null;
}

let session: Session | null = null;
let lastActivity = Date.now();
for (const kind of ["keydown", "mousedown", "wheel", "touchstart"]) {
  window.addEventListener(kind, () => (lastActivity = Date.now()), { capture: true, passive: true });
}
// The idle lock: checked every second, so the page clears within a second of the timeout.
setInterval(() => {
  if (!session) return;
  const limitMs = session.user.idleTimeoutSecs * 1000;
  if (Date.now() - lastActivity > limitMs) void api.lockIdle();
}, 1000);
let signingIn = false;
/** Bumped whenever the session ends, so answers to requests made before are dropped. */
let generation = 0;

function statusBar(): void {
  const bar = document.getElementById("status-bar");
  if (!bar) return;
  if (!session?.role) {
    bar.hidden = true;
    bar.replaceChildren();
    return;
  }
  const out = h("button", { class: "nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0", type: "button", id: "sign-out" }, "Sign out");
  out.addEventListener("click", () => void api.signOut());
  bar.replaceChildren(
    h("span", { id: "signed-in-as" }, `${session.user.userName} · ${session.role.roleName} · ${session.role.orgName} (${session.role.orgOds})`),
    out,
  );
  bar.hidden = false;
}

function renderCard(status: CardStatus, notice?: string): void {
  if (status.state === "cardPresent") {
    passcodeScreen(signIn);
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

async function signIn(passcode: string): Promise<void> {
  if (signingIn) return;
  signingIn = true;
  const mine = generation;
  show(h("h1", {}, "Signing in…"), h("p", { role: "status" }, "Checking your card and passcode."));
  try {
    const user = await api.signIn(passcode);
    if (mine !== generation) return;
    session = { user, role: null };
    lastActivity = Date.now();
    roleScreen(user, chooseRole);
  } catch (e) {
    const err = asAppError(e);
    if (err.code === "NO_CARD" || err.code === "CARD_REMOVED") await showCardState(err.message);
    else passcodeScreen(signIn, err);
  } finally {
    signingIn = false;
  }
}

async function chooseRole(role: RoleView): Promise<void> {
  const mine = generation;
  try {
    const chosen = await api.selectRole(role.id);
    if (mine !== generation || !session) return;
    session.role = chosen;
    statusBar();
    findScreen(findActions());
  } catch (e) {
    if (session) roleScreen(session.user, chooseRole, asAppError(e).message);
  }
}

function findActions() {
  return {
    byNumber: (digits: string) => void lookUp(() => api.findPatient(digits).then((p) => [p])),
    byDetails: (query: TraceQuery) => void lookUp(() => api.tracePatients(query), true),
    choose: (p: PatientView) => void next(p),
  };
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
  if (!session?.role || !patient.nhsNumber) return;
  const nhs = patient.nhsNumber;
  if (session.role.clinical) {
    reasonScreen(patient, (reason) => void openSummary(patient, nhs, reason));
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

async function openSummary(patient: PatientView, nhs: string, reason: AccessReason): Promise<void> {
  const mine = generation;
  show(h("h1", {}, "Opening the summary…"));
  try {
    const summary = await api.openSummary(nhs, reason);
    if (mine !== generation) return;
    summaryScreen(summary, new Date(), () => findScreen(findActions()));
  } catch (e) {
    if (mine !== generation) return;
    const err = asAppError(e);
    const retry = h("button", { class: "nhsuk-button", type: "button", id: "retry" }, "Try again");
    retry.addEventListener("click", () => void openSummary(patient, nhs, reason));
    const back = h("button", { class: "nhsuk-button nhsuk-button--secondary", type: "button", id: "find-another" }, "Find another patient");
    back.addEventListener("click", () => findScreen(findActions()));
    show(patientBanner(patient, new Date()), allergySection({ state: "unavailable", message: describe(err) }), h("div", {}, retry, " ", back));
  }
}

function endSession(message: string): void {
  generation += 1;
  session = null;
  statusBar();
  // Clear first, synchronously: no patient detail stays on screen while we ask for the card state.
  show(h("h1", {}, "Session ended"), h("p", { id: "session-ended" }, message));
  void showCardState(`Session ended: ${message} Sign in again with your card and passcode.`);
}

async function start(): Promise<void> {
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
