import { describe, expect, it } from "vitest";
import {
  checkNhsNumber,
  formatAge,
  formatDate,
  formatDay,
  formatGender,
  formatName,
  formatNhsNumber,
} from "../src/format";

describe("NHS numbers", () => {
  it("display 3-3-4", () => {
    expect(formatNhsNumber("9434765919")).toBe("943 476 5919");
    expect(formatNhsNumber("123")).toBe("123");
  });
  it("accept spaces and dashes and check the digit", () => {
    expect(checkNhsNumber("943 476 5919")).toEqual({ ok: true, digits: "9434765919" });
    expect(checkNhsNumber("943-476-5919")).toEqual({ ok: true, digits: "9434765919" });
  });
  it("say why a number is wrong", () => {
    expect(checkNhsNumber("")).toMatchObject({ ok: false, reason: "Enter an NHS number" });
    expect(checkNhsNumber("94347659")).toMatchObject({ ok: false, reason: expect.stringContaining("has 8") });
    expect(checkNhsNumber("943476591x")).toMatchObject({ ok: false, reason: expect.stringContaining("only digits") });
    expect(checkNhsNumber("9434765918")).toMatchObject({ ok: false, reason: expect.stringContaining("check digit") });
    // Swapped digits are caught by Modulus 11.
    expect(checkNhsNumber("9434765991").ok).toBe(false);
  });
  it("refuse a number whose check digit would be 10", () => {
    // 123456789: sum 1*10+2*9+...+9*2 = 210, 210 mod 11 = 1, 11-1 = 10: no valid number.
    for (let d = 0; d <= 9; d++) expect(checkNhsNumber(`123456789${d}`).ok).toBe(false);
  });
});

describe("dates", () => {
  it("show only the precision recorded", () => {
    expect(formatDate("1970")).toBe("1970");
    expect(formatDate("1970-03")).toBe("Mar-1970");
    expect(formatDate("1970-03-12")).toBe("12-Mar-1970");
    expect(formatDate(null)).toBe("");
  });
  it("show instants in UK time, 24-hour", () => {
    expect(formatDate("2026-11-23T14:02:00Z")).toBe("23-Nov-2026 14:02");
    expect(formatDate("2026-07-01T09:05:00Z")).toBe("01-Jul-2026 10:05");
    expect(formatDay("2026-11-03T10:00:00+00:00")).toBe("03-Nov-2026");
  });
});

describe("ages", () => {
  const today = new Date(Date.UTC(2026, 10, 24));
  it("in years from two", () => {
    expect(formatAge("1970-03-12", today)).toBe("56 years");
    expect(formatAge("1970-11-25", today)).toBe("55 years");
    expect(formatAge("2024-11-24", today)).toBe("2 years");
  });
  it("in months under two, days under a month", () => {
    expect(formatAge("2025-11-25", today)).toBe("11 months");
    expect(formatAge("2026-10-24", today)).toBe("1 month");
    expect(formatAge("2026-11-20", today)).toBe("4 days");
    expect(formatAge("2026-11-23", today)).toBe("1 day");
  });
});

describe("names and gender", () => {
  it("SURNAME, Given (Title)", () => {
    expect(formatName({ title: "Mrs", given: ["Ada", "May"], family: "Lovelace", nameText: null })).toBe(
      "LOVELACE, Ada May (Mrs)",
    );
    expect(formatName({ title: null, given: [], family: "Smith", nameText: null })).toBe("SMITH");
    expect(formatName({ title: null, given: [], family: null, nameText: "Jo Bloggs" })).toBe("Jo Bloggs");
  });
  it("gender words", () => {
    expect(formatGender("female")).toBe("Female");
    expect(formatGender(null)).toBe("Not known");
  });
});
