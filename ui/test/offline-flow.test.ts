// @vitest-environment happy-dom
// The offline flow through main.ts, with the Rust side replaced by mocks of `api`.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, endSession } from "./ipc-mock";
import type { AppError, AppErrorCode } from "../src/errors";
import { entry, patient, summary } from "./fixtures";

vi.mock("../src/ipc", async (importOriginal) =>
  (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()),
);

const fail = (code: AppErrorCode, message: string, triesLeft: number | null = null): AppError =>
  ({ code, message, ...(triesLeft === null ? {} : { triesLeft }) }) as AppError;
const $ = (sel: string) => document.querySelector<HTMLElement>(sel);
const text = (sel: string) => $(sel)?.textContent ?? "";
const until = (sel: string) => vi.waitFor(() => expect($(sel)).not.toBeNull());

const user = {
  userName: "Dr Ada Jones",
  userId: "555000000001",
  roles: [{ id: "r1", roleName: "Clinical Practitioner", roleCode: "R8000", orgName: "Leeds GP", orgOds: "B82001", clinical: true, registration: false }],
  idleTimeoutSecs: 900,
  cache: { state: "on", maxAgeHours: 72 },
};
const offlineUser = {
  userName: "Dr Ada Jones",
  userId: "555000000001",
  entries: [entry(), entry({ nhsNumber: "9990000018", patient: patient({ nhsNumber: "9990000018", family: "Turing" }) })],
  idleTimeoutSecs: 600,
  removedAltered: 0,
};

async function boot(): Promise<void> {
  vi.resetModules();
  await import("../src/main");
  await until("#passcode");
}

function enter(passcode: string, button = "#sign-in"): void {
  ($("#passcode") as HTMLInputElement).value = passcode;
  $(button)!.click();
}

beforeEach(() => {
  document.body.innerHTML = '<div id="status-bar" hidden></div><main id="main"></main>';
  for (const f of Object.values(api)) f.mockReset();
  api.startupStatus.mockResolvedValue({ configError: null, spineUrl: "https://spine.test" });
  api.cardStatus.mockResolvedValue({ state: "cardPresent", reader: "Reader 0" });
  api.signOut.mockResolvedValue(undefined);
  api.lockIdle.mockResolvedValue(undefined);
});

afterEach(() => {
  // Each boot's session ends, so no stale idle timer of an earlier test keeps a session.
  endSession({ reason: "SIGNED_OUT", message: "Signed out." });
});

describe("working offline", () => {
  it("falls back to the offline records when the spine cannot be reached", async () => {
    await boot();
    api.signIn.mockRejectedValue(fail("SPINE_UNREACHABLE", "The spine at https://spine.test cannot be reached."));
    api.signInOffline.mockResolvedValue(offlineUser);
    enter("123456");
    await until("#offline-heading");
    expect(api.signInOffline).toHaveBeenCalledWith("123456");
    expect(text("#offline-fallback-notice")).toBe("The Summary Care Record service cannot be reached, so you are working offline.");
    expect(document.querySelectorAll("tr.offline-record")).toHaveLength(2);
    expect(text("#signed-in-as")).toBe("Dr Ada Jones · Offline");
    expect($("#status-bar")!.hidden).toBe(false);
    expect($("#sign-out")).not.toBeNull();
  });

  it("shows both errors when the spine is down and offline is not set up", async () => {
    await boot();
    api.signIn.mockRejectedValue(fail("SPINE_TIMEOUT", "The spine did not answer in time."));
    api.signInOffline.mockRejectedValue(fail("OFFLINE_NOT_SET_UP", "This card has no offline records on this computer."));
    enter("123456");
    await until("#passcode-error");
    expect(text("#passcode-error")).toContain("cannot be reached");
    expect(text("#passcode-offline-error")).toContain("This card has no offline records on this computer.");
    expect($("#passcode")).not.toBeNull();
  });

  it("shows a wrong passcode from the offline sign-in as a wrong passcode", async () => {
    await boot();
    api.signIn.mockRejectedValue(fail("SPINE_UNREACHABLE", "The spine cannot be reached."));
    api.signInOffline.mockRejectedValue(fail("WRONG_PASSCODE", "Wrong passcode.", 2));
    enter("000000");
    await until("#passcode-error");
    expect(text("#passcode-error")).toContain("2 tries left");
    expect($("#passcode-offline-error")).toBeNull();
  });

  it("does not try offline for other sign-in failures", async () => {
    await boot();
    api.signIn.mockRejectedValue(fail("WRONG_PASSCODE", "Wrong passcode.", 1));
    enter("000000");
    await until("#passcode-error");
    expect(text("#passcode-error")).toContain("1 try left");
    expect(api.signInOffline).not.toHaveBeenCalled();
  });

  it("signs in offline from the Work offline button, without asking the spine", async () => {
    await boot();
    api.signInOffline.mockResolvedValue({ ...offlineUser, removedAltered: 1 });
    enter("654321", "#work-offline");
    await until("#offline-heading");
    expect(api.signInOffline).toHaveBeenCalledWith("654321");
    expect(api.signIn).not.toHaveBeenCalled();
    expect($("#offline-fallback-notice")).toBeNull();
    expect(text("#offline-altered")).toContain("1 offline record had been altered");
  });

  it("opens an offline copy with its banner, and goes back to the list", async () => {
    await boot();
    api.signInOffline.mockResolvedValue(offlineUser);
    api.openOfflineSummary.mockResolvedValue(summary());
    api.offlineRecords.mockResolvedValue(offlineUser.entries);
    enter("654321", "#work-offline");
    await until("#offline-heading");
    $('tr[data-nhs="9990000018"] button.open-offline')!.click();
    await until("#offline-banner");
    expect(api.openOfflineSummary).toHaveBeenCalledWith("9990000018");
    expect(text("#offline-banner")).toBe("Offline copy fetched 23-Nov-2026 14:02 — may be out of date");
    $("#back-to-offline")!.click();
    await until("#offline-heading");
    expect(api.offlineRecords).toHaveBeenCalled();
  });

  it("re-reads the list when a record has gone since it was listed", async () => {
    await boot();
    api.signInOffline.mockResolvedValue(offlineUser);
    api.openOfflineSummary.mockRejectedValue(fail("OFFLINE_RECORD_GONE", "This offline record has expired."));
    api.offlineRecords.mockResolvedValue([offlineUser.entries[0]]);
    enter("654321", "#work-offline");
    await until("#offline-heading");
    $('tr[data-nhs="9990000018"] button.open-offline')!.click();
    await until("#offline-error");
    expect(text("#offline-error")).toContain("This offline record has expired.");
    expect(document.querySelectorAll("tr.offline-record")).toHaveLength(1);
    expect($('tr[data-nhs="9990000018"]')).toBeNull();
  });

  it("drops a late offline answer after the session ended", async () => {
    await boot();
    api.signInOffline.mockResolvedValue(offlineUser);
    let answer: (v: unknown) => void = () => {};
    api.openOfflineSummary.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    enter("654321", "#work-offline");
    await until("#offline-heading");
    $("button.open-offline")!.click();
    endSession({ reason: "IDLE_TIMEOUT", message: "You were inactive." });
    expect($("#session-ended")).not.toBeNull();
    expect($("#status-bar")!.hidden).toBe(true);
    // A new offline session starts before the old answer arrives: it must not show.
    await until("#passcode");
    enter("654321", "#work-offline");
    await until("#offline-heading");
    answer(summary());
    await new Promise((r) => setTimeout(r, 10));
    expect($("#offline-banner")).toBeNull();
    expect($("#allergies")).toBeNull();
    expect($("#offline-heading")).not.toBeNull();
  });

  it("removes the offline records after a confirmation, offline", async () => {
    await boot();
    api.signInOffline.mockResolvedValue(offlineUser);
    api.removeOfflineRecords.mockResolvedValue(2);
    enter("654321", "#work-offline");
    await until("#offline-heading");
    $("#remove-offline")!.click();
    expect(api.removeOfflineRecords).not.toHaveBeenCalled();
    $("#confirm-remove-offline")!.click();
    await until("#offline-removed");
    expect(text("#offline-removed")).toBe("2 offline records removed from this computer.");
    expect($("#offline-empty")).not.toBeNull();
    expect(document.querySelectorAll("tr.offline-record")).toHaveLength(0);
  });
});

describe("online, with offline records", () => {
  async function signInOnline(cache: typeof user.cache | { state: "off"; reason: string }) {
    api.signIn.mockResolvedValue({ ...user, cache });
    enter("123456");
    await until("#role-form");
  }

  it("says once per run that offline records are off", async () => {
    await boot();
    const off = { state: "off" as const, reason: "No keyring is available on this computer." };
    await signInOnline(off);
    expect(text("#cache-off-notice")).toBe(
      "Offline records are off on this computer: No keyring is available on this computer. The app works online as usual.",
    );
    endSession({ reason: "SIGNED_OUT", message: "Signed out." });
    await until("#passcode");
    await signInOnline(off);
    expect($("#cache-off-notice")).toBeNull();
  });

  it("says nothing when the cache is on", async () => {
    await boot();
    await signInOnline(user.cache);
    expect($("#cache-off-notice")).toBeNull();
  });

  it("offers to remove them from the find screen", async () => {
    await boot();
    await signInOnline(user.cache);
    api.selectRole.mockResolvedValue(user.roles[0]);
    $("#choose-role")!.click();
    await until("#nhs-form");
    api.removeOfflineRecords.mockResolvedValue(3);
    $("#remove-offline")!.click();
    $("#confirm-remove-offline")!.click();
    await until("#offline-removed");
    expect(text("#offline-removed")).toBe("3 offline records removed from this computer.");
    expect($("#nhs-form")).not.toBeNull();
  });
});
