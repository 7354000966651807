// @vitest-environment happy-dom
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("../src/ipc", async (importOriginal) =>
  (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()));
import { api } from "./ipc-mock";
import { summaryScreen } from "../src/screens/summary";
import { preparePrint, printHeaderText } from "../src/print";
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

  it("puts the NHS number, who printed it and when in the header every page repeats", () => {
    render();
    const header = preparePrint(live(), "Dr Amara Okafor · Clinical Practitioner", new Date("2026-12-03T09:10:00Z"));
    expect(header.textContent).toBe(
      "Summary Care Record — NHS number 943 476 5919 — printed by Dr Amara Okafor · Clinical Practitioner on 03-Dec-2026 09:10",
    );
    // First in the page, once.
    expect(document.getElementById("main")?.firstElementChild?.id).toBe("print-header");
    preparePrint(live(), "x", new Date());
    expect(document.querySelectorAll("#print-header")).toHaveLength(1);
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
    api.printSummary.mockResolvedValue({ savedTo: "/home/a/Documents/SCR-summary-9434765919-20261203-091000.pdf" });
    document.querySelector<HTMLButtonElement>("#save-pdf")?.click();
    await flush();
    expect(api.printSummary).toHaveBeenCalledWith("9434765919", true);
    expect(document.getElementById("print-header")?.textContent).toContain("printed by Dr Amara Okafor · Clinical Practitioner · A&E (RX901)");
    expect(document.getElementById("print-status")?.textContent).toBe(
      "Saved as PDF: /home/a/Documents/SCR-summary-9434765919-20261203-091000.pdf",
    );
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

  it("tells the allergy states apart in black and white and repeats the header on every page", () => {
    const scss = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../styles/app.scss"), "utf8");
    const print = scss.slice(scss.lastIndexOf("@media print"));
    expect(print).toMatch(/size: A4/);
    expect(print).toMatch(/\.scr-print-header \{[^}]*position: fixed/);
    const border = (cls: string) => new RegExp(`\\.${cls} \\{\\s*border-left: ([^;]+);`).exec(print)?.[1];
    const looks = ["scr-allergies--known", "scr-allergies--nka", "scr-allergies--not-recorded", "scr-allergies--text-only", "scr-allergies--unavailable"].map(border);
    expect(looks.every((l) => l && l.includes("#000"))).toBe(true);
    expect(new Set(looks).size).toBe(5);
  });
});
