// The patient banner: SURNAME, Given (Title), born with age (or the date of death), gender,
// NHS number, address, registered practice.
import type { PatientView } from "../generated/types";
import { h } from "../dom";
import { formatAge, formatDate, formatGender, formatName, formatNhsNumber } from "../format";

export function patientBanner(p: PatientView, today: Date): HTMLElement {
  const item = (label: string, value: string, id?: string) =>
    h("div", {}, h("dt", {}, label), h("dd", id ? { id } : {}, value || "Not recorded"));
  // A dead patient has no age today: the banner says when they died instead.
  const age = p.deceased ? "" : formatAge(p.birthDate, today);
  const address = p.restricted
    ? "Restricted record: address withheld"
    : [...p.addressLines, p.postcode ?? ""].filter(Boolean).join(", ");
  return h(
    "section",
    { class: "scr-banner", id: "patient-banner", "aria-label": "Patient" },
    h("h1", { class: "nhsuk-heading-l nhsuk-u-margin-bottom-2", id: "patient-name" }, formatName(p)),
    h(
      "dl",
      {},
      item("Born", `${formatDate(p.birthDate)}${age ? ` (${age})` : ""}`, "patient-born"),
      p.deceased ? item("Died", p.deceased.date ? formatDate(p.deceased.date) : "Date not recorded", "patient-died") : null,
      item("Gender", formatGender(p.gender)),
      item("NHS number", formatNhsNumber(p.nhsNumber), "patient-nhs-number"),
      item("Address", address),
      item("Registered practice", p.restricted ? "Withheld" : p.gpOds ?? ""),
    ),
  );
}
