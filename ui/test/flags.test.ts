// @vitest-environment happy-dom
/// <reference types="node" />
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { patient, summary } from "./fixtures";
import { askBeforeSummary, deceasedText, flagBanners, type CpAttendance } from "../src/screens/flags";
import { summaryScreen } from "../src/screens/summary";
import type { FlagsView, SummaryView } from "../src/generated/types";

const noFlags: FlagsView = { reasonableAdjustment: null, childProtection: null, other: [] };

function flagged(over: Partial<SummaryView> = {}): SummaryView {
  return summary({
    offlineCopy: false,
    patient: patient({ deceased: { date: "2025-03-12" } }),
    flags: {
      reasonableAdjustment: { adjustments: ["Needs a British Sign Language interpreter", "Needs a longer appointment"], recorded: "2024-02-01" },
      childProtection: null,
      other: [],
    },
    ...over,
  });
}

const plan = {
  responsibleOds: "LA901",
  responsibleName: "Synthetic County Council Children's Services",
  since: "2025-09-01",
  withheld: false,
};

beforeEach(() => {
  document.body.replaceChildren();
  document.body.append(Object.assign(document.createElement("main"), { id: "main" }));
});

/** Every element of the summary in document order: which comes first. */
function before(a: Element | null, b: Element | null): boolean {
  return !!a && !!b && !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
}

describe("the flags before the summary", () => {
  it("shows the death and the reasonable adjustments above the allergies, in the sticky block", () => {
    summaryScreen(flagged(), new Date("2026-11-24T00:00:00Z"), () => {});
    const died = document.getElementById("deceased-banner");
    const raf = document.getElementById("raf-banner");
    const allergies = document.getElementById("allergies");
    expect(died?.textContent).toBe("This patient died on 12-Mar-2025");
    expect([...raf!.querySelectorAll("li")].map((li) => li.textContent)).toEqual([
      "Needs a British Sign Language interpreter",
      "Needs a longer appointment",
    ]);
    // The death first, then the adjustments, then the allergies: nothing clinical before them.
    expect(before(died, raf)).toBe(true);
    expect(before(raf, allergies)).toBe(true);
    const sticky = document.getElementById("summary-sticky");
    expect(died!.parentElement).toBe(sticky);
    expect(raf!.parentElement).toBe(sticky);
    expect(allergies!.parentElement).toBe(sticky);
    // The banner says when the patient died, not an age today.
    expect(document.getElementById("patient-died")?.textContent).toBe("12-Mar-2025");
    expect(document.getElementById("patient-born")?.textContent).toBe("12-Mar-1970");
  });

  it("says a death in words that cannot be taken for a live record", () => {
    expect(deceasedText(patient())).toBeNull();
    expect(deceasedText(patient({ deceased: { date: null } }))).toBe("This patient has died (date of death not recorded)");
    expect(deceasedText(patient({ deceased: { date: "2025-03" } }))).toBe("This patient died in Mar-2025");
    expect(deceasedText(patient({ deceased: { date: "2025-03-12T14:02:00Z" } }))).toBe("This patient died on 12-Mar-2025 14:02");
  });

  it("says what a restricted record withholds", () => {
    const banners = flagBanners(summary({ patient: patient({ restricted: true, addressLines: [], postcode: null, gpOds: null }), flags: noFlags }));
    expect(banners.map((b) => b.id)).toEqual(["restricted-banner"]);
    expect(banners[0]!.textContent).toBe("Restricted record: the address and registered practice are withheld.");
  });

  it("shows nothing for a record without flags", () => {
    expect(flagBanners(summary({ flags: noFlags }))).toEqual([]);
  });

  it("says when a reasonable adjustment flag came without its details", () => {
    const [raf] = flagBanners(summary({ flags: { ...noFlags, reasonableAdjustment: { adjustments: [], recorded: null } } }));
    expect(raf!.textContent).toContain("its details were not sent");
  });

  it("puts flag text into the page as text, never as markup", () => {
    const banners = flagBanners(
      summary({
        flags: { reasonableAdjustment: { adjustments: ["<img src=x onerror=alert(1)>"], recorded: null }, childProtection: null, other: [{ text: "<b>hoist</b>", category: null }] },
      }),
    );
    for (const b of banners) expect(b.querySelector("img, b")).toBeNull();
    expect(banners[0]!.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  it("names the organisation responsible for the child, or says it is withheld", () => {
    const [cp] = flagBanners(summary({ offlineCopy: false, flags: { ...noFlags, childProtection: plan } }));
    expect(cp!.textContent).toContain("Synthetic County Council Children's Services (LA901)");
    expect(cp!.textContent).toContain("since 01-Sep-2025");
    const [withheld] = flagBanners(
      summary({ offlineCopy: false, flags: { ...noFlags, childProtection: { ...plan, responsibleOds: null, responsibleName: null, withheld: true } } }),
    );
    expect(withheld!.textContent).toContain("withheld (restricted record)");
  });

  it("keeps the flag banners in the sticky block's stylesheet, unlike each other", () => {
    const scss = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../styles/app.scss"), "utf8");
    const background = (cls: string) => new RegExp(`\\.${cls}\\s*\\{[^}]*background:\\s*(#[0-9a-f]{6})`).exec(scss)?.[1];
    const looks = ["scr-deceased-banner", "scr-restricted-banner", "scr-flag--raf", "scr-flag--cp", "scr-flag--other"].map(background);
    expect(looks.every(Boolean)).toBe(true);
    expect(new Set(looks).size).toBe(looks.length);
    expect(background("scr-flag--raf")).toBe("#ed8b00");
  });
});

describe("the child protection question", () => {
  const child = () => flagged({ patient: patient({ given: ["Sam"], birthDate: "2016-05-01" }), flags: { ...noFlags, childProtection: plan } });

  it("comes before the summary, and a yes is recorded before the summary is shown", async () => {
    const record = vi.fn(() => Promise.resolve());
    const shown: CpAttendance[] = [];
    const s = child();
    askBeforeSummary(s, new Date(), { record, current: () => true, show: (cp) => (shown.push(cp), summaryScreen(s, new Date(), () => {}, "find", cp)) });
    // The question, the banners, and nothing clinical yet.
    expect(document.getElementById("cp-question")?.textContent).toBe("Is the patient attending an unscheduled care setting?");
    expect(document.getElementById("cp-banner")).not.toBeNull();
    expect(document.getElementById("allergies")).toBeNull();
    // Unanswered: asked again.
    document.getElementById("cp-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(document.getElementById("cp-error")?.textContent).toContain("Answer the question");
    expect(record).not.toHaveBeenCalled();
    (document.getElementById("cp-yes") as HTMLInputElement).checked = true;
    document.getElementById("cp-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(record).toHaveBeenCalledWith("9434765919");
    await Promise.resolve();
    await Promise.resolve();
    expect(shown).toEqual([{ state: "recorded" }]);
    expect(document.getElementById("allergies")).not.toBeNull();
    expect(document.getElementById("cp-attendance")?.dataset.state).toBe("recorded");
    expect(document.getElementById("cp-attendance")?.textContent).toContain("has been notified");
  });

  it("records nothing for a no", () => {
    const record = vi.fn(() => Promise.resolve());
    const show = vi.fn();
    askBeforeSummary(child(), new Date(), { record, current: () => true, show });
    (document.getElementById("cp-no") as HTMLInputElement).checked = true;
    document.getElementById("cp-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(record).not.toHaveBeenCalled();
    expect(show).toHaveBeenCalledWith({ state: "notAttending" });
  });

  it("shows the summary with a warning when the yes could not be recorded", async () => {
    const record = vi.fn(() => Promise.reject({ code: "SPINE_UNREACHABLE", message: "The service cannot be reached." }));
    const show = vi.fn();
    askBeforeSummary(child(), new Date(), { record, current: () => true, show });
    (document.getElementById("cp-yes") as HTMLInputElement).checked = true;
    document.getElementById("cp-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await new Promise((r) => setTimeout(r, 0));
    expect(show).toHaveBeenCalledWith({ state: "failed", message: "The service cannot be reached." });
  });

  it("drops the answer of a session that has ended", async () => {
    const show = vi.fn();
    askBeforeSummary(child(), new Date(), { record: () => Promise.resolve(), current: () => false, show });
    (document.getElementById("cp-yes") as HTMLInputElement).checked = true;
    document.getElementById("cp-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await new Promise((r) => setTimeout(r, 0));
    expect(show).not.toHaveBeenCalled();
  });

  it("is not asked of an offline copy or a record without a plan", () => {
    const record = vi.fn(() => Promise.resolve());
    for (const s of [flagged(), summary({ offlineCopy: true, flags: { ...noFlags, childProtection: plan } })]) {
      const show = vi.fn();
      askBeforeSummary(s, new Date(), { record, current: () => true, show });
      expect(show).toHaveBeenCalledWith(null);
    }
    expect(record).not.toHaveBeenCalled();
    // The offline copy's banner says the attendance cannot be recorded from here.
    const [cp] = flagBanners(summary({ offlineCopy: true, flags: { ...noFlags, childProtection: plan } }));
    expect(cp!.querySelector("#cp-attendance")?.getAttribute("data-state")).toBe("offline");
  });
});
