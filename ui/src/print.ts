// Printing the summary on screen. The page is printed as it is, under the print stylesheet
// (app.scss, `@media print`): A4, the buttons, section index and session controls left
// out, the allergy states told apart without colour, and a header repeated on every page
// with the NHS number, who printed it and when. The spine records the printing before
// anything is printed (api.printSummary); an offline copy cannot be printed, because no
// print would be recorded.
import type { SummaryView } from "./generated/types";
import { api, asAppError } from "./ipc";
import { h } from "./dom";
import { formatDate, formatNhsNumber } from "./format";
import { errorTitle } from "./errors";

/** The header line every printed page carries. */
export function printHeaderText(s: SummaryView, printedBy: string, now: Date): string {
  const nhs = s.patient.nhsNumber ? formatNhsNumber(s.patient.nhsNumber) : "no NHS number";
  const marks = [s.offlineCopy ? "OFFLINE COPY" : "", s.emergency ? "EMERGENCY ACCESS" : ""].filter(Boolean);
  return [
    `Summary Care Record — NHS number ${nhs}`,
    `printed by ${printedBy || "an unnamed user"} on ${formatDate(now.toISOString())}`,
    ...marks,
  ].join(" — ");
}

/** Puts the print header in the page (print-only; it repeats on every printed page). */
export function preparePrint(s: SummaryView, printedBy: string, now: Date): HTMLElement {
  document.getElementById("print-header")?.remove();
  const header = h("div", { id: "print-header", class: "scr-print-header", "aria-hidden": "true" }, printHeaderText(s, printedBy, now));
  document.getElementById("main")?.prepend(header);
  return header;
}

/** Who is printing, as the session strip shows them (name, role, organisation). */
function signedInAs(): string {
  return (document.getElementById("signed-in-as")?.textContent ?? "").replace(/\s+/g, " ").trim();
}

/** "Print or save as PDF" and "Save as PDF", with a line saying what happened; or, for an
 * offline copy, why printing is not offered. */
export function printControls(s: SummaryView): HTMLElement {
  const status = h("p", { id: "print-status", class: "nhsuk-body-s", role: "status" });
  if (s.offlineCopy) {
    return h(
      "div",
      { class: "scr-no-print", id: "print-controls" },
      h("p", { class: "nhsuk-body-s", id: "print-offline" }, "Printing is not available for an offline copy: every print is recorded by the Spine, which cannot be reached."),
    );
  }
  const run = async (toPdf: boolean) => {
    if (!s.patient.nhsNumber) return;
    preparePrint(s, signedInAs(), new Date());
    status.textContent = toPdf ? "Saving as PDF…" : "Opening the print dialog…";
    status.removeAttribute("data-state");
    try {
      const printed = await api.printSummary(s.patient.nhsNumber, toPdf);
      status.dataset.state = "done";
      status.textContent = printed.savedTo ? `Saved as PDF: ${printed.savedTo}` : "Printing recorded.";
    } catch (e) {
      status.dataset.state = "failed";
      status.setAttribute("role", "alert");
      const err = asAppError(e);
      status.textContent = `${errorTitle(err)}. ${err.message}`;
    }
  };
  const print = h("button", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "print" }, "Print or save as PDF");
  const pdf = h("button", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "save-pdf" }, "Save as PDF");
  print.addEventListener("click", () => void run(false));
  pdf.addEventListener("click", () => void run(true));
  return h("div", { class: "scr-no-print", id: "print-controls" }, print, " ", pdf, status);
}
