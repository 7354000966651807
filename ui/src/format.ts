// Display conventions (../shared/DOMAIN.md): NHS numbers 3-3-4, dates 12-Mar-1970 with
// only the precision the record has, names SURNAME, Given (Title), ages by band.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `9434765919` → `943 476 5919`; anything else is returned unchanged. */
export function formatNhsNumber(digits: string | null | undefined): string {
  if (!digits || !/^\d{10}$/.test(digits)) return digits ?? "";
  return `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
}

export type NhsCheck = { ok: true; digits: string } | { ok: false; reason: string };

/** Checks an NHS number as typed: spaces and dashes allowed, 10 digits, Modulus 11. */
export function checkNhsNumber(input: string): NhsCheck {
  const compact = input.replace(/[\s-]/g, "");
  if (compact === "") return { ok: false, reason: "Enter an NHS number" };
  if (!/^\d+$/.test(compact)) {
    return { ok: false, reason: "An NHS number has only digits (spaces and dashes are fine)" };
  }
  if (compact.length !== 10) {
    return {
      ok: false,
      reason: `An NHS number has 10 digits; this has ${compact.length}`,
    };
  }
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(compact[i]) * (10 - i);
  const remainder = 11 - (sum % 11);
  const check = remainder === 11 ? 0 : remainder;
  if (check === 10 || check !== Number(compact[9])) {
    return {
      ok: false,
      reason: "The check digit does not match: a digit is wrong or two are swapped",
    };
  }
  return { ok: true, digits: compact };
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * A FHIR date or dateTime for display: `1970` → `1970`, `1970-03` → `Mar-1970`,
 * `1970-03-12` → `12-Mar-1970`, an instant → `12-Mar-1970 14:02` in UK time.
 */
export function formatDate(value: string | null | undefined): string {
  if (!value) return "";
  let m = /^(\d{4})$/.exec(value);
  if (m) return value;
  m = /^(\d{4})-(\d{2})$/.exec(value);
  if (m) return `${MONTHS[Number(m[2]) - 1] ?? "?"}-${m[1]}`;
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (m) return `${m[3]}-${MONTHS[Number(m[2]) - 1] ?? "?"}-${m[1]}`;
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return value;
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(t);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("day")}-${MONTHS[Number(get("month")) - 1]}-${get("year")} ${get("hour")}:${get("minute")}`;
}

/** Age for the banner: years from 2, months under 2 years, days under a month. */
export function formatAge(birthDate: string | null | undefined, today: Date): string {
  if (!birthDate) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate);
  if (!m) return "";
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ty = today.getUTCFullYear();
  const tm = today.getUTCMonth() + 1;
  const td = today.getUTCDate();
  let months = (ty - y) * 12 + (tm - mo);
  if (td < d) months -= 1;
  if (months < 0) return "";
  if (months >= 24) return `${Math.floor(months / 12)} years`;
  if (months >= 1) return `${months} ${months === 1 ? "month" : "months"}`;
  const days = Math.round((Date.UTC(ty, tm - 1, td) - Date.UTC(y, mo - 1, d)) / 86_400_000);
  return `${days} ${days === 1 ? "day" : "days"}`;
}

export interface NameParts {
  title: string | null;
  given: string[];
  family: string | null;
  nameText: string | null;
}

/** `SURNAME, Given Middle (Title)`; a name given only as text is shown as it is. */
export function formatName(p: NameParts): string {
  if (!p.family && p.given.length === 0) return p.nameText ?? "Name not recorded";
  const family = (p.family ?? "").toUpperCase();
  const given = p.given.join(" ");
  const title = p.title ? ` (${p.title})` : "";
  return `${family}${given ? `, ${given}` : ""}${title}`;
}

export function formatGender(code: string | null | undefined): string {
  switch (code) {
    case "female":
      return "Female";
    case "male":
      return "Male";
    case "other":
      return "Other";
    default:
      return "Not known";
  }
}

/** `2026-11-03T10:00:00Z` → `03-Nov-2026` (the day only), for provenance lines. */
export function formatDay(value: string | null | undefined): string {
  const full = formatDate(value);
  return full.split(" ")[0] ?? full;
}

export { pad };
