// @vitest-environment happy-dom
// The access model's flows through main.ts (issue 13), with the Rust side replaced by mocks
// of `api`: the permission question and what the spine answers to it, and the privacy
// officer's alerts.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, endSession } from "./ipc-mock";
import type { AppError, AppErrorCode } from "../src/errors";
import { alert, patient, summary, trailEntry } from "./fixtures";

vi.mock("../src/ipc", async (importOriginal) =>
  (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()),
);

const fail = (code: AppErrorCode, message: string): AppError => ({ code, message }) as AppError;
const $ = (sel: string) => document.querySelector<HTMLElement>(sel);
const text = (sel: string) => $(sel)?.textContent ?? "";
const until = (sel: string) => vi.waitFor(() => expect($(sel)).not.toBeNull());

const role = (over: Record<string, unknown>) => ({
  id: "r1",
  roleName: "Clinical Practitioner Access Role",
  roleCode: "R8000",
  orgName: "Synthetic General Hospital",
  orgOds: "RX901",
  clinical: true,
  privacyOfficer: false,
  ...over,
});

async function signInAs(r: ReturnType<typeof role>): Promise<void> {
  vi.resetModules();
  api.signIn.mockResolvedValue({ userName: "Dr Amara Okafor", userId: "555000000101", roles: [r], idleTimeoutSecs: 900, cache: { state: "off", reason: "No keyring." } });
  api.selectRole.mockResolvedValue(r);
  await import("../src/main");
  await until("#passcode");
  ($("#passcode") as HTMLInputElement).value = "246810";
  $("#sign-in")!.click();
  await until("#choose-role");
  $("#choose-role")!.click();
}

async function findAndAnswer(answer: string): Promise<void> {
  await until("#nhs-number");
  ($("#nhs-number") as HTMLInputElement).value = "943 476 5919";
  $("#find-by-number")!.click();
  await until("#reason-form");
  ($(`#${answer}`) as HTMLInputElement).checked = true;
  $("#reason-form")!.dispatchEvent(new Event("change"));
  $("#view-summary")!.click();
}

beforeEach(() => {
  document.body.innerHTML = '<div id="status-bar" hidden></div><main id="main"></main>';
  for (const f of Object.values(api)) f.mockReset();
  api.startupStatus.mockResolvedValue({ configError: null, spineUrl: "https://spine.test" });
  api.cardStatus.mockResolvedValue({ state: "cardPresent", reader: "Reader 0" });
  api.findPatient.mockResolvedValue(patient());
  api.signOut.mockResolvedValue(undefined);
  api.lockIdle.mockResolvedValue(undefined);
});

afterEach(() => {
  endSession({ reason: "SIGNED_OUT", message: "Signed out." });
});

const YES = { reason: "permission-to-view", justification: null, selfClaimedRelationship: false };

describe("the permission question and the spine's answers", () => {
  it("offers a self-claim when there is no recorded relationship, and resends the same answer with it", async () => {
    await signInAs(role({}));
    api.openSummary.mockRejectedValueOnce(fail("NO_LEGITIMATE_RELATIONSHIP", "Your organisation has no recorded relationship with this patient."));
    api.openSummary.mockResolvedValueOnce(summary({ offlineCopy: false, volumeWarning: "You have opened 31 different patients' records in the last hour." }));
    await findAndAnswer("reason-permission");
    await until("#no-relationship");
    expect(api.openSummary).toHaveBeenLastCalledWith("9434765919", YES);
    ($("#self-claim") as HTMLInputElement).checked = true;
    ($("#claim-reason") as HTMLTextAreaElement).value = "Fracture clinic today";
    $("#confirm-claim")!.click();
    await until("#allergies");
    expect(api.openSummary).toHaveBeenLastCalledWith("9434765919", { ...YES, justification: "Fracture clinic today", selfClaimedRelationship: true });
    expect(text("#volume-warning")).toContain("You have opened 31 different patients' records in the last hour.");
  });

  it("goes back to find when the claim is cancelled, and offers no second claim", async () => {
    await signInAs(role({}));
    api.openSummary.mockRejectedValue(fail("NO_LEGITIMATE_RELATIONSHIP", "No recorded relationship."));
    await findAndAnswer("reason-permission");
    await until("#no-relationship");
    $("#cancel-claim")!.click();
    await until("#nhs-number");
    expect(api.openSummary).toHaveBeenCalledTimes(1);
    await findAndAnswer("reason-permission");
    await until("#no-relationship");
    ($("#self-claim") as HTMLInputElement).checked = true;
    $("#confirm-claim")!.click();
    // Refused again with the claim: an error, not the same question round again.
    await until('#allergies[data-state="unavailable"]');
    expect($("#no-relationship")).toBeNull();
  });

  it("records a refusal and shows nothing from the record", async () => {
    await signInAs(role({}));
    api.openSummary.mockRejectedValue(fail("PERMISSION_REFUSED", "The patient refused permission."));
    await findAndAnswer("reason-refused");
    await until("#permission-refused");
    expect(api.openSummary).toHaveBeenCalledWith("9434765919", { ...YES, reason: "permission-refused" });
    expect(text("#refused-notice")).toBe("The patient refused permission. This has been recorded. Nothing from their record is shown.");
    expect($("#allergies")).toBeNull();
    $("#find-another")!.click();
    await until("#nhs-number");
  });

  it("says clearly when the volume limit is reached", async () => {
    await signInAs(role({}));
    api.openSummary.mockRejectedValue(fail("VOLUME_LIMIT_REACHED", "You have opened 60 different patients' records in the last hour, the most allowed."));
    await findAndAnswer("reason-permission");
    await until("#volume-limit");
    expect(text("#volume-limit-error")).toContain("the most allowed");
    expect($("#retry")).toBeNull();
  });

  it("never asks a reception role the question", async () => {
    await signInAs(role({ clinical: false, roleCode: "R8008" }));
    api.sharingStatus.mockResolvedValue({ status: "noPreference" });
    await until("#nhs-number");
    ($("#nhs-number") as HTMLInputElement).value = "943 476 5919";
    $("#find-by-number")!.click();
    await until("#sharing-status");
    expect($("#reason-form")).toBeNull();
    expect(api.openSummary).not.toHaveBeenCalled();
  });
});

describe("the privacy officer", () => {
  const officer = role({ roleName: "Privacy Officer Access Role", roleCode: "R0001", clinical: false, privacyOfficer: true });

  it("lands on the open alerts, reviews one with a note, and sees it leave the list", async () => {
    api.listAlerts.mockResolvedValueOnce([alert()]);
    api.listAlerts.mockResolvedValueOnce([]);
    api.trailAround.mockResolvedValue([trailEntry()]);
    api.reviewAlert.mockResolvedValue(undefined);
    await signInAs(officer);
    await until("tr.scr-alert-row");
    expect($("#nhs-number")).toBeNull();
    expect(api.listAlerts).toHaveBeenCalledWith({ status: "open", userId: null, nhsNumber: null, organisation: null, from: null, to: null });
    expect(text("tr.scr-alert-row .scr-alert-when")).toBe("12-Mar-2026 14:05");
    $("button.scr-open-alert")!.click();
    await until("#around-trail");
    expect(api.trailAround).toHaveBeenCalledWith("555000000101", "2026-03-12T14:05:00Z");
    ($("#review-note") as HTMLTextAreaElement).value = "Confirmed with the clinic lead.";
    $("#mark-reviewed")!.click();
    await until("#alerts-notice");
    expect(api.reviewAlert).toHaveBeenCalledWith("audit-42", "Confirmed with the clinic lead.");
    expect(text("#alerts")).toBe("There are no open alerts.");
  });

  it("filters the list and finds who has viewed a record", async () => {
    api.listAlerts.mockResolvedValue([]);
    api.trailForPatient.mockResolvedValue([trailEntry()]);
    await signInAs(officer);
    await until("#alert-filters");
    ($("#alert-status") as HTMLSelectElement).value = "all";
    ($("#alert-user") as HTMLInputElement).value = "555000000101";
    ($("#alert-from") as HTMLInputElement).value = "01-03-2026";
    $("#apply-filters")!.click();
    await vi.waitFor(() => expect(api.listAlerts).toHaveBeenCalledTimes(2));
    expect(api.listAlerts).toHaveBeenLastCalledWith({ status: "all", userId: "555000000101", nhsNumber: null, organisation: null, from: "2026-03-01", to: null });
    await until("#who-viewed");
    $("#who-viewed")!.click();
    ($("#trail-nhs") as HTMLInputElement).value = "9434765919";
    $("#show-trail")!.click();
    await until("#trail");
    expect(api.trailForPatient).toHaveBeenCalledWith("9434765919");
    expect(document.querySelectorAll("#trail tr.scr-trail-row")).toHaveLength(1);
  });

  it("drops the alerts that arrive after the session ended", async () => {
    let answer: (v: unknown) => void = () => {};
    api.listAlerts.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    await signInAs(officer);
    await vi.waitFor(() => expect(api.listAlerts).toHaveBeenCalled());
    endSession({ reason: "CARD_REMOVED", message: "The smartcard was removed." });
    answer([alert()]);
    await new Promise((r) => setTimeout(r, 10));
    expect($("tr.scr-alert-row")).toBeNull();
  });
});
