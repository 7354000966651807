// The registration authority's "Users and cards", for a role with the local activity
// RA-MANAGE and nothing clinical: every registered user with their role profiles and cards;
// "Register a user"; per user "Add a role profile"; per profile "Remove" and per card
// "Revoke", each asked to confirm. Cards are issued at the spine's console only (their keys
// are made where the card is written), and the screen says so. The spine decides every
// change: a refusal is shown in its own words, where the change was asked. Text only.
import type { AppError } from "../ipc";
import { api, asAppError } from "../ipc";
import type {
  ActivityView,
  RegisteredCardView,
  RegisteredUserView,
  RegistrationView,
  RoleProfileView,
  RoleView,
} from "../generated/types";
import { h, show, button, errorSummary } from "../dom";
import { errorTitle } from "../errors";

/** The console command that issues a card; named wherever a user would look for "issue". */
export const CARD_ISSUE_COMMAND = "scr-spine card issue";

/** A role that lands here: the registration authority's, with nothing clinical. */
export function isRegistrationRole(role: RoleView): boolean {
  return role.registration && !role.clinical;
}

export interface RegistrationContext {
  /** False once the session ended or the role changed: answers arriving then are dropped. */
  current(): boolean;
  /** The signed-in RA (the spine refuses changes to their own role profiles). */
  ownUserId: string;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function cardStatusText(card: RegisteredCardView): string {
  return card.revoked ? "Revoked" : "Active";
}

/** What the confirmation of a revocation says will happen. */
export function revokeWarning(card: RegisteredCardView, holder: string): string {
  const live =
    card.liveSessions > 0
      ? ` It ends the card's ${plural(card.liveSessions, "live session", "live sessions")} now: whoever is signed in with it is signed out.`
      : " It also ends any live session of the card at once.";
  return `Sign-in with ${holder}'s card ${card.serial} will be refused from now on.${live} A revoked card cannot be brought back; a new one is issued at the spine's console.`;
}

/** An error summary for a refused change, with the spine's words and its code. */
function problem(err: AppError, id?: string): HTMLElement {
  const box = errorSummary(errorTitle(err), err.message, id);
  box.dataset.code = err.code;
  return box;
}

/** Numbers the error summaries of slots without an id of their own (ids stay unique). */
let problems = 0;

/** Shows `err` in `slot` (the part of the page where the change was asked) and focuses it. */
function showProblem(slot: HTMLElement, err: AppError): void {
  problems += 1;
  const box = problem(err, slot.id ? `${slot.id}-error` : `ra-problem-${problems}`);
  slot.replaceChildren(box);
  box.focus();
}

function field(name: string, label: string, id: string, hint?: string, attrs: Record<string, string> = {}): HTMLElement {
  return h(
    "div",
    { class: "nhsuk-form-group" },
    h("label", { class: "nhsuk-label", for: id }, label),
    hint ? h("div", { class: "nhsuk-hint", id: `${id}-hint` }, hint) : null,
    h("input", {
      class: "nhsuk-input",
      id,
      name,
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": hint ? `${id}-hint` : undefined,
      ...attrs,
    }),
  );
}

function value(form: HTMLElement, name: string): string {
  return form.querySelector<HTMLInputElement>(`input[name="${name}"]`)?.value ?? "";
}

/** What the screen does; `registrationScreen` gives the real one, tests give their own. */
export interface RegistrationActions {
  register(userId: string, name: string, problemSlot: HTMLElement): void;
  addRole(user: RegisteredUserView, form: HTMLFormElement, activities: string[], problemSlot: HTMLElement): void;
  removeRole(user: RegisteredUserView, profile: RoleProfileView, problemSlot: HTMLElement): void;
  revoke(user: RegisteredUserView, card: RegisteredCardView, reason: string, problemSlot: HTMLElement): void;
}

function registerForm(actions: RegistrationActions): HTMLElement {
  const slot = h("div", { id: "ra-register-problem" });
  const form = h(
    "form",
    { id: "ra-register-form", novalidate: true },
    h("h2", { class: "nhsuk-heading-m" }, "Register a user"),
    slot,
    field("userId", "User ID", "ra-new-user-id", "Their SDS user ID: 12 digits", { inputmode: "numeric", class: "nhsuk-input nhsuk-input--width-20" }),
    field("name", "Name", "ra-new-user-name", "As it should appear when they sign in"),
    button("Register user", { id: "ra-register-user" }),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    actions.register(value(form, "userId"), value(form, "name"), slot);
  });
  return form;
}

/** "Remove" with its confirmation, for one role profile. */
function removeControl(user: RegisteredUserView, profile: RoleProfileView, actions: RegistrationActions): HTMLElement {
  const slot = h("div", { class: "ra-problem" });
  const start = button("Remove", { type: "button", class: "nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0 ra-remove-profile" });
  start.setAttribute("aria-label", `Remove ${profile.roleName} at ${profile.orgName} from ${user.name}`);
  const yes = button("Yes, remove it", { type: "button", class: "nhsuk-button nhsuk-button--warning ra-remove-confirm" });
  const no = button("Cancel", { type: "button", class: "nhsuk-button nhsuk-button--secondary ra-remove-cancel" });
  const confirm = h(
    "div",
    { class: "nhsuk-warning-callout ra-remove-confirmation", hidden: true },
    h("h4", { class: "nhsuk-warning-callout__label" }, "Remove this role profile?"),
    h(
      "p",
      {},
      `${user.name} will no longer hold ${profile.roleName} at ${profile.orgName} (${profile.orgOds}). It stops being in force at once: a session acting in it must choose another role.`,
    ),
    h("div", { class: "nhsuk-button-group" }, yes, no),
  );
  start.addEventListener("click", () => {
    start.hidden = true;
    confirm.hidden = false;
    yes.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    start.hidden = false;
    start.focus();
  });
  yes.addEventListener("click", () => actions.removeRole(user, profile, slot));
  return h("div", {}, slot, start, confirm);
}

function profileRow(user: RegisteredUserView, profile: RoleProfileView, actions: RegistrationActions): HTMLElement {
  return h(
    "tr",
    { class: "nhsuk-table__row ra-profile", "data-profile": profile.id },
    h("td", { class: "nhsuk-table__cell" }, h("strong", {}, profile.roleName), h("br", {}), h("span", { class: "nhsuk-body-s" }, profile.roleCode)),
    h("td", { class: "nhsuk-table__cell" }, profile.orgName, h("br", {}), h("span", { class: "nhsuk-body-s" }, profile.orgOds)),
    h("td", { class: "nhsuk-table__cell ra-activities" }, profile.activities.join(", ")),
    h("td", { class: "nhsuk-table__cell" }, removeControl(user, profile, actions)),
  );
}

function profilesTable(user: RegisteredUserView, actions: RegistrationActions): HTMLElement {
  if (user.roleProfiles.length === 0) {
    return h("p", { class: "ra-no-profiles" }, "No role profiles: they cannot act in any role until one is added.");
  }
  return h(
    "table",
    { class: "nhsuk-table ra-profiles" },
    h("caption", { class: "nhsuk-table__caption nhsuk-u-visually-hidden" }, `Role profiles of ${user.name}`),
    h(
      "thead",
      { class: "nhsuk-table__head" },
      h("tr", {}, ...["Role", "Organisation", "Activities", ""].map((t) => h("th", { scope: "col", class: "nhsuk-table__header" }, t))),
    ),
    h("tbody", { class: "nhsuk-table__body" }, ...user.roleProfiles.map((p) => profileRow(user, p, actions))),
  );
}

/** "Add a role profile" for one user: a button that opens the form. */
function addRoleControl(user: RegisteredUserView, index: number, activities: ActivityView[], actions: RegistrationActions): HTMLElement {
  const open = button("Add a role profile", { type: "button", class: "nhsuk-button nhsuk-button--secondary ra-add-role" });
  const slot = h("div", { class: "ra-problem", id: `ra-add-role-problem-${index}` });
  const id = (name: string) => `ra-${index}-${name}`;
  const boxes = activities.map((a) =>
    h(
      "div",
      { class: "nhsuk-checkboxes__item" },
      h("input", { class: "nhsuk-checkboxes__input", id: id(`activity-${a.code}`), name: "activity", type: "checkbox", value: a.code }),
      h(
        "label",
        { class: "nhsuk-label nhsuk-checkboxes__label", for: id(`activity-${a.code}`) },
        h("strong", {}, a.code),
        ` — ${a.meaning}`,
      ),
    ),
  );
  const cancel = button("Cancel", { type: "button", class: "nhsuk-button nhsuk-button--secondary ra-add-role-cancel" });
  const form = h(
    "form",
    { class: "ra-role-form", novalidate: true, hidden: true },
    h("h4", { class: "nhsuk-heading-s" }, `Add a role profile for ${user.name}`),
    slot,
    field("roleCode", "Role code", id("role-code"), "The SDS job role code, for example R8001", { class: "nhsuk-input nhsuk-input--width-10" }),
    field("roleName", "Role name", id("role-name"), "For example Nurse Access Role"),
    field("orgOds", "Organisation ODS code", id("org-ods"), "3 to 10 letters and digits, for example RX901", { class: "nhsuk-input nhsuk-input--width-10" }),
    field("orgName", "Organisation name", id("org-name")),
    h(
      "div",
      { class: "nhsuk-form-group" },
      h(
        "fieldset",
        { class: "nhsuk-fieldset" },
        h("legend", { class: "nhsuk-fieldset__legend nhsuk-fieldset__legend--s" }, "Activities"),
        h("div", { class: "nhsuk-hint" }, "What the role allows. The spine checks each access against these."),
        h("div", { class: "nhsuk-checkboxes" }, ...boxes),
      ),
    ),
    h("div", { class: "nhsuk-button-group" }, button("Add role profile", { class: "nhsuk-button ra-add-role-submit" }), cancel),
  ) as HTMLFormElement;
  open.addEventListener("click", () => {
    open.hidden = true;
    form.hidden = false;
    form.querySelector<HTMLInputElement>("input")?.focus();
  });
  cancel.addEventListener("click", () => {
    form.hidden = true;
    open.hidden = false;
    open.focus();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = [...form.querySelectorAll<HTMLInputElement>("input[name=activity]:checked")].map((c) => c.value);
    actions.addRole(user, form, chosen, slot);
  });
  return h("div", { class: "ra-add-role-control" }, open, form);
}

/** "Revoke" with its required reason and confirmation, for one active card. */
function revokeControl(user: RegisteredUserView, card: RegisteredCardView, actions: RegistrationActions): HTMLElement {
  const start = button("Revoke", { type: "button", class: "nhsuk-button nhsuk-button--warning nhsuk-u-margin-bottom-0 ra-revoke" });
  start.setAttribute("aria-label", `Revoke ${user.name}'s card ${card.serial}`);
  const slot = h("div", { class: "ra-problem" });
  const reasonId = `ra-revoke-reason-${card.issuer}-${card.serial}`;
  const reason = h("input", {
    class: "nhsuk-input ra-revoke-reason",
    id: reasonId,
    name: "reason",
    type: "text",
    autocomplete: "off",
    maxlength: "200",
  }) as HTMLInputElement;
  const missing = h("p", { class: "nhsuk-error-message ra-revoke-missing", hidden: true }, "Say why the card is revoked.");
  const yes = button("Yes, revoke the card", { type: "button", class: "nhsuk-button nhsuk-button--warning ra-revoke-confirm" });
  const no = button("Cancel", { type: "button", class: "nhsuk-button nhsuk-button--secondary ra-revoke-cancel" });
  const group = h(
    "div",
    { class: "nhsuk-form-group" },
    h("label", { class: "nhsuk-label", for: reasonId }, "Why is the card revoked?"),
    h("div", { class: "nhsuk-hint" }, "Lost, stolen, left the organisation… Kept in the audit trail."),
    missing,
    reason,
  );
  const confirm = h(
    "div",
    { class: "nhsuk-warning-callout ra-revoke-confirmation", hidden: true },
    h("h4", { class: "nhsuk-warning-callout__label" }, "Revoke this card?"),
    h("p", { class: "ra-revoke-warning" }, revokeWarning(card, user.name)),
    slot,
    group,
    h("div", { class: "nhsuk-button-group" }, yes, no),
  );
  start.addEventListener("click", () => {
    start.hidden = true;
    confirm.hidden = false;
    reason.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    start.hidden = false;
    start.focus();
  });
  yes.addEventListener("click", () => {
    const why = reason.value.trim();
    // Required here as at the spine, so the RA is asked before anything is sent.
    missing.hidden = why !== "";
    group.classList.toggle("nhsuk-form-group--error", why === "");
    if (why === "") {
      reason.focus();
      return;
    }
    actions.revoke(user, card, why, slot);
  });
  return h("div", {}, start, confirm);
}

function cardRow(user: RegisteredUserView, card: RegisteredCardView, actions: RegistrationActions): HTMLElement {
  const status = card.revoked ? "revoked" : "active";
  return h(
    "tr",
    { class: "nhsuk-table__row ra-card", "data-serial": card.serial, "data-status": status },
    h("td", { class: "nhsuk-table__cell" }, h("code", { class: "ra-serial" }, card.serial)),
    h(
      "td",
      { class: "nhsuk-table__cell" },
      h("strong", { class: `nhsuk-tag ${card.revoked ? "nhsuk-tag--grey" : "nhsuk-tag--green"} ra-card-status` }, cardStatusText(card)),
    ),
    h("td", { class: "nhsuk-table__cell ra-live-sessions" }, card.revoked ? "" : plural(card.liveSessions, "live session", "live sessions")),
    h("td", { class: "nhsuk-table__cell" }, card.revoked ? null : revokeControl(user, card, actions)),
  );
}

function cardsTable(user: RegisteredUserView, actions: RegistrationActions): HTMLElement {
  if (user.cards.length === 0) {
    return h("p", { class: "ra-no-cards" }, `No cards. Cards are issued at the spine's console (${CARD_ISSUE_COMMAND}), not in this app.`);
  }
  return h(
    "table",
    { class: "nhsuk-table ra-cards" },
    h("caption", { class: "nhsuk-table__caption nhsuk-u-visually-hidden" }, `Cards of ${user.name}`),
    h(
      "thead",
      { class: "nhsuk-table__head" },
      h("tr", {}, ...["Serial", "Status", "Sessions", ""].map((t) => h("th", { scope: "col", class: "nhsuk-table__header" }, t))),
    ),
    h("tbody", { class: "nhsuk-table__body" }, ...user.cards.map((c) => cardRow(user, c, actions))),
  );
}

function userSection(user: RegisteredUserView, index: number, view: RegistrationView, ownUserId: string, actions: RegistrationActions): HTMLElement {
  const own = user.userId === ownUserId;
  return h(
    "section",
    { class: "nhsuk-card ra-user", "data-user": user.userId, "aria-labelledby": `ra-user-${index}` },
    h(
      "div",
      { class: "nhsuk-card__content" },
      h(
        "h3",
        { class: "nhsuk-card__heading", id: `ra-user-${index}` },
        user.name,
        " ",
        h("span", { class: "nhsuk-body-s ra-user-id" }, user.userId),
        own ? h("span", { class: "nhsuk-body-s" }, " (you)") : null,
      ),
      h("h4", { class: "nhsuk-heading-s" }, "Role profiles"),
      own ? h("p", { class: "nhsuk-body-s ra-own" }, "Your own role profiles are changed by another registration authority agent.") : null,
      profilesTable(user, actions),
      addRoleControl(user, index, view.activities, actions),
      h("h4", { class: "nhsuk-heading-s" }, "Cards"),
      cardsTable(user, actions),
    ),
  );
}

/** The "Users and cards" page from `view`; `notice` says what the last change did. */
export function renderRegistration(view: RegistrationView, ownUserId: string, actions: RegistrationActions, notice?: string): void {
  show(
    h("h1", { id: "ra-heading" }, "Users and cards"),
    notice ? h("div", { class: "nhsuk-inset-text", id: "ra-notice", role: "status" }, h("p", {}, notice)) : null,
    h(
      "div",
      { class: "nhsuk-inset-text", id: "ra-card-issue" },
      h(
        "p",
        {},
        "Cards are issued at the spine's console, not in this app: ",
        h("code", {}, `${CARD_ISSUE_COMMAND} --user USER-ID --out FOLDER`),
        " makes the card's keys where the card is written, so private keys never cross the network. Register the user and give them a role profile here first.",
      ),
    ),
    registerForm(actions),
    h("h2", { class: "nhsuk-heading-m", id: "ra-users-heading" }, `Users (${view.users.length})`),
    h("div", { id: "ra-users" }, ...view.users.map((u, i) => userSection(u, i, view, ownUserId, actions))),
  );
}

/** The screen's own flow: each change, then the page read again with what it did. */
class Registration implements RegistrationActions {
  constructor(private readonly ctx: RegistrationContext) {}

  async load(notice?: string): Promise<void> {
    try {
      const view = await api.registrationOverview();
      if (!this.ctx.current()) return;
      renderRegistration(view, this.ctx.ownUserId, this, notice);
      // After a change far down the list, the page is read again from the top, where the
      // notice says what was done.
      if (notice) window.scrollTo(0, 0);
    } catch (e) {
      if (!this.ctx.current()) return;
      const again = button("Try again", { type: "button", id: "ra-retry" });
      again.addEventListener("click", () => void this.load(notice));
      show(h("h1", { id: "ra-heading" }, "Users and cards"), notice ? h("p", { id: "ra-notice" }, notice) : null, problem(asAppError(e), "ra-load-error"), again);
    }
  }

  /** Runs a change; on success reads the page again with `done`'s words, on refusal shows it in `slot`. */
  private async change<T>(slot: HTMLElement, run: () => Promise<T>, done: (t: T) => string): Promise<void> {
    // One change at a time from these controls: a second click would only be refused.
    const controls = [...(slot.parentElement?.querySelectorAll<HTMLButtonElement>("button") ?? [])];
    controls.forEach((b) => (b.disabled = true));
    try {
      const result = await run();
      if (!this.ctx.current()) return;
      await this.load(done(result));
    } catch (e) {
      if (!this.ctx.current()) return;
      // A refusal leaves the controls usable again, with what was typed.
      controls.forEach((b) => (b.disabled = false));
      showProblem(slot, asAppError(e));
    }
  }

  register(userId: string, name: string, slot: HTMLElement): void {
    void this.change(
      slot,
      () => api.registerUser({ userId, name }),
      (u) => `${u.name} (${u.userId}) is registered. Add a role profile for them, then issue their card at the spine's console (${CARD_ISSUE_COMMAND}).`,
    );
  }

  addRole(user: RegisteredUserView, form: HTMLFormElement, activities: string[], slot: HTMLElement): void {
    const profile = {
      roleCode: value(form, "roleCode"),
      roleName: value(form, "roleName"),
      orgOds: value(form, "orgOds"),
      orgName: value(form, "orgName"),
      activities,
    };
    void this.change(
      slot,
      () => api.addRoleProfile(user.userId, profile),
      (p) => `${p.roleName} at ${p.orgName} (${p.orgOds}) added for ${user.name} (${p.id}).`,
    );
  }

  removeRole(user: RegisteredUserView, profile: RoleProfileView, slot: HTMLElement): void {
    void this.change(
      slot,
      () => api.removeRoleProfile(user.userId, profile.id),
      (inRole) =>
        `${profile.roleName} at ${profile.orgName} removed from ${user.name}.` +
        (inRole > 0 ? ` ${plural(inRole, "live session was", "live sessions were")} acting in it and must choose another role.` : ""),
    );
  }

  revoke(user: RegisteredUserView, card: RegisteredCardView, reason: string, slot: HTMLElement): void {
    void this.change(
      slot,
      () => api.revokeCard({ serial: card.serial, issuer: card.issuer, reason }),
      (r) => `${r.userName ?? user.name}'s card ${r.serial} is revoked; ${plural(r.sessionsEnded, "live session", "live sessions")} ended.`,
    );
  }
}

/** Opens "Users and cards" for the RA signed in (reads it from the spine first). */
export function registrationScreen(ctx: RegistrationContext): Promise<void> {
  show(h("h1", { id: "ra-heading" }, "Users and cards"), h("p", { role: "status" }, "Reading the users and their cards…"));
  return new Registration(ctx).load();
}
