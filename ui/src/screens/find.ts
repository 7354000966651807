// 4. Find a patient: by NHS number (checked as you type), or by name and date of birth
// with a scored list that shows enough to tell people apart. Keyboard only is enough.
import type { PatientView, TraceQuery } from "../generated/types";
import { h, show, button, errorSummary } from "../dom";
import { checkNhsNumber, formatDate, formatGender, formatName, formatNhsNumber } from "../format";
import { removedText, removeOfflineControl } from "./offline";
import { openDocumentControl } from "./document";

export interface FindActions {
  byNumber(digits: string): void;
  byDetails(query: TraceQuery): void;
  choose(patient: PatientView): void;
  /** Wipes this user's offline records on this computer (asked to confirm first). */
  removeOffline?(): void;
  /** "Open a document…" from a file (clinical roles only). */
  openDocument?(file: File): void;
}

/** The outcome of "Remove my offline records", shown at the foot of the screen. */
export interface OfflineRemoval {
  removed?: number;
  error?: string;
}

function field(id: string, label: string, attrs: Record<string, string> = {}): HTMLElement {
  return h(
    "div",
    { class: "nhsuk-form-group" },
    h("label", { class: "nhsuk-label", for: id }, label),
    h("input", { class: "nhsuk-input", id, name: id, type: "text", autocomplete: "off", ...attrs }),
  );
}

export function findScreen(actions: FindActions, error?: string, results?: PatientView[], removal?: OfflineRemoval): void {
  const nhsInput = h("input", {
    class: "nhsuk-input nhsuk-input--width-10",
    id: "nhs-number",
    name: "nhs-number",
    type: "text",
    inputmode: "numeric",
    autocomplete: "off",
    "aria-describedby": "nhs-number-hint nhs-number-check",
  }) as HTMLInputElement;
  const check = h("p", { class: "nhsuk-hint", id: "nhs-number-check", "aria-live": "polite" });
  nhsInput.addEventListener("input", () => {
    const typed = nhsInput.value.replace(/[\s-]/g, "");
    if (typed.length < 10) {
      check.textContent = "";
      return;
    }
    const r = checkNhsNumber(nhsInput.value);
    check.textContent = r.ok ? `Valid: ${formatNhsNumber(r.digits)}` : r.reason;
    check.dataset.valid = String(r.ok);
  });
  const numberForm = h(
    "form",
    { id: "nhs-form", novalidate: true },
    h(
      "div",
      { class: "nhsuk-form-group" },
      h("label", { class: "nhsuk-label nhsuk-label--m", for: "nhs-number" }, "NHS number"),
      h("div", { class: "nhsuk-hint", id: "nhs-number-hint" }, "10 digits, for example 943 476 5919"),
      nhsInput,
      check,
    ),
    button("Find by NHS number", { id: "find-by-number" }),
  ) as HTMLFormElement;
  numberForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const r = checkNhsNumber(nhsInput.value);
    if (r.ok) actions.byNumber(r.digits);
    else {
      check.textContent = r.reason;
      check.dataset.valid = "false";
      nhsInput.focus();
    }
  });

  const detailsForm = h(
    "form",
    { id: "trace-form", novalidate: true },
    h("h2", { class: "nhsuk-heading-m" }, "Or search by details"),
    field("family", "Last name"),
    field("given", "First name"),
    field("birth-date", "Date of birth (DD-MM-YYYY)", { inputmode: "numeric" }),
    h(
      "div",
      { class: "nhsuk-form-group" },
      h("label", { class: "nhsuk-label", for: "gender" }, "Gender (optional)"),
      h(
        "select",
        { class: "nhsuk-select", id: "gender", name: "gender" },
        h("option", { value: "" }, "Any"),
        h("option", { value: "female" }, "Female"),
        h("option", { value: "male" }, "Male"),
        h("option", { value: "other" }, "Other"),
      ),
    ),
    field("postcode", "Postcode (optional)", { class: "nhsuk-input nhsuk-input--width-10" }),
    button("Search", { id: "find-by-details", class: "nhsuk-button nhsuk-button--secondary" }),
  ) as HTMLFormElement;
  detailsForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = (id: string) => (detailsForm.querySelector<HTMLInputElement>(`#${id}`)?.value ?? "").trim();
    const dob = /^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})$/.exec(v("birth-date"));
    const birthDate = dob ? `${dob[3]}-${dob[2]!.padStart(2, "0")}-${dob[1]!.padStart(2, "0")}` : "";
    actions.byDetails({
      family: v("family"),
      given: v("given") || null,
      birthDate,
      gender: (detailsForm.querySelector<HTMLSelectElement>("#gender")?.value || null) as string | null,
      postcode: v("postcode") || null,
    });
  });

  const resultList = results
    ? results.length === 0
      ? h("p", { id: "trace-results", "data-count": "0" }, "No patients match these details.")
      : h(
          "table",
          { class: "nhsuk-table", id: "trace-results", "data-count": String(results.length) },
          h("caption", { class: "nhsuk-table__caption" }, "Matching patients, best match first"),
          h(
            "thead",
            { class: "nhsuk-table__head" },
            h(
              "tr",
              {},
              ...["Name", "Born", "Gender", "Address", "NHS number", "Match", ""].map((t) =>
                h("th", { scope: "col" }, t),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            ...results.map((p) => {
              const select = h(
                "button",
                { class: "nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0", type: "button" },
                "Select",
              );
              select.addEventListener("click", () => actions.choose(p));
              return h(
                "tr",
                { class: "nhsuk-table__row" },
                h("td", {}, formatName(p)),
                h("td", {}, formatDate(p.birthDate)),
                h("td", {}, formatGender(p.gender)),
                h("td", {}, [...p.addressLines, p.postcode ?? ""].filter(Boolean).join(", ")),
                h("td", { class: "scr-nhs-number" }, formatNhsNumber(p.nhsNumber)),
                h("td", {}, p.score === null ? "" : `${Math.round(p.score * 100)}%`),
                h("td", {}, select),
              );
            }),
          ),
        )
    : null;

  show(
    h("h1", {}, "Find a patient"),
    error ? errorSummary("Patient search failed", error) : null,
    numberForm,
    detailsForm,
    resultList ?? "",
    actions.openDocument ? documentSection(actions.openDocument) : null,
    actions.removeOffline ? offlineSection(() => actions.removeOffline?.(), removal) : null,
  );
}

function documentSection(open: (file: File) => void): HTMLElement {
  return h(
    "section",
    { class: "scr-no-print nhsuk-u-margin-top-7", id: "document-section", "aria-labelledby": "document-section-title" },
    h("h2", { class: "nhsuk-heading-s", id: "document-section-title" }, "A document from another system"),
    openDocumentControl(open),
  );
}

function offlineSection(remove: () => void, removal?: OfflineRemoval): HTMLElement {
  return h(
    "section",
    { class: "scr-no-print nhsuk-u-margin-top-7", id: "offline-section", "aria-labelledby": "offline-section-title" },
    h("h2", { class: "nhsuk-heading-s", id: "offline-section-title" }, "Offline records on this computer"),
    removal?.error ? errorSummary("Offline records could not be removed", removal.error, "remove-offline-error") : null,
    removal?.removed !== undefined
      ? h("div", { class: "nhsuk-inset-text", id: "offline-removed", role: "status" }, h("p", {}, removedText(removal.removed)))
      : h(
          "p",
          { class: "nhsuk-body-s" },
          "Copies of the records you view may be kept, encrypted, on this computer for working offline. You can remove yours at any time.",
        ),
    removeOfflineControl(remove),
  );
}
