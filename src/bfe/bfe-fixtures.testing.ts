/**
 * Test helpers for the BFE: a Bfe on a ManualClock + ManualTimer + MemoryStore with a deterministic RNG,
 * incoming-value builders for classify, and small specs.
 */
import { ManualClock } from "../base/clock.ts";
import type { Guid } from "../base/guid.ts";
import { parseGuid } from "../base/guid.ts";
import { SeededRng } from "../base/rng.ts";
import type { FilterEngine, FilterSpec } from "../engine/index.ts";
import { FWP_EMPTY_VALUE, type FwpValue, findCondition, fwpUint16, getLayer } from "../fwp/index.ts";
import { Bfe } from "./bfe.ts";
import { NetEventLog } from "./netevents/index.ts";
import { AccessControl } from "./security/index.ts";
import { MemoryStore } from "./store/index.ts";
import { ManualTimer } from "./timer.ts";
import type { BfeOpenInit } from "./types.ts";

export const CONNECT_V4 = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
export const REMOTE_PORT = "FWPM_CONDITION_IP_REMOTE_PORT";
export const REMOTE_ADDRESS = "FWPM_CONDITION_IP_REMOTE_ADDRESS";
export const PROTOCOL = "FWPM_CONDITION_IP_PROTOCOL";

export interface TestBfe {
  readonly bfe: Bfe;
  readonly clock: ManualClock;
  readonly timer: ManualTimer;
  readonly store: MemoryStore;
  readonly access: AccessControl;
  readonly netEvents: NetEventLog;
}

/** A Bfe with everything injected (clock at 2024-01-01, seeded GUIDs). */
export function openTestBfe(overrides: Partial<BfeOpenInit> = {}, store = MemoryStore.open()): TestBfe {
  const clock = (overrides.clock as ManualClock | undefined) ?? new ManualClock(1_704_067_200_000_000_000n);
  const timer = new ManualTimer(clock);
  const rng = new SeededRng(42);
  const access = overrides.access ?? new AccessControl();
  const netEvents = overrides.netEvents ?? new NetEventLog();
  const bfe = Bfe.open({ clock, timer, store, access, netEvents, randomBytes: (n) => rng.bytes(n), ...overrides });
  return { bfe, clock, timer, store, access, netEvents };
}

/** A fixed GUID whose last group is `n`. */
export function guid(n: number): Guid {
  return parseGuid(`0badc0de-0000-4000-8000-${n.toString(16).padStart(12, "0")}`);
}

/** incomingValues for `layer` with the named condition fields set (others FWP_EMPTY). */
export function incoming(layer: string, entries: Readonly<Record<string, FwpValue>>): FwpValue[] {
  const l = getLayer(layer);
  const out: FwpValue[] = l.fields.map(() => FWP_EMPTY_VALUE);
  for (const [name, v] of Object.entries(entries)) {
    const key = findCondition(name)?.key;
    const f = l.fields.find((x) => x.conditionKey === key);
    if (f === undefined) throw new Error(`${name} is not a field of ${layer}`);
    out[f.index] = v;
  }
  return out;
}

/** The action the live engine takes for a connect to `port`. */
export function connectAction(bfe: Bfe, port: number): string {
  return classifyPort(bfe.engine, port);
}

/** The action `engine` takes for a connect to `port`. */
export function classifyPort(engine: FilterEngine, port: number): string {
  return engine.classify({
    layer: CONNECT_V4,
    incomingValues: incoming(CONNECT_V4, { [REMOTE_PORT]: fwpUint16(port) }),
  }).action;
}

/** A BLOCK filter on remote port `port` at ALE_AUTH_CONNECT_V4. */
export function blockPort(port: number, extra: Partial<FilterSpec> = {}): FilterSpec {
  return {
    name: `block ${port}`,
    layer: CONNECT_V4,
    action: { type: "FWP_ACTION_BLOCK" },
    conditions: [{ fieldKey: REMOTE_PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(port) }],
    ...extra,
  };
}
