// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { additionalSection } from "../src/screens/additional";
import { summaryScreen } from "../src/screens/summary";
import type { AdditionalView } from "../src/generated/types";
import { summary } from "./fixtures";

const none: AdditionalView = {
  history: { state: "notIncluded" },
  procedures: { state: "notIncluded" },
  immunisations: { state: "notIncluded" },
  anticipatoryCare: { state: "notIncluded" },
  endOfLife: { state: "notIncluded" },
  communication: { state: "notIncluded" },
};

const mixed: AdditionalView = {
  ...none,
  history: {
    state: "recorded",
    items: [{ text: "Appendicitis", detail: null, date: "1988-06-20", dateLabel: "ended", sensitive: null, notGiven: false }],
    text: null,
  },
  procedures: {
    state: "recorded",
    items: [
      {
        text: "In vitro fertilisation",
        detail: null,
        date: "2011",
        dateLabel: "performed",
        sensitive: "fertility treatment: shared at the patient's request",
        notGiven: false,
      },
    ],
    text: null,
  },
  immunisations: {
    state: "recorded",
    items: [{ text: "Hepatitis B vaccine", detail: "Not given", date: null, dateLabel: null, sensitive: null, notGiven: true }],
    text: null,
  },
  anticipatoryCare: { state: "recorded", items: [], text: null },
  endOfLife: { state: "notShared" },
  communication: {
    state: "recorded",
    items: [],
    text: { blocks: [{ kind: "paragraph", text: "Prefers written information" }], complete: true },
  },
};

describe("Additional Information", () => {
  it("shows each heading in its own state: entries, nothing recorded, not shared, text only", () => {
    const el = additionalSection(mixed);
    const state = (id: string) => el.querySelector<HTMLElement>(`#${id}`)?.dataset.state;
    expect(state("additional-history")).toBe("recorded");
    expect(state("additional-anticipatory-care")).toBe("nothingRecorded");
    expect(state("additional-end-of-life")).toBe("notShared");
    expect(state("additional-communication")).toBe("recorded");
    const text = (id: string) => el.querySelector(`#${id}`)?.textContent ?? "";
    expect(text("additional-history")).toContain("Appendicitis (ended 20-Jun-1988)");
    expect(text("additional-procedures")).toContain("Sensitive — fertility treatment: shared at the patient's request");
    expect(text("additional-procedures")).toContain("(performed 2011)");
    expect(text("additional-immunisations")).toContain("Hepatitis B vaccine: Not given");
    expect(text("additional-anticipatory-care")).toContain("Nothing recorded.");
    expect(text("additional-end-of-life")).toContain("Not shared");
    expect(text("additional-communication")).toContain("Prefers written information");
    // "Not shared" and "nothing recorded" never share words or looks.
    expect(text("additional-end-of-life")).not.toContain("Nothing recorded");
    expect(text("additional-anticipatory-care")).not.toContain("Not shared");
    expect(el.querySelector("#additional-end-of-life .scr-ai-not-shared")).not.toBeNull();
    expect(el.querySelector("#additional-anticipatory-care .scr-ai-not-shared")).toBeNull();
  });

  it("says once that nothing is included when the summary carries no heading", () => {
    const el = additionalSection(none);
    expect(el.dataset.state).toBe("notIncluded");
    expect(el.querySelectorAll("h3")).toHaveLength(0);
    expect(el.textContent).toContain("No additional information is included in this summary.");
  });

  it("comes after the allergies, medication and problems, with a medicine's reason beside it", () => {
    document.body.innerHTML = '<main id="main"></main>';
    summaryScreen(
      summary({
        additional: mixed,
        offlineCopy: false,
        repeatMedication: [
          { medicine: "Ramipril 5mg capsules", dosage: null, quantity: null, started: null, lastIssued: null, discontinued: null, reason: "Hypertensive disorder" },
        ],
      }),
      new Date("2026-12-01T10:00:00Z"),
      () => {},
    );
    const ids = [...document.querySelectorAll("#main section[id]")].map((s) => s.id);
    const at = (id: string) => ids.indexOf(id);
    expect(at("allergies")).toBeGreaterThanOrEqual(0);
    expect(at("allergies")).toBeLessThan(at("repeat-medication"));
    expect(at("repeat-medication")).toBeLessThan(at("problems"));
    expect(at("problems")).toBeLessThan(at("additional"));
    expect(document.querySelector("#repeat-medication")?.textContent).toContain("Reason: Hypertensive disorder");
  });
});

describe("the section index", () => {
  it("sits in the sticky block under the allergies and takes each section into view with focus", () => {
    document.body.innerHTML = '<main id="main"></main>';
    summaryScreen(summary({ additional: mixed, offlineCopy: false }), new Date("2026-12-01T10:00:00Z"), () => {});
    const sticky = document.getElementById("summary-sticky");
    const index = document.getElementById("section-index");
    expect(index).not.toBeNull();
    expect(sticky?.contains(index)).toBe(true);
    // After the allergies, inside the block that stays in view.
    const allergies = document.getElementById("allergies");
    expect(allergies && index ? allergies.compareDocumentPosition(index) & Node.DOCUMENT_POSITION_FOLLOWING : 0).toBeTruthy();
    const links = [...document.querySelectorAll<HTMLAnchorElement>("#section-index a")];
    expect(links.map((a) => a.textContent)).toEqual(["Allergies", "Medication", "Problems", "Additional information", "Source"]);
    for (const a of links) {
      expect(document.getElementById(a.dataset.target ?? "")).not.toBeNull();
    }
    links[3]!.click();
    expect(document.activeElement?.id).toBe("additional-heading");
  });
});
