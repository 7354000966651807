// @vitest-environment happy-dom
// The access model's screens (issue 13): the permission question, the answers the spine
// gives back, the volume warning, and the privacy officer's alerts and trail.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { cleanReason, countChars, countedTextarea, remainingText } from "../src/charcount";
import { readAnswer, reasonScreen } from "../src/screens/reason";
import { claim, noRelationshipScreen, permissionRefusedScreen, volumeLimitScreen } from "../src/screens/access";
import { summaryScreen } from "../src/screens/summary";
import { alertDetailScreen, alertsScreen, dayFromInput, kindsText, OPEN_ALERTS, readFilter, readNote } from "../src/screens/alerts";
import { outcomeText, trailScreen, whoText } from "../src/screens/trail";
import { alert, patient, summary, trailEntry } from "./fixtures";

const $ = (sel: string) => document.querySelector<HTMLElement>(sel);
const text = (sel: string) => $(sel)?.textContent ?? "";

beforeEach(() => {
  document.body.innerHTML = '<main id="main"></main>';
});

describe("a reason in words", () => {
  it("is counted as the spine counts it", () => {
    expect(countChars("  é\n\tz  ")).toBe(4); // "é  z": line break and tab became spaces
    expect(cleanReason("a\nb")).toBe("a b");
    // An emoji is one character to Rust (and to the spine), two UTF-16 units in JS.
    expect(countChars("🙂")).toBe(1);
    expect(remainingText("")).toBe("You have 500 characters remaining");
    expect(remainingText("a".repeat(499))).toBe("You have 1 character remaining");
    expect(remainingText("a".repeat(503))).toBe("You have 3 characters too many");
  });

  it("keeps its count up to date as the user types", () => {
    const { group, textarea } = countedTextarea("why", "Why?", null, 10);
    document.body.append(group);
    textarea.value = "12345678901";
    textarea.dispatchEvent(new Event("input"));
    expect(text("#why-count")).toBe("You have 1 character too many");
    expect($("#why-count")!.classList.contains("nhsuk-error-message")).toBe(true);
  });
});

describe("the permission question", () => {
  it("has three answers, and an emergency needs its reason and the confirmation", () => {
    expect(readAnswer("permission-to-view", "", false)).toEqual({
      ok: true,
      access: { reason: "permission-to-view", justification: null, selfClaimedRelationship: false },
    });
    expect(readAnswer("permission-refused", "ignored", false)).toEqual({
      ok: true,
      access: { reason: "permission-refused", justification: null, selfClaimedRelationship: false },
    });
    expect(readAnswer(undefined, "", false)).toMatchObject({ ok: false });
    const neither = readAnswer("emergency", " \n ", false);
    expect(neither.ok).toBe(false);
    if (!neither.ok) expect(neither.problems).toHaveLength(2);
    const tooLong = readAnswer("emergency", "a".repeat(501), true);
    expect(tooLong.ok).toBe(false);
    if (!tooLong.ok) expect(tooLong.problems[0]).toContain("500 characters or fewer");
    expect(readAnswer("emergency", "  Unconscious on arrival ", true)).toEqual({
      ok: true,
      access: { reason: "emergency", justification: "Unconscious on arrival", selfClaimedRelationship: false },
    });
  });

  it("asks NCRS's question and reveals the reason only for an emergency", () => {
    const answered = vi.fn();
    reasonScreen(patient(), answered);
    expect(text("legend")).toBe("Has the patient given permission to view their record?");
    const labels = [...document.querySelectorAll(".nhsuk-radios__label")].map((l) => l.textContent);
    expect(labels).toEqual(["Yes", "No, the patient refused", "Emergency — the patient cannot be asked"]);
    expect($("#emergency-details")!.hidden).toBe(true);
    ($("#reason-emergency") as HTMLInputElement).checked = true;
    $("#reason-form")!.dispatchEvent(new Event("change"));
    expect($("#emergency-details")!.hidden).toBe(false);
    expect(text("label[for=justification]")).toBe("Why are you accessing this record without permission?");
    $("#view-summary")!.click();
    expect(text("#reason-problem")).toContain("Say why you are accessing this record without permission.");
    expect(text("#reason-problem")).toContain("Confirm");
    expect(answered).not.toHaveBeenCalled();
    ($("#justification") as HTMLTextAreaElement).value = "Unconscious on arrival";
    ($("#emergency-confirm") as HTMLInputElement).checked = true;
    $("#view-summary")!.click();
    expect(answered).toHaveBeenCalledWith({ reason: "emergency", justification: "Unconscious on arrival", selfClaimedRelationship: false });
  });
});

describe("the spine's other answers", () => {
  it("resends the same answer with a self-claim, the user's words only where it had none", () => {
    const yes = { reason: "permission-to-view" as const, justification: null, selfClaimedRelationship: false };
    expect(claim(yes, false, "").ok).toBe(false);
    expect(claim(yes, true, "")).toEqual({ ok: true, access: { ...yes, selfClaimedRelationship: true } });
    expect(claim(yes, true, " In clinic today ")).toEqual({
      ok: true,
      access: { reason: "permission-to-view", justification: "In clinic today", selfClaimedRelationship: true },
    });
    const emergency = { reason: "emergency" as const, justification: "Unconscious", selfClaimedRelationship: false };
    expect(claim(emergency, true, "ignored")).toEqual({ ok: true, access: { ...emergency, selfClaimedRelationship: true } });
  });

  it("says there is no recorded relationship, warns the claim is reviewed, and cancels to find", () => {
    const confirm = vi.fn();
    const cancel = vi.fn();
    const yes = { reason: "permission-to-view" as const, justification: null, selfClaimedRelationship: false };
    noRelationshipScreen(patient(), yes, { confirm, cancel });
    expect(text("h1")).toBe("Your organisation has no recorded relationship with this patient");
    expect(text("#claim-form")).toContain("reviewed by your privacy officer");
    expect(text("label[for=self-claim]")).toBe("I am involved in this patient's care");
    $("#confirm-claim")!.click();
    expect(confirm).not.toHaveBeenCalled();
    expect(text("#claim-problem")).toContain("Tick the box");
    ($("#self-claim") as HTMLInputElement).checked = true;
    ($("#claim-reason") as HTMLTextAreaElement).value = "Fracture clinic";
    $("#confirm-claim")!.click();
    expect(confirm).toHaveBeenCalledWith({ ...yes, justification: "Fracture clinic", selfClaimedRelationship: true });
    $("#cancel-claim")!.click();
    expect(cancel).toHaveBeenCalledOnce();
  });

  it("shows nothing clinical when the patient refused", () => {
    const back = vi.fn();
    permissionRefusedScreen(patient(), back);
    expect(text("#refused-notice")).toBe("The patient refused permission. This has been recorded. Nothing from their record is shown.");
    expect($("#allergies")).toBeNull();
    expect($("#patient-banner")).toBeNull();
    expect(document.body.textContent).not.toMatch(/allerg|medication|problem/i);
    $("#find-another")!.click();
    expect(back).toHaveBeenCalledOnce();
  });

  it("says the volume limit was reached and that the allergies are unknown", () => {
    volumeLimitScreen(patient(), "You have opened 60 different patients' records in the last hour, the most allowed.", () => {});
    expect(text("#volume-limit-error")).toContain("the most allowed");
    expect($("#allergies")?.dataset.state).toBe("unavailable");
  });

  it("puts the volume warning under the banner, outside the sticky allergy block", () => {
    summaryScreen(
      summary({ offlineCopy: false, volumeWarning: "You have opened 31 different patients' records in the last hour." }),
      new Date("2026-03-12T00:00:00Z"),
      () => {},
    );
    const warning = $("#volume-warning")!;
    expect(warning.textContent).toContain("You have opened 31 different patients' records in the last hour.");
    expect(warning.classList.contains("nhsuk-warning-callout")).toBe(true);
    const banner = $("#patient-banner")!;
    const sticky = $("#summary-sticky")!;
    expect(banner.compareDocumentPosition(warning) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(warning.compareDocumentPosition(sticky) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(sticky.contains(warning)).toBe(false);
    summaryScreen(summary({ offlineCopy: false }), new Date(), () => {});
    expect($("#volume-warning")).toBeNull();
  });
});

describe("the privacy officer's alerts", () => {
  it("reads dates and filters as the spine wants them", () => {
    expect(dayFromInput("12-03-2026")).toBe("2026-03-12");
    expect(dayFromInput("1/3/2026")).toBe("2026-03-01");
    expect(dayFromInput(" ")).toBeNull();
    expect(dayFromInput("31-02-2026")).toBeUndefined();
    expect(dayFromInput("2026-03-12")).toBeUndefined();
    expect(readFilter({ status: "all", userId: " 555000000101 ", nhsNumber: "943 476 5919", organisation: "rx901", from: "01-03-2026", to: "12-03-2026" })).toEqual({
      ok: true,
      filter: { status: "all", userId: "555000000101", nhsNumber: "9434765919", organisation: "RX901", from: "2026-03-01", to: "2026-03-12" },
    });
    const bad = readFilter({ status: "open", userId: "", nhsNumber: "9434765918", organisation: "", from: "12-03-2026", to: "01-03-2026" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems[0]).toContain("check digit");
      expect(bad.problems[1]).toContain("after");
    }
  });

  it("lists each alert with when, who, organisation, patient, kind and reason", () => {
    const open = vi.fn();
    alertsScreen({ filter: OPEN_ALERTS, alerts: [alert(), alert({ entry: trailEntry({ id: "audit-7", reasonGiven: null }) })] }, { filter: () => {}, open, whoHasViewed: () => {} });
    const rows = document.querySelectorAll<HTMLElement>("tr.scr-alert-row");
    expect(rows).toHaveLength(2);
    const cells = [...rows[0]!.querySelectorAll("td")].map((c) => c.textContent);
    expect(cells.slice(0, 6)).toEqual([
      "12-Mar-2026 14:05",
      "Dr Amara Okafor (555000000101)",
      "RX901",
      "943 476 5919",
      "Self-claimed relationship",
      "Seeing them in the fracture clinic",
    ]);
    expect(rows[1]!.querySelector(".scr-alert-reason")!.textContent).toBe("None given");
    rows[1]!.querySelector<HTMLElement>("button.scr-open-alert")!.click();
    expect(open).toHaveBeenCalledWith(expect.objectContaining({ entry: expect.objectContaining({ id: "audit-7" }) }));
  });

  it("says when there are none, and puts trail text in as text", () => {
    alertsScreen({ filter: { ...OPEN_ALERTS, userId: "555000000999" }, alerts: [] }, { filter: () => {}, open: () => {}, whoHasViewed: () => {} });
    expect(text("#alerts")).toBe("There are no open alerts matching these filters.");
    alertsScreen({ filter: OPEN_ALERTS, alerts: [alert({ entry: trailEntry({ reasonGiven: "<img src=x onerror=alert(1)>" }) })] }, { filter: () => {}, open: () => {}, whoHasViewed: () => {} });
    expect(document.querySelector("img")).toBeNull();
    expect(text(".scr-alert-reason")).toBe("<img src=x onerror=alert(1)>");
  });

  it("needs a note to mark an alert reviewed, and shows the user's accesses around it", () => {
    const review = vi.fn();
    const around = [trailEntry({ id: "audit-41", nhsNumber: "9990000018", relationship: "Open encounter at the organisation" }), trailEntry()];
    alertDetailScreen({ alert: alert(), around }, { review, back: () => {} });
    expect(text("#alert-who")).toBe("Dr Amara Okafor (555000000101)");
    expect(text("#alert-patient")).toBe("943 476 5919");
    expect(text("#alert-relationship")).toBe("Self-claimed by the user");
    expect(document.querySelectorAll("#around-trail tr.scr-trail-row")).toHaveLength(2);
    expect(text('#around-trail tr[data-id="audit-42"]')).toContain("(this alert)");
    expect(text('#around-trail tr[data-id="audit-41"]')).toContain("999 000 0018");
    $("#mark-reviewed")!.click();
    expect(review).not.toHaveBeenCalled();
    expect(text("#review-problem")).toContain("Write a note");
    ($("#review-note") as HTMLTextAreaElement).value = " Confirmed with the clinic lead. ";
    $("#mark-reviewed")!.click();
    expect(review).toHaveBeenCalledWith(expect.anything(), "Confirmed with the clinic lead.");
    expect(readNote("a".repeat(501)).ok).toBe(false);
  });

  it("shows a reviewed alert's review and no form", () => {
    alertDetailScreen(
      { alert: alert({ status: "reviewed", review: { reviewedBy: "555000000303", reviewedAt: "2026-03-12T16:30:00Z", note: "Fine." } }), around: [] },
      { review: () => {}, back: () => {} },
    );
    expect($("#review-form")).toBeNull();
    expect(text("#alert-review-note")).toBe("Fine.");
    expect(text("#alert-status")).toBe("Reviewed");
  });

  it("words who, kinds and outcomes", () => {
    expect(whoText({ userName: null, userId: null })).toBe("Not known");
    expect(kindsText(alert({ kinds: [{ code: "emergency-access", words: "Emergency access" }, { code: "volume-soft-limit", words: "Many records opened (soft limit passed)" }] }))).toBe(
      "Emergency access, Many records opened (soft limit passed)",
    );
    expect(outcomeText(trailEntry())).toBe("Record shown");
    expect(outcomeText(trailEntry({ outcome: "refused", refusal: "PERMISSION_REFUSED" }))).toBe("Refused: The patient refused permission to view their record");
    expect(outcomeText(trailEntry({ outcome: "refused", refusal: "A_CODE_FROM_LATER" }))).toBe("Refused: A_CODE_FROM_LATER");
  });
});

describe("who has viewed this record", () => {
  it("checks the NHS number, then lists who opened it", () => {
    const search = vi.fn();
    trailScreen({}, { search, back: () => {} });
    ($("#trail-nhs") as HTMLInputElement).value = "943 476 5918";
    $("#show-trail")!.click();
    expect(search).not.toHaveBeenCalled();
    expect(text("#trail-nhs-check")).toContain("check digit");
    ($("#trail-nhs") as HTMLInputElement).value = "943 476 5919";
    $("#show-trail")!.click();
    expect(search).toHaveBeenCalledWith("9434765919");
    trailScreen({ nhsNumber: "9434765919", entries: [trailEntry(), trailEntry({ id: "audit-40", outcome: "refused", refusal: "NO_LEGITIMATE_RELATIONSHIP", relationship: null })] }, { search, back: () => {} });
    const rows = document.querySelectorAll("#trail tr.scr-trail-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]!.textContent).toContain("Dr Amara Okafor (555000000101)");
    expect(rows[1]!.textContent).toContain("Refused: Your organisation has no recorded relationship with this patient");
  });
});
