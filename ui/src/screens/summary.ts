// 6. The summary: banner (and, under it, a volume warning when the spine sent one), then the
// allergy section first and always in view (sticky), in
// one of five states that never look alike; then medication, problems, Additional
// Information (additional.ts), provenance. A copy
// from the offline cache says so above the allergies, in the same sticky block, and so do
// the patient's flags (flags.ts: a death, a restricted record, reasonable adjustments, a
// child protection plan, other alerts), above both; so does, just above the allergies, what
// changed since this user last looked on this computer (changes.ts). A section
// with no coded entries but text of its own shows that text; beside coded entries the
// document's own text is one click away.
import type { AllergySection, DocumentText, MedicationView, SummaryView } from "../generated/types";
import { h, show, button } from "../dom";
import { formatDate, formatDay } from "../format";
import { patientBanner } from "./banner";
import { flagBanners, type CpAttendance } from "./flags";
import { additionalSection } from "./additional";
import { sectionIndex, type IndexEntry } from "./section-index";
import { printControls } from "../print";
import { changesBlock } from "./changes";

/** A section's own text, rebuilt from plain-text blocks (the document's markup never
 * reaches the page). */
export function documentText(text: DocumentText, id?: string): HTMLElement {
  const out: HTMLElement[] = [];
  let list: HTMLElement | null = null;
  let table: HTMLElement | null = null;
  for (const b of text.blocks) {
    if (b.kind !== "item") list = null;
    if (b.kind !== "row") table = null;
    switch (b.kind) {
      case "heading":
        out.push(h("h4", { class: "nhsuk-heading-xs" }, b.text));
        break;
      case "paragraph":
        out.push(h("p", {}, b.text));
        break;
      case "item":
        if (!list) {
          list = h("ul", { class: "nhsuk-list nhsuk-list--bullet" });
          out.push(list);
        }
        list.append(h("li", {}, b.text));
        break;
      case "row":
        if (!table) {
          table = h("table", { class: "nhsuk-table" });
          out.push(table);
        }
        table.append(h("tr", {}, ...b.cells.map((c) => h("td", {}, c))));
        break;
    }
  }
  if (!text.complete) {
    out.push(h("p", { class: "scr-text-cut" }, h("strong", {}, "More text was sent than could be read or shown here.")));
  }
  return h("div", { class: "scr-document-text", ...(id ? { id } : {}) }, ...out);
}

/** Whose record a section comes from, for its words: the GP record (the SCR), or a document
 * opened from a file. */
export type RecordSource = "gp" | "document";

/** "Show the document's own text", beside coded entries. */
export function ownText(text: DocumentText | null, id: string): HTMLElement | null {
  if (!text) return null;
  return h(
    "details",
    { class: "nhsuk-details scr-no-print", id },
    h("summary", { class: "nhsuk-details__summary" }, h("span", { class: "nhsuk-details__summary-text" }, "Show the document's own text")),
    h("div", { class: "nhsuk-details__text" }, documentText(text)),
  );
}

export function allergySection(section: AllergySection | { state: "unavailable"; message: string }, source: RecordSource = "gp"): HTMLElement {
  const record = source === "gp" ? "The GP record" : "This document";
  const heading = (text: string) => h("h2", { class: "nhsuk-heading-m", id: "allergies-heading" }, text);
  const common = { id: "allergies", role: "region", "aria-labelledby": "allergies-heading", "aria-live": "polite" };
  switch (section.state) {
    case "known":
      return h(
        "section",
        { ...common, class: "scr-allergies scr-allergies--known", "data-state": "known" },
        heading(`Allergies and adverse reactions (${section.allergies.length})`),
        h(
          "table",
          { class: "nhsuk-table" },
          h("thead", {}, h("tr", {}, ...["Substance", "Reaction", "Severity", "Status"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            ...section.allergies.map((a) =>
              h(
                "tr",
                { class: "scr-allergy" },
                h("td", {}, h("strong", {}, a.substance)),
                h("td", {}, a.reaction ?? "Not recorded"),
                h("td", {}, `${a.severity ?? "Not recorded"}${a.highCriticality ? " (high risk)" : ""}`),
                h(
                  "td",
                  {},
                  a.unconfirmed ? h("span", { class: "scr-unconfirmed" }, "Unconfirmed") : "Confirmed",
                  a.recorded ? ` · recorded ${formatDate(a.recorded)}` : "",
                ),
              ),
            ),
          ),
        ),
      );
    case "noKnownAllergies":
      return h(
        "section",
        { ...common, class: "scr-allergies scr-allergies--nka", "data-state": "noKnownAllergies" },
        heading("Allergies and adverse reactions"),
        h(
          "p",
          { class: "nhsuk-body-l" },
          h("strong", {}, "No known allergies"),
          section.recorded ? ` (recorded ${formatDate(section.recorded)})` : source === "gp" ? " (recorded by the GP practice)" : " (as the document records it)",
        ),
      );
    case "notRecorded":
      return h(
        "section",
        { ...common, class: "scr-allergies scr-allergies--not-recorded", "data-state": "notRecorded" },
        heading("Allergies and adverse reactions"),
        h(
          "div",
          { class: "nhsuk-warning-callout" },
          h("h3", { class: "nhsuk-warning-callout__label" }, h("span", { role: "text" }, "Allergy information not recorded")),
          h("p", {}, `${record} has no allergy entry and no record of “no known allergies”. Do not assume the patient has no allergies: ask the patient or their carer.`),
        ),
      );
    case "describedInText":
      return h(
        "section",
        { ...common, class: "scr-allergies scr-allergies--text-only", "data-state": "describedInText" },
        heading("Allergies and adverse reactions"),
        h(
          "div",
          { class: "scr-text-only-callout" },
          h("h3", { class: "scr-text-only-callout__label" }, "Allergies described in text only"),
          h("p", {}, `${record} sent its allergy information as text, not as coded entries. Read all of it: it may name allergies.`),
          documentText(section.text, "allergies-text"),
        ),
      );
    case "unavailable":
      return h(
        "section",
        { ...common, class: "scr-allergies scr-allergies--unavailable", "data-state": "unavailable" },
        heading("Allergies and adverse reactions"),
        h(
          "div",
          { class: "nhsuk-error-summary", role: "alert" },
          h("h3", { class: "nhsuk-error-summary__title" }, "Allergy information unavailable"),
          h("p", {}, `The summary could not be fetched: ${section.message} Nothing is known about this patient's allergies from this record.`),
        ),
      );
  }
}

function medicationTable(id: string, title: string, meds: MedicationView[], empty: string): HTMLElement {
  if (meds.length === 0) {
    return h("section", { id }, h("h2", { class: "nhsuk-heading-m" }, title), h("p", {}, empty));
  }
  return h(
    "section",
    { id },
    h("h2", { class: "nhsuk-heading-m" }, title),
    h(
      "table",
      { class: "nhsuk-table" },
      h("thead", {}, h("tr", {}, ...["Medicine", "Dosage", "Quantity", "Dates"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        ...meds.map((m) =>
          h(
            "tr",
            {},
            h("td", {}, m.medicine, m.reason ? h("span", { class: "scr-med-reason" }, `Reason: ${m.reason}`) : null),
            h("td", {}, m.dosage ?? ""),
            h("td", {}, m.quantity ?? ""),
            h(
              "td",
              {},
              [
                m.started ? `started ${formatDate(m.started)}` : "",
                m.lastIssued ? `last issued ${formatDate(m.lastIssued)}` : "",
                m.discontinued ? `stopped ${formatDate(m.discontinued)}` : "",
              ]
                .filter(Boolean)
                .join(" · "),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A section with no coded entries but text of its own: the text, never "none recorded". */
function textOnlySection(id: string, title: string, text: DocumentText, source: RecordSource): HTMLElement {
  return h(
    "section",
    { id, class: "scr-section--text-only", "data-state": "describedInText" },
    h("h2", { class: "nhsuk-heading-m" }, title),
    h("p", { class: "scr-text-only-note" }, h("strong", {}, "Described in text only"), `: ${source === "gp" ? "the GP record" : "the document"} sent this as text, not as coded entries.`),
    documentText(text, `${id}-text`),
  );
}

export function medicationSections(s: SummaryView, source: RecordSource = "gp"): (HTMLElement | null)[] {
  const none = s.repeatMedication.length + s.acuteMedication.length + s.discontinuedMedication.length === 0;
  if (none && s.documentText.medication) {
    return [textOnlySection("medication", "Medication", s.documentText.medication, source)];
  }
  return [
    medicationTable("repeat-medication", "Current repeat medication", s.repeatMedication, "No current repeat medication."),
    medicationTable("acute-medication", "Acute medication (last 12 months)", s.acuteMedication, "No acute medication in the last 12 months."),
    medicationTable("discontinued-medication", "Recently discontinued medication", s.discontinuedMedication, "No recently discontinued medication."),
    ownText(s.documentText.medication, "medication-own-text"),
  ];
}

export function problemSection(s: SummaryView, source: RecordSource = "gp"): HTMLElement {
  if (s.problems.length === 0 && s.documentText.problems) {
    return textOnlySection("problems", "Significant problems", s.documentText.problems, source);
  }
  return h(
    "section",
    { id: "problems" },
    h("h2", { class: "nhsuk-heading-m" }, "Significant problems"),
    s.problems.length === 0
      ? h("p", {}, "No significant problems recorded.")
      : h("ul", { class: "nhsuk-list nhsuk-list--bullet" }, ...s.problems.map((pr) => h("li", {}, `${pr.condition} (${pr.status}${pr.onset ? `, since ${formatDate(pr.onset)}` : ""})`))),
    ownText(s.documentText.problems, "problems-own-text"),
  );
}

/** The section index's entries, for the sections this summary shows. */
function indexOf(s: SummaryView): IndexEntry[] {
  const textOnlyMedication =
    s.repeatMedication.length + s.acuteMedication.length + s.discontinuedMedication.length === 0 && s.documentText.medication;
  return [
    { target: "allergies", label: "Allergies" },
    { target: textOnlyMedication ? "medication" : "repeat-medication", label: "Medication" },
    { target: "problems", label: "Problems" },
    { target: "additional", label: "Additional information" },
    { target: "provenance", label: "Source" },
  ];
}

/**
 * The spine served this past a soft volume limit: a compact warning callout under the
 * banner. It is not part of the sticky block, so it scrolls away under the allergies and
 * never covers them or holds them down.
 */
export function volumeWarning(words: string | null): HTMLElement | null {
  if (!words) return null;
  return h(
    "div",
    { class: "nhsuk-warning-callout scr-volume-warning", id: "volume-warning" },
    h(
      "p",
      {},
      h("strong", {}, words),
      " Open only the records of patients you are caring for: your privacy officer reviews access like this.",
    ),
  );
}

/** `Offline copy fetched 23-Nov-2026 14:02 — may be out of date` (UK time). */
export function offlineBannerText(fetchedAt: string): string {
  return `Offline copy fetched ${formatDate(fetchedAt)} — may be out of date`;
}

/**
 * `onBack` is the way out: "Find another patient" online, "Back to offline records" in an
 * offline session (`backTo`, by default from `offlineCopy`). The offline banner follows
 * the data: any copy from the offline cache carries it.
 */
export function summaryScreen(
  s: SummaryView,
  today: Date,
  onBack: () => void,
  backTo: "find" | "offline" = s.offlineCopy ? "offline" : "find",
  cp: CpAttendance = null,
): void {
  const p = s.provenance;
  const practice = p.withheld
    ? "a practice withheld (restricted record)"
    : p.practiceName ? `${p.practiceName}${p.practiceOds ? ` (${p.practiceOds})` : ""}` : p.practiceOds ?? "an unnamed source";
  const back = backTo === "offline"
    ? button("Back to offline records", { type: "button", class: "nhsuk-button nhsuk-button--secondary scr-no-print", id: "back-to-offline" })
    : button("Find another patient", { type: "button", class: "nhsuk-button nhsuk-button--secondary scr-no-print", id: "find-another" });
  back.addEventListener("click", onBack);
  show(
    patientBanner(s.patient, today),
    s.emergency
      ? h("div", { class: "nhsuk-warning-callout scr-emergency-banner", id: "emergency-banner" }, h("p", {}, "Opened with emergency access. This access has been reported to the privacy officer."))
      : null,
    volumeWarning(s.volumeWarning),
    // The flags, the offline banner and the allergies stay in view together while the rest
    // scrolls.
    h(
      "div",
      { class: "scr-sticky-top", id: "summary-sticky" },
      ...flagBanners(s, cp),
      s.offlineCopy ? h("div", { class: "scr-offline-banner", id: "offline-banner", role: "status" }, offlineBannerText(s.fetchedAt)) : null,
      // What changed since this user's last look here, heading the allergies (changes.ts).
      changesBlock(s.changes),
      allergySection(s.allergies),
      sectionIndex(indexOf(s)),
    ),
    s.allergies.state === "describedInText" ? null : ownText(s.documentText.allergies, "allergies-own-text"),
    ...medicationSections(s),
    problemSection(s),
    additionalSection(s.additional),
    s.warnings.length > 0
      ? h("div", { class: "nhsuk-inset-text", id: "warnings" }, h("p", {}, "Parts of this record could not be read:"), h("ul", {}, ...s.warnings.map((w) => h("li", {}, w))))
      : null,
    h(
      "p",
      { class: "nhsuk-body-s", id: "provenance" },
      `Summary from ${practice}${p.lastUpdated ? `, last updated ${formatDay(p.lastUpdated)}` : ""}. Fetched ${formatDate(s.fetchedAt)}.`,
    ),
    printControls(s),
    h("div", { class: "scr-no-print" }, back),
  );
}
