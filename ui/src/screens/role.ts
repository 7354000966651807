// 3. Choose a role: role name, organisation, ODS code.
import type { RoleView, SignedInView } from "../generated/types";
import { h, show, button, errorSummary } from "../dom";

/** `notice`: shown above the roles (the once-per-run "offline records are off" notice). */
export function roleScreen(
  signedIn: SignedInView,
  onChoose: (role: RoleView) => void,
  error?: string,
  notice?: HTMLElement | null,
): void {
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
        checked: i === 0,
      }),
      h(
        "label",
        { class: "nhsuk-label nhsuk-radios__label", for: `role-${r.id}` },
        `${r.roleName} — ${r.orgName} (${r.orgOds})`,
      ),
    ),
  );
  const form = h(
    "form",
    { id: "role-form" },
    error ? errorSummary("The role could not be chosen", error) : null,
    h(
      "fieldset",
      { class: "nhsuk-fieldset" },
      h("legend", { class: "nhsuk-fieldset__legend nhsuk-fieldset__legend--m" }, "Choose a role for this session"),
      h("div", { class: "nhsuk-radios", id: "roles" }, ...radios),
    ),
    button("Continue", { id: "choose-role" }),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>("input[name=role]:checked");
    const role = signedIn.roles.find((r) => r.id === chosen?.value);
    if (role) onChoose(role);
  });
  show(h("h1", {}, `Welcome, ${signedIn.userName}`), notice, form);
}
