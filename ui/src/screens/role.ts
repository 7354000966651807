// 3. Choose a role: role name, organisation, ODS code. Also "Change role" later in the
// session: the role in force is marked and chosen by default, and Cancel keeps it.
import type { RoleView, SignedInView } from "../generated/types";
import { h, show, button, errorSummary } from "../dom";

/** Changing the role of a session that has one: the role in force, and going back to it. */
export interface RoleChange {
  current: RoleView;
  cancel: () => void;
}

/** `notice`: shown above the roles (the once-per-run "offline records are off" notice). */
export function roleScreen(
  signedIn: SignedInView,
  onChoose: (role: RoleView) => void,
  error?: string,
  notice?: HTMLElement | null,
  change?: RoleChange,
): void {
  const chosen = change ? signedIn.roles.findIndex((r) => r.id === change.current.id) : 0;
  const radios = signedIn.roles.map((r, i) =>
    h(
      "div",
      { class: "nhsuk-radios__item" },
      h("input", {
        class: "nhsuk-radios__input",
        id: `role-${r.id}`,
        name: "role",
        type: "radio",
        value: r.id,
        checked: i === Math.max(chosen, 0),
      }),
      h(
        "label",
        { class: "nhsuk-label nhsuk-radios__label", for: `role-${r.id}` },
        `${r.roleName} — ${r.orgName} (${r.orgOds})`,
        change?.current.id === r.id ? " (your role now)" : null,
      ),
    ),
  );
  let cancel: HTMLElement | null = null;
  if (change) {
    cancel = h("button", { class: "nhsuk-button nhsuk-button--secondary", type: "button", id: "cancel-role-change" }, "Cancel");
    cancel.addEventListener("click", () => change.cancel());
  }
  const form = h(
    "form",
    { id: "role-form" },
    error ? errorSummary("The role could not be chosen", error) : null,
    h(
      "fieldset",
      { class: "nhsuk-fieldset" },
      h(
        "legend",
        { class: "nhsuk-fieldset__legend nhsuk-fieldset__legend--m" },
        change ? "Choose the role to continue in" : "Choose a role for this session",
      ),
      h("div", { class: "nhsuk-radios", id: "roles" }, ...radios),
    ),
    button("Continue", { id: "choose-role" }),
    cancel ? " " : null,
    cancel,
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const picked = form.querySelector<HTMLInputElement>("input[name=role]:checked");
    const role = signedIn.roles.find((r) => r.id === picked?.value);
    if (role) onChoose(role);
  });
  show(h("h1", { id: "role-heading" }, change ? "Change role" : `Welcome, ${signedIn.userName}`), notice, form);
}
