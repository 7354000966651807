// The strip under the header on every signed-in screen: who is signed in, in which role and
// organisation (offline: the name and "Offline"), with "Change role" and "Sign out". It
// stays at the top of the window while the page scrolls; its height is published as
// `--scr-session-bar-height`, where the sticky allergy block starts, so the strip never
// covers the allergies.
import { h } from "./dom";
import type { RoleView } from "./generated/types";

export type SessionBarView =
  | { mode: "online"; userName: string; role: RoleView | null; canChangeRole: boolean }
  | { mode: "offline"; userName: string };

export interface SessionBarActions {
  changeRole: () => void;
  signOut: () => void;
}

const HEIGHT_VAR = "--scr-session-bar-height";
let observed: HTMLElement | null = null;
let observer: ResizeObserver | null = null;

/** Where sticky content below the strip starts: its height, or 0 when hidden. */
function publishHeight(bar: HTMLElement): void {
  const height = bar.hidden ? 0 : bar.getBoundingClientRect().height;
  document.documentElement.style.setProperty(HEIGHT_VAR, `${Math.ceil(height)}px`);
}

/** The strip grows with text size and wraps in a narrow window: follow its height. */
function follow(bar: HTMLElement): void {
  if (observed === bar) return;
  observer?.disconnect();
  observed = bar;
  if (typeof ResizeObserver !== "undefined") {
    observer = new ResizeObserver(() => publishHeight(bar));
    observer.observe(bar);
  }
}

const sep = () => h("span", { class: "scr-session-bar__sep", "aria-hidden": "true" }, " · ");

/** Renders the strip for `view`; `null` (nobody signed in) hides it. */
export function renderSessionBar(view: SessionBarView | null, actions: SessionBarActions): void {
  const bar = document.getElementById("status-bar");
  if (!bar) return;
  follow(bar);
  if (!view) {
    bar.hidden = true;
    bar.replaceChildren();
    publishHeight(bar);
    return;
  }
  const name = h("span", { id: "session-user", class: "scr-session-bar__name" }, view.userName);
  let who: HTMLElement;
  const buttons: HTMLElement[] = [];
  if (view.mode === "offline") {
    who = h(
      "span",
      { id: "signed-in-as", class: "scr-offline-status", "data-mode": "offline" },
      name,
      sep(),
      h("span", { id: "session-role" }, "Offline"),
    );
  } else {
    const role = view.role;
    who = h(
      "span",
      { id: "signed-in-as", "data-mode": "online" },
      name,
      role ? sep() : null,
      role ? h("span", { id: "session-role" }, role.roleName) : null,
      role ? sep() : null,
      role ? h("span", { id: "session-org" }, `${role.orgName} (${role.orgOds})`) : null,
    );
    if (role && view.canChangeRole) {
      const change = h("button", { class: "nhsuk-button nhsuk-button--secondary nhsuk-button--small nhsuk-u-margin-bottom-0", type: "button", id: "change-role" }, "Change role");
      change.addEventListener("click", () => actions.changeRole());
      buttons.push(change);
    }
  }
  const out = h("button", { class: "nhsuk-button nhsuk-button--secondary nhsuk-button--small nhsuk-u-margin-bottom-0", type: "button", id: "sign-out" }, "Sign out");
  out.addEventListener("click", () => actions.signOut());
  buttons.push(out);
  bar.setAttribute("role", "region");
  bar.setAttribute("aria-label", "Your session");
  bar.replaceChildren(who, h("span", { class: "scr-session-bar__actions" }, ...buttons));
  bar.hidden = false;
  publishHeight(bar);
}
