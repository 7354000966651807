// Record fixtures for the screen tests (synthetic: NHS numbers from the 999 test range or
// the NHS's documented example 943 476 5919).
import type { AlertView, OfflineEntryView, PatientView, SummaryView, TrailEntryView } from "../src/generated/types";

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
    changes: null,
    allergies: { state: "notRecorded" },
    repeatMedication: [],
    acuteMedication: [],
    discontinuedMedication: [],
    problems: [],
    additional: {
      history: { state: "notIncluded" },
      procedures: { state: "notIncluded" },
      immunisations: { state: "notIncluded" },
      anticipatoryCare: { state: "notIncluded" },
      endOfLife: { state: "notIncluded" },
      communication: { state: "notIncluded" },
    },
    provenance: { practiceName: "High Street Surgery", practiceOds: "B82001", lastUpdated: null, withheld: false },
    documentText: { allergies: null, medication: null, problems: null },
    warnings: [],
    fetchedAt: "2026-11-23T14:02:00Z",
    emergency: false,
    offlineCopy: true,
    volumeWarning: null,
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

/** A summary read of the privacy officer's trail: a self-claimed relationship. */
export function trailEntry(over: Partial<TrailEntryView> = {}): TrailEntryView {
  return {
    id: "audit-42",
    at: "2026-03-12T14:05:00Z",
    userId: "555000000101",
    userName: "Dr Amara Okafor",
    roleCode: "R8000",
    orgOds: "RX901",
    nhsNumber: "9434765919",
    action: "summary-read",
    actionWords: "Opened the Summary Care Record",
    answer: "Yes, the patient gave permission",
    reasonGiven: "Seeing them in the fracture clinic",
    relationship: "Self-claimed by the user",
    outcome: "success",
    refusal: null,
    alerts: [{ code: "self-claimed-relationship", words: "Self-claimed relationship" }],
    offlineViewedAt: null,
    ...over,
  };
}

export function alert(over: Partial<AlertView> = {}): AlertView {
  return {
    entry: trailEntry(),
    kinds: [{ code: "self-claimed-relationship", words: "Self-claimed relationship" }],
    status: "open",
    review: null,
    ...over,
  };
}
