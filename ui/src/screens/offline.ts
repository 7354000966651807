// Offline mode: the records this user viewed recently on this computer, opened from its
// encrypted cache when the spine cannot be reached (or the user chose to work offline).
// Searching is not possible; every copy says when it was fetched.
import type { OfflineEntryView } from "../generated/types";
import { h, show, button, errorSummary } from "../dom";
import { formatDate, formatName, formatNhsNumber } from "../format";

export interface OfflineList {
  entries: OfflineEntryView[];
  /** Entries found altered or moved, deleted by the Rust side and not shown. */
  removedAltered: number;
}

export interface OfflineActions {
  open(nhsNumber: string): void;
  remove(): void;
}

export interface OfflineScreenOptions {
  /** Signed in offline because the spine could not be reached. */
  fallback?: boolean;
  /** Why the last action failed (the message of an AppError, e.g. OFFLINE_RECORD_GONE). */
  error?: { title: string; message: string };
  /** How many records "Remove my offline records" has just removed. */
  removed?: number;
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

export function removedText(n: number): string {
  return `${n} offline ${plural(n, "record", "records")} removed from this computer.`;
}

export function alteredText(n: number): string {
  return `${n} offline ${plural(n, "record had", "records had")} been altered and ${plural(n, "was", "were")} deleted without being shown.`;
}

/** The once-per-run notice after an online sign-in when the cache is off. */
export function cacheOffNotice(reason: string): HTMLElement {
  return h(
    "div",
    { class: "nhsuk-inset-text", id: "cache-off-notice" },
    h("p", {}, `Offline records are off on this computer: ${reason} The app works online as usual.`),
  );
}

/**
 * "Remove my offline records", asking first. `onConfirm` runs once the user says yes; the
 * caller then shows the outcome (the screen is redrawn).
 */
export function removeOfflineControl(onConfirm: () => void): HTMLElement {
  const start = button("Remove my offline records", {
    type: "button",
    id: "remove-offline",
    class: "nhsuk-button nhsuk-button--warning",
  });
  const yes = button("Yes, remove them", {
    type: "button",
    id: "confirm-remove-offline",
    class: "nhsuk-button nhsuk-button--warning",
  });
  const no = button("Cancel", {
    type: "button",
    id: "cancel-remove-offline",
    class: "nhsuk-button nhsuk-button--secondary",
  });
  const confirm = h(
    "div",
    { class: "nhsuk-warning-callout", id: "remove-offline-confirm", hidden: true },
    h("h2", { class: "nhsuk-warning-callout__label", id: "remove-offline-confirm-title" }, "Remove your offline records?"),
    h(
      "p",
      {},
      "This deletes the offline copies of the records you viewed from this computer. It cannot be undone. The records themselves stay on the Summary Care Record service.",
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
  yes.addEventListener("click", () => {
    yes.disabled = true;
    no.disabled = true;
    onConfirm();
  });
  return h("div", { class: "scr-remove-offline scr-no-print", id: "remove-offline-control" }, start, confirm);
}

function entryRow(entry: OfflineEntryView, actions: OfflineActions): HTMLElement {
  const p = entry.patient;
  const name = p ? formatName(p) : "Name not available";
  const born = p ? formatDate(p.birthDate) || "Not recorded" : "Not available";
  const view = button("View", {
    type: "button",
    class: "nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0 open-offline",
    "aria-label": `View ${name}, NHS number ${formatNhsNumber(entry.nhsNumber)}`,
  });
  view.addEventListener("click", () => actions.open(entry.nhsNumber));
  return h(
    "tr",
    { class: "nhsuk-table__row offline-record", "data-nhs": entry.nhsNumber },
    h(
      "td",
      { class: "offline-name" },
      h("strong", {}, name),
      entry.emergency ? " " : null,
      entry.emergency ? h("strong", { class: "nhsuk-tag nhsuk-tag--red offline-emergency" }, "Emergency access") : null,
    ),
    h("td", { class: "offline-born" }, born),
    h("td", { class: "scr-nhs-number offline-nhs-number" }, formatNhsNumber(entry.nhsNumber)),
    h(
      "td",
      { class: "offline-copy" },
      h("span", { class: "offline-fetched" }, `Fetched ${formatDate(entry.fetchedAt)}`),
      h("br", {}),
      h("span", { class: "nhsuk-body-s offline-viewed" }, `Last viewed ${formatDate(entry.viewedAt)}`),
    ),
    h("td", {}, view),
  );
}

export function offlineScreen(list: OfflineList, actions: OfflineActions, opts: OfflineScreenOptions = {}): void {
  const records =
    list.entries.length === 0
      ? h("p", { id: "offline-empty" }, "You have no offline records on this computer.")
      : h(
          "table",
          { class: "nhsuk-table", id: "offline-records", "data-count": String(list.entries.length) },
          h("caption", { class: "nhsuk-table__caption" }, "Offline records, as saved on this computer"),
          h(
            "thead",
            { class: "nhsuk-table__head" },
            h("tr", {}, ...["Name", "Born", "NHS number", "Offline copy", ""].map((t) => h("th", { scope: "col" }, t))),
          ),
          h("tbody", {}, ...list.entries.map((e) => entryRow(e, actions))),
        );
  show(
    h("h1", { id: "offline-heading" }, "Offline — recently viewed records"),
    opts.fallback
      ? h(
          "div",
          { class: "nhsuk-inset-text", id: "offline-fallback-notice" },
          h("p", {}, "The Summary Care Record service cannot be reached, so you are working offline."),
        )
      : null,
    opts.error ? errorSummary(opts.error.title, opts.error.message, "offline-error") : null,
    opts.removed !== undefined
      ? h("div", { class: "nhsuk-inset-text", id: "offline-removed", role: "status" }, h("p", {}, removedText(opts.removed)))
      : null,
    list.removedAltered > 0
      ? errorSummary("Some offline records were deleted", alteredText(list.removedAltered), "offline-altered")
      : null,
    h(
      "p",
      { id: "offline-explainer" },
      "You are working offline: searching the Summary Care Record service is not available. These are the records you viewed on this computer recently, as they were when fetched.",
    ),
    records,
    removeOfflineControl(() => actions.remove()),
  );
}
