// Building the page from data: text always goes in as text (never as HTML), so nothing
// in a record can inject markup or script.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | undefined>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** Replaces the main region with `content` and moves focus to its heading. A print copy
 * of the screen before (print.ts) goes with it, so no later print shows another screen. */
export function show(...content: Child[]): void {
  document.getElementById("print-root")?.remove();
  document.body.classList.remove("scr-printing");
  const main = document.getElementById("main");
  if (!main) return;
  main.replaceChildren(...content.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  const heading = main.querySelector<HTMLElement>("h1, h2");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

/** An NHS.UK error summary for a failed action. */
export function errorSummary(title: string, message: string, id = "error-summary"): HTMLElement {
  return h(
    "div",
    { class: "nhsuk-error-summary", role: "alert", tabindex: "-1", id, "aria-labelledby": `${id}-title` },
    h("h2", { class: "nhsuk-error-summary__title", id: `${id}-title` }, title),
    h("div", { class: "nhsuk-error-summary__body" }, h("p", {}, message)),
  );
}

export function button(label: string, attrs: Attrs = {}): HTMLButtonElement {
  return h("button", { class: "nhsuk-button", type: "submit", ...attrs }, label) as HTMLButtonElement;
}
