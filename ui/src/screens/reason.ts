// 5. Why are you accessing this record? Permission, or emergency access with a confirmation
// that it will be reported to the privacy officer.
import type { AccessReason, PatientView } from "../generated/types";
import { h, show, button, errorSummary } from "../dom";
import { formatDate, formatName, formatNhsNumber } from "../format";

export function reasonScreen(patient: PatientView, onReason: (r: AccessReason) => void): void {
  const radio = (id: string, value: string, label: string, hint: string) =>
    h(
      "div",
      { class: "nhsuk-radios__item" },
      h("input", { class: "nhsuk-radios__input", id, name: "reason", type: "radio", value }),
      h("label", { class: "nhsuk-label nhsuk-radios__label", for: id }, label),
      h("div", { class: "nhsuk-hint nhsuk-radios__hint" }, hint),
    );
  const confirm = h(
    "div",
    { class: "nhsuk-checkboxes__item", id: "emergency-confirm-item", hidden: true },
    h("input", { class: "nhsuk-checkboxes__input", id: "emergency-confirm", type: "checkbox" }),
    h(
      "label",
      { class: "nhsuk-label nhsuk-checkboxes__label", for: "emergency-confirm" },
      "I understand that emergency access is recorded and reported to the privacy officer",
    ),
  );
  const problem = h("div", { id: "reason-problem" });
  const form = h(
    "form",
    { id: "reason-form", novalidate: true },
    problem,
    h(
      "fieldset",
      { class: "nhsuk-fieldset" },
      h("legend", { class: "nhsuk-fieldset__legend nhsuk-fieldset__legend--m" }, "Why are you accessing this record?"),
      h(
        "div",
        { class: "nhsuk-radios" },
        radio("reason-permission", "permission-to-view", "The patient has given permission", "You asked the patient, or someone who can speak for them."),
        radio("reason-emergency", "emergency", "Emergency access", "The patient cannot give permission and you need the record to treat them."),
      ),
      h("div", { class: "nhsuk-checkboxes nhsuk-u-margin-top-3" }, confirm),
    ),
    button("View summary", { id: "view-summary" }),
  ) as HTMLFormElement;
  form.addEventListener("change", () => {
    const chosen = form.querySelector<HTMLInputElement>("input[name=reason]:checked")?.value;
    confirm.hidden = chosen !== "emergency";
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>("input[name=reason]:checked")?.value;
    const confirmed = form.querySelector<HTMLInputElement>("#emergency-confirm")?.checked;
    if (!chosen) {
      problem.replaceChildren(errorSummary("Choose a reason", "Say why you are accessing this record."));
      return;
    }
    if (chosen === "emergency" && !confirmed) {
      problem.replaceChildren(
        errorSummary("Confirm emergency access", "Confirm that you understand emergency access is reported."),
      );
      return;
    }
    onReason(chosen as AccessReason);
  });
  show(
    h("h1", {}, formatName(patient)),
    h(
      "p",
      {},
      `Born ${formatDate(patient.birthDate)} · NHS number `,
      h("span", { class: "scr-nhs-number" }, formatNhsNumber(patient.nhsNumber)),
    ),
    form,
  );
}
