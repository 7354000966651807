// @vitest-environment happy-dom
/// <reference types="node" />
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { entry, patient, summary } from "./fixtures";
import { offlineBannerText, summaryScreen } from "../src/screens/summary";
import { cacheOffNotice, offlineScreen, removeOfflineControl, type OfflineActions } from "../src/screens/offline";
import { passcodeScreen } from "../src/screens/passcode";

const main = () => document.getElementById("main")!;
const noActions: OfflineActions = { open: () => {}, remove: () => {} };

beforeEach(() => {
  document.body.replaceChildren();
  document.body.append(Object.assign(document.createElement("main"), { id: "main" }));
});

describe("the offline banner", () => {
  it("says when the copy was fetched, in UK time", () => {
    expect(offlineBannerText("2026-11-23T14:02:00Z")).toBe("Offline copy fetched 23-Nov-2026 14:02 — may be out of date");
    // British Summer Time: an hour ahead of UTC.
    expect(offlineBannerText("2026-07-01T09:05:00Z")).toBe("Offline copy fetched 01-Jul-2026 10:05 — may be out of date");
  });

  it("is shown for an offline copy, above the allergies, in the same sticky block", () => {
    summaryScreen(summary(), new Date("2026-11-24T00:00:00Z"), () => {});
    const banner = document.getElementById("offline-banner");
    const allergies = document.getElementById("allergies");
    expect(banner?.textContent).toBe("Offline copy fetched 23-Nov-2026 14:02 — may be out of date");
    expect(banner!.compareDocumentPosition(allergies!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(banner!.getAttribute("role")).not.toBe("alert");
    const sticky = banner!.closest(".scr-sticky-top");
    expect(sticky).not.toBeNull();
    expect(allergies!.parentElement).toBe(sticky);
  });

  it("is not shown for a copy fresh from the spine", () => {
    summaryScreen(summary({ offlineCopy: false }), new Date(), () => {});
    expect(document.getElementById("offline-banner")).toBeNull();
    expect(main().textContent).not.toContain("Offline copy");
    expect(document.getElementById("allergies")).not.toBeNull();
    expect(document.getElementById("find-another")).not.toBeNull();
    expect(document.getElementById("back-to-offline")).toBeNull();
  });

  it("goes with a way back to the offline records instead of a search", () => {
    const back = vi.fn();
    summaryScreen(summary(), new Date(), back);
    expect(document.getElementById("find-another")).toBeNull();
    const button = document.getElementById("back-to-offline")!;
    expect(button.textContent).toBe("Back to offline records");
    button.click();
    expect(back).toHaveBeenCalledOnce();
  });

  it("keeps both the banner and the allergies sticky in the stylesheet", () => {
    const scss = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../styles/app.scss"), "utf8");
    expect(scss).toMatch(/\.scr-sticky-top\s*\{[^}]*position:\s*sticky/);
    expect(scss).toMatch(/\.scr-offline-banner\s*\{[^}]*border:/);
  });
});

describe("the offline list", () => {
  it("has one row per entry, with the NHS number as data and 3-3-4", () => {
    offlineScreen(
      {
        entries: [entry(), entry({ nhsNumber: "9990000018", patient: patient({ family: "Turing", given: ["Alan"], title: null, nhsNumber: "9990000018" }) })],
        removedAltered: 0,
      },
      noActions,
    );
    expect(document.getElementById("offline-heading")?.textContent).toBe("Offline — recently viewed records");
    const rows = [...document.querySelectorAll<HTMLElement>("#offline-records tr.offline-record")];
    expect(rows.map((r) => r.dataset.nhs)).toEqual(["9434765919", "9990000018"]);
    expect(rows[0]!.textContent).toContain("943 476 5919");
    expect(rows[0]!.textContent).toContain("LOVELACE, Ada (Mrs)");
    expect(rows[0]!.textContent).toContain("12-Mar-1970");
    expect(rows[0]!.textContent).toContain("Fetched 23-Nov-2026 14:02");
    expect(rows[1]!.textContent).toContain("TURING, Alan");
    expect(rows.every((r) => r.querySelector("button.open-offline")?.textContent === "View")).toBe(true);
    expect(main().textContent).toContain("searching the Summary Care Record service is not available");
    expect(document.getElementById("offline-altered")).toBeNull();
    expect(document.getElementById("offline-empty")).toBeNull();
  });

  it("says when the name is not available, and tags emergency access", () => {
    offlineScreen({ entries: [entry({ patient: null, emergency: true })], removedAltered: 0 }, noActions);
    const row = document.querySelector<HTMLElement>("tr.offline-record")!;
    expect(row.textContent).toContain("Name not available");
    expect(row.textContent).toContain("943 476 5919");
    expect(row.querySelector(".nhsuk-tag")?.textContent).toBe("Emergency access");
  });

  it("tags only emergency entries", () => {
    offlineScreen({ entries: [entry()], removedAltered: 0 }, noActions);
    expect(document.querySelector(".nhsuk-tag")).toBeNull();
    expect(main().textContent).not.toContain("Emergency access");
  });

  it("says how many altered records were deleted, only when there were some", () => {
    offlineScreen({ entries: [entry()], removedAltered: 2 }, noActions);
    expect(document.getElementById("offline-altered")?.textContent).toContain(
      "2 offline records had been altered and were deleted without being shown.",
    );
    offlineScreen({ entries: [entry()], removedAltered: 1 }, noActions);
    expect(document.getElementById("offline-altered")?.textContent).toContain(
      "1 offline record had been altered and was deleted without being shown.",
    );
    offlineScreen({ entries: [entry()], removedAltered: 0 }, noActions);
    expect(document.getElementById("offline-altered")).toBeNull();
  });

  it("keeps hostile text in a patient name as text", () => {
    const name = "<img src=x onerror=alert(1)>";
    offlineScreen({ entries: [entry({ patient: patient({ family: null, given: [], nameText: name }) })], removedAltered: 0 }, noActions);
    const row = document.querySelector("tr.offline-record")!;
    expect(row.querySelector("img")).toBeNull();
    expect(document.querySelector("img")).toBeNull();
    expect(row.textContent).toContain(name);
  });

  it("opens the entry chosen", () => {
    const open = vi.fn();
    offlineScreen({ entries: [entry(), entry({ nhsNumber: "9990000018" })], removedAltered: 0 }, { open, remove: () => {} });
    document.querySelector<HTMLElement>('tr[data-nhs="9990000018"] button.open-offline')!.click();
    expect(open).toHaveBeenCalledWith("9990000018");
  });

  it("says so when there are none, and after removal", () => {
    offlineScreen({ entries: [], removedAltered: 0 }, noActions);
    expect(document.getElementById("offline-empty")?.textContent).toBe("You have no offline records on this computer.");
    expect(document.getElementById("offline-records")).toBeNull();
    offlineScreen({ entries: [], removedAltered: 0 }, noActions, { removed: 3 });
    expect(document.getElementById("offline-removed")?.textContent).toBe("3 offline records removed from this computer.");
    expect(document.getElementById("offline-empty")).not.toBeNull();
  });

  it("shows the fallback notice only when the spine could not be reached", () => {
    offlineScreen({ entries: [], removedAltered: 0 }, noActions, { fallback: true });
    expect(document.getElementById("offline-fallback-notice")?.textContent).toBe(
      "The Summary Care Record service cannot be reached, so you are working offline.",
    );
    offlineScreen({ entries: [], removedAltered: 0 }, noActions);
    expect(document.getElementById("offline-fallback-notice")).toBeNull();
  });
});

describe("removing offline records", () => {
  it("asks first, and removes only on yes", () => {
    const remove = vi.fn();
    main().append(removeOfflineControl(remove));
    const start = document.getElementById("remove-offline")!;
    const confirm = document.getElementById("remove-offline-confirm")!;
    expect(start.textContent).toBe("Remove my offline records");
    expect(confirm.hidden).toBe(true);
    start.click();
    expect(remove).not.toHaveBeenCalled();
    expect(confirm.hidden).toBe(false);
    document.getElementById("cancel-remove-offline")!.click();
    expect(confirm.hidden).toBe(true);
    expect(remove).not.toHaveBeenCalled();
    start.click();
    const yes = document.getElementById("confirm-remove-offline")!;
    expect(yes.textContent).toBe("Yes, remove them");
    yes.click();
    expect(remove).toHaveBeenCalledOnce();
  });
});

describe("signing in to work offline", () => {
  it("takes the passcode from the same field, and clears it", () => {
    const signIn = vi.fn();
    const workOffline = vi.fn();
    passcodeScreen({ signIn, workOffline });
    const input = document.getElementById("passcode") as HTMLInputElement;
    input.value = "123456";
    const button = document.getElementById("work-offline")!;
    expect(button.textContent).toBe("Work offline");
    button.click();
    expect(workOffline).toHaveBeenCalledWith("123456");
    expect(signIn).not.toHaveBeenCalled();
    expect(input.value).toBe("");
  });

  it("shows why offline was not possible below the original error", () => {
    passcodeScreen(
      { signIn: () => {}, workOffline: () => {} },
      { code: "SPINE_UNREACHABLE", message: "The Summary Care Record service cannot be reached." },
      "This card has no offline records on this computer.",
    );
    const error = document.getElementById("passcode-error")!;
    const first = error.querySelector(".nhsuk-error-summary__body p")!;
    const offline = document.getElementById("passcode-offline-error")!;
    expect(first.textContent).toContain("cannot be reached");
    expect(offline.textContent).toContain("This card has no offline records on this computer.");
    expect(first.compareDocumentPosition(offline) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it("words the cache-off notice", () => {
    expect(cacheOffNotice("No keyring is available.").textContent).toBe(
      "Offline records are off on this computer: No keyring is available. The app works online as usual.",
    );
  });
});

describe("sign-in errors by code", () => {
  it("explains a blocked card from the offline sign-in (CARD_BLOCKED, as the card says) and offers no passcode field", () => {
    passcodeScreen({ signIn: () => {}, workOffline: () => {} }, { code: "CARD_BLOCKED", message: "The card is blocked." });
    expect(main().querySelector("h1")?.textContent).toBe("Your smartcard is blocked");
    expect(document.getElementById("passcode")).toBeNull();
  });

  it("heads the error with the code's words and keeps the detail below", () => {
    passcodeScreen(
      { signIn: () => {}, workOffline: () => {} },
      { code: "CERTIFICATE_REVOKED", message: "This card's certificate has been revoked." },
    );
    const error = document.getElementById("passcode-error")!;
    expect(error.querySelector("h2")?.textContent).toBe("Your smartcard has been revoked");
    expect(error.textContent).toContain("This card's certificate has been revoked.");
  });
});

describe("sections sent as text only", () => {
  const text = (t: string) => ({ blocks: [{ kind: "item" as const, text: t }], complete: true });

  it("show the document's text, never 'none recorded'", () => {
    summaryScreen(
      summary({ documentText: { allergies: null, medication: text("Amoxicillin 500 mg three times a day"), problems: text("Asthma since 1990") } }),
      new Date(),
      () => {},
    );
    const medication = document.getElementById("medication")!;
    expect(medication.dataset.state).toBe("describedInText");
    expect(medication.textContent).toContain("Described in text only");
    expect(medication.textContent).toContain("Amoxicillin 500 mg three times a day");
    expect(main().textContent).not.toContain("No current repeat medication");
    expect(document.getElementById("problems")!.textContent).toContain("Asthma since 1990");
    expect(main().textContent).not.toContain("No significant problems recorded");
  });

  it("offer the document's own text beside coded entries", () => {
    summaryScreen(
      summary({
        problems: [{ condition: "Asthma", status: "active", onset: null }],
        documentText: { allergies: text("No known drug allergies"), medication: null, problems: text("Asthma (active)") },
      }),
      new Date(),
      () => {},
    );
    const own = document.getElementById("problems-own-text")!;
    expect(own.tagName).toBe("DETAILS");
    expect(own.textContent).toContain("Show the document's own text");
    expect(own.textContent).toContain("Asthma (active)");
    expect(document.getElementById("allergies-own-text")!.textContent).toContain("No known drug allergies");
  });
});

describe("the provenance line", () => {
  it("says the source is withheld for a restricted record", () => {
    summaryScreen(
      summary({ provenance: { practiceName: null, practiceOds: null, lastUpdated: null, withheld: true } }),
      new Date(),
      () => {},
    );
    expect(document.getElementById("provenance")!.textContent).toContain("withheld (restricted record)");
    expect(document.getElementById("provenance")!.textContent).not.toContain("unnamed source");
  });
});
