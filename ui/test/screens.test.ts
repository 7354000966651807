// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { allergySection } from "../src/screens/summary";
import { sharingText } from "../src/screens/sharing";
import { h } from "../src/dom";

describe("the allergy section", () => {
  const states = [
    allergySection({
      state: "known",
      allergies: [
        { substance: "Penicillin", reaction: "Rash", severity: "severe", highCriticality: true, unconfirmed: false, recorded: "2020-01-02" },
        { substance: "Latex", reaction: null, severity: null, highCriticality: false, unconfirmed: true, recorded: null },
      ],
    }),
    allergySection({ state: "noKnownAllergies", recorded: "2024-03-12" }),
    allergySection({ state: "notRecorded" }),
    allergySection({ state: "unavailable", message: "The service cannot be reached." }),
    allergySection({
      state: "describedInText",
      text: {
        blocks: [
          { kind: "heading", text: "Allergies" },
          { kind: "item", text: "Penicillin - anaphylaxis" },
          { kind: "row", cells: ["Latex", "Rash"] },
        ],
        complete: true,
      },
    }),
  ];

  it("has five states that differ in class, words and data-state", () => {
    const classes = new Set(states.map((s) => s.className));
    const kinds = new Set(states.map((s) => s.dataset.state));
    expect(classes.size).toBe(5);
    expect(kinds.size).toBe(5);
    // Text only shows the text, and never the words of "not recorded" or "no known".
    expect(states[4]!.textContent).toContain("Allergies described in text only");
    expect(states[4]!.textContent).toContain("Penicillin - anaphylaxis");
    expect(states[4]!.querySelector("li")?.textContent).toBe("Penicillin - anaphylaxis");
    expect(states[4]!.querySelector("td")?.textContent).toBe("Latex");
    expect(states[4]!.textContent).not.toContain("not recorded");
    expect(states[4]!.textContent).not.toContain("No known allergies");
    expect(states[1]!.textContent).toContain("No known allergies");
    expect(states[1]!.textContent).toContain("12-Mar-2024");
    expect(states[2]!.textContent).toContain("Allergy information not recorded");
    expect(states[2]!.textContent).not.toContain("No known allergies");
    expect(states[3]!.textContent).toContain("Allergy information unavailable");
  });

  it("marks unconfirmed entries and high risk", () => {
    const rows = states[0]!.querySelectorAll(".scr-allergy");
    expect(rows).toHaveLength(2);
    expect(rows[0]!.textContent).toContain("(high risk)");
    expect(rows[0]!.querySelector(".scr-unconfirmed")).toBeNull();
    expect(rows[1]!.querySelector(".scr-unconfirmed")?.textContent).toBe("Unconfirmed");
  });

  it("is a labelled live region, so screen readers announce it", () => {
    for (const s of states) {
      expect(s.getAttribute("role")).toBe("region");
      expect(s.getAttribute("aria-labelledby")).toBe("allergies-heading");
      expect(s.getAttribute("aria-live")).toBe("polite");
    }
  });

  it("says when the text was cut", () => {
    const cut = allergySection({ state: "describedInText", text: { blocks: [{ kind: "paragraph", text: "Penicillin" }], complete: false } });
    expect(cut.textContent).toContain("More text was sent than could be read or shown here.");
  });

  it("puts record text into the page as text, never as markup", () => {
    const hostile = allergySection({
      state: "known",
      allergies: [{ substance: "<img src=x onerror=alert(1)>", reaction: null, severity: null, highCriticality: false, unconfirmed: false, recorded: null }],
    });
    expect(hostile.querySelector("img")).toBeNull();
    expect(hostile.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(h("p", {}, "<b>x</b>").innerHTML).toBe("&lt;b&gt;x&lt;/b&gt;");
  });
});

describe("the sharing status", () => {
  it("reads as the reception desk needs it", () => {
    expect(sharingText({ status: "optedOut", code: "9Ndo", recorded: "2024-03-12" })).toBe(
      "Opted out — dissent recorded 12-Mar-2024 (9Ndo)",
    );
    expect(sharingText({ status: "sharesCore", code: "9Ndm", recorded: "2023-01-05" })).toContain("Shares core summary");
    expect(sharingText({ status: "noPreference" })).toBe("No preference recorded (shares by default)");
  });
});
