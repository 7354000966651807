// The privacy officer's "Who has viewed this record": an NHS number, then every summary read
// of that patient in the officer's organisations (refusals too), newest first. The rows are
// built here for the alert's detail as well (the user's other accesses around it).
import type { TrailEntryView } from "../generated/types";
import type { AppError } from "../errors";
import { errorTitle } from "../errors";
import { h, show, button, errorSummary } from "../dom";
import { checkNhsNumber, formatDate, formatNhsNumber } from "../format";

/** `Dr Amara Okafor (555000000101)`; an entry from before sign-in has no one. */
export function whoText(e: Pick<TrailEntryView, "userName" | "userId">): string {
  const name = e.userName ?? "Not known";
  return e.userId ? `${name} (${e.userId})` : name;
}

/** What came of it: shown, or refused and why (the spine's code in words). */
export function outcomeText(e: Pick<TrailEntryView, "outcome" | "refusal" | "action">): string {
  if (e.outcome === "success") return e.action === "summary-read" ? "Record shown" : "Done";
  const why = e.refusal ? errorTitle({ code: e.refusal, message: e.refusal } as AppError) : null;
  const what = e.outcome === "not-found" ? "Not found" : e.outcome === "invalid" ? "Not valid" : "Refused";
  return why ? `${what}: ${why}` : what;
}

/** One table of trail entries; `columns` picks who or which patient is shown. */
export function trailTable(
  id: string,
  entries: TrailEntryView[],
  columns: { who: boolean; patient: boolean },
  markId?: string,
): HTMLElement {
  const heads = [
    "When",
    ...(columns.who ? ["Who", "Organisation"] : []),
    ...(columns.patient ? ["Patient"] : []),
    "Answer",
    "Relationship",
    "Outcome",
    "Reason given",
  ];
  return h(
    "table",
    { class: "nhsuk-table", id, "data-count": String(entries.length) },
    h("thead", {}, h("tr", {}, ...heads.map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      ...entries.map((e) =>
        h(
          "tr",
          { class: "scr-trail-row", "data-id": e.id, "data-outcome": e.outcome },
          h("td", {}, formatDate(e.at), e.id === markId ? h("strong", {}, " (this alert)") : null),
          ...(columns.who ? [h("td", {}, whoText(e)), h("td", {}, e.orgOds ?? "Not known")] : []),
          ...(columns.patient ? [h("td", { class: "scr-nhs-number" }, formatNhsNumber(e.nhsNumber) || "None")] : []),
          h("td", {}, e.answer ?? ""),
          h("td", {}, e.relationship ?? ""),
          h("td", {}, outcomeText(e)),
          h("td", {}, e.reasonGiven ?? ""),
        ),
      ),
    ),
  );
}

export interface TrailActions {
  search(nhsNumber: string): void;
  back(): void;
}

export interface TrailState {
  nhsNumber?: string;
  entries?: TrailEntryView[];
  error?: AppError;
}

export function trailScreen(state: TrailState, actions: TrailActions): void {
  const input = h("input", {
    class: "nhsuk-input nhsuk-input--width-10",
    id: "trail-nhs",
    name: "trail-nhs",
    type: "text",
    inputmode: "numeric",
    autocomplete: "off",
    value: state.nhsNumber ? formatNhsNumber(state.nhsNumber) : undefined,
    "aria-describedby": "trail-nhs-hint trail-nhs-check",
  }) as HTMLInputElement;
  const check = h("p", { class: "nhsuk-hint", id: "trail-nhs-check", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "trail-form", novalidate: true },
    h(
      "div",
      { class: "nhsuk-form-group" },
      h("label", { class: "nhsuk-label nhsuk-label--m", for: "trail-nhs" }, "NHS number"),
      h("div", { class: "nhsuk-hint", id: "trail-nhs-hint" }, "10 digits, for example 943 476 5919"),
      input,
      check,
    ),
    button("Show who has viewed it", { id: "show-trail" }),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const r = checkNhsNumber(input.value);
    if (r.ok) actions.search(r.digits);
    else {
      check.textContent = r.reason;
      check.dataset.valid = "false";
      input.focus();
    }
  });
  const back = button("Back to alerts", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "back-to-alerts" });
  back.addEventListener("click", () => actions.back());
  let results: HTMLElement | null = null;
  if (state.entries && state.nhsNumber) {
    results =
      state.entries.length === 0
        ? h("p", { id: "trail", "data-count": "0" }, `Nobody in your organisations has opened the record of ${formatNhsNumber(state.nhsNumber)}.`)
        : h(
            "div",
            {},
            h("h2", { class: "nhsuk-heading-m" }, `Summary record accesses for ${formatNhsNumber(state.nhsNumber)}, newest first`),
            trailTable("trail", state.entries, { who: true, patient: false }),
          );
  }
  show(
    h("h1", {}, "Who has viewed this record"),
    h("p", {}, "Every time someone in your organisations opened, or was refused, this patient's Summary Care Record."),
    state.error ? errorSummary(errorTitle(state.error), state.error.message, "trail-error") : null,
    form,
    results,
    back,
  );
}
