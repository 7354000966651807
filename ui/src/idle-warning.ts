// The idle lock of a signed-in session and its warning: the clock of idle.ts driven by the
// window's input and a one-second timer, and the warning as an accessible dialog (role
// alertdialog, focus on "Stay signed in", the time left in words). One session at a time:
// `watchIdle` when a session begins, `stopIdleWatch` when it ends.
import { h } from "./dom";
import { IdleClock, timeLeftInWords } from "./idle";

export interface IdleActions {
  /** The idle timeout passed without input: end the session as the spine would. */
  lock: () => void;
  /** "Sign out" in the warning. */
  signOut: () => void;
  /** Tell the spine the user is still there; absent for an offline session. */
  keepAlive?: () => Promise<unknown>;
}

const INPUT_EVENTS = ["keydown", "mousedown", "wheel", "touchstart"] as const;

let clock: IdleClock | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let listening = false;
/** What had focus before the warning, to give it back. */
let focusBefore: HTMLElement | null = null;

function onInput(e: Event): void {
  // Input inside the warning is the user answering it, not a reason to dismiss it.
  if (e.target instanceof Node && document.getElementById("idle-warning")?.contains(e.target)) return;
  clock?.input();
}

export function countdownText(leftMs: number): string {
  return `You will be signed out in ${timeLeftInWords(leftMs)}.`;
}

/** Starts the idle clock of the session just begun (replacing any earlier one). */
export function watchIdle(timeoutSecs: number, actions: IdleActions): void {
  stopIdleWatch();
  if (!listening) {
    for (const kind of INPUT_EVENTS) window.addEventListener(kind, onInput, { capture: true, passive: true });
    listening = true;
  }
  const keepAlive = () => {
    // A failure needs nothing here: if the spine says the session is over, the app ends it
    // and the page hears `session-ended`; if the spine cannot be reached, the next
    // request says so.
    actions.keepAlive?.().catch(() => undefined);
  };
  const mine: IdleClock = new IdleClock(timeoutSecs * 1000, {
    warn: (left) => openWarning(left, mine, actions),
    tick: (left) => updateWarning(left),
    calm: () => closeWarning(),
    lock: () => {
      closeWarning(false);
      actions.lock();
    },
    refresh: keepAlive,
  });
  clock = mine;
  timer = setInterval(() => mine.check(), 1000);
}

/** The session ended: no clock, no warning. */
export function stopIdleWatch(): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
  clock = null;
  closeWarning(false);
}

function openWarning(leftMs: number, owner: IdleClock, actions: IdleActions): void {
  closeWarning(false);
  focusBefore = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const stay = h("button", { class: "nhsuk-button nhsuk-u-margin-bottom-0", type: "button", id: "stay-signed-in" }, "Stay signed in") as HTMLButtonElement;
  const out = h("button", { class: "nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0", type: "button", id: "idle-sign-out" }, "Sign out") as HTMLButtonElement;
  stay.addEventListener("click", () => owner.stay());
  out.addEventListener("click", () => actions.signOut());
  const dialog = h(
    "div",
    {
      class: "scr-idle-dialog",
      id: "idle-warning",
      role: "alertdialog",
      "aria-modal": "true",
      "aria-labelledby": "idle-warning-title",
      "aria-describedby": "idle-warning-countdown",
    },
    h("h2", { id: "idle-warning-title" }, "Are you still there?"),
    h("p", { id: "idle-warning-countdown" }, countdownText(leftMs)),
    h("p", {}, "You have not used the app for a while. To keep the record open, choose Stay signed in."),
    h("div", { class: "scr-idle-dialog__actions" }, stay, " ", out),
  );
  // Tab stays inside the dialog; Escape is the user answering, so it keeps the session.
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      owner.stay();
    } else if (e.key === "Tab") {
      e.preventDefault();
      (document.activeElement === stay ? out : stay).focus();
    }
  });
  const overlay = h("div", { class: "scr-idle-overlay", id: "idle-warning-overlay" }, dialog);
  // The page behind cannot be used or reached while the warning is up.
  for (const el of Array.from(document.body.children)) {
    if (el instanceof HTMLElement && !el.hasAttribute("inert")) {
      el.setAttribute("inert", "");
      el.dataset.idleInert = "";
    }
  }
  document.body.append(overlay);
  stay.focus();
}

function updateWarning(leftMs: number): void {
  const countdown = document.getElementById("idle-warning-countdown");
  if (countdown) countdown.textContent = countdownText(leftMs);
}

/** Removes the warning; `restoreFocus` gives focus back to where it was (not when the page is being replaced). */
function closeWarning(restoreFocus = true): void {
  const overlay = document.getElementById("idle-warning-overlay");
  if (!overlay) return;
  overlay.remove();
  for (const el of Array.from(document.querySelectorAll<HTMLElement>("[data-idle-inert]"))) {
    el.removeAttribute("inert");
    delete el.dataset.idleInert;
  }
  if (restoreFocus && focusBefore?.isConnected) focusBefore.focus();
  focusBefore = null;
}
