// 2. Passcode: masked; tries left after a failure; a blocked card explained.
import { h, show, button, errorSummary } from "../dom";
import type { AppError } from "../ipc";

export function passcodeScreen(onSubmit: (passcode: string) => void, error?: AppError): void {
  if (error?.code === "CARD_BLOCKED") {
    show(
      h("h1", {}, "Your smartcard is blocked"),
      errorSummary(
        "Your smartcard is blocked",
        "The passcode was entered wrongly too many times. Ask your registration authority to unblock the card. Remove the card to continue.",
      ),
    );
    return;
  }
  const input = h("input", {
    class: "nhsuk-input nhsuk-input--width-10",
    id: "passcode",
    name: "passcode",
    type: "password",
    inputmode: "numeric",
    autocomplete: "off",
    "aria-describedby": "passcode-hint",
  }) as HTMLInputElement;
  let message: string | null = null;
  if (error?.code === "WRONG_PASSCODE") {
    const n = error.triesLeft ?? 0;
    message = `Wrong passcode. ${n} ${n === 1 ? "try" : "tries"} left before the card is blocked.`;
  } else if (error) {
    message = error.message;
  }
  const form = h(
    "form",
    { id: "passcode-form", novalidate: true },
    message ? errorSummary("Sign-in failed", message, "passcode-error") : null,
    h(
      "div",
      { class: message ? "nhsuk-form-group nhsuk-form-group--error" : "nhsuk-form-group" },
      h("label", { class: "nhsuk-label", for: "passcode" }, "Passcode"),
      h("div", { class: "nhsuk-hint", id: "passcode-hint" }, "The 6 to 8 digit passcode for your smartcard"),
      input,
    ),
    button("Sign in", { id: "sign-in" }),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value;
    input.value = "";
    onSubmit(value);
  });
  show(h("h1", {}, "Enter your passcode"), form);
  input.focus();
}
