// A patient summary document opened from a file (another system's IPS / FHIR document
// Bundle): the same layout as the Summary Care Record's summary (banner, the allergies first
// and sticky), under a banner that never leaves view: "Document from a file — not from the
// Summary Care Record", with the file's name and the author, custodian and date the document
// gives. Every warning of the parser is listed; sections the viewer cannot read are shown as
// the document's own text (plain-text blocks; its markup never reaches the page). Nothing
// of it is kept or sent: the Rust side only reads it.
import type { AppError } from "../errors";
import { errorTitle } from "../errors";
import type { DocumentView, OtherSectionView } from "../generated/types";
import { MAX_DOCUMENT_BYTES } from "../generated/types";
import { button, errorSummary, h, show } from "../dom";
import { formatDate, formatDay } from "../format";
import { patientBanner } from "./banner";
import { flagBanners } from "./flags";
import { additionalSection } from "./additional";
import { allergySection, documentText, medicationSections, ownText, problemSection } from "./summary";

export const SOURCE_BANNER = "Document from a file — not from the Summary Care Record";

/** What the document screen offers besides reading: close it, or open another file. */
export interface DocumentActions {
  close(): void;
  open(file: File): void;
}

/** `4.0 MB`, as the Rust side words its limit. */
export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The refusal of a file too large to read, before it is read (the Rust side checks again). */
export function tooLarge(file: File): AppError | null {
  if (file.size <= MAX_DOCUMENT_BYTES) return null;
  return {
    code: "DOCUMENT_REFUSED",
    reason: "tooLarge",
    message: `The file is ${megabytes(file.size)}; the largest document the viewer opens is ${megabytes(MAX_DOCUMENT_BYTES)}.`,
  };
}

/** "Open a document…": a file input for JSON documents (read in the page, never uploaded). */
export function openDocumentControl(open: (file: File) => void, id = "open-document"): HTMLElement {
  const input = h("input", {
    class: "nhsuk-file-upload",
    id,
    name: id,
    type: "file",
    accept: ".json,application/fhir+json",
    "aria-describedby": `${id}-hint`,
  }) as HTMLInputElement;
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file) open(file);
    // The same file chosen again must fire change again.
    input.value = "";
  });
  return h(
    "div",
    { class: "nhsuk-form-group scr-no-print" },
    h("label", { class: "nhsuk-label nhsuk-label--s", for: id }, "Open a document…"),
    h(
      "div",
      { class: "nhsuk-hint", id: `${id}-hint` },
      "A patient summary (IPS / FHIR document, JSON) from another system, or drop the file onto this window. It is shown here only: not kept on this computer, not sent anywhere.",
    ),
    input,
  );
}

/** The banner: always in view, in the sticky block above the flags and the allergies. */
export function sourceBanner(d: DocumentView): HTMLElement {
  const s = d.source;
  const details: string[] = [`File: ${s.fileName}`];
  if (s.title) details.push(`“${s.title}”`);
  details.push(`Author: ${s.authors.length > 0 ? s.authors.join("; ") : "not given"}`);
  details.push(`Custodian: ${s.custodian ?? "not given"}`);
  details.push(`Dated: ${s.date ? formatDate(s.date) : "not given"}`);
  return h(
    "div",
    { class: "scr-document-banner", id: "document-banner", role: "status", "data-source": "file" },
    h("p", { class: "scr-document-banner__title", id: "document-banner-title" }, SOURCE_BANNER),
    h("p", { class: "scr-document-banner__details", id: "document-source" }, details.join(" · ")),
  );
}

function warningsSection(d: DocumentView): HTMLElement {
  const w = d.summary.warnings;
  return h(
    "section",
    { id: "document-warnings", "aria-labelledby": "document-warnings-heading", "data-count": String(w.length) },
    h("h2", { class: "nhsuk-heading-m", id: "document-warnings-heading" }, `What the viewer could not read (${w.length})`),
    w.length === 0
      ? h("p", {}, "The viewer read every part of the document it reads; other sections are shown below as the document's own text.")
      : h("ul", { class: "nhsuk-list nhsuk-list--bullet", id: "warnings" }, ...w.map((x) => h("li", {}, x))),
  );
}

function otherSection(o: OtherSectionView, i: number): HTMLElement {
  const entries = o.entries === 1 ? "1 entry" : `${o.entries} entries`;
  return h(
    "section",
    { class: "scr-other-section", id: `other-section-${i}`, "data-entries": String(o.entries) },
    h("h3", { class: "nhsuk-heading-s" }, o.title ?? "Untitled section"),
    o.text
      ? documentText(o.text)
      : h("p", {}, `This section sent no text of its own (${entries} not shown).`),
  );
}

function otherSections(d: DocumentView): HTMLElement | null {
  if (d.otherSections.length === 0) return null;
  return h(
    "section",
    { id: "other-sections", "aria-labelledby": "other-sections-heading" },
    h("h2", { class: "nhsuk-heading-m", id: "other-sections-heading" }, "Other sections, as the document's own text"),
    h("p", { class: "nhsuk-body-s" }, "The viewer does not read these sections as coded entries: this is the text the document carries, as it was written."),
    ...d.otherSections.map(otherSection),
  );
}

export function documentScreen(d: DocumentView, today: Date, actions: DocumentActions): void {
  const s = d.summary;
  const p = s.provenance;
  const from = p.withheld
    ? "a source withheld (restricted record)"
    : p.practiceName ? `${p.practiceName}${p.practiceOds ? ` (${p.practiceOds})` : ""}` : p.practiceOds ?? "an unnamed source";
  const close = button("Close the document", { type: "button", class: "nhsuk-button nhsuk-button--secondary scr-no-print", id: "close-document" });
  close.addEventListener("click", () => actions.close());
  const print = button("Print", { type: "button", class: "nhsuk-button nhsuk-button--secondary scr-no-print", id: "print" });
  print.addEventListener("click", () => window.print());
  show(
    patientBanner(s.patient, today),
    h(
      "div",
      { class: "scr-sticky-top", id: "summary-sticky" },
      sourceBanner(d),
      ...flagBanners(s, { state: "fromFile" }),
      allergySection(s.allergies, "document"),
    ),
    s.allergies.state === "describedInText" ? null : ownText(s.documentText.allergies, "allergies-own-text"),
    ...medicationSections(s, "document"),
    problemSection(s, "document"),
    additionalSection(s.additional, "document"),
    warningsSection(d),
    otherSections(d),
    h(
      "p",
      { class: "nhsuk-body-s", id: "provenance" },
      `The document says it is from ${from}${p.lastUpdated ? `, dated ${formatDay(p.lastUpdated)}` : ""}; this was not checked with the Summary Care Record. Opened from the file ${d.source.fileName} at ${formatDate(d.source.openedAt)}; not kept on this computer.`,
    ),
    h("div", {}, print, " ", close),
    openDocumentControl(actions.open, "open-another-document"),
  );
}

/** A file that was not opened: why, in plain words, and nothing from it. */
export function documentRefusedScreen(fileName: string, err: AppError, actions: DocumentActions): void {
  const close = button("Back", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "close-document" });
  close.addEventListener("click", () => actions.close());
  show(
    h("h1", {}, "The document was not opened"),
    errorSummary(errorTitle(err), err.message, "document-refused"),
    h("p", { id: "document-refused-file" }, `File: ${fileName}. Nothing from it is shown or kept.`),
    openDocumentControl(actions.open, "open-another-document"),
    h("div", {}, close),
  );
}
