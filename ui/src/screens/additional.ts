// SCR Additional Information, after the core record: six headings, each in a state of its
// own that never looks like another — "Not shared" (the patient's preference keeps it
// back: a grey panel with a padlock-style bar and the words), "Nothing recorded" (plain
// words), the entries, or "Not included in this summary" (muted). When no heading is
// carried at all, one line says so instead of six.
import type { AdditionalItemView, AdditionalSectionView, AdditionalView } from "../generated/types";
import { h } from "../dom";
import { formatDate } from "../format";
import { documentText } from "./summary";

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

function body(s: AdditionalSectionView, title: string): HTMLElement {
  switch (s.state) {
    case "notShared":
      return h(
        "div",
        { class: "scr-ai-not-shared" },
        h("p", {}, h("strong", {}, "Not shared"), `: the patient's sharing preference covers the core record only, so ${title.toLowerCase()} is not shown. It may exist in the GP record.`),
      );
    case "notIncluded":
      return h("p", { class: "scr-ai-not-included" }, "Not included in this summary.");
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

export function additionalSection(a: AdditionalView): HTMLElement {
  const heading = h("h2", { class: "nhsuk-heading-m", id: "additional-heading" }, "Additional information");
  const sections = ADDITIONAL_HEADINGS.map(([key, id, title]) => ({ id, title, s: a[key] }));
  if (sections.every((x) => x.s.state === "notIncluded")) {
    return h(
      "section",
      { id: "additional", "aria-labelledby": "additional-heading", "data-state": "notIncluded" },
      heading,
      h("p", { class: "scr-ai-not-included" }, "No additional information is included in this summary."),
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
        body(s, title),
      ),
    ),
  );
}
