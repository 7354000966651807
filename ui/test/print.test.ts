// @vitest-environment happy-dom
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("../src/ipc", async (importOriginal) =>
  (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()));
import { api } from "./ipc-mock";
import { summaryScreen } from "../src/screens/summary";
import { PAGE_FILL_PX, clearPrint, pageStarts, preparePrint, printHeaderText } from "../src/print";
import { show } from "../src/dom";
import { patient, summary } from "./fixtures";

const live = () =>
  summary({
    offlineCopy: false,
    patient: patient({ nhsNumber: "9434765919" }),
    allergies: { state: "noKnownAllergies", recorded: "2024-03-12" },
  });

function render(s = live()): void {
  document.body.innerHTML =
    '<div id="status-bar"><span id="signed-in-as">Dr Amara Okafor · Clinical Practitioner · A&E (RX901)</span></div><main id="main"></main>';
  summaryScreen(s, new Date("2026-12-01T10:00:00Z"), () => {});
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("the print view", () => {
  beforeEach(() => {
    api.printSummary.mockReset();
  });

  it("prints a copy of the screen headed by the NHS number, who printed it and when", () => {
    render();
    const root = preparePrint(live(), "Dr Amara Okafor · Clinical Practitioner", new Date("2026-12-03T09:10:00Z"));
    expect(root.firstElementChild?.textContent).toBe(
      "Summary Care Record — NHS number 943 476 5919 — printed by Dr Amara Okafor · Clinical Practitioner on 03-Dec-2026 09:10",
    );
    expect(root.firstElementChild?.id).toBe("print-header");
    // The copy is under <body>, hidden from assistive technology, and takes no id from the
    // screen: every id on the page is still the screen's own, once.
    expect(root.parentElement).toBe(document.body);
    expect(root.getAttribute("aria-hidden")).toBe("true");
    expect(root.textContent).toContain("No known allergies");
    expect(document.querySelectorAll("#allergies")).toHaveLength(1);
    expect(document.body.classList.contains("scr-printing")).toBe(true);
    // One copy at a time; gone when printing ends or the screen changes.
    preparePrint(live(), "x", new Date());
    expect(document.querySelectorAll("#print-root")).toHaveLength(1);
    clearPrint();
    expect(document.getElementById("print-root")).toBeNull();
    expect(document.body.classList.contains("scr-printing")).toBe(false);
    preparePrint(live(), "x", new Date());
    show("Find a patient");
    expect(document.getElementById("print-root")).toBeNull();
    expect(document.body.classList.contains("scr-printing")).toBe(false);
  });

  it("starts a page before whatever would overfill it, so every page can carry the header", () => {
    const piece = (top: number, height: number) => ({ top, height });
    // 30 rows of 40 px: 20 to a page of 800 px.
    const rows = Array.from({ length: 30 }, (_, i) => piece(i * 40, 40));
    expect(pageStarts(rows, 800)).toEqual([20]);
    // A piece taller than a page gets a page to itself; nothing is split before the first.
    expect(pageStarts([piece(0, 100), piece(100, 2000), piece(2100, 10)], 800)).toEqual([1, 2]);
    expect(pageStarts([piece(0, 2000)], 800)).toEqual([]);
    expect(pageStarts([], 800)).toEqual([]);
    expect(PAGE_FILL_PX).toBeLessThan(960);
  });

  it("marks an offline copy and emergency access in the header", () => {
    const text = printHeaderText(summary({ offlineCopy: true, emergency: true }), "Dr A", new Date("2026-12-03T09:10:00Z"));
    expect(text).toContain("OFFLINE COPY");
    expect(text).toContain("EMERGENCY ACCESS");
  });

  it("prints what is on screen: the record's parts stay, the controls are left off the paper", () => {
    render(summary({ offlineCopy: false, emergency: true, patient: patient({ nhsNumber: "9434765919" }) }));
    for (const id of ["allergies", "repeat-medication", "problems", "additional", "provenance", "emergency-banner"]) {
      const el = document.getElementById(id);
      expect(el, id).not.toBeNull();
      expect(el?.closest(".scr-no-print"), `${id} must be printed`).toBeNull();
    }
    for (const id of ["print", "save-pdf", "section-index", "find-another"]) {
      expect(document.getElementById(id)?.closest(".scr-no-print"), `${id} must not be printed`).not.toBeNull();
    }
  });

  it("records the printing first, then says where the PDF was saved", async () => {
    render();
    let headerWhilePrinting = "";
    api.printSummary.mockImplementation(async () => {
      headerWhilePrinting = document.getElementById("print-header")?.textContent ?? "";
      return { savedTo: "/home/a/Documents/SCR-summary-9434765919-20261203-091000.pdf" };
    });
    document.querySelector<HTMLButtonElement>("#save-pdf")?.click();
    await flush();
    expect(api.printSummary).toHaveBeenCalledWith("9434765919", true);
    expect(headerWhilePrinting).toContain("printed by Dr Amara Okafor · Clinical Practitioner · A&E (RX901)");
    expect(document.getElementById("print-status")?.textContent).toBe(
      "Saved as PDF: /home/a/Documents/SCR-summary-9434765919-20261203-091000.pdf",
    );
    // The PDF is written: the copy is gone.
    expect(document.getElementById("print-root")).toBeNull();
  });

  it("says plainly when the printing could not be recorded or made", async () => {
    render();
    api.printSummary.mockRejectedValue({ code: "SPINE_UNREACHABLE", message: "The Spine cannot be reached." });
    document.querySelector<HTMLButtonElement>("#print")?.click();
    await flush();
    const status = document.getElementById("print-status");
    expect(status?.dataset.state).toBe("failed");
    expect(status?.getAttribute("role")).toBe("alert");
    expect(status?.textContent).toContain("The Spine cannot be reached.");
  });

  it("is not offered for an offline copy, which no print could be recorded for", () => {
    render(summary({ offlineCopy: true }));
    expect(document.getElementById("print")).toBeNull();
    expect(document.getElementById("print-offline")?.textContent).toContain("not available for an offline copy");
  });

  it("tells the allergy states apart in black and white and starts each page at a header", () => {
    const scss = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../styles/app.scss"), "utf8");
    const print = scss.slice(scss.lastIndexOf("@media print"));
    expect(print).toMatch(/size: A4/);
    // Each page after the first starts at its own header (print.ts puts them there), and
    // while a copy exists nothing else is printed.
    expect(print).toMatch(/\.scr-print-header--page \{[^}]*break-before: page/);
    expect(print).toMatch(/body\.scr-printing \{[^}]*> :not\(\.scr-print-root\) \{\s*display: none !important/);
    const border = (cls: string) => new RegExp(`\\.${cls} \\{\\s*border-left: ([^;]+);`).exec(print)?.[1];
    const looks = ["scr-allergies--known", "scr-allergies--nka", "scr-allergies--not-recorded", "scr-allergies--text-only", "scr-allergies--unavailable"].map(border);
    expect(looks.every((l) => l && l.includes("#000"))).toBe(true);
    expect(new Set(looks).size).toBe(5);
  });
});
