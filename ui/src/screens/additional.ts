// SCR Additional Information, after the core record: six headings, each in a state of its
// own that never looks like another — "Not shared" (the patient's preference keeps it
// back: a grey panel with a padlock-style bar and the words), "Nothing recorded" (plain
// words), the entries, or "Not included in this summary" (muted). When no heading is
// carried at all, one line says so instead of six. In a document opened from a file the
// same states are worded as that document's: "Withheld" is the sender's word, not our
// patient's preference, which the viewer cannot know.
import type { AdditionalItemView, AdditionalSectionView, AdditionalView } from "../generated/types";
import { h } from "../dom";
import { formatDate } from "../format";
import { documentText, type RecordSource } from "./summary";

/** The headings in the order shown, with their element ids. */
export const ADDITIONAL_HEADINGS: [keyof AdditionalView, string, string][] = [
  ["history", "additional-history", "Significant medical history"],
  ["procedures", "additional-procedures", "Procedures"],
  ["immunisations", "additional-immunisations", "Immunisations"],
  ["anticipatoryCare", "additional-anticipatory-care", "Anticipatory care"],
  ["endOfLife", "additional-end-of-life", "End of life care preferences"],
  ["communication", "additional-communication", "Communication needs and preferences"],
];

function item(i: AdditionalItemView): HTMLElement {
  const when = i.date ? `${i.dateLabel ?? "date"} ${formatDate(i.date)}` : "";
  return h(
    "li",
    { class: i.notGiven ? "scr-ai-item scr-ai-item--not-given" : "scr-ai-item" },
    h("strong", {}, i.text),
    i.detail ? `: ${i.detail}` : "",
    when ? ` (${when})` : "",
    i.sensitive ? h("span", { class: "scr-ai-sensitive" }, `Sensitive — ${i.sensitive}`) : null,
  );
}

function body(s: AdditionalSectionView, source: RecordSource): HTMLElement {
  switch (s.state) {
    case "notShared":
      if (source === "document") {
        return h(
          "div",
          { class: "scr-ai-not-shared" },
          h("p", {}, h("strong", {}, "Withheld"), ": the document says this section was withheld. It may exist in the record it came from."),
        );
      }
      return h(
        "div",
        { class: "scr-ai-not-shared" },
        h("p", {}, h("strong", {}, "Not shared"), ": the patient's sharing preference covers the core record only, so this is not shown. It may exist in the GP record."),
      );
    case "notIncluded":
      return h("p", { class: "scr-ai-not-included" }, source === "document" ? "Not included in this document." : "Not included in this summary.");
    case "recorded":
      if (s.items.length === 0 && s.text) {
        return h(
          "div",
          { class: "scr-section--text-only" },
          h("p", { class: "scr-text-only-note" }, h("strong", {}, "Described in text only"), ": sent as text, not as coded entries."),
          documentText(s.text),
        );
      }
      if (s.items.length === 0) {
        return h("p", { class: "scr-ai-nothing" }, "Nothing recorded.");
      }
      return h("ul", { class: "nhsuk-list nhsuk-list--bullet" }, ...s.items.map(item));
  }
}

function stateName(s: AdditionalSectionView): string {
  if (s.state === "recorded") {
    return s.items.length === 0 && !s.text ? "nothingRecorded" : "recorded";
  }
  return s.state;
}

export function additionalSection(a: AdditionalView, source: RecordSource = "gp"): HTMLElement {
  const heading = h("h2", { class: "nhsuk-heading-m", id: "additional-heading" }, "Additional information");
  const sections = ADDITIONAL_HEADINGS.map(([key, id, title]) => ({ id, title, s: a[key] }));
  if (sections.every((x) => x.s.state === "notIncluded")) {
    return h(
      "section",
      { id: "additional", "aria-labelledby": "additional-heading", "data-state": "notIncluded" },
      heading,
      h("p", { class: "scr-ai-not-included" }, source === "document" ? "No additional information is included in this document." : "No additional information is included in this summary."),
    );
  }
  return h(
    "section",
    { id: "additional", "aria-labelledby": "additional-heading" },
    heading,
    ...sections.map(({ id, title, s }) =>
      h(
        "section",
        { id, class: "scr-ai-section", "data-state": stateName(s), "aria-labelledby": `${id}-heading` },
        h("h3", { class: "nhsuk-heading-s", id: `${id}-heading` }, title),
        body(s, source),
      ),
    ),
  );
}
