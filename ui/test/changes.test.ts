// @vitest-environment happy-dom
/// <reference types="node" />
// "Changes since you last looked": in the sticky block just above the allergies, each change
// marked in words, record text as text, nothing for a first look or an offline copy.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import type { ChangeView, ChangesView } from "../src/generated/types";
import { summary } from "./fixtures";
import { changesBlock, changesHeading } from "../src/screens/changes";
import { summaryScreen } from "../src/screens/summary";

beforeEach(() => {
  document.body.replaceChildren();
  document.body.append(Object.assign(document.createElement("main"), { id: "main" }));
});

function change(over: Partial<ChangeView> = {}): ChangeView {
  return { mark: "added", section: "allergies", label: "Added", what: "Penicillin", detail: "Anaphylaxis · severe", ...over };
}

function changes(items: ChangeView[], since = "2026-03-12T14:05:00Z"): ChangesView {
  return { since, items };
}

const fresh = (c: ChangesView | null) => summary({ offlineCopy: false, changes: c, allergies: { state: "known", allergies: [{ substance: "Penicillin", reaction: "Anaphylaxis", severity: "severe", highCriticality: true, unconfirmed: false, recorded: null }] } });

describe("the changes since the last look", () => {
  it("says the date of the last look, in UK time", () => {
    expect(changesHeading("2026-03-12T14:05:00Z", true)).toBe("Changes since you last looked on 12-Mar-2026 14:05");
    // British Summer Time: an hour ahead of UTC.
    expect(changesHeading("2026-07-01T09:05:00Z", true)).toBe("Changes since you last looked on 01-Jul-2026 10:05");
    expect(changesHeading("2026-03-12T14:05:00Z", false)).toBe("No changes since you last looked on 12-Mar-2026 14:05");
  });

  it("is in the sticky block, just above the allergies, which it never replaces", () => {
    summaryScreen(fresh(changes([change()])), new Date("2026-03-13T00:00:00Z"), () => {});
    const block = document.getElementById("changes")!;
    const allergies = document.getElementById("allergies")!;
    expect(block).not.toBeNull();
    expect(block.parentElement).toBe(allergies.parentElement);
    expect(block.closest(".scr-sticky-top")).not.toBeNull();
    expect(block.nextElementSibling).toBe(allergies);
    expect(allergies.textContent).toContain("Penicillin");
    expect(document.getElementById("changes-heading")!.textContent).toBe("Changes since you last looked on 12-Mar-2026 14:05");
  });

  it("marks each change with its word, not colour alone, and says the section", () => {
    const block = changesBlock(
      changes([
        change(),
        change({ mark: "changed", label: "Changed", what: "Allergy status", detail: "was no known allergies, now known allergies" }),
        change({ mark: "added", section: "medication", label: "Started", what: "Metformin 500mg tablets", detail: "repeat · One tablet twice a day" }),
        change({ mark: "removed", section: "medication", label: "Stopped", what: "Amlodipine 5mg tablets", detail: "stopped 10-Mar-2026" }),
        change({ mark: "changed", section: "problems", label: "Resolved", what: "Asthma", detail: "was active, now resolved" }),
      ]),
    )!;
    const rows = [...block.querySelectorAll<HTMLElement>("tr.scr-change")];
    expect(rows.map((r) => r.dataset.change)).toEqual(["added", "changed", "added", "removed", "changed"]);
    expect(rows.map((r) => r.querySelector(".scr-change__mark")!.textContent)).toEqual(["Added", "Changed", "Started", "Stopped", "Resolved"]);
    expect(rows.map((r) => r.querySelector(".scr-change__section")!.textContent)).toEqual(["Allergies", "Allergies", "Medication", "Medication", "Problems"]);
    expect(rows[3]!.textContent).toBe("StoppedMedicationAmlodipine 5mg tablets — stopped 10-Mar-2026");
    expect(rows[3]!.className).toContain("scr-change--removed");
    expect(block.dataset.changes).toBe("5");
  });

  it("puts record text in as text, never as markup", () => {
    const block = changesBlock(changes([change({ what: "<img src=x onerror=alert(1)>", detail: "<b>bold</b>" })]))!;
    expect(block.querySelector("img, b")).toBeNull();
    expect(block.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(block.textContent).toContain("<b>bold</b>");
  });

  it("says so when nothing changed, in one line", () => {
    const block = changesBlock(changes([]))!;
    expect(block.textContent).toBe("No changes since you last looked on 12-Mar-2026 14:05");
    expect(block.dataset.changes).toBe("0");
    expect(block.querySelector("table")).toBeNull();
  });

  it("is not shown for a first look here or an offline copy", () => {
    expect(changesBlock(null)).toBeNull();
    summaryScreen(fresh(null), new Date(), () => {});
    expect(document.getElementById("changes")).toBeNull();
    expect(document.getElementById("main")!.textContent).not.toContain("since you last looked");
    summaryScreen(summary({ offlineCopy: true }), new Date(), () => {});
    expect(document.getElementById("changes")).toBeNull();
  });

  it("keeps a long list compact: capped in height and scrolling within itself", () => {
    const scss = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../styles/app.scss"), "utf8");
    expect(scss).toMatch(/\.scr-changes__list\s*\{[^}]*max-height:[^}]*overflow-y:\s*auto/);
    // A look of its own: a whole frame, unlike the allergy states' left border or the offline banner.
    expect(scss).toMatch(/\.scr-changes\s*\{[^}]*border:\s*2px solid #005eb8/);
    const many = changesBlock(changes(Array.from({ length: 30 }, (_, i) => change({ what: `Entry ${i}` }))))!;
    const list = many.querySelector<HTMLElement>(".scr-changes__list")!;
    expect(list.getAttribute("tabindex")).toBe("0");
    expect(list.querySelectorAll("tr.scr-change")).toHaveLength(30);
  });
});
