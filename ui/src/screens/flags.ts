// The flags shown before the summary (DOMAIN.md, "NCRS"): a death first, so the record is
// never taken for a live one; a restricted record's notice; the reasonable adjustments in an
// orange banner; a child protection plan, whose summary waits for the answer to "Is the
// patient attending an unscheduled care setting?" (a yes is recorded at the spine, which
// notifies the organisation responsible for the child); any other alert the record carries.
// The banners sit in the sticky block above the allergies (summary.ts), so scrolling hides
// none of them.
import type { PatientView, SummaryView } from "../generated/types";
import { button, errorSummary, h, show } from "../dom";
import { formatDate } from "../format";
import { patientBanner } from "./banner";

/** What became of the child protection question for this showing of the summary. */
export type CpAttendance =
  | { state: "recorded" }
  | { state: "notAttending" }
  | { state: "failed"; message: string }
  /** A document opened from a file: no attendance can be recorded against it. */
  | { state: "fromFile" }
  | null;

/** `This patient died on 12-Mar-2025` (`in Mar-2025` for a month or a year; a death without a
 * date says so). `null` for a patient not recorded as dead. */
export function deceasedText(p: PatientView): string | null {
  if (!p.deceased) return null;
  const date = p.deceased.date;
  if (!date) return "This patient has died (date of death not recorded)";
  const day = /^\d{4}-\d{2}-\d{2}/.test(date);
  return `This patient died ${day ? "on" : "in"} ${formatDate(date)}`;
}

function responsible(s: SummaryView): string {
  const plan = s.flags.childProtection;
  if (!plan) return "";
  if (plan.withheld) return "withheld (restricted record)";
  if (plan.responsibleName && plan.responsibleOds) return `${plan.responsibleName} (${plan.responsibleOds})`;
  return plan.responsibleName ?? plan.responsibleOds ?? "not recorded";
}

function attendanceNote(s: SummaryView, cp: CpAttendance): HTMLElement | null {
  const note = (text: string, state: string) => h("p", { id: "cp-attendance", "data-state": state }, h("strong", {}, text));
  if (s.offlineCopy) {
    return note("This is an offline copy: an attendance cannot be recorded from here. If the child is attending unscheduled care, tell the organisation responsible for them.", "offline");
  }
  switch (cp?.state) {
    case "fromFile":
      return note("This document is from a file, not from the Summary Care Record: an attendance cannot be recorded from here. If the child is attending unscheduled care, tell the organisation responsible for them.", "fromFile");
    case "recorded":
      return note("Attendance recorded: the organisation responsible for the child has been notified.", "recorded");
    case "notAttending":
      return note("Not attending an unscheduled care setting: nothing was recorded.", "notAttending");
    case "failed":
      return note(`The attendance could not be recorded: ${cp.message} Tell the organisation responsible for the child directly.`, "failed");
    default:
      return null;
  }
}

/** The banners above the allergies, in order: death, restricted record, reasonable
 * adjustments, child protection plan, other alerts. Record text goes in as text. */
export function flagBanners(s: SummaryView, cp: CpAttendance = null): HTMLElement[] {
  const out: HTMLElement[] = [];
  const died = deceasedText(s.patient);
  if (died) out.push(h("div", { class: "scr-deceased-banner", id: "deceased-banner", "data-flag": "deceased" }, died));
  if (s.patient.restricted) {
    out.push(
      h("div", { class: "scr-restricted-banner", id: "restricted-banner", "data-flag": "restricted" }, "Restricted record: the address and registered practice are withheld."),
    );
  }
  const raf = s.flags.reasonableAdjustment;
  if (raf) {
    out.push(
      h(
        "section",
        { class: "scr-flag scr-flag--raf", id: "raf-banner", "data-flag": "reasonableAdjustment", "aria-labelledby": "raf-heading" },
        h("h2", { class: "scr-flag__heading", id: "raf-heading" }, "Reasonable adjustments"),
        raf.adjustments.length > 0
          ? h("ul", { class: "scr-flag__list" }, ...raf.adjustments.map((a) => h("li", {}, a)))
          : h("p", {}, "A reasonable adjustment flag is recorded, but its details were not sent. Ask the patient or their carer what they need."),
      ),
    );
  }
  const plan = s.flags.childProtection;
  if (plan) {
    out.push(
      h(
        "section",
        { class: "scr-flag scr-flag--cp", id: "cp-banner", "data-flag": "childProtection", "aria-labelledby": "cp-heading" },
        h("h2", { class: "scr-flag__heading", id: "cp-heading" }, "Child protection plan"),
        h("p", {}, `Responsible organisation: ${responsible(s)}${plan.since ? ` · since ${formatDate(plan.since)}` : ""}`),
        attendanceNote(s, cp),
      ),
    );
  }
  if (s.flags.other.length > 0) {
    out.push(
      h(
        "section",
        { class: "scr-flag scr-flag--other", id: "other-flags", "data-flag": "other", "aria-labelledby": "other-flags-heading" },
        h("h2", { class: "scr-flag__heading", id: "other-flags-heading" }, "Alerts"),
        h("ul", { class: "scr-flag__list" }, ...s.flags.other.map((f) => h("li", {}, f.category ? `${f.category}: ${f.text}` : f.text))),
      ),
    );
  }
  return out;
}

/** The step before the summary of a child on a protection plan: the banners, and the
 * question. No clinical content is shown until it is answered. */
export function childProtectionStep(s: SummaryView, today: Date, onAnswer: (attending: boolean) => void): void {
  const radio = (id: string, value: string, label: string) =>
    h(
      "div",
      { class: "nhsuk-radios__item" },
      h("input", { class: "nhsuk-radios__input", id, name: "cp-attending", type: "radio", value }),
      h("label", { class: "nhsuk-label nhsuk-radios__label", for: id }, label),
    );
  const problem = h("div", { id: "cp-problem" });
  const form = h(
    "form",
    { id: "cp-form", novalidate: true },
    problem,
    h(
      "fieldset",
      { class: "nhsuk-fieldset", "aria-describedby": "cp-hint" },
      h("legend", { class: "nhsuk-fieldset__legend nhsuk-fieldset__legend--m" }, h("h2", { class: "nhsuk-fieldset__heading", id: "cp-question" }, "Is the patient attending an unscheduled care setting?")),
      h(
        "div",
        { class: "nhsuk-hint", id: "cp-hint" },
        "For example an emergency department, an urgent treatment centre, a walk-in centre or out-of-hours care. A yes is recorded and the organisation responsible for the child is told.",
      ),
      h("div", { class: "nhsuk-radios" }, radio("cp-yes", "yes", "Yes"), radio("cp-no", "no", "No")),
    ),
    button("Continue to the summary", { id: "cp-continue" }),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>("input[name=cp-attending]:checked")?.value;
    if (!chosen) {
      problem.replaceChildren(errorSummary("Answer the question", "Say whether the patient is attending an unscheduled care setting.", "cp-error"));
      return;
    }
    onAnswer(chosen === "yes");
  });
  show(patientBanner(s.patient, today), h("div", { class: "scr-flag-step", id: "flag-step" }, ...flagBanners(s)), form);
}

export interface AskBeforeSummary {
  /** Records the yes at the spine (api.recordCpAttendance). */
  record: (nhsNumber: string) => Promise<void>;
  /** Whether the session that fetched the summary still holds the screen. */
  current: () => boolean;
  /** Shows the summary, with what became of the question. */
  show: (cp: CpAttendance) => void;
}

/** Shows a summary fresh from the spine: when it carries a child protection plan in force,
 * the question comes first, and a yes is recorded before the summary appears. An answer
 * that cannot be recorded does not hold up the summary: it says so instead. */
export function askBeforeSummary(s: SummaryView, today: Date, then: AskBeforeSummary): void {
  const nhs = s.patient.nhsNumber;
  if (!s.flags.childProtection || s.offlineCopy || !nhs) {
    then.show(null);
    return;
  }
  childProtectionStep(s, today, (attending) => {
    if (!attending) {
      then.show({ state: "notAttending" });
      return;
    }
    show(h("h1", {}, "Recording the attendance…"), h("p", { role: "status" }, "Telling the organisation responsible for the child."));
    then.record(nhs).then(
      () => {
        if (then.current()) then.show({ state: "recorded" });
      },
      (e: unknown) => {
        if (!then.current()) return;
        const message = e && typeof e === "object" && "message" in e ? String(e.message) : String(e);
        then.show({ state: "failed", message });
      },
    );
  });
}
