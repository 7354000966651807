// 2. Passcode: masked; tries left after a failure; a blocked card explained. "Work offline"
// signs in with the card locally, to the offline records on this computer.
import { h, show, button, errorSummary } from "../dom";
import { errorTitle } from "../errors";
import type { AppError } from "../ipc";

export interface PasscodeActions {
  signIn(passcode: string): void;
  workOffline(passcode: string): void;
}

/**
 * `offlineProblem`: why working offline was not possible either, shown below `error`
 * (used when the spine cannot be reached and the automatic offline sign-in failed).
 */
export function passcodeScreen(actions: PasscodeActions, error?: AppError, offlineProblem?: string): void {
  // CARD_BLOCKED from the card, whether online or offline sign-in asked it.
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
    const n = error.triesLeft;
    message = `Wrong passcode. ${n} ${n === 1 ? "try" : "tries"} left before the card is blocked.`;
  } else if (error) {
    message = error.message;
  }
  const offline = button("Work offline", {
    type: "button",
    id: "work-offline",
    class: "nhsuk-button nhsuk-button--secondary",
  });
  const form = h(
    "form",
    { id: "passcode-form", novalidate: true },
    error && message ? passcodeError(errorTitle(error), message, offlineProblem, error.code) : null,
    h(
      "div",
      { class: message ? "nhsuk-form-group nhsuk-form-group--error" : "nhsuk-form-group" },
      h("label", { class: "nhsuk-label", for: "passcode" }, "Passcode"),
      h("div", { class: "nhsuk-hint", id: "passcode-hint" }, "The 6 to 8 digit passcode for your smartcard"),
      input,
    ),
    h(
      "div",
      { class: "nhsuk-button-group" },
      button("Sign in", { id: "sign-in" }),
      offline,
    ),
  ) as HTMLFormElement;
  // Both buttons take the passcode the same way: read once, then cleared from the field.
  const take = (): string => {
    const value = input.value;
    input.value = "";
    return value;
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    actions.signIn(take());
  });
  offline.addEventListener("click", () => actions.workOffline(take()));
  show(h("h1", {}, "Enter your passcode"), form);
  input.focus();
}

function passcodeError(title: string, message: string, offlineProblem: string | undefined, code: string): HTMLElement {
  const summary = errorSummary(title, message, "passcode-error");
  // Which refusal it was (CERTIFICATE_REVOKED, WRONG_PASSCODE…), for tests and support.
  summary.dataset.code = code;
  if (offlineProblem) {
    summary
      .querySelector(".nhsuk-error-summary__body")
      ?.append(h("p", { id: "passcode-offline-error" }, `Working offline is not possible either. ${offlineProblem}`));
  }
  return summary;
}
