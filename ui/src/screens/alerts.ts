// The privacy officer's alerts (the national service's "Spine Alert Viewer"): emergency
// access, self-claimed relationships, volume limits, raised in the officer's organisations.
// The list, newest first, with filters; an alert's detail with the user's other accesses
// from 12 hours before to 12 hours after it; "Mark as reviewed" with a required note.
// Everything from the trail goes into the page as text (dom.ts's h), never as markup.
import type { AlertFilter, AlertView, TrailEntryView } from "../generated/types";
import type { AppError } from "../errors";
import { errorTitle } from "../errors";
import { h, show, button, errorSummary } from "../dom";
import { checkNhsNumber, formatDate, formatNhsNumber } from "../format";
import { countChars, countedTextarea, MAX_REASON_CHARS } from "../charcount";
import { outcomeText, trailTable, whoText } from "./trail";

/** The kinds of an alert, in words: `Emergency access, Many records opened (…)`. */
export function kindsText(a: AlertView): string {
  return a.kinds.map((k) => k.words).join(", ") || "Alert";
}

/** `12-03-2026` (or `12/3/2026`) → `2026-03-12`; blank → null; anything else → undefined. */
export function dayFromInput(input: string): string | null | undefined {
  const t = input.trim();
  if (t === "") return null;
  const m = /^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})$/.exec(t);
  if (!m) return undefined;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  return `${m[3]}-${m[2]!.padStart(2, "0")}-${m[1]!.padStart(2, "0")}`;
}

/** `2026-03-12` → `12-03-2026`, for putting a filter back in its field. */
function dayForInput(day: string | null): string {
  const m = day ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(day) : null;
  return m ? `${m[3]}-${m[2]}-${m[1]}` : "";
}

export type FilterRead = { ok: true; filter: AlertFilter } | { ok: false; problems: string[] };

/** The filter form's values, checked: an NHS number's check digit, real dates in order. */
export function readFilter(values: {
  status: string;
  userId: string;
  nhsNumber: string;
  organisation: string;
  from: string;
  to: string;
}): FilterRead {
  const problems: string[] = [];
  const status = values.status === "reviewed" || values.status === "all" ? values.status : "open";
  let nhsNumber: string | null = null;
  if (values.nhsNumber.trim() !== "") {
    const r = checkNhsNumber(values.nhsNumber);
    if (r.ok) nhsNumber = r.digits;
    else problems.push(`NHS number: ${r.reason}.`);
  }
  const from = dayFromInput(values.from);
  const to = dayFromInput(values.to);
  if (from === undefined) problems.push("From: enter a date as DD-MM-YYYY, for example 01-03-2026.");
  if (to === undefined) problems.push("To: enter a date as DD-MM-YYYY, for example 12-03-2026.");
  if (from && to && from > to) problems.push("The from date is after the to date.");
  if (problems.length > 0) return { ok: false, problems };
  const text = (v: string) => (v.trim() === "" ? null : v.trim());
  return {
    ok: true,
    filter: {
      status,
      userId: text(values.userId),
      nhsNumber,
      organisation: text(values.organisation)?.toUpperCase() ?? null,
      from: from ?? null,
      to: to ?? null,
    },
  };
}

export const OPEN_ALERTS: AlertFilter = { status: "open", userId: null, nhsNumber: null, organisation: null, from: null, to: null };

export interface AlertListActions {
  filter(f: AlertFilter): void;
  open(alert: AlertView): void;
  whoHasViewed(): void;
}

export interface AlertListState {
  filter: AlertFilter;
  alerts?: AlertView[];
  error?: AppError;
  /** Said above the list (after a review). */
  notice?: string;
}

function field(id: string, label: string, value: string, attrs: Record<string, string> = {}): HTMLElement {
  return h(
    "div",
    { class: "nhsuk-form-group scr-filter" },
    h("label", { class: "nhsuk-label", for: id }, label),
    h("input", { class: "nhsuk-input", id, name: id, type: "text", autocomplete: "off", value, ...attrs }),
  );
}

function filterForm(f: AlertFilter, onFilter: (f: AlertFilter) => void): HTMLElement {
  const problem = h("div", { id: "filter-problem" });
  const option = (value: string, label: string) => h("option", { value, selected: f.status === value }, label);
  const form = h(
    "form",
    { id: "alert-filters", novalidate: true, class: "scr-filters" },
    problem,
    h(
      "div",
      { class: "scr-filter-row" },
      h(
        "div",
        { class: "nhsuk-form-group scr-filter" },
        h("label", { class: "nhsuk-label", for: "alert-status" }, "Status"),
        h("select", { class: "nhsuk-select", id: "alert-status", name: "alert-status" }, option("open", "Open"), option("reviewed", "Reviewed"), option("all", "All")),
      ),
      field("alert-user", "User ID", f.userId ?? "", { inputmode: "numeric", class: "nhsuk-input nhsuk-input--width-10" }),
      field("alert-nhs", "NHS number", f.nhsNumber ? formatNhsNumber(f.nhsNumber) : "", { inputmode: "numeric", class: "nhsuk-input nhsuk-input--width-10" }),
      field("alert-org", "Organisation (ODS code)", f.organisation ?? "", { class: "nhsuk-input nhsuk-input--width-5" }),
      field("alert-from", "From (DD-MM-YYYY)", dayForInput(f.from), { inputmode: "numeric", class: "nhsuk-input nhsuk-input--width-10" }),
      field("alert-to", "To (DD-MM-YYYY)", dayForInput(f.to), { inputmode: "numeric", class: "nhsuk-input nhsuk-input--width-10" }),
    ),
    button("Apply filters", { id: "apply-filters", class: "nhsuk-button nhsuk-button--secondary" }),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = (id: string) => form.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`)?.value ?? "";
    const read = readFilter({
      status: v("alert-status"),
      userId: v("alert-user"),
      nhsNumber: v("alert-nhs"),
      organisation: v("alert-org"),
      from: v("alert-from"),
      to: v("alert-to"),
    });
    if (!read.ok) {
      problem.replaceChildren(
        h(
          "div",
          { class: "nhsuk-error-summary", role: "alert", tabindex: "-1", id: "filter-error" },
          h("h2", { class: "nhsuk-error-summary__title" }, "There is a problem with the filters"),
          h("div", { class: "nhsuk-error-summary__body" }, h("ul", { class: "nhsuk-list nhsuk-error-summary__list" }, ...read.problems.map((p) => h("li", {}, p)))),
        ),
      );
      return;
    }
    onFilter(read.filter);
  });
  return form;
}

function emptyText(f: AlertFilter): string {
  const which = f.status === "open" ? "open alerts" : f.status === "reviewed" ? "reviewed alerts" : "alerts";
  const narrowed = f.userId || f.nhsNumber || f.organisation || f.from || f.to;
  return `There are no ${which}${narrowed ? " matching these filters" : ""}.`;
}

export function alertRow(a: AlertView, onOpen: (a: AlertView) => void): HTMLElement {
  const open = button("View", { type: "button", class: "nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0 scr-open-alert" });
  open.addEventListener("click", () => onOpen(a));
  const e = a.entry;
  return h(
    "tr",
    { class: "scr-alert-row", "data-id": e.id, "data-status": a.status },
    h("td", { class: "scr-alert-when" }, formatDate(e.at)),
    h("td", { class: "scr-alert-who" }, whoText(e)),
    h("td", { class: "scr-alert-org" }, e.orgOds ?? "Not known"),
    h("td", { class: "scr-alert-patient scr-nhs-number" }, formatNhsNumber(e.nhsNumber) || "None"),
    h("td", { class: "scr-alert-kind" }, kindsText(a)),
    h("td", { class: "scr-alert-reason" }, e.reasonGiven ?? "None given"),
    h("td", {}, a.status === "open" ? h("strong", { class: "nhsuk-tag nhsuk-tag--yellow" }, "Open") : h("strong", { class: "nhsuk-tag nhsuk-tag--grey" }, "Reviewed")),
    h("td", {}, open),
  );
}

export function alertsScreen(state: AlertListState, actions: AlertListActions): void {
  const who = button("Who has viewed this record", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "who-viewed" });
  who.addEventListener("click", () => actions.whoHasViewed());
  let list: HTMLElement | null = null;
  if (state.alerts) {
    list =
      state.alerts.length === 0
        ? h("p", { id: "alerts", "data-count": "0" }, emptyText(state.filter))
        : h(
            "table",
            { class: "nhsuk-table", id: "alerts", "data-count": String(state.alerts.length) },
            h("caption", { class: "nhsuk-table__caption" }, "Newest first"),
            h(
              "thead",
              {},
              h("tr", {}, ...["When", "Who", "Organisation", "Patient", "Alert", "Reason given", "Status", ""].map((t) => h("th", { scope: "col" }, t))),
            ),
            h("tbody", {}, ...state.alerts.map((a) => alertRow(a, actions.open))),
          );
  }
  show(
    h("h1", {}, "Alerts"),
    h("p", {}, "Emergency access, self-claimed relationships and volume limits in your organisations."),
    state.notice ? h("div", { class: "nhsuk-inset-text", id: "alerts-notice", role: "status" }, h("p", {}, state.notice)) : null,
    state.error ? errorSummary(errorTitle(state.error), state.error.message, "alerts-error") : null,
    filterForm(state.filter, actions.filter),
    list,
    who,
  );
}

export type Note = { ok: true; note: string } | { ok: false; problem: string };

/** A review's note: required, and at most what the spine keeps. */
export function readNote(text: string): Note {
  const n = countChars(text);
  if (n === 0) return { ok: false, problem: "Write a note saying what you found." };
  if (n > MAX_REASON_CHARS) return { ok: false, problem: `The note must be ${MAX_REASON_CHARS} characters or fewer; it has ${n}.` };
  return { ok: true, note: text.trim() };
}

export interface AlertDetailActions {
  review(alert: AlertView, note: string): void;
  back(): void;
}

export interface AlertDetailState {
  alert: AlertView;
  /** The user's summary reads around the alert, or why they could not be read. */
  around?: TrailEntryView[] | AppError;
  /** The spine refused the review. */
  error?: AppError;
}

function row(key: string, value: string, id?: string): HTMLElement {
  return h(
    "div",
    { class: "nhsuk-summary-list__row" },
    h("dt", { class: "nhsuk-summary-list__key" }, key),
    h("dd", { class: "nhsuk-summary-list__value", ...(id ? { id } : {}) }, value),
  );
}

export function alertDetailScreen(state: AlertDetailState, actions: AlertDetailActions): void {
  const a = state.alert;
  const e = a.entry;
  const back = button("Back to alerts", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "back-to-alerts" });
  back.addEventListener("click", () => actions.back());
  const details = h(
    "dl",
    { class: "nhsuk-summary-list", id: "alert-details" },
    row("When", formatDate(e.at), "alert-when"),
    row("Who", whoText(e), "alert-who"),
    row("Organisation", e.orgOds ?? "Not known", "alert-org"),
    row("Patient (NHS number)", formatNhsNumber(e.nhsNumber) || "None", "alert-patient"),
    row("Alert", kindsText(a), "alert-kind"),
    row("Did the patient give permission?", e.answer ?? "Not asked"),
    row("Reason given", e.reasonGiven ?? "None given", "alert-reason"),
    row("Relationship", e.relationship ?? "Not recorded", "alert-relationship"),
    row("Outcome", outcomeText(e)),
    row("Status", a.status === "open" ? "Open" : "Reviewed", "alert-status"),
    ...(a.review
      ? [
          row("Reviewed by", a.review.reviewedBy, "alert-reviewed-by"),
          row("Reviewed", formatDate(a.review.reviewedAt)),
          row("Review note", a.review.note, "alert-review-note"),
        ]
      : []),
  );
  let review: HTMLElement | null = null;
  if (a.status === "open") {
    const { group, textarea } = countedTextarea("review-note", "Review note", "What you checked and found. It is kept with the review in the audit trail.");
    const problem = h("div", { id: "review-problem" });
    const form = h(
      "form",
      { id: "review-form", novalidate: true },
      h("h2", { class: "nhsuk-heading-m" }, "Mark as reviewed"),
      problem,
      group,
      button("Mark as reviewed", { id: "mark-reviewed" }),
    ) as HTMLFormElement;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const note = readNote(textarea.value);
      if (!note.ok) {
        problem.replaceChildren(errorSummary("There is a problem", note.problem, "review-error"));
        return;
      }
      actions.review(a, note.note);
    });
    review = form;
  }
  let around: HTMLElement;
  const heading = h("h2", { class: "nhsuk-heading-m" }, `Other records ${e.userName ?? "this user"} opened from 12 hours before to 12 hours after`);
  if (state.around === undefined) around = h("div", { id: "around" }, heading, h("p", { role: "status" }, "Reading the audit trail…"));
  else if (!Array.isArray(state.around)) around = h("div", { id: "around" }, heading, errorSummary(errorTitle(state.around), state.around.message, "around-error"));
  else if (state.around.length === 0) around = h("div", { id: "around" }, heading, h("p", {}, "None recorded."));
  else around = h("div", { id: "around" }, heading, trailTable("around-trail", state.around, { who: false, patient: true }, e.id));
  show(
    h("h1", { class: "nhsuk-heading-l" }, `Alert: ${kindsText(a)}`),
    state.error ? errorSummary(errorTitle(state.error), state.error.message, "review-refused") : null,
    details,
    review,
    around,
    back,
  );
}
