// 5. The permission question, as the national service asks it: "Has the patient given
// permission to view their record?" Yes; No, the patient refused (recorded, nothing shown);
// or Emergency, the patient cannot be asked — then a reason in words is required (counted to
// the 500 characters the spine keeps) with a confirmation that it is reported to the privacy
// officer. Reception roles never see this screen (main.ts sends them to the sharing status).
import type { AccessReason, AccessRequest, PatientView } from "../generated/types";
import { h, show, button } from "../dom";
import { formatDate, formatName, formatNhsNumber } from "../format";
import { countChars, countedTextarea, MAX_REASON_CHARS } from "../charcount";

export type Answer = { ok: true; access: AccessRequest } | { ok: false; problems: string[] };

/** What the form says, checked: the request to send, or what to put right first. */
export function readAnswer(chosen: string | undefined, words: string, confirmed: boolean): Answer {
  switch (chosen) {
    case "permission-to-view":
    case "permission-refused":
      return { ok: true, access: { reason: chosen as AccessReason, justification: null, selfClaimedRelationship: false } };
    case "emergency": {
      const problems: string[] = [];
      const n = countChars(words);
      if (n === 0) problems.push("Say why you are accessing this record without permission.");
      else if (n > MAX_REASON_CHARS) problems.push(`The reason must be ${MAX_REASON_CHARS} characters or fewer; it has ${n}.`);
      if (!confirmed) problems.push("Confirm that you understand emergency access is reported.");
      if (problems.length > 0) return { ok: false, problems };
      return { ok: true, access: { reason: "emergency", justification: words.trim(), selfClaimedRelationship: false } };
    }
    default:
      return { ok: false, problems: ["Say whether the patient has given permission to view their record."] };
  }
}

function problemSummary(problems: string[]): HTMLElement {
  return h(
    "div",
    { class: "nhsuk-error-summary", role: "alert", tabindex: "-1", "aria-labelledby": "reason-problem-title" },
    h("h2", { class: "nhsuk-error-summary__title", id: "reason-problem-title" }, "There is a problem"),
    h("div", { class: "nhsuk-error-summary__body" }, h("ul", { class: "nhsuk-list nhsuk-error-summary__list" }, ...problems.map((p) => h("li", {}, p)))),
  );
}

/** `error`: what the spine said about an earlier answer (a reason it could not keep). */
export function reasonScreen(patient: PatientView, onAnswer: (access: AccessRequest) => void, error?: string): void {
  const radio = (id: string, value: string, label: string, hint: string) =>
    h(
      "div",
      { class: "nhsuk-radios__item" },
      h("input", { class: "nhsuk-radios__input", id, name: "reason", type: "radio", value }),
      h("label", { class: "nhsuk-label nhsuk-radios__label", for: id }, label),
      h("div", { class: "nhsuk-hint nhsuk-radios__hint" }, hint),
    );
  const { group: why, textarea } = countedTextarea(
    "justification",
    "Why are you accessing this record without permission?",
    "For example: unconscious on arrival, no carer present. This is recorded with your access.",
  );
  const confirm = h(
    "div",
    { class: "nhsuk-checkboxes" },
    h(
      "div",
      { class: "nhsuk-checkboxes__item" },
      h("input", { class: "nhsuk-checkboxes__input", id: "emergency-confirm", type: "checkbox" }),
      h(
        "label",
        { class: "nhsuk-label nhsuk-checkboxes__label", for: "emergency-confirm" },
        "I understand that emergency access is recorded and reported to the privacy officer",
      ),
    ),
  );
  const emergency = h("div", { class: "nhsuk-radios__conditional", id: "emergency-details", hidden: true }, why, confirm);
  const problem = h("div", { id: "reason-problem" }, error ? problemSummary([error]) : null);
  const form = h(
    "form",
    { id: "reason-form", novalidate: true },
    problem,
    h(
      "fieldset",
      { class: "nhsuk-fieldset" },
      h("legend", { class: "nhsuk-fieldset__legend nhsuk-fieldset__legend--m" }, "Has the patient given permission to view their record?"),
      h(
        "div",
        { class: "nhsuk-radios" },
        radio("reason-permission", "permission-to-view", "Yes", "You asked the patient, or someone who can speak for them, and they agreed."),
        radio("reason-refused", "permission-refused", "No, the patient refused", "Their refusal is recorded and nothing from their record is shown."),
        radio("reason-emergency", "emergency", "Emergency — the patient cannot be asked", "You need the record to treat them and they cannot give permission."),
        emergency,
      ),
    ),
    button("Continue", { id: "view-summary" }),
  ) as HTMLFormElement;
  const chosen = () => form.querySelector<HTMLInputElement>("input[name=reason]:checked")?.value;
  form.addEventListener("change", () => {
    emergency.hidden = chosen() !== "emergency";
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const confirmed = form.querySelector<HTMLInputElement>("#emergency-confirm")?.checked ?? false;
    const answer = readAnswer(chosen(), textarea.value, confirmed);
    if (!answer.ok) {
      problem.replaceChildren(problemSummary(answer.problems));
      return;
    }
    onAnswer(answer.access);
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
