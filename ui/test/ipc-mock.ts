// The Rust side, mocked for the tests that drive main.ts: every command of the real `api`
// becomes a `vi.fn()` and the session-ended handler is kept, so a command added to ipc.ts
// is mocked in every such test without being listed again. Use in a test file:
//
//   vi.mock("../src/ipc", async (importOriginal) =>
//     (await import("./ipc-mock")).mockIpc(await importOriginal<typeof import("../src/ipc")>()));
//   import { api, endSession } from "./ipc-mock";
import { vi, type Mock } from "vitest";
import type { api as RealApi, SessionEnded } from "../src/ipc";

type MockedApi = { [K in keyof typeof RealApi]: Mock };

// Kept on the global object: the tests re-import main.ts after `vi.resetModules()`, which
// makes this module anew too, and the test file must keep seeing the same mocks.
const shared = globalThis as typeof globalThis & {
  scrMockApi?: MockedApi;
  scrSessionEnded?: ((e: SessionEnded) => void) | null;
};

/** The mocked commands, one `vi.fn()` per command of the real `api` (made once, then
 *  shared by every copy of this module). */
export const api: MockedApi = (shared.scrMockApi ??= await mockedCommands());

async function mockedCommands(): Promise<MockedApi> {
  const real = await vi.importActual<typeof import("../src/ipc")>("../src/ipc");
  return Object.fromEntries(Object.keys(real.api).map((k) => [k, vi.fn()])) as MockedApi;
}

/** Delivers a `session-ended` event, as the Rust side does. */
export function endSession(e: SessionEnded): void {
  shared.scrSessionEnded?.(e);
}

export function mockIpc<T extends { api: typeof RealApi }>(real: T): T {
  return {
    ...real,
    api,
    onCardStatus: vi.fn(async () => () => {}),
    onSessionEnded: vi.fn(async (handler: (e: SessionEnded) => void) => {
      shared.scrSessionEnded = handler;
      return () => {};
    }),
  };
}
