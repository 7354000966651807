// "Changes since you last looked on 12-Mar-2026 14:05" (issue 14): what is new or changed in
// the record since the copy this user last fetched on this computer, worked out in Rust
// (scr_model::changes, scr_app::changes) and shown here in the sticky block with the
// allergies. Compact: a heading line and one row per change, the list capped in height and
// scrolling within itself, so it never pushes the allergies out of view. Each change is
// marked with its word ("Added", "Stopped", …), never by colour alone. Record text goes in
// as text.
import type { ChangeSection, ChangeView, ChangesView } from "../generated/types";
import { h } from "../dom";
import { formatDate } from "../format";

/** `Changes since you last looked on 12-Mar-2026 14:05` (UK time). */
export function changesHeading(since: string, any: boolean): string {
  return any
    ? `Changes since you last looked on ${formatDate(since)}`
    : `No changes since you last looked on ${formatDate(since)}`;
}

const SECTION_WORDS: Record<ChangeSection, string> = {
  allergies: "Allergies",
  medication: "Medication",
  problems: "Problems",
};

function changeRow(c: ChangeView): HTMLElement {
  return h(
    "tr",
    { class: `scr-change scr-change--${c.mark}`, "data-change": c.mark, "data-section": c.section },
    h("td", {}, h("strong", { class: "scr-change__mark" }, c.label)),
    h("td", { class: "scr-change__section" }, SECTION_WORDS[c.section]),
    h("td", {}, h("strong", { class: "scr-change__what" }, c.what), c.detail ? h("span", { class: "scr-change__detail" }, ` — ${c.detail}`) : null),
  );
}

/** The block, or `null` when there is nothing to compare with (a first look here, an
 * offline copy, the offline cache off). */
export function changesBlock(changes: ChangesView | null | undefined): HTMLElement | null {
  if (!changes) return null;
  const any = changes.items.length > 0;
  const heading = h("h2", { class: "scr-changes__title", id: "changes-heading" }, changesHeading(changes.since, any));
  if (!any) {
    return h("section", { class: "scr-changes scr-changes--none", id: "changes", "aria-labelledby": "changes-heading", "data-changes": "0" }, heading);
  }
  return h(
    "section",
    { class: "scr-changes", id: "changes", "aria-labelledby": "changes-heading", "data-changes": String(changes.items.length) },
    heading,
    // Scrolls within itself when long; focusable so it can be scrolled from the keyboard.
    h(
      "div",
      { class: "scr-changes__list", tabindex: "0", role: "region", "aria-labelledby": "changes-heading" },
      h(
        "table",
        { class: "nhsuk-table scr-changes__table" },
        h("caption", { class: "nhsuk-u-visually-hidden" }, `${changes.items.length} ${changes.items.length === 1 ? "change" : "changes"}`),
        h("thead", { class: "nhsuk-u-visually-hidden" }, h("tr", {}, ...["Change", "Section", "Entry"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, ...changes.items.map(changeRow)),
      ),
    ),
  );
}
