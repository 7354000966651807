// @vitest-environment happy-dom
// The idle warning and lock: the clock's rule (idle.ts) and its dialog (idle-warning.ts),
// on fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IdleClock, refreshEveryMs, timeLeftInWords, warningLeadMs } from "../src/idle";
import { countdownText, stopIdleWatch, watchIdle } from "../src/idle-warning";

const MIN = 60_000;
const SEC = 1000;

/** A clock on fake time, checked every second as the app does, with its hooks recorded. */
function clockFor(timeoutMs: number) {
  const hooks = { warn: vi.fn(), tick: vi.fn(), calm: vi.fn(), lock: vi.fn(), refresh: vi.fn() };
  const clock = new IdleClock(timeoutMs, hooks);
  const timer = setInterval(() => clock.check(), SEC);
  return { clock, hooks, stop: () => clearInterval(timer) };
}

beforeEach(() => {
  vi.useFakeTimers();
  document.body.innerHTML = '<div id="status-bar"></div><div id="page"><main id="main"><h1>Summary</h1><button id="other">Other</button></main></div>';
});

afterEach(() => {
  stopIdleWatch();
  vi.useRealTimers();
});

describe("the idle rule", () => {
  it("warns two minutes before the lock, or at half a timeout shorter than four minutes", () => {
    expect(warningLeadMs(15 * MIN)).toBe(2 * MIN);
    expect(warningLeadMs(4 * MIN)).toBe(2 * MIN);
    expect(warningLeadMs(3 * MIN)).toBe(90 * SEC);
    expect(warningLeadMs(20 * SEC)).toBe(10 * SEC);
  });

  it("says the time left in words, rounded up to the second", () => {
    expect(timeLeftInWords(105 * SEC)).toBe("1 minute 45 seconds");
    expect(timeLeftInWords(2 * MIN)).toBe("2 minutes");
    expect(timeLeftInWords(61 * SEC)).toBe("1 minute 1 second");
    expect(timeLeftInWords(400)).toBe("1 second");
    expect(timeLeftInWords(30 * SEC)).toBe("30 seconds");
    expect(countdownText(105 * SEC)).toBe("You will be signed out in 1 minute 45 seconds.");
  });

  it("warns at 13 minutes of a 15-minute timeout and locks at 15", () => {
    const { hooks, stop } = clockFor(15 * MIN);
    vi.advanceTimersByTime(13 * MIN - SEC);
    expect(hooks.warn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(SEC);
    expect(hooks.warn).toHaveBeenCalledTimes(1);
    expect(hooks.warn).toHaveBeenCalledWith(2 * MIN);
    vi.advanceTimersByTime(15 * SEC);
    expect(hooks.tick).toHaveBeenLastCalledWith(105 * SEC);
    expect(hooks.lock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(105 * SEC);
    expect(hooks.lock).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * SEC);
    expect(hooks.lock).toHaveBeenCalledTimes(1);
    stop();
  });

  it("counts only Stay signed in once the warning shows, and starts the clock again", () => {
    const { clock, hooks, stop } = clockFor(15 * MIN);
    vi.advanceTimersByTime(13 * MIN);
    expect(clock.warning).toBe(true);
    // Input elsewhere does not dismiss the warning or delay the lock.
    clock.input();
    vi.advanceTimersByTime(MIN);
    expect(hooks.calm).not.toHaveBeenCalled();
    clock.stay();
    expect(hooks.calm).toHaveBeenCalledTimes(1);
    expect(clock.warning).toBe(false);
    // Past the lock the session had: still signed in, and a new warning 13 minutes on.
    vi.advanceTimersByTime(2 * MIN);
    expect(hooks.lock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(11 * MIN);
    expect(hooks.warn).toHaveBeenCalledTimes(2);
    stop();
  });

  it("input before the warning starts the clock again", () => {
    const { clock, hooks, stop } = clockFor(15 * MIN);
    vi.advanceTimersByTime(12 * MIN);
    clock.input();
    vi.advanceTimersByTime(12 * MIN);
    expect(hooks.warn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MIN);
    expect(hooks.warn).toHaveBeenCalledTimes(1);
    stop();
  });

  it("tells the spine at most once a minute while the user is active, and at once on Stay signed in", () => {
    expect(refreshEveryMs(15 * MIN)).toBe(MIN);
    expect(refreshEveryMs(20 * SEC)).toBe(5 * SEC);
    const { clock, hooks, stop } = clockFor(15 * MIN);
    // No input: nothing to tell.
    vi.advanceTimersByTime(5 * MIN);
    expect(hooks.refresh).not.toHaveBeenCalled();
    // Input every 10 s for 3 minutes: the spine hears of it once a minute, no more.
    for (let i = 0; i < 18; i++) {
      clock.input();
      vi.advanceTimersByTime(10 * SEC);
    }
    expect(hooks.refresh).toHaveBeenCalledTimes(3);
    // The last input is always reported, within a minute and long before the warning.
    const before = hooks.refresh.mock.calls.length;
    clock.input();
    vi.advanceTimersByTime(MIN + SEC);
    expect(hooks.refresh).toHaveBeenCalledTimes(before + 1);
    vi.advanceTimersByTime(12 * MIN);
    expect(clock.warning).toBe(true);
    const atWarning = hooks.refresh.mock.calls.length;
    clock.stay();
    expect(hooks.refresh).toHaveBeenCalledTimes(atWarning + 1);
    stop();
  });
});

describe("the idle warning", () => {
  const $ = (sel: string) => document.querySelector<HTMLElement>(sel);

  it("is an alert dialog with the time left in words and focus on Stay signed in", () => {
    const actions = { lock: vi.fn(), signOut: vi.fn(), keepAlive: vi.fn(async () => undefined) };
    watchIdle(900, actions);
    vi.advanceTimersByTime(13 * MIN);
    const dialog = $("#idle-warning");
    expect(dialog).not.toBeNull();
    expect(dialog!.getAttribute("role")).toBe("alertdialog");
    expect(dialog!.getAttribute("aria-modal")).toBe("true");
    expect($(`#${dialog!.getAttribute("aria-labelledby")}`)?.textContent).toBe("Are you still there?");
    expect($(`#${dialog!.getAttribute("aria-describedby")}`)?.textContent).toBe("You will be signed out in 2 minutes.");
    expect(document.activeElement?.id).toBe("stay-signed-in");
    // The page behind cannot be used while it shows.
    expect($("#page")!.hasAttribute("inert")).toBe(true);
    vi.advanceTimersByTime(15 * SEC);
    expect($("#idle-warning-countdown")?.textContent).toBe("You will be signed out in 1 minute 45 seconds.");
  });

  it("Stay signed in keeps the session, here and on the spine", () => {
    const actions = { lock: vi.fn(), signOut: vi.fn(), keepAlive: vi.fn(async () => undefined) };
    watchIdle(900, actions);
    vi.advanceTimersByTime(14 * MIN);
    expect(actions.keepAlive).not.toHaveBeenCalled();
    $("#stay-signed-in")!.click();
    expect(actions.keepAlive).toHaveBeenCalledTimes(1);
    expect($("#idle-warning")).toBeNull();
    expect($("#page")!.hasAttribute("inert")).toBe(false);
    // Well past the lock it would have had.
    vi.advanceTimersByTime(5 * MIN);
    expect(actions.lock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10 * MIN);
    expect(actions.lock).toHaveBeenCalledTimes(1);
    expect($("#idle-warning")).toBeNull();
  });

  it("a click on the page behind does not dismiss it; the lock comes on time", () => {
    const actions = { lock: vi.fn(), signOut: vi.fn(), keepAlive: vi.fn(async () => undefined) };
    watchIdle(900, actions);
    vi.advanceTimersByTime(13 * MIN);
    $("#other")!.dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
    window.dispatchEvent(new KeyboardEvent("keydown", { key: "a" }));
    vi.advanceTimersByTime(2 * MIN);
    expect(actions.lock).toHaveBeenCalledTimes(1);
    expect(actions.keepAlive).not.toHaveBeenCalled();
  });

  it("offers Sign out", () => {
    const actions = { lock: vi.fn(), signOut: vi.fn() };
    watchIdle(900, actions);
    vi.advanceTimersByTime(13 * MIN);
    $("#idle-sign-out")!.click();
    expect(actions.signOut).toHaveBeenCalledTimes(1);
  });

  it("is the same offline, with no spine to tell", () => {
    const actions = { lock: vi.fn(), signOut: vi.fn() };
    watchIdle(600, actions);
    vi.advanceTimersByTime(8 * MIN);
    expect($("#idle-warning")).not.toBeNull();
    expect($("#idle-warning-countdown")?.textContent).toBe("You will be signed out in 2 minutes.");
    $("#stay-signed-in")!.click();
    expect($("#idle-warning")).toBeNull();
    vi.advanceTimersByTime(10 * MIN);
    expect(actions.lock).toHaveBeenCalledTimes(1);
  });

  it("comes at half a short timeout", () => {
    const actions = { lock: vi.fn(), signOut: vi.fn(), keepAlive: vi.fn(async () => undefined) };
    watchIdle(30, actions);
    vi.advanceTimersByTime(14 * SEC);
    expect($("#idle-warning")).toBeNull();
    vi.advanceTimersByTime(SEC);
    expect($("#idle-warning-countdown")?.textContent).toBe("You will be signed out in 15 seconds.");
  });

  it("goes when the session ends", () => {
    watchIdle(900, { lock: vi.fn(), signOut: vi.fn() });
    vi.advanceTimersByTime(13 * MIN);
    expect($("#idle-warning")).not.toBeNull();
    stopIdleWatch();
    expect($("#idle-warning")).toBeNull();
    expect($("#page")!.hasAttribute("inert")).toBe(false);
  });
});
