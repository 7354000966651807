// A reason in words, counted as the spine counts it (scr_model::access::clean_justification):
// control characters (line breaks) become spaces, the ends are trimmed, and what remains is
// counted in characters (code points, as Rust's `chars`), not UTF-16 units.
import { h } from "./dom";

/** The longest reason in words the spine keeps (scr_model::access::MAX_JUSTIFICATION_CHARS). */
export const MAX_REASON_CHARS = 500;

/** The text as the spine will keep it. */
export function cleanReason(text: string): string {
  return text.replace(/\p{Cc}/gu, " ").trim();
}

/** How many characters the spine will count. */
export function countChars(text: string): number {
  return [...cleanReason(text)].length;
}

/** `You have 12 characters remaining` / `You have 3 characters too many`. */
export function remainingText(text: string, max = MAX_REASON_CHARS): string {
  const left = max - countChars(text);
  const n = Math.abs(left);
  const chars = n === 1 ? "character" : "characters";
  return left >= 0 ? `You have ${n} ${chars} remaining` : `You have ${n} ${chars} too many`;
}

/**
 * An NHS.UK textarea with a character count under it, kept up to date as the user types
 * (the design system's own script is not loaded: the app runs none but its own).
 */
export function countedTextarea(id: string, label: string, hint: string | null, max = MAX_REASON_CHARS): {
  group: HTMLElement;
  textarea: HTMLTextAreaElement;
} {
  const info = h("div", { class: "nhsuk-hint nhsuk-character-count__message", id: `${id}-count`, "aria-live": "polite" }, remainingText("", max));
  const textarea = h("textarea", {
    class: "nhsuk-textarea",
    id,
    name: id,
    rows: "4",
    "aria-describedby": `${hint ? `${id}-hint ` : ""}${id}-count`,
  }) as HTMLTextAreaElement;
  textarea.addEventListener("input", () => {
    info.textContent = remainingText(textarea.value, max);
    const over = countChars(textarea.value) > max;
    info.classList.toggle("nhsuk-error-message", over);
    textarea.classList.toggle("nhsuk-textarea--error", over);
  });
  const group = h(
    "div",
    { class: "nhsuk-form-group nhsuk-character-count", "data-maxlength": String(max) },
    h("label", { class: "nhsuk-label", for: id }, label),
    hint ? h("div", { class: "nhsuk-hint", id: `${id}-hint` }, hint) : null,
    textarea,
    info,
  );
  return { group, textarea };
}
