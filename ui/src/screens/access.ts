// What the spine's gates before clinical data say back, each a screen of its own:
// - no recorded relationship between the user's organisation and the patient: the user may
//   say they are involved in the patient's care (a self-claim, recorded and reviewed by the
//   privacy officer); confirming sends the same answer again with the claim;
// - the patient refused permission: recorded, and nothing from the record is shown;
// - the volume limit reached: nothing is shown, and why.
// None of these screens shows anything clinical: only what identified the patient before.
import type { AccessRequest, PatientView } from "../generated/types";
import { h, show, button, errorSummary } from "../dom";
import { formatDate, formatName, formatNhsNumber } from "../format";
import { countChars, countedTextarea, MAX_REASON_CHARS } from "../charcount";
import { allergySection } from "./summary";

function whoThePatientIs(patient: PatientView): HTMLElement {
  return h(
    "p",
    { id: "patient-identity" },
    `${formatName(patient)} · Born ${formatDate(patient.birthDate)} · NHS number `,
    h("span", { class: "scr-nhs-number" }, formatNhsNumber(patient.nhsNumber)),
  );
}

export type Claim = { ok: true; access: AccessRequest } | { ok: false; problem: string };

/**
 * The answer sent again with a self-claim: the same reason (and its words), the claim, and
 * the user's optional words about it where the answer carried none.
 */
export function claim(access: AccessRequest, involved: boolean, words: string): Claim {
  if (!involved) return { ok: false, problem: "Tick the box to say you are involved in this patient's care, or cancel." };
  const n = countChars(words);
  if (n > MAX_REASON_CHARS) return { ok: false, problem: `The reason must be ${MAX_REASON_CHARS} characters or fewer; it has ${n}.` };
  const own = words.trim();
  return {
    ok: true,
    access: {
      ...access,
      justification: access.justification ?? (own === "" ? null : own),
      selfClaimedRelationship: true,
    },
  };
}

export interface RelationshipActions {
  confirm(access: AccessRequest): void;
  cancel(): void;
}

export function noRelationshipScreen(patient: PatientView, access: AccessRequest, actions: RelationshipActions): void {
  const involved = h("input", { class: "nhsuk-checkboxes__input", id: "self-claim", type: "checkbox" }) as HTMLInputElement;
  // An emergency answer already carries its reason in words, and it goes with the claim.
  const words = access.justification === null
    ? countedTextarea("claim-reason", "How are you involved in their care? (optional)", "For example: I am seeing them in the fracture clinic today.")
    : null;
  const problem = h("div", { id: "claim-problem" });
  const cancel = button("Cancel", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "cancel-claim" });
  cancel.addEventListener("click", () => actions.cancel());
  const form = h(
    "form",
    { id: "claim-form", novalidate: true },
    problem,
    h(
      "div",
      { class: "nhsuk-warning-callout" },
      h("h3", { class: "nhsuk-warning-callout__label" }, h("span", { role: "text" }, "Important")),
      h("p", {}, "If you say you are involved in this patient's care, this is recorded with your name and reviewed by your privacy officer."),
    ),
    h(
      "div",
      { class: "nhsuk-form-group" },
      h(
        "div",
        { class: "nhsuk-checkboxes" },
        h(
          "div",
          { class: "nhsuk-checkboxes__item" },
          involved,
          h("label", { class: "nhsuk-label nhsuk-checkboxes__label", for: "self-claim" }, "I am involved in this patient's care"),
        ),
      ),
    ),
    words?.group ?? h("p", { class: "nhsuk-body-s" }, "Your reason for emergency access is sent with your claim."),
    h("div", {}, button("Confirm and continue", { id: "confirm-claim" }), " ", cancel),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const c = claim(access, involved.checked, words?.textarea.value ?? "");
    if (!c.ok) {
      problem.replaceChildren(errorSummary("There is a problem", c.problem, "claim-error"));
      return;
    }
    actions.confirm(c.access);
  });
  show(
    h("h1", { id: "no-relationship" }, "Your organisation has no recorded relationship with this patient"),
    whoThePatientIs(patient),
    h(
      "p",
      {},
      "The Summary Care Record service has no record of your organisation caring for this patient: they are not registered with it, and no attendance or referral is recorded.",
    ),
    form,
  );
}

export function permissionRefusedScreen(patient: PatientView, onFindAnother: () => void): void {
  const again = button("Find another patient", { type: "button", id: "find-another" });
  again.addEventListener("click", onFindAnother);
  show(
    h("h1", { id: "permission-refused" }, "The patient refused permission"),
    whoThePatientIs(patient),
    h(
      "div",
      { class: "nhsuk-inset-text", id: "refused-notice" },
      h("p", {}, "The patient refused permission. This has been recorded. Nothing from their record is shown."),
    ),
    again,
  );
}

/** `message`: the spine's words (who reached which limit, and that the officer was told). */
export function volumeLimitScreen(patient: PatientView, message: string, onFindAnother: () => void): void {
  const again = button("Find another patient", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "find-another" });
  again.addEventListener("click", onFindAnother);
  show(
    h("h1", { id: "volume-limit" }, "You have opened as many records as allowed for now"),
    whoThePatientIs(patient),
    errorSummary("This record was not opened", message, "volume-limit-error"),
    // Nothing was fetched: the allergies are unknown, and the page says so rather than
    // showing nothing (which could be read as none).
    allergySection({ state: "unavailable", message: "You have reached the limit of records you may open for now." }),
    again,
  );
}
