// Record fixtures for the screen tests (synthetic: NHS numbers from the 999 test range or
// the NHS's documented example 943 476 5919).
import type { OfflineEntryView, PatientView, SummaryView } from "../src/generated/types";

export function patient(over: Partial<PatientView> = {}): PatientView {
  return {
    nhsNumber: "9434765919",
    title: "Mrs",
    given: ["Ada"],
    family: "Lovelace",
    nameText: null,
    gender: "female",
    birthDate: "1970-03-12",
    addressLines: ["1 High Street"],
    postcode: "LS1 1AA",
    gpOds: "B82001",
    restricted: false,
    score: null,
    deceased: null,
    ...over,
  };
}

export function summary(over: Partial<SummaryView> = {}): SummaryView {
  return {
    patient: patient(),
    flags: { reasonableAdjustment: null, childProtection: null, other: [] },
    allergies: { state: "notRecorded" },
    repeatMedication: [],
    acuteMedication: [],
    discontinuedMedication: [],
    problems: [],
    provenance: { practiceName: "High Street Surgery", practiceOds: "B82001", lastUpdated: null, withheld: false },
    documentText: { allergies: null, medication: null, problems: null },
    warnings: [],
    fetchedAt: "2026-11-23T14:02:00Z",
    emergency: false,
    offlineCopy: true,
    ...over,
  };
}

export function entry(over: Partial<OfflineEntryView> = {}): OfflineEntryView {
  return {
    nhsNumber: "9434765919",
    patient: patient(),
    fetchedAt: "2026-11-23T14:02:00Z",
    viewedAt: "2026-11-23T15:30:00Z",
    emergency: false,
    ...over,
  };
}
