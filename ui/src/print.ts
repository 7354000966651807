// Printing the summary on screen. What is printed is a copy of the screen (#print-root,
// under <body>, shown only on paper) under the print stylesheet (app.scss, `@media print`):
// A4, the buttons, section index and session controls left out, the allergy states told
// apart without colour, and a header with the NHS number, who printed it and when at the top
// of every page. WebKitGTK repeats neither a fixed element nor a table's header group on
// each printed page, and has no page-margin boxes, so the copy is paginated here: laid out
// under the print rules at the width WebKit prints at, cut into pages well short of a full
// one, and each page started with its own header (a table is split between its rows, the
// column headings repeated). The spine records the printing before anything is printed
// (api.printSummary); an offline copy cannot be printed, because no print would be recorded.
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

/** The width, in CSS px, WebKitGTK lays an A4 page out at with app.scss's `@page` margins
 * (about 655 × 960 px: measured by printing rulers with WebKitGTK 2.50). */
export const PRINT_LAYOUT_WIDTH_PX = 650;
/** How far a page is filled before the next is started: well short of the 960 px a page
 * holds, so that no page overflows into one without a header (fonts or a wide table laid
 * out a little differently on paper, or a Letter page, 6% shorter). */
export const PAGE_FILL_PX = 800;

/** Where a piece of the page lies in the laid-out copy. */
export interface Extent {
  top: number;
  height: number;
}

/** The pieces (in document order) that must start a new page so that no page holds more
 * than `capacity` px, from the top of its first piece to the bottom of its last. A piece
 * taller than a page is left whole on a page of its own (the engine breaks inside it). */
export function pageStarts(pieces: Extent[], capacity: number): number[] {
  const starts: number[] = [];
  let pageTop = pieces[0]?.top ?? 0;
  pieces.forEach((p, i) => {
    if (i > 0 && p.top > pageTop && p.top + p.height - pageTop > capacity) {
      starts.push(i);
      pageTop = p.top;
    }
  });
  return starts;
}

const BLOCKS = new Set(["block", "list-item", "table", "flow-root", "table-row-group", "table-header-group", "table-footer-group"]);

/** The pieces a page may break before: table rows, and the innermost blocks elsewhere.
 * A flex or grid box is kept whole (the engine does not break inside them reliably). */
function piecesOf(root: HTMLElement): HTMLElement[] {
  const out: HTMLElement[] = [];
  const walk = (el: Element) => {
    for (const c of Array.from(el.children)) {
      if (!(c instanceof HTMLElement)) continue;
      const display = getComputedStyle(c).display;
      if (display === "none" || c.classList.contains("scr-print-header")) continue;
      if (c.tagName === "TR") {
        if (c.parentElement?.tagName !== "THEAD") out.push(c);
        continue;
      }
      const inner = Array.from(c.children).some((k) => BLOCKS.has(getComputedStyle(k).display) || k.tagName === "TR");
      if (inner && !display.includes("flex") && !display.includes("grid")) walk(c);
      else if (display !== "inline" && display !== "contents") out.push(c);
    }
  };
  walk(root);
  return out;
}

/** The rules of every `@media print` block, to lay the copy out as it will be printed. */
function printRules(): string {
  let css = "";
  for (const sheet of Array.from(document.styleSheets)) {
    let rules: CSSRuleList;
    try {
      rules = sheet.cssRules;
    } catch {
      continue;
    }
    for (const r of Array.from(rules)) {
      if (r instanceof CSSMediaRule && /\bprint\b/.test(r.media.mediaText)) {
        for (const inner of Array.from(r.cssRules)) {
          if (inner.constructor.name !== "CSSPageRule") css += `${inner.cssText}\n`;
        }
      }
    }
  }
  return css;
}

/** Applies `css` to the document until the returned function is called. */
function emulatePrint(css: string): () => void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    return () => {
      document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
    };
  } catch {
    // No constructable style sheets: measured as on screen, pages break by the engine only.
    return () => {};
  }
}

/** Starts a new page, with its header, before `piece`. */
function breakBefore(piece: HTMLElement, header: () => HTMLElement): void {
  const head = header();
  head.classList.add("scr-print-header--page");
  const body = piece.parentElement;
  const table = piece.closest("table");
  if (piece.tagName === "TR" && body && table) {
    // Forced breaks between rows are ignored: end the table here and carry on in a new one
    // with the same column headings.
    const rest = table.cloneNode(false) as HTMLElement;
    const thead = table.querySelector("thead");
    if (thead) rest.append(thead.cloneNode(true));
    const restBody = body.cloneNode(false) as HTMLElement;
    let row: Element | null = piece;
    while (row) {
      const next: Element | null = row.nextElementSibling;
      restBody.append(row);
      row = next;
    }
    rest.append(restBody);
    let after: Element | null = body.nextElementSibling;
    while (after) {
      const next: Element | null = after.nextElementSibling;
      rest.append(after);
      after = next;
    }
    table.after(head, rest);
    return;
  }
  if (piece.tagName === "LI") {
    const li = h("li", { class: "scr-print-header-item" }, head);
    piece.before(li);
    return;
  }
  piece.before(head);
}

/** Takes the print copy away (after printing, and whenever the screen changes). */
export function clearPrint(): void {
  document.getElementById("print-root")?.remove();
  document.body.classList.remove("scr-printing");
}

/** Makes the print copy of the screen: the header, then what #main shows, paginated with a
 * header on every page. Returns the copy (shown only on paper until `clearPrint`). */
export function preparePrint(s: SummaryView, printedBy: string, now: Date): HTMLElement {
  clearPrint();
  const text = printHeaderText(s, printedBy, now);
  const header = () => h("div", { class: "scr-print-header" }, text);
  const root = h("div", { id: "print-root", class: "scr-print-root", "aria-hidden": "true" }, header());
  for (const child of Array.from(document.getElementById("main")?.childNodes ?? [])) {
    root.append(child.cloneNode(true));
  }
  // One element per id on the page: the copy keeps none.
  for (const el of Array.from(root.querySelectorAll("[id]"))) el.removeAttribute("id");
  root.firstElementChild?.setAttribute("id", "print-header");
  document.body.append(root);

  // Lay the copy out as it will be printed (the print rules, at the printed width, off
  // screen) and measure it. All of this happens within one task, so nothing is painted. A
  // constructed style sheet, because the window's CSP refuses inline <style>.
  const emulation = emulatePrint(`${printRules()}\n#print-root { display: block !important; position: absolute !important; left: -30000px; top: 0; width: ${PRINT_LAYOUT_WIDTH_PX}px; }`);
  const pieces = piecesOf(root);
  const origin = root.getBoundingClientRect().top;
  const extents = pieces.map((p) => {
    const r = p.getBoundingClientRect();
    return { top: r.top - origin, height: r.height };
  });
  const headerHeight = root.firstElementChild?.getBoundingClientRect().height ?? 0;
  emulation();
  const starts = pageStarts(extents, PAGE_FILL_PX - headerHeight);
  // Last first, so that splitting one table twice cuts each part in the right place.
  for (const i of starts.reverse()) {
    const piece = pieces[i];
    if (piece) breakBefore(piece, header);
  }
  document.body.classList.add("scr-printing");
  return root;
}

window.addEventListener("afterprint", clearPrint);

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
    } finally {
      // The PDF is written by now. For the print dialog the copy stays until the engine
      // says printing is over (afterprint) or the screen changes (dom.ts `show`).
      if (toPdf) clearPrint();
    }
  };
  const print = h("button", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "print" }, "Print or save as PDF");
  const pdf = h("button", { type: "button", class: "nhsuk-button nhsuk-button--secondary", id: "save-pdf" }, "Save as PDF");
  print.addEventListener("click", () => void run(false));
  pdf.addEventListener("click", () => void run(true));
  return h("div", { class: "scr-no-print", id: "print-controls" }, print, " ", pdf, status);
}
