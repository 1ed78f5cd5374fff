/**
 * H15 at the engine: which filters classify with respect to FWPM_FILTER_FLAG_BOOTTIME. "boot" (TCP/IP driver
 * up, BFE not started): the boot-time filters alone; "removed" (BFE started, the default after Bfe.open): every
 * filter but them, which stay objects; "enforced" (a bare engine): all of them. The switch is one step.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FwpError, fwpUint16 } from "../fwp/index.ts";
import { FilterEngine } from "./engine.ts";
import { incoming } from "./engine-fixtures.testing.ts";
import type { FilterSpec } from "./model.ts";

const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const BOOTTIME = 0x2;
const PERSISTENT = 0x1;

function blockPort(port: number, flags: number, name = `block ${port}`): FilterSpec {
  return {
    name,
    layer: CONNECT,
    flags,
    action: { type: "FWP_ACTION_BLOCK" },
    conditions: [
      { fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(port) },
    ],
  };
}

/** The deciding filter's name for a connect to `port`, or "-" when nothing decided. */
function decider(engine: FilterEngine, port: number): string {
  const r = engine.classify({
    layer: CONNECT,
    incomingValues: incoming(CONNECT, { FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(port) }),
  });
  return r.decidingFilter?.name ?? "-";
}

/** A boot-time filter and its persistent twin (equal weight, the boot-time one older), plus a lone boot-time one. */
function twins(): FilterEngine {
  const e = new FilterEngine();
  e.addFilter(blockPort(445, BOOTTIME, "boot 445"));
  e.addFilter(blockPort(445, PERSISTENT, "persistent 445"));
  e.addFilter(blockPort(139, BOOTTIME, "boot 139"));
  return e;
}

describe("H15: boot-time enforcement in the filter engine", () => {
  test("a bare engine enforces boot-time filters with the others (equal weights: the older one decides, B11)", () => {
    const e = twins();
    assert.equal(e.bootTimeEnforcement, "enforced");
    assert.equal(decider(e, 445), "boot 445");
    assert.equal(decider(e, 139), "boot 139");
  });

  test('"boot": only boot-time filters classify; "removed": every filter but them — they stay objects', () => {
    const e = twins();
    e.setBootTimeEnforcement("boot");
    assert.equal(decider(e, 445), "boot 445");
    assert.equal(decider(e, 139), "boot 139");
    e.setBootTimeEnforcement("removed");
    assert.equal(decider(e, 445), "persistent 445");
    assert.equal(decider(e, 139), "-");
    assert.deepEqual(
      e.filters(CONNECT).map((f) => f.name),
      ["boot 445", "persistent 445", "boot 139"],
    );
    e.setBootTimeEnforcement("enforced");
    assert.equal(decider(e, 445), "boot 445");
  });

  test("the switch is one step: the layer compiled before it is rebuilt, its policy object replaced (flows reauthorize, G12)", () => {
    const e = twins();
    e.setBootTimeEnforcement("boot");
    const before = e.layerPolicy(CONNECT);
    assert.equal(decider(e, 445), "boot 445");
    e.setBootTimeEnforcement("removed");
    assert.notEqual(e.layerPolicy(CONNECT), before);
    // Every instant is one state or the other: 445 is blocked before the switch and right after it.
    assert.equal(decider(e, 445), "persistent 445");
    e.setBootTimeEnforcement("removed");
    assert.equal(e.layerPolicy(CONNECT), e.layerPolicy(CONNECT), "setting the same mode changes nothing");
  });

  test("the switch cannot happen inside a batch (no classification could see half of it); a fork keeps the mode", () => {
    const e = twins();
    e.setBootTimeEnforcement("boot");
    assert.throws(
      () =>
        e.applyBatch([{ op: "addFilter", spec: blockPort(23, PERSISTENT) }], () => e.setBootTimeEnforcement("removed")),
      (x: unknown) => x instanceof FwpError && x.code === "FWP_E_TXN_IN_PROGRESS",
    );
    assert.equal(e.bootTimeEnforcement, "boot");
    assert.equal(e.filters(CONNECT).length, 3, "the batch was undone");
    assert.equal(e.fork().bootTimeEnforcement, "boot");
    assert.throws(
      () => e.setBootTimeEnforcement("later" as never),
      (x: unknown) => x instanceof FwpError && x.code === "FWP_E_INVALID_PARAMETER",
    );
  });
});
