// The summary's section index: one line of links at the foot of the sticky block (flags,
// offline banner, allergies), so with the allergies and flags in view every section is one
// click or key press away, even at 1280×800 where the first screen shows only the allergies
// and the top of the medication.
import { h } from "../dom";

export interface IndexEntry {
  /** The element id of the section to go to. */
  target: string;
  label: string;
}

/** How far down the window the sticky block reaches once it is stuck: a section brought
 * into view must start below it, not under it. */
function stuckBottom(): number {
  const bar = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--scr-session-bar-height")) || 0;
  const sticky = document.getElementById("summary-sticky");
  return bar + (sticky ? sticky.getBoundingClientRect().height : 0);
}

/** Scrolls `target` to just below the sticky block and moves focus to its heading (so a
 * keyboard or screen reader user continues from there). */
export function goToSection(target: string): void {
  const el = document.getElementById(target);
  if (!el) return;
  if (target === "allergies") {
    window.scrollTo({ top: 0 });
  } else {
    const top = el.getBoundingClientRect().top + window.scrollY - stuckBottom() - 8;
    window.scrollTo({ top: Math.max(0, top) });
  }
  const heading = el.matches("h1, h2, h3") ? el : el.querySelector<HTMLElement>("h2, h3");
  const focusable = heading ?? el;
  if (!focusable.hasAttribute("tabindex")) focusable.setAttribute("tabindex", "-1");
  focusable.focus({ preventScroll: true });
}

export function sectionIndex(entries: IndexEntry[]): HTMLElement {
  return h(
    "nav",
    { class: "scr-section-index scr-no-print", id: "section-index", "aria-label": "Sections of this record" },
    h(
      "ul",
      {},
      ...entries.map((e) => {
        const a = h("a", { href: `#${e.target}`, "data-target": e.target }, e.label);
        a.addEventListener("click", (ev) => {
          ev.preventDefault();
          goToSection(e.target);
        });
        return h("li", {}, a);
      }),
    ),
  );
}
