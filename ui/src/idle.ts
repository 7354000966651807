// The idle clock of a signed-in session, without the DOM or real timers (so it is tested
// with fake ones). The rule:
// - the session locks after the idle timeout (the spine's, or for an offline session the one
//   recorded at the last online sign-in) without input;
// - a warning shows two minutes before the lock; for idle timeouts shorter than four minutes,
//   at half the timeout (two minutes of warning would be most of the session);
// - while the warning shows, input elsewhere does not count: only "Stay signed in" does, so
//   a passing touch of the mouse does not silently dismiss it;
// - while the user is active, the spine is told at most every minute (a quarter of a short
//   timeout), on the next tick after the input, so the spine's idle clock never runs
//   more than that behind the window's; "Stay signed in" tells it at once.

/** The warning's lead on the lock for idle timeouts of four minutes or more. */
export const WARNING_LEAD_MS = 2 * 60_000;
/** Below this idle timeout the warning comes at half of it. */
export const SHORT_TIMEOUT_MS = 4 * 60_000;
/** The longest the spine's idle clock may lag the window's while the user is active. */
export const REFRESH_EVERY_MS = 60_000;

/** How long before the lock the warning shows. */
export function warningLeadMs(timeoutMs: number): number {
  return timeoutMs < SHORT_TIMEOUT_MS ? timeoutMs / 2 : WARNING_LEAD_MS;
}

/** How often, at most, input tells the spine the user is still there. */
export function refreshEveryMs(timeoutMs: number): number {
  return Math.min(REFRESH_EVERY_MS, timeoutMs / 4);
}

/** A time left in words, rounded up to the second: "1 minute 45 seconds", "2 minutes", "1 second". */
export function timeLeftInWords(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (minutes === 0) return unit(seconds, "second");
  if (seconds === 0) return unit(minutes, "minute");
  return `${unit(minutes, "minute")} ${unit(seconds, "second")}`;
}

export interface IdleHooks {
  /** The warning is due; `leftMs` until the lock. */
  warn(leftMs: number): void;
  /** Each check while the warning shows, with the time left. */
  tick(leftMs: number): void;
  /** "Stay signed in": the warning goes. */
  calm(): void;
  /** The idle timeout has passed without input. Called once. */
  lock(): void;
  /** Tell the spine the user is still there (online sessions). */
  refresh(): void;
}

type Phase = "active" | "warning" | "locked";

export class IdleClock {
  private lastInput: number;
  private lastRefresh: number;
  /** Input since the spine was last told. */
  private unreported = false;
  private phase: Phase = "active";

  constructor(
    readonly timeoutMs: number,
    private readonly hooks: IdleHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.lastInput = now();
    // Signing in (or the role choice after it) has just been a request.
    this.lastRefresh = this.lastInput;
  }

  get warning(): boolean {
    return this.phase === "warning";
  }

  /** Keyboard, mouse, wheel or touch input anywhere in the window. */
  input(): void {
    if (this.phase !== "active") return;
    this.lastInput = this.now();
    this.unreported = true;
  }

  /** "Stay signed in": the clock starts again, and the spine is told at once. */
  stay(): void {
    if (this.phase === "locked") return;
    const wasWarning = this.phase === "warning";
    this.phase = "active";
    this.lastInput = this.now();
    this.lastRefresh = this.lastInput;
    this.unreported = false;
    if (wasWarning) this.hooks.calm();
    this.hooks.refresh();
  }

  /** Called every second. */
  check(): void {
    if (this.phase === "locked") return;
    const now = this.now();
    const left = this.timeoutMs - (now - this.lastInput);
    if (left <= 0) {
      this.phase = "locked";
      this.hooks.lock();
      return;
    }
    if (this.phase === "warning") {
      this.hooks.tick(left);
      return;
    }
    if (left <= warningLeadMs(this.timeoutMs)) {
      this.phase = "warning";
      this.hooks.warn(left);
      return;
    }
    if (this.unreported && now - this.lastRefresh >= refreshEveryMs(this.timeoutMs)) {
      this.unreported = false;
      this.lastRefresh = now;
      this.hooks.refresh();
    }
  }
}
