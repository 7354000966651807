// 7. Reception view: the sharing status only; nothing clinical is requested or shown.
import type { PatientView, SharingView } from "../generated/types";
import { h, show, button } from "../dom";
import { formatDate, formatName, formatNhsNumber } from "../format";

export function sharingText(s: SharingView): string {
  switch (s.status) {
    case "optedOut":
      return `Opted out — dissent recorded ${formatDate(s.recorded)} (${s.code})`;
    case "sharesCore":
      return `Shares core summary — recorded ${formatDate(s.recorded)} (${s.code})`;
    case "sharesCoreAndAdditional":
      return `Shares core and additional information — recorded ${formatDate(s.recorded)} (${s.code})`;
    case "noPreference":
      return "No preference recorded (shares by default)";
  }
}

export function sharingScreen(patient: PatientView, s: SharingView, onFindAnother: () => void): void {
  const again = button("Find another patient", { type: "button", id: "find-another" });
  again.addEventListener("click", onFindAnother);
  show(
    h("h1", {}, formatName(patient)),
    h("p", {}, `Born ${formatDate(patient.birthDate)} · NHS number `, h("span", { class: "scr-nhs-number" }, formatNhsNumber(patient.nhsNumber))),
    h(
      "div",
      { class: "nhsuk-card" },
      h(
        "div",
        { class: "nhsuk-card__content" },
        h("h2", { class: "nhsuk-card__heading" }, "Summary Care Record sharing"),
        h("p", { class: "nhsuk-body-l", id: "sharing-status", "data-status": s.status }, sharingText(s)),
      ),
    ),
    again,
  );
}
