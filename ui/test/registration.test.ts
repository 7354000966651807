// @vitest-environment happy-dom
// The registration authority's "Users and cards" (screens/registration.ts), with the Rust
// side replaced by mocks of `api`; and, through main.ts, that an RA role lands there.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { api, endSession } from "./ipc-mock";
import type { RegistrationView } from "../src/generated/types";

vi.mock("../src/ipc", async (importOriginal) =>
  (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()),
);

const { registrationScreen, revokeWarning } = await import("../src/screens/registration");

const $ = (sel: string) => document.querySelector<HTMLElement>(sel);
const $$ = (sel: string) => [...document.querySelectorAll<HTMLElement>(sel)];
const text = (sel: string) => $(sel)?.textContent ?? "";
const until = (sel: string) => vi.waitFor(() => expect($(sel)).not.toBeNull());
const type = (sel: string, value: string) => {
  const input = $(sel) as HTMLInputElement;
  input.value = value;
};

const RA = "555000000606";
const SAM = "555000000202";

function overview(): RegistrationView {
  return {
    users: [
      {
        userId: SAM,
        name: "Sam Patel",
        roleProfiles: [
          {
            id: "receptionist",
            roleCode: "R8008",
            roleName: "Admin/Clinical Support Access Role",
            orgOds: "B82001",
            orgName: "High Street Surgery",
            activities: ["B0264", "B0020"],
          },
        ],
        cards: [
          { issuer: "ab12", serial: "0a1b", revoked: true, liveSessions: 0 },
          { issuer: "ab12", serial: "7f3e", revoked: false, liveSessions: 1 },
        ],
      },
      {
        userId: RA,
        name: "Robin Clarke",
        roleProfiles: [
          {
            id: "ra-agent",
            roleCode: "RA-AGENT",
            roleName: "Registration Authority Agent (local role)",
            orgOds: "RX901",
            orgName: "Synthetic General Hospital",
            activities: ["RA-MANAGE"],
          },
        ],
        cards: [{ issuer: "ab12", serial: "99aa", revoked: false, liveSessions: 1 }],
      },
      { userId: "555000000999", name: "Alex Jones", roleProfiles: [], cards: [] },
    ],
    activities: [
      { code: "B0264", meaning: "Patient trace" },
      { code: "B0370", meaning: "View summary health records" },
      { code: "RA-MANAGE", meaning: "Manage users, role profiles and cards" },
    ],
  };
}

const user = (id: string) => `.ra-user[data-user="${id}"]`;
let current = true;

async function opened(view = overview()): Promise<void> {
  api.registrationOverview.mockResolvedValue(view);
  await registrationScreen({ current: () => current, ownUserId: RA });
  await until("#ra-users");
}

beforeEach(() => {
  document.body.innerHTML = '<div id="status-bar" hidden></div><main id="main"></main>';
  for (const f of Object.values(api)) f.mockReset();
  current = true;
});

describe("Users and cards", () => {
  it("lists each user with their role profiles and their cards, revoked or active", async () => {
    await opened();
    expect(text("#ra-heading")).toBe("Users and cards");
    expect($$(".ra-user").map((u) => u.dataset.user)).toEqual([SAM, RA, "555000000999"]);
    const sam = $(user(SAM))!;
    expect(sam.querySelector(".ra-profile[data-profile=receptionist]")?.textContent).toContain("Admin/Clinical Support Access Role");
    expect(sam.querySelector(".ra-profile .ra-activities")?.textContent).toBe("B0264, B0020");
    const cards = [...sam.querySelectorAll<HTMLElement>(".ra-card")].map((c) => [
      c.querySelector(".ra-serial")?.textContent,
      c.querySelector(".ra-card-status")?.textContent,
      c.querySelector(".ra-revoke") !== null,
    ]);
    expect(cards).toEqual([
      ["0a1b", "Revoked", false],
      ["7f3e", "Active", true],
    ]);
    // Where a user would look to issue a card: the page says it is done at the console.
    expect(text("#ra-card-issue")).toContain("scr-spine card issue");
    expect(text("#ra-card-issue")).toContain("private keys never cross the network");
    expect($(user("555000000999"))!.querySelector(".ra-no-cards")?.textContent).toContain("scr-spine card issue");
    expect($(user(RA))!.textContent).toContain("(you)");
  });

  it("registers a user, then reads the page again and says what was done", async () => {
    await opened();
    api.registerUser.mockResolvedValue({ userId: "555000000777", name: "Jo Bloggs", roleProfiles: [], cards: [] });
    type("#ra-new-user-id", "555000000777");
    type("#ra-new-user-name", "Jo Bloggs");
    $("#ra-register-user")!.click();
    await until("#ra-notice");
    expect(api.registerUser).toHaveBeenCalledWith({ userId: "555000000777", name: "Jo Bloggs" });
    expect(api.registrationOverview).toHaveBeenCalledTimes(2);
    expect(text("#ra-notice")).toContain("Jo Bloggs (555000000777) is registered");
    expect(text("#ra-notice")).toContain("scr-spine card issue");
  });

  it("shows a refusal in the spine's words where it was asked, keeping what was typed", async () => {
    await opened();
    api.registerUser.mockRejectedValue({ code: "USER_EXISTS", message: "A user is already registered as 555000000202; nothing changed." });
    type("#ra-new-user-id", SAM);
    type("#ra-new-user-name", "Sam Patel");
    $("#ra-register-user")!.click();
    await until("#ra-register-problem .nhsuk-error-summary");
    const box = $("#ra-register-problem .nhsuk-error-summary")!;
    expect(box.dataset.code).toBe("USER_EXISTS");
    expect(box.textContent).toContain("A user is already registered with this id");
    expect(box.textContent).toContain("A user is already registered as 555000000202; nothing changed.");
    expect(($("#ra-new-user-id") as HTMLInputElement).value).toBe(SAM);
    expect(($("#ra-register-user") as HTMLButtonElement).disabled).toBe(false);
    expect(api.registrationOverview).toHaveBeenCalledTimes(1);
  });

  it("adds a role profile with the activities ticked", async () => {
    await opened();
    const alex = $(user("555000000999"))!;
    const form = alex.querySelector<HTMLFormElement>(".ra-role-form")!;
    expect(form.hidden).toBe(true);
    alex.querySelector<HTMLElement>(".ra-add-role")!.click();
    expect(form.hidden).toBe(false);
    const set = (name: string, v: string) => ((form.querySelector(`input[name=${name}]`) as HTMLInputElement).value = v);
    set("roleCode", "R8001");
    set("roleName", "Nurse Access Role");
    set("orgOds", "RX901");
    set("orgName", "Synthetic General Hospital");
    const boxes = [...form.querySelectorAll<HTMLInputElement>("input[name=activity]")];
    expect(boxes.map((b) => b.value)).toEqual(["B0264", "B0370", "RA-MANAGE"]);
    boxes[0]!.checked = true;
    boxes[1]!.checked = true;
    api.addRoleProfile.mockResolvedValue({
      id: "555000000999-r8001-rx901",
      roleCode: "R8001",
      roleName: "Nurse Access Role",
      orgOds: "RX901",
      orgName: "Synthetic General Hospital",
      activities: ["B0264", "B0370"],
    });
    form.querySelector<HTMLElement>(".ra-add-role-submit")!.click();
    await until("#ra-notice");
    expect(api.addRoleProfile).toHaveBeenCalledWith("555000000999", {
      roleCode: "R8001",
      roleName: "Nurse Access Role",
      orgOds: "RX901",
      orgName: "Synthetic General Hospital",
      activities: ["B0264", "B0370"],
    });
    expect(text("#ra-notice")).toContain("Nurse Access Role at Synthetic General Hospital (RX901) added for Alex Jones");
  });

  it("removes a role profile only once confirmed, and shows the spine's refusal", async () => {
    await opened();
    const row = $(`${user(RA)} .ra-profile[data-profile=ra-agent]`)!;
    row.querySelector<HTMLElement>(".ra-remove-profile")!.click();
    const confirm = row.querySelector<HTMLElement>(".ra-remove-confirmation")!;
    expect(confirm.hidden).toBe(false);
    expect(confirm.textContent).toContain("stops being in force at once");
    row.querySelector<HTMLElement>(".ra-remove-cancel")!.click();
    expect(confirm.hidden).toBe(true);
    expect(api.removeRoleProfile).not.toHaveBeenCalled();
    row.querySelector<HTMLElement>(".ra-remove-profile")!.click();
    api.removeRoleProfile.mockRejectedValue({
      code: "OWN_ROLE_CHANGE",
      message: "You may not add or remove your own role profiles; ask another registration authority agent.",
    });
    row.querySelector<HTMLElement>(".ra-remove-confirm")!.click();
    await vi.waitFor(() => expect(row.querySelector(".ra-problem .nhsuk-error-summary")).not.toBeNull());
    expect(api.removeRoleProfile).toHaveBeenCalledWith(RA, "ra-agent");
    expect(row.querySelector(".ra-problem")?.textContent).toContain("You may not add or remove your own role profiles");
    expect(row.querySelector(".ra-problem")?.textContent).toContain("You cannot change your own role profiles");
  });

  it("revokes a card only with a reason and a confirmation that says its live sessions end", async () => {
    await opened();
    const row = $(`${user(SAM)} .ra-card[data-serial="7f3e"]`)!;
    row.querySelector<HTMLElement>(".ra-revoke")!.click();
    const confirm = row.querySelector<HTMLElement>(".ra-revoke-confirmation")!;
    expect(confirm.hidden).toBe(false);
    expect(confirm.querySelector(".ra-revoke-warning")?.textContent).toContain("ends the card's 1 live session now");
    // No reason: asked for one, nothing sent.
    row.querySelector<HTMLElement>(".ra-revoke-confirm")!.click();
    expect(row.querySelector<HTMLElement>(".ra-revoke-missing")!.hidden).toBe(false);
    expect(api.revokeCard).not.toHaveBeenCalled();
    (row.querySelector(".ra-revoke-reason") as HTMLInputElement).value = "  reported lost ";
    api.revokeCard.mockResolvedValue({ serial: "7f3e", userId: SAM, userName: "Sam Patel", sessionsEnded: 1 });
    row.querySelector<HTMLElement>(".ra-revoke-confirm")!.click();
    await until("#ra-notice");
    expect(api.revokeCard).toHaveBeenCalledWith({ serial: "7f3e", issuer: "ab12", reason: "reported lost" });
    expect(text("#ra-notice")).toBe("Sam Patel's card 7f3e is revoked; 1 live session ended.");
  });

  it("says a revocation ends live sessions even when none was counted", () => {
    const words = revokeWarning({ issuer: "ab", serial: "01", revoked: false, liveSessions: 0 }, "Jo Bloggs");
    expect(words).toContain("ends any live session of the card at once");
    expect(words).toContain("Sign-in with Jo Bloggs's card 01 will be refused");
  });

  it("puts names in as text, never as markup", async () => {
    const view = overview();
    view.users[2]!.name = '<img src=x onerror="alert(1)">Mallory';
    await opened(view);
    expect($("#main img")).toBeNull();
    expect($(user("555000000999"))!.querySelector("h3")?.textContent).toContain('<img src=x onerror="alert(1)">Mallory');
  });

  it("drops an answer that arrives after the session ended or the role changed", async () => {
    await opened();
    let answer: (v: unknown) => void = () => {};
    api.registerUser.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    type("#ra-new-user-id", "555000000777");
    type("#ra-new-user-name", "Jo Bloggs");
    $("#ra-register-user")!.click();
    current = false;
    document.getElementById("main")!.replaceChildren();
    answer({ userId: "555000000777", name: "Jo Bloggs", roleProfiles: [], cards: [] });
    await new Promise((r) => setTimeout(r, 10));
    expect(api.registrationOverview).toHaveBeenCalledTimes(1);
    expect($("#ra-notice")).toBeNull();
    expect($("#ra-users")).toBeNull();
  });

  it("says why the page could not be read, in the spine's words", async () => {
    api.registrationOverview.mockRejectedValue({ code: "NOT_PERMITTED_FOR_ROLE", message: "This role may not manage registrations." });
    await registrationScreen({ current: () => true, ownUserId: RA });
    const box = $("#ra-load-error")!;
    expect(box.dataset.code).toBe("NOT_PERMITTED_FOR_ROLE");
    expect(box.textContent).toContain("This role may not manage registrations.");
    expect($("#ra-retry")).not.toBeNull();
  });
});

describe("choosing a role", () => {
  const raRole = {
    id: "ra-agent",
    roleName: "Registration Authority Agent (local role)",
    roleCode: "RA-AGENT",
    orgName: "Synthetic General Hospital",
    orgOds: "RX901",
    clinical: false,
    registration: true,
  };
  const robin = { userName: "Robin Clarke", userId: RA, roles: [raRole], idleTimeoutSecs: 900, cache: { state: "on", maxAgeHours: 48 } };

  async function signIn(role: typeof raRole): Promise<void> {
    vi.resetModules();
    api.startupStatus.mockResolvedValue({ configError: null, spineUrl: "https://spine.test" });
    api.cardStatus.mockResolvedValue({ state: "cardPresent", reader: "Reader 0" });
    api.registrationOverview.mockResolvedValue(overview());
    await import("../src/main");
    await until("#passcode");
    api.signIn.mockResolvedValue({ ...robin, roles: [role] });
    ($("#passcode") as HTMLInputElement).value = "192837";
    $("#sign-in")!.click();
    await until("#role-form");
    api.selectRole.mockResolvedValue(role);
    $("#choose-role")!.click();
  }

  it("takes an RA role with nothing clinical to Users and cards", async () => {
    await signIn(raRole);
    await until("#ra-users");
    expect(text("h1")).toBe("Users and cards");
    expect($("#nhs-form")).toBeNull();
    endSession({ reason: "SIGNED_OUT", message: "Signed out." });
  });

  it("takes a role that is clinical too to Find a patient", async () => {
    await signIn({ ...raRole, clinical: true });
    await until("#nhs-form");
    expect(api.registrationOverview).not.toHaveBeenCalled();
    endSession({ reason: "SIGNED_OUT", message: "Signed out." });
  });
});
