// @vitest-environment happy-dom
// The session strip and "Change role" through main.ts, with the Rust side replaced by mocks
// of `api`.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, endSession } from "./ipc-mock";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderSessionBar } from "../src/session-bar";
import { patient, summary } from "./fixtures";

vi.mock("../src/ipc", async (importOriginal) =>
  (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()),
);

const $ = (sel: string) => document.querySelector<HTMLElement>(sel);
const text = (sel: string) => $(sel)?.textContent ?? "";
const until = (sel: string) => vi.waitFor(() => expect($(sel)).not.toBeNull());

const ed = { id: "doctor-ed", roleName: "Clinical Practitioner Access Role", roleCode: "R8000", orgName: "Synthetic General Hospital ED", orgOds: "RX901", clinical: true, privacyOfficer: false, registration: false };
const ooh = { id: "doctor-ooh", roleName: "Health Professional Access Role", roleCode: "R8003", orgName: "Synthetic Out of Hours Service", orgOds: "NX901", clinical: true, privacyOfficer: false, registration: false };
const desk = { id: "desk", roleName: "Admin/Clinical Support Access Role", roleCode: "R8008", orgName: "High Street Surgery", orgOds: "B82001", clinical: false, privacyOfficer: false, registration: false };
const doctor = { userName: "Dr Amara Okafor", userId: "555000000101", roles: [ed, ooh, desk], idleTimeoutSecs: 900, cache: { state: "on", maxAgeHours: 48 } };

async function signedIn(user = doctor, role = ed): Promise<void> {
  vi.resetModules();
  await import("../src/main");
  await until("#passcode");
  api.signIn.mockResolvedValue(user);
  ($("#passcode") as HTMLInputElement).value = "246810";
  $("#sign-in")!.click();
  await until("#role-form");
  api.selectRole.mockResolvedValue(role);
  ($(`#role-${role.id}`) as HTMLInputElement).checked = true;
  $("#choose-role")!.click();
  await until("#nhs-form");
}

async function openSummary(): Promise<void> {
  api.findPatient.mockResolvedValue(patient());
  api.openSummary.mockResolvedValue(summary({ offlineCopy: false, allergies: { state: "notRecorded" } }));
  ($("#nhs-number") as HTMLInputElement).value = "9434765919";
  $("#find-by-number")!.click();
  await until("#reason-form");
  ($("#reason-permission") as HTMLInputElement).checked = true;
  $("#view-summary")!.click();
  await until("#allergies");
}

beforeEach(() => {
  document.body.innerHTML = '<div id="status-bar" hidden></div><main id="main"></main>';
  for (const f of Object.values(api)) f.mockReset();
  api.startupStatus.mockResolvedValue({ configError: null, spineUrl: "https://spine.test" });
  api.cardStatus.mockResolvedValue({ state: "cardPresent", reader: "Reader 0" });
  api.signOut.mockResolvedValue(undefined);
  api.lockIdle.mockResolvedValue(undefined);
  api.keepAlive.mockResolvedValue(undefined);
});

afterEach(() => {
  endSession({ reason: "SIGNED_OUT", message: "Signed out." });
});

describe("the session strip", () => {
  it("names the user from the role screen on, then their role and organisation", async () => {
    vi.resetModules();
    await import("../src/main");
    await until("#passcode");
    expect($("#status-bar")!.hidden).toBe(true);
    api.signIn.mockResolvedValue(doctor);
    ($("#passcode") as HTMLInputElement).value = "246810";
    $("#sign-in")!.click();
    await until("#role-form");
    expect($("#status-bar")!.hidden).toBe(false);
    expect(text("#session-user")).toBe("Dr Amara Okafor");
    expect($("#session-role")).toBeNull();
    expect($("#change-role")).toBeNull();
    expect($("#sign-out")).not.toBeNull();
    api.selectRole.mockResolvedValue(ed);
    $("#choose-role")!.click();
    await until("#nhs-form");
    expect(text("#session-role")).toBe("Clinical Practitioner Access Role");
    expect(text("#session-org")).toBe("Synthetic General Hospital ED (RX901)");
    expect(text("#signed-in-as")).toBe("Dr Amara Okafor · Clinical Practitioner Access Role · Synthetic General Hospital ED (RX901)");
    expect($("#change-role")).not.toBeNull();
  });

  it("stays on the summary, above the allergies, and has no Change role with one profile", async () => {
    await signedIn({ ...doctor, roles: [ed] });
    expect($("#change-role")).toBeNull();
    await openSummary();
    expect(text("#session-org")).toBe("Synthetic General Hospital ED (RX901)");
    // The strip comes before the page, so the sticky allergies start below it.
    expect(!!($("#status-bar")!.compareDocumentPosition($("#allergies")!) & Node.DOCUMENT_POSITION_FOLLOWING)).toBe(true);
  });

  it("is gone when the session ends", async () => {
    await signedIn();
    endSession({ reason: "IDLE_TIMEOUT", message: "The app was idle for too long." });
    expect($("#status-bar")!.hidden).toBe(true);
    expect($("#signed-in-as")).toBeNull();
  });
});

describe("the session strip and the sticky allergies", () => {
  it("keeps the allergies sticky just below the sticky strip, never under it", () => {
    const scss = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../styles/app.scss"), "utf8");
    const rule = (selector: string) => scss.match(new RegExp(`\\n${selector.replace(".", "\\.")}\\s*\\{([^}]*)\\}`))?.[1] ?? "";
    expect(rule(".scr-status-bar")).toMatch(/position:\s*sticky;\s*top:\s*0;\s*z-index:\s*3;/);
    for (const sticky of [".scr-allergies", ".scr-sticky-top"]) {
      expect(rule(sticky)).toMatch(/position:\s*sticky;\s*top:\s*var\(--scr-session-bar-height, 0px\);\s*z-index:\s*2;/);
    }
  });

  it("publishes the strip's height for the allergies to stick below, and 0 when hidden", () => {
    const bar = $("#status-bar")!;
    vi.spyOn(bar, "getBoundingClientRect").mockReturnValue({ height: 57.3 } as DOMRect);
    const actions = { changeRole: vi.fn(), signOut: vi.fn() };
    renderSessionBar({ mode: "online", userName: "Dr Amara Okafor", role: ed, canChangeRole: true }, actions);
    const published = () => document.documentElement.style.getPropertyValue("--scr-session-bar-height");
    expect(published()).toBe("58px");
    renderSessionBar({ mode: "offline", userName: "Dr Amara Okafor" }, actions);
    expect(text("#signed-in-as")).toBe("Dr Amara Okafor · Offline");
    expect($("#change-role")).toBeNull();
    renderSessionBar(null, actions);
    expect(published()).toBe("0px");
  });
});

describe("Change role", () => {
  it("takes the patient off the page, then continues at Find a patient in the role chosen", async () => {
    await signedIn();
    await openSummary();
    $("#change-role")!.click();
    // Synchronously: no patient detail is left on the page.
    expect($("#allergies")).toBeNull();
    expect($("#patient-name")).toBeNull();
    expect(document.body.textContent).not.toContain("LOVELACE");
    expect(text("h1")).toBe("Change role");
    // The role in force is marked and chosen; every profile is offered.
    expect(document.querySelectorAll("#roles input")).toHaveLength(3);
    expect(($("#role-doctor-ed") as HTMLInputElement).checked).toBe(true);
    expect(text("label[for=role-doctor-ed]")).toContain("(your role now)");
    api.selectRole.mockResolvedValue(ooh);
    ($("#role-doctor-ooh") as HTMLInputElement).checked = true;
    $("#choose-role")!.click();
    await until("#nhs-form");
    expect(api.selectRole).toHaveBeenLastCalledWith("doctor-ooh");
    expect(api.signOut).not.toHaveBeenCalled();
    expect(text("#session-role")).toBe("Health Professional Access Role");
    expect(text("#session-org")).toBe("Synthetic Out of Hours Service (NX901)");
  });

  it("Cancel keeps the role and goes to Find a patient, without the patient", async () => {
    await signedIn();
    await openSummary();
    $("#change-role")!.click();
    $("#cancel-role-change")!.click();
    expect($("#nhs-form")).not.toBeNull();
    expect($("#allergies")).toBeNull();
    expect(api.selectRole).toHaveBeenCalledTimes(1);
    expect(text("#session-org")).toBe("Synthetic General Hospital ED (RX901)");
  });

  it("drops a summary that arrives after the role was changed", async () => {
    await signedIn();
    let answer: (v: unknown) => void = () => {};
    api.findPatient.mockResolvedValue(patient());
    api.openSummary.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    ($("#nhs-number") as HTMLInputElement).value = "9434765919";
    $("#find-by-number")!.click();
    await until("#reason-form");
    ($("#reason-permission") as HTMLInputElement).checked = true;
    $("#view-summary")!.click();
    $("#change-role")!.click();
    answer(summary({ offlineCopy: false }));
    await new Promise((r) => setTimeout(r, 10));
    expect($("#allergies")).toBeNull();
    expect(text("h1")).toBe("Change role");
  });

  it("a role without clinical access then sees the sharing status, not the summary", async () => {
    await signedIn();
    $("#change-role")!.click();
    api.selectRole.mockResolvedValue(desk);
    ($("#role-desk") as HTMLInputElement).checked = true;
    $("#choose-role")!.click();
    await until("#nhs-form");
    api.findPatient.mockResolvedValue(patient());
    api.sharingStatus.mockResolvedValue({ status: "noPreference" });
    ($("#nhs-number") as HTMLInputElement).value = "9434765919";
    $("#find-by-number")!.click();
    await until("#sharing-status");
    expect(api.sharingStatus).toHaveBeenCalledWith("9434765919");
    expect(api.openSummary).not.toHaveBeenCalled();
    expect($("#reason-form")).toBeNull();
  });

  it("keeps the role in force when the spine refuses the new one", async () => {
    await signedIn();
    $("#change-role")!.click();
    api.selectRole.mockRejectedValue({ code: "ROLE_NOT_HELD", message: "That role profile is not one of yours." });
    ($("#role-doctor-ooh") as HTMLInputElement).checked = true;
    $("#choose-role")!.click();
    await until("#error-summary");
    expect(text("#error-summary")).toContain("That role profile is not one of yours.");
    expect(text("#session-org")).toBe("Synthetic General Hospital ED (RX901)");
    expect($("#cancel-role-change")).not.toBeNull();
  });
});
