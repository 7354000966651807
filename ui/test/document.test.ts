// @vitest-environment happy-dom
// A document opened from a file (issue 14): the screen (its banner always in view with the
// allergies, the warnings, the other sections as text) and the flow through main.ts (who is
// offered it, the size checked before the file is read, a drop on the window, refusals).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { api, endSession } from "./ipc-mock";
import type { AppError } from "../src/errors";
import type { DocumentView } from "../src/generated/types";
import { MAX_DOCUMENT_BYTES } from "../src/generated/types";
import { patient, summary } from "./fixtures";

vi.mock("../src/ipc", async (importOriginal) =>
  (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()),
);

const $ = (sel: string) => document.querySelector<HTMLElement>(sel);
const text = (sel: string) => $(sel)?.textContent ?? "";
const until = (sel: string) => vi.waitFor(() => expect($(sel)).not.toBeNull());

function doc(over: Partial<DocumentView> = {}): DocumentView {
  return {
    source: {
      fileName: "ips-from-leeds.json",
      title: "Patient summary",
      authors: ["Dr Jo Bloggs"],
      custodian: "Synthetic Trust",
      date: "2026-03-12",
      openedAt: "2026-03-13T09:30:00Z",
    },
    summary: summary({
      patient: patient({ nhsNumber: null }),
      offlineCopy: false,
      allergies: { state: "known", allergies: [{ substance: "Penicillin", reaction: "Hives", severity: "severe", highCriticality: true, unconfirmed: false, recorded: null }] },
      warnings: ["a section entry (urn:uuid:gone) could not be found in the document and was skipped"],
      provenance: { practiceName: "Synthetic Trust", practiceOds: null, lastUpdated: "2026-03-12T00:00:00Z", withheld: false },
    }),
    otherSections: [
      { title: "Results", text: { blocks: [{ kind: "paragraph", text: "HbA1c 48 mmol/mol <img src=x onerror=alert(1)>" }], complete: true }, entries: 3 },
      { title: "Procedures", text: null, entries: 2 },
    ],
    ...over,
  };
}

const role = (clinical: boolean) => ({
  id: "r1",
  roleName: clinical ? "Clinical Practitioner Access Role" : "Admin/Clinical Support Access Role",
  roleCode: clinical ? "R8000" : "R8008",
  orgName: "Synthetic General Hospital",
  orgOds: "RX901",
  clinical,
  privacyOfficer: false,
  registration: false,
});

async function signInAs(clinical: boolean): Promise<void> {
  vi.resetModules();
  const r = role(clinical);
  api.signIn.mockResolvedValue({ userName: "Dr Amara Okafor", userId: "555000000101", roles: [r], idleTimeoutSecs: 900, cache: { state: "off", reason: "No keyring." } });
  api.selectRole.mockResolvedValue(r);
  await import("../src/main");
  await until("#passcode");
  ($("#passcode") as HTMLInputElement).value = "246810";
  $("#sign-in")!.click();
  await until("#choose-role");
  $("#choose-role")!.click();
  await until("#nhs-number");
}

function choose(file: File, sel = "#open-document"): void {
  const input = $(sel) as HTMLInputElement;
  Object.defineProperty(input, "files", { value: [file], configurable: true });
  input.dispatchEvent(new Event("change"));
}

function drop(files: File[]): Event {
  const e = new Event("drop", { cancelable: true, bubbles: true });
  Object.defineProperty(e, "dataTransfer", { value: { files } });
  window.dispatchEvent(e);
  return e;
}

const json = (name = "ips.json", body = '{"resourceType":"Bundle"}') => new File([body], name, { type: "application/json" });

beforeEach(() => {
  document.body.innerHTML = '<div id="status-bar" hidden></div><main id="main"></main>';
  for (const f of Object.values(api)) f.mockReset();
  api.startupStatus.mockResolvedValue({ configError: null, spineUrl: "https://spine.test" });
  api.cardStatus.mockResolvedValue({ state: "cardPresent", reader: "Reader 0" });
  api.signOut.mockResolvedValue(undefined);
  api.lockIdle.mockResolvedValue(undefined);
});

afterEach(() => {
  endSession({ reason: "SIGNED_OUT", message: "Signed out." });
});

describe("the document screen", () => {
  it("heads the sticky block with the banner, file name, author, custodian and date, above the allergies", async () => {
    const { documentScreen, SOURCE_BANNER } = await import("../src/screens/document");
    documentScreen(doc(), new Date("2026-03-13"), { close: () => {}, open: () => {} });
    expect(text("#document-banner-title")).toBe(SOURCE_BANNER);
    expect(SOURCE_BANNER).toBe("Document from a file — not from the Summary Care Record");
    const source = text("#document-source");
    for (const part of ["File: ips-from-leeds.json", "Author: Dr Jo Bloggs", "Custodian: Synthetic Trust", "Dated: 12-Mar-2026"]) {
      expect(source).toContain(part);
    }
    const sticky = $("#summary-sticky")!;
    expect(sticky.firstElementChild?.id).toBe("document-banner");
    expect(sticky.contains($("#allergies"))).toBe(true);
    expect($("#allergies")!.dataset.state).toBe("known");
    // The patient's NHS number: the document gave none, and the banner says so.
    expect(text("#patient-nhs-number")).toBe("Not recorded");
  });

  it("lists every warning and shows the other sections as text, never as markup", async () => {
    const { documentScreen } = await import("../src/screens/document");
    documentScreen(doc(), new Date("2026-03-13"), { close: () => {}, open: () => {} });
    expect($("#document-warnings")!.dataset.count).toBe("1");
    expect(text("#warnings")).toContain("urn:uuid:gone");
    expect(text("#other-section-0")).toContain("HbA1c 48 mmol/mol <img src=x onerror=alert(1)>");
    expect(document.querySelector("#other-sections img")).toBeNull();
    expect(text("#other-section-1")).toContain("2 entries not shown");
    expect(text("#provenance")).toContain("not checked with the Summary Care Record");
    expect(text("#provenance")).toContain("not kept on this computer");
  });

  it("says 'this document', not 'the GP record', when allergies are not recorded, and still says a warning when there are none", async () => {
    const { documentScreen } = await import("../src/screens/document");
    documentScreen(doc({ summary: summary({ offlineCopy: false, allergies: { state: "notRecorded" }, warnings: [] }) }), new Date(), { close: () => {}, open: () => {} });
    expect(text("#allergies")).toContain("This document has no allergy entry");
    expect(text("#allergies")).not.toContain("GP record");
    expect($("#document-warnings")!.dataset.count).toBe("0");
  });

  it("shows the document's additional information in its own words: withheld by the sender, not by a preference we hold", async () => {
    const { documentScreen } = await import("../src/screens/document");
    const none = { state: "notIncluded" } as const;
    const s = summary({
      offlineCopy: false,
      additional: {
        history: none,
        procedures: none,
        immunisations: { state: "recorded", items: [{ text: "Tetanus vaccine", detail: null, date: "2020-01-02", dateLabel: "given", sensitive: null, notGiven: false }], text: null },
        anticipatoryCare: none,
        endOfLife: { state: "notShared" },
        communication: none,
      },
    });
    documentScreen(doc({ summary: s }), new Date(), { close: () => {}, open: () => {} });
    expect(text("#additional-immunisations")).toContain("Tetanus vaccine");
    expect($("#additional-end-of-life")!.dataset.state).toBe("notShared");
    expect(text("#additional-end-of-life")).toContain("the document says this section was withheld");
    expect(text("#additional-end-of-life")).not.toContain("sharing preference");
    expect(text("#additional-history")).toContain("Not included in this document.");
    // After the core record, before the warnings.
    const order = [...document.querySelectorAll("#problems, #additional, #document-warnings")].map((e) => e.id);
    expect(order).toEqual(["problems", "additional", "document-warnings"]);
  });

  it("asks nothing about a child protection plan, and says no attendance can be recorded from a file", async () => {
    const { documentScreen } = await import("../src/screens/document");
    const s = summary({ offlineCopy: false, flags: { reasonableAdjustment: null, childProtection: { responsibleOds: "B82001", responsibleName: null, since: null, withheld: false }, other: [] } });
    documentScreen(doc({ summary: s }), new Date(), { close: () => {}, open: () => {} });
    expect($("#cp-form")).toBeNull();
    expect($("#cp-attendance")!.dataset.state).toBe("fromFile");
  });

  it("keeps the document banner in the sticky block's stylesheet, unlike the offline banner", () => {
    const css = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../styles/app.scss"), "utf8");
    const rule = /\.scr-document-banner \{([^}]*)\}/.exec(css)?.[1] ?? "";
    expect(rule).toContain("background: #003087");
    expect(rule).toContain("double");
    const offline = /\.scr-offline-banner \{([^}]*)\}/.exec(css)?.[1] ?? "";
    expect(offline).not.toContain("#003087");
  });
});

describe("opening a document from a file", () => {
  it("is offered to a clinical role, reads the file and shows it", async () => {
    await signInAs(true);
    api.openDocument.mockResolvedValue(doc());
    expect($("#open-document")!.getAttribute("accept")).toBe(".json,application/fhir+json");
    choose(json("ips-from-leeds.json", '{"resourceType":"Bundle","type":"document"}'));
    await until("#document-banner");
    expect(api.openDocument).toHaveBeenCalledWith("ips-from-leeds.json", '{"resourceType":"Bundle","type":"document"}');
    $("#close-document")!.click();
    await until("#nhs-number");
  });

  it("is not offered to a reception role, and a drop there opens nothing", async () => {
    await signInAs(false);
    expect($("#open-document")).toBeNull();
    const e = drop([json()]);
    expect(e.defaultPrevented).toBe(true);
    expect(text("#drop-refused")).toContain("clinical role");
    expect(api.openDocument).not.toHaveBeenCalled();
  });

  it("refuses a file over the limit before reading it", async () => {
    await signInAs(true);
    const big = json("huge.json");
    Object.defineProperty(big, "size", { value: MAX_DOCUMENT_BYTES + 1 });
    const read = vi.spyOn(big, "text");
    choose(big);
    await until("#document-refused");
    expect(text("#document-refused")).toContain("the largest document the viewer opens is 4.0 MB");
    expect(read).not.toHaveBeenCalled();
    expect(api.openDocument).not.toHaveBeenCalled();
  });

  it("opens a file dropped on the window, and takes every drop so the window never navigates to it", async () => {
    await signInAs(true);
    api.openDocument.mockResolvedValue(doc());
    const e = drop([json("dropped.json")]);
    expect(e.defaultPrevented).toBe(true);
    await until("#document-banner");
    expect(api.openDocument).toHaveBeenCalledWith("dropped.json", '{"resourceType":"Bundle"}');
    drop([json("a.json"), json("b.json")]);
    expect(text("#drop-refused")).toContain("one document at a time");
  });

  it("shows a refusal's plain reason and nothing from the file", async () => {
    await signInAs(true);
    const refusal: AppError = { code: "DOCUMENT_REFUSED", reason: "noPatient", message: "The document does not say which patient it is about, so it is not shown." };
    api.openDocument.mockRejectedValue(refusal);
    choose(json("orphan.json"));
    await until("#document-refused");
    expect(text("#document-refused")).toContain("This file cannot be opened as a patient summary");
    expect(text("#document-refused")).toContain("does not say which patient");
    expect($("#allergies")).toBeNull();
    expect($("#open-another-document")).not.toBeNull();
  });

  it("drops a document whose session ended while it was read", async () => {
    await signInAs(true);
    let answer: (d: DocumentView) => void = () => {};
    api.openDocument.mockReturnValue(new Promise<DocumentView>((r) => (answer = r)));
    choose(json());
    await vi.waitFor(() => expect(api.openDocument).toHaveBeenCalled());
    endSession({ reason: "CARD_REMOVED", message: "The smartcard was removed." });
    answer(doc());
    await new Promise((r) => setTimeout(r, 10));
    expect($("#document-banner")).toBeNull();
    expect($("#patient-banner")).toBeNull();
  });
});
