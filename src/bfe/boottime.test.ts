/**
 * H15: boot-time filters (FWPM_FILTER_FLAG_BOOTTIME) are for kernel-mode layers only; they are enforced from
 * TCP/IP driver start until BFE finishes initializing, then BFE removes them and adds the persistent objects,
 * atomically. After start they stay BFE objects (enumerable with the boot-time enum flags, exportable) but are
 * not classified (BfeOpenInit.bootTimeFiltersAfterStart, default "removed").
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BootTimeEnforcement, FilterEngine } from "../engine/index.ts";
import { fwpUint16, isFwpError } from "../fwp/index.ts";
import {
  blockPort,
  CONNECT_V4,
  classifyPort,
  connectAction,
  incoming,
  openTestBfe,
  REMOTE_PORT,
} from "./bfe-fixtures.testing.ts";
import { ENUM_FLAG_BOOTTIME_ONLY, ENUM_FLAG_INCLUDE_BOOTTIME } from "./filter-template.ts";
import { exportNetsh, formatNetshXml, parseNetshXml } from "./netsh/index.ts";
import { ADMINISTRATOR } from "./security/index.ts";
import { MemoryStore } from "./store/index.ts";

const PERSISTENT = 0x1;
const BOOTTIME = 0x2;

/** The deciding filter's id for a connect to `port` (0n when nothing decided). */
function deciderId(engine: FilterEngine, port: number): bigint {
  return (
    engine.classify({ layer: CONNECT_V4, incomingValues: incoming(CONNECT_V4, { [REMOTE_PORT]: fwpUint16(port) }) })
      .decidingFilter?.filterId ?? 0n
  );
}

/**
 * A store holding, as Windows Firewall's "Boot Time Filter"s are: a boot-time filter and its persistent twin of
 * equal weight (the boot-time one older, so it would decide were both enforced, B11), and a lone boot-time
 * filter on port 139.
 */
async function twinStore(): Promise<{ store: MemoryStore; boot: bigint; twin: bigint; lone: bigint }> {
  const store = MemoryStore.open();
  const { bfe } = openTestBfe({}, store);
  const s = bfe.openSession(ADMINISTRATOR);
  const [boot, twin, lone] = await s.transact(() => [
    s.addFilter(blockPort(445, { flags: BOOTTIME, name: "boot 445" })).filterId,
    s.addFilter(blockPort(445, { flags: PERSISTENT, name: "persistent 445" })).filterId,
    s.addFilter(blockPort(139, { flags: BOOTTIME, name: "boot 139" })).filterId,
  ]);
  bfe.close();
  return { store, boot: boot as bigint, twin: twin as bigint, lone: lone as bigint };
}

describe("H15: boot-time filters at BFE start", () => {
  it("before BFE start the boot-time filter classifies alone; after start it does not and its persistent twin does", async () => {
    const { store, boot, twin } = await twinStore();
    let atBoot: { mode: BootTimeEnforcement; at445: bigint; at139: string } | undefined;
    const { bfe } = openTestBfe(
      {
        beforeStart: (engine) => {
          atBoot = {
            mode: engine.bootTimeEnforcement,
            at445: deciderId(engine, 445),
            at139: classifyPort(engine, 139),
          };
        },
      },
      store,
    );
    assert.deepEqual(atBoot, { mode: "boot", at445: boot, at139: "FWP_ACTION_BLOCK" });
    assert.equal(bfe.engine.bootTimeEnforcement, "removed");
    assert.equal(deciderId(bfe.engine, 445), twin);
    assert.equal(connectAction(bfe, 139), "FWP_ACTION_PERMIT", "the lone boot-time filter no longer applies");
  });

  it("the switch is one step from the boot-time policy to the started one: no instant has neither filter applying", async () => {
    const { store, boot, twin } = await twinStore();
    const steps: string[] = [];
    const { bfe } = openTestBfe(
      {
        beforeStart: (engine) => {
          // Watch every change of enforcement from here on, and what 445 meets on each side of it.
          const set = engine.setBootTimeEnforcement.bind(engine);
          engine.setBootTimeEnforcement = (mode) => {
            steps.push(`${engine.bootTimeEnforcement} (445 decided by ${deciderId(engine, 445)})`);
            set(mode);
            steps.push(`${engine.bootTimeEnforcement} (445 decided by ${deciderId(engine, 445)})`);
          };
        },
      },
      store,
    );
    assert.deepEqual(steps, [`boot (445 decided by ${boot})`, `removed (445 decided by ${twin})`]);
    assert.equal(deciderId(bfe.engine, 445), twin);
  });

  it('bootTimeFiltersAfterStart "enforced" keeps them classifying after start (then the older boot-time twin decides)', async () => {
    const { store, boot } = await twinStore();
    const { bfe } = openTestBfe({ bootTimeFiltersAfterStart: "enforced" }, store);
    assert.equal(bfe.engine.bootTimeEnforcement, "enforced");
    assert.equal(deciderId(bfe.engine, 445), boot);
    assert.equal(connectAction(bfe, 139), "FWP_ACTION_BLOCK");
  });

  it("after start boot-time filters stay BFE objects: enumerable with the boot-time flags (H25), exported as they were (H49)", async () => {
    const { store, boot, twin, lone } = await twinStore();
    const { bfe, clock } = openTestBfe({}, store);
    const s = bfe.openSession(ADMINISTRATOR);
    assert.equal(s.lifetimeOf("filter", boot), "bootTime");
    assert.deepEqual(
      s.enumFilters({ layer: CONNECT_V4 }).map((f) => f.filterId),
      [twin],
    );
    assert.deepEqual(
      s.enumFilters({ layer: CONNECT_V4, flags: ENUM_FLAG_INCLUDE_BOOTTIME }).map((f) => f.filterId),
      [boot, twin, lone],
    );
    assert.deepEqual(
      s.enumFilters({ layer: CONNECT_V4, flags: ENUM_FLAG_BOOTTIME_ONLY }).map((f) => f.filterId),
      [boot, lone],
    );
    const xml = formatNetshXml(exportNetsh(bfe, "filters", { nowNs: clock.nowNs() }));
    const back = parseNetshXml(xml).filters ?? [];
    const flagsOf = (id: bigint): number | undefined => back.find((f) => f.filterId === id)?.flags;
    assert.equal(flagsOf(boot), BOOTTIME);
    assert.equal(flagsOf(lone), BOOTTIME);
    assert.equal(flagsOf(twin), PERSISTENT);
  });

  it("a boot-time filter added while BFE runs is stored and not classified [INF]; at the next boot it is", async () => {
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const s = first.bfe.openSession(ADMINISTRATOR);
    const f = s.addFilter(blockPort(3389, { flags: BOOTTIME }));
    assert.equal(connectAction(first.bfe, 3389), "FWP_ACTION_PERMIT");
    assert.equal(s.getFilterById(f.filterId).filterKey, f.filterKey);
    first.bfe.close();
    let atBoot = "";
    openTestBfe({ beforeStart: (engine) => (atBoot = classifyPort(engine, 3389)) }, store);
    assert.equal(atBoot, "FWP_ACTION_BLOCK");
  });

  it("boot-time filters are for kernel-mode layers only: one at a user-mode layer is FWP_E_INCOMPATIBLE_LAYER [INF code]", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    for (const layer of ["FWPM_LAYER_IKEEXT_V4", "FWPM_LAYER_RPC_UM", "FWPM_LAYER_KM_AUTHORIZATION"]) {
      assert.throws(
        () => s.addFilter({ name: "boot", layer, flags: BOOTTIME, action: { type: "FWP_ACTION_BLOCK" } }),
        (e: unknown) => isFwpError(e) && e.code === "FWP_E_INCOMPATIBLE_LAYER" && e.path === "flags",
        layer,
      );
      // A persistent filter may go there.
      s.addFilter({ name: "persistent", layer, flags: PERSISTENT, action: { type: "FWP_ACTION_BLOCK" } });
    }
    assert.equal(s.addFilter(blockPort(1, { flags: BOOTTIME })).flags, BOOTTIME);
  });
});
