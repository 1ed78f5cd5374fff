import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Guid } from "../base/guid.ts";
import { FwpError, fwpUint8, fwpUint16, getLayer } from "../fwp/index.ts";
import { FilterEngine } from "./engine.ts";
import { answers, incoming, scriptedCallout, testGuid } from "./engine-fixtures.testing.ts";
import type { CalloutNotifyType, ClassifyOut, ClassifyRequest, Filter } from "./model.ts";
import type { EngineOptions } from "./options.ts";

const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const CLEAR_ACTION_RIGHT = 0x8;

function twoSublayers(options?: EngineOptions) {
  const engine = new FilterEngine(options === undefined ? {} : { options });
  const hi = engine.addSublayer({ subLayerKey: testGuid(0xa1), name: "hi", weight: 2 });
  const lo = engine.addSublayer({ subLayerKey: testGuid(0xa2), name: "lo", weight: 1 });
  return { engine, hi: hi.subLayerKey, lo: lo.subLayerKey };
}

const classifyConnect = (engine: FilterEngine, extra: Partial<ClassifyRequest> = {}) =>
  engine.classify({
    layer: CONNECT,
    incomingValues: incoming(CONNECT, { FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(443) }),
    ...extra,
  });

describe("§D.2 classifyFn contract", () => {
  test("D7: classifyFn gets the layer and incoming values, metadata, layer data, the filter and the flow context", () => {
    const engine = new FilterEngine();
    const c = scriptedCallout(engine, 1, CONNECT, answers.permit);
    const f = engine.addFilter({
      name: "c",
      layer: CONNECT,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key },
    });
    const values = incoming(CONNECT, { FWPM_CONDITION_IP_PROTOCOL: fwpUint8(17) });
    const meta = { processId: 1234n };
    const layerData = { packet: Uint8Array.of(0x45) };
    const r = engine.classify({ layer: CONNECT, incomingValues: values, metadata: meta, layerData, flowContext: 77n });
    assert.equal(r.action, "FWP_ACTION_PERMIT");
    const call = c.calls[0];
    assert.ok(call !== undefined);
    assert.equal(call.incomingValues, values);
    assert.equal(call.metadata, meta);
    assert.equal(call.layerData, layerData);
    assert.equal(call.filter, f);
    assert.equal(call.flowContext, 77n);
    assert.equal(call.rightsIn, 1);
  });

  test("D8: classifyFn runs only when every condition of the filter matches", () => {
    const engine = new FilterEngine();
    const c = scriptedCallout(engine, 1, CONNECT, answers.permit);
    engine.addFilter({
      name: "udp only",
      layer: CONNECT,
      conditions: [
        { fieldKey: "FWPM_CONDITION_IP_PROTOCOL", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint8(17) },
      ],
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key },
    });
    engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, { FWPM_CONDITION_IP_PROTOCOL: fwpUint8(6) }) });
    assert.equal(c.calls.length, 0);
    engine.classify({
      layer: CONNECT,
      incomingValues: incoming(CONNECT, { FWPM_CONDITION_IP_PROTOCOL: fwpUint8(17) }),
    });
    assert.equal(c.calls.length, 1);
  });

  test("D8/D18: a CONDITIONAL_ON_FLOW callout runs only with its own flow context", () => {
    const engine = new FilterEngine();
    const key = testGuid(0x51);
    const other = testGuid(0x52);
    engine.addCallout({ calloutKey: key, name: "flow", applicableLayer: CONNECT });
    const seen: bigint[] = [];
    engine.registerCallout({
      calloutKey: key,
      flags: 0x1,
      classifyFn: (_f, _m, _l, _c, _filter, flowContext, out) => {
        seen.push(flowContext);
        out.actionType = "FWP_ACTION_BLOCK";
        out.rights = 0;
      },
    });
    engine.addFilter({
      name: "f",
      layer: CONNECT,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    });
    assert.equal(classifyConnect(engine).action, "FWP_ACTION_PERMIT");
    const contexts = new Map<Guid, bigint>([
      [key, 9n],
      [other, 3n],
    ]);
    const r = classifyConnect(engine, { flowContext: (_id: number, k: Guid) => contexts.get(k) ?? 0n });
    assert.equal(r.action, "FWP_ACTION_BLOCK");
    assert.deepEqual(seen, [9n]);
  });

  test("C13: classifyOut is pre-loaded with the running decision or CONTINUE (switchable)", () => {
    for (const preload of ["decision-or-continue", "continue"] as const) {
      const { engine, hi, lo } = twoSublayers({ classifyOutPreload: preload });
      const c = scriptedCallout(engine, 1, CONNECT, answers.continue);
      engine.addFilter({ name: "permit", layer: CONNECT, sublayer: hi, action: { type: "FWP_ACTION_PERMIT" } });
      engine.addFilter({
        name: "c",
        layer: CONNECT,
        sublayer: lo,
        action: { type: "FWP_ACTION_CALLOUT_UNKNOWN", calloutKey: c.key },
      });
      classifyConnect(engine);
      assert.equal(c.calls[0]?.preloadAction, preload === "continue" ? "FWP_ACTION_CONTINUE" : "FWP_ACTION_PERMIT");
    }
  });

  test("C1: NONE and NONE_NO_MATCH written by a callout continue to the next filter", () => {
    for (const written of ["FWP_ACTION_NONE", "FWP_ACTION_NONE_NO_MATCH"] as const) {
      const engine = new FilterEngine();
      const c = scriptedCallout(engine, 1, CONNECT, (out) => {
        out.actionType = written;
      });
      engine.addFilter({
        name: "c",
        layer: CONNECT,
        weight: { type: "FWP_UINT64", value: 9n },
        action: { type: "FWP_ACTION_CALLOUT_UNKNOWN", calloutKey: c.key },
      });
      const block = engine.addFilter({
        name: "b",
        layer: CONNECT,
        weight: { type: "FWP_UINT64", value: 1n },
        action: { type: "FWP_ACTION_BLOCK" },
      });
      assert.equal(classifyConnect(engine).decidingFilter, block);
    }
  });

  test("C10: a TERMINATING callout answering CONTINUE continues (default) or blocks (option off)", () => {
    for (const continues of [true, false]) {
      const engine = new FilterEngine({ options: { terminatingCalloutContinueContinues: continues } });
      const c = scriptedCallout(engine, 1, CONNECT, answers.continue);
      const t = engine.addFilter({
        name: "t",
        layer: CONNECT,
        weight: { type: "FWP_UINT64", value: 9n },
        action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key },
      });
      const p = engine.addFilter({
        name: "p",
        layer: CONNECT,
        weight: { type: "FWP_UINT64", value: 1n },
        action: { type: "FWP_ACTION_PERMIT" },
      });
      const r = classifyConnect(engine);
      assert.equal(r.action, continues ? "FWP_ACTION_PERMIT" : "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, continues ? p : t);
    }
  });

  test("C12: inspection writes are ignored by default; honoured when inspectionWritesIgnored is off", () => {
    for (const ignored of [true, false]) {
      const engine = new FilterEngine({ options: { inspectionWritesIgnored: ignored } });
      const c = scriptedCallout(engine, 1, CONNECT, answers.block);
      engine.addFilter({
        name: "i",
        layer: CONNECT,
        action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: c.key },
      });
      assert.equal(classifyConnect(engine).action, ignored ? "FWP_ACTION_PERMIT" : "FWP_ACTION_BLOCK");
    }
  });

  test("C6: a callout PERMIT is hard only if the callout clears the right (engine option can apply CLEAR_ACTION_RIGHT)", () => {
    for (const applies of [false, true]) {
      const { engine, hi, lo } = twoSublayers({ engineAppliesClearActionRightToCallouts: applies });
      const c = scriptedCallout(engine, 1, CONNECT, answers.permit);
      const p = engine.addFilter({
        name: "p",
        layer: CONNECT,
        sublayer: hi,
        flags: CLEAR_ACTION_RIGHT,
        action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key },
      });
      const b = engine.addFilter({ name: "b", layer: CONNECT, sublayer: lo, action: { type: "FWP_ACTION_BLOCK" } });
      const r = classifyConnect(engine);
      assert.equal(r.decidingFilter, applies ? p : b);
    }
    const { engine, hi, lo } = twoSublayers();
    const c = scriptedCallout(engine, 2, CONNECT, answers.hardPermit);
    const p = engine.addFilter({
      name: "p",
      layer: CONNECT,
      sublayer: hi,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key },
    });
    engine.addFilter({ name: "b", layer: CONNECT, sublayer: lo, action: { type: "FWP_ACTION_BLOCK" } });
    assert.equal(classifyConnect(engine).decidingFilter, p);
  });

  test("C16: BLOCK with ABSORB is reported absorbed; a later soft override clears it", () => {
    const { engine, hi } = twoSublayers();
    const c = scriptedCallout(engine, 1, CONNECT, answers.absorb);
    engine.addFilter({
      name: "absorb",
      layer: CONNECT,
      sublayer: hi,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key },
    });
    const r = classifyConnect(engine);
    assert.equal(r.action, "FWP_ACTION_BLOCK");
    assert.equal(r.absorbed, true);

    const soft = twoSublayers();
    const s = scriptedCallout(soft.engine, 2, CONNECT, (out: ClassifyOut) => {
      out.actionType = "FWP_ACTION_BLOCK";
      out.flags = 0x1;
    });
    soft.engine.addFilter({
      name: "soft absorb",
      layer: CONNECT,
      sublayer: soft.hi,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: s.key },
    });
    soft.engine.addFilter({ name: "permit", layer: CONNECT, sublayer: soft.lo, action: { type: "FWP_ACTION_PERMIT" } });
    const r2 = classifyConnect(soft.engine);
    assert.equal(r2.action, "FWP_ACTION_PERMIT");
    assert.equal(r2.absorbed, false);
  });

  test("C14 options: the substitute BLOCK can be soft; the substitute PERMIT can be hard", () => {
    {
      const { engine, hi, lo } = twoSublayers({ unregisteredBlockIsHard: false });
      const c = scriptedCallout(engine, 1, CONNECT, answers.permit, false);
      engine.addFilter({
        name: "u",
        layer: CONNECT,
        sublayer: hi,
        action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key },
      });
      engine.addFilter({ name: "p", layer: CONNECT, sublayer: lo, action: { type: "FWP_ACTION_PERMIT" } });
      assert.equal(classifyConnect(engine).action, "FWP_ACTION_PERMIT");
    }
    {
      const { engine, hi, lo } = twoSublayers({ unregisteredPermitFollowsStaticDefaults: false });
      const c = scriptedCallout(engine, 1, CONNECT, answers.permit, false);
      engine.addFilter({
        name: "u",
        layer: CONNECT,
        sublayer: hi,
        flags: 0x10,
        action: { type: "FWP_ACTION_CALLOUT_UNKNOWN", calloutKey: c.key },
      });
      engine.addFilter({ name: "b", layer: CONNECT, sublayer: lo, action: { type: "FWP_ACTION_BLOCK" } });
      assert.equal(classifyConnect(engine).action, "FWP_ACTION_PERMIT");
    }
  });

  test("C15 option: noMatchAction decides when nothing answers", () => {
    const engine = new FilterEngine({ options: { noMatchAction: "FWP_ACTION_BLOCK" } });
    const r = classifyConnect(engine);
    assert.equal(r.action, "FWP_ACTION_BLOCK");
    assert.equal(r.decidingFilter, null);
  });

  test("a callout may classify re-entrantly (another layer) without disturbing the outer classification", () => {
    const engine = new FilterEngine();
    const LISTEN = "FWPM_LAYER_ALE_AUTH_LISTEN_V4";
    engine.addFilter({ name: "listen block", layer: LISTEN, action: { type: "FWP_ACTION_BLOCK" } });
    let inner = "";
    const c = scriptedCallout(engine, 1, CONNECT, (out) => {
      inner = engine.classify({ layer: LISTEN, incomingValues: [] }).action;
      out.actionType = "FWP_ACTION_CONTINUE";
    });
    engine.addFilter({
      name: "c",
      layer: CONNECT,
      weight: { type: "FWP_UINT64", value: 9n },
      action: { type: "FWP_ACTION_CALLOUT_UNKNOWN", calloutKey: c.key },
    });
    const p = engine.addFilter({
      name: "p",
      layer: CONNECT,
      weight: { type: "FWP_UINT64", value: 1n },
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const r = classifyConnect(engine);
    assert.equal(inner, "FWP_ACTION_BLOCK");
    assert.equal(r.decidingFilter, p);
  });
});

describe("§D.1/D.3 registration, notifyFn and flowDeleteFn", () => {
  function withNotify(result: (type: CalloutNotifyType) => boolean | undefined, options?: EngineOptions) {
    const engine = new FilterEngine(options === undefined ? {} : { options });
    const key = testGuid(0x61);
    engine.addCallout({ calloutKey: key, name: "n", applicableLayer: CONNECT });
    const notes: [CalloutNotifyType, Guid | null, Filter][] = [];
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (...args) => answers.block(args[6]),
      notifyFn: (type, filterKey, filter) => {
        notes.push([type, filterKey, filter]);
        return result(type);
      },
    });
    return { engine, key, notes };
  }

  test("D12: ADD_FILTER notify carries the key and filter; DELETE_FILTER has a null key", () => {
    const { engine, key, notes } = withNotify(() => true);
    const f = engine.addFilter({
      name: "f",
      layer: CONNECT,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    });
    engine.addFilter({ name: "static", layer: CONNECT, action: { type: "FWP_ACTION_BLOCK" } });
    engine.deleteFilter(f.filterKey);
    assert.deepEqual(notes, [
      ["FWPS_CALLOUT_NOTIFY_ADD_FILTER", f.filterKey, f],
      ["FWPS_CALLOUT_NOTIFY_DELETE_FILTER", null, f],
    ]);
  });

  test("V21/D12: a failing ADD notify rejects the add with FWP_E_CALLOUT_NOTIFICATION_FAILED; nothing is added", () => {
    for (const failWith of ["false", "throw"] as const) {
      const { engine, key } = withNotify((type) => {
        if (type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER" && failWith === "throw") throw new Error("driver says no");
        return type !== "FWPS_CALLOUT_NOTIFY_ADD_FILTER";
      });
      assert.throws(
        () =>
          engine.addFilter({
            name: "f",
            layer: CONNECT,
            action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
          }),
        (e: unknown) =>
          e instanceof FwpError && e.code === "FWP_E_CALLOUT_NOTIFICATION_FAILED" && e.path === "action.calloutKey",
      );
      assert.equal(engine.filters().length, 0);
      assert.equal(classifyConnect(engine).action, "FWP_ACTION_PERMIT");
    }
  });

  test("D12: a failing DELETE notify is ignored by default; with notifyDeleteResultIgnored off the filter stays", () => {
    {
      const { engine, key } = withNotify((type) => type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER");
      const f = engine.addFilter({
        name: "f",
        layer: CONNECT,
        action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
      });
      engine.deleteFilter(f.filterId);
      assert.equal(engine.getFilter(f.filterId), undefined);
    }
    {
      const { engine, key } = withNotify((type) => type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER", {
        notifyDeleteResultIgnored: false,
      });
      const f = engine.addFilter({
        name: "f",
        layer: CONNECT,
        action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
      });
      assert.throws(
        () => engine.deleteFilter(f.filterId),
        (e: unknown) => e instanceof FwpError && e.code === "FWP_E_CALLOUT_NOTIFICATION_FAILED",
      );
      assert.equal(engine.getFilter(f.filterId), f);
    }
  });

  test("D5/D12: notifyAddCommitted tells only ENABLE_COMMIT_ADD_NOTIFY callouts, only of filters still in the engine", () => {
    const engine = new FilterEngine();
    const heard: string[] = [];
    const callout = (n: number, flags: number): Guid => {
      const key = testGuid(0x70 + n);
      engine.addCallout({ calloutKey: key, name: `c${n}`, applicableLayer: CONNECT });
      engine.registerCallout({
        calloutKey: key,
        flags,
        classifyFn: () => {},
        notifyFn: (type, filterKey, filter) => {
          heard.push(`${type.replace("FWPS_CALLOUT_NOTIFY_", "")} ${filter.name} ${filterKey === filter.filterKey}`);
          if (type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT") throw new Error("ignored");
          return true;
        },
      });
      return key;
    };
    const wants = callout(1, 0x4);
    const plain = callout(2, 0);
    const add = (name: string, calloutKey: Guid): Filter =>
      engine.addFilter({ name, layer: CONNECT, action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey } });
    const a = add("a", wants);
    const b = add("b", plain);
    const c = add("c", wants);
    const gone = add("gone", wants);
    engine.deleteFilter(gone.filterId);
    const block = engine.addFilter({ name: "block", layer: CONNECT, action: { type: "FWP_ACTION_BLOCK" } });
    heard.length = 0;
    assert.equal(engine.notifyAddCommitted([a, b, block, gone, c]), 2);
    assert.deepEqual(heard, ["ADD_FILTER_POST_COMMIT a true", "ADD_FILTER_POST_COMMIT c true"]);
    // No callout asked for it: nothing is even looked at.
    const quiet = new FilterEngine();
    assert.equal(quiet.notifyAddCommitted([a]), 0);
  });

  test("D13: filters that exist when a callout registers are not replayed to notifyFn", () => {
    const engine = new FilterEngine();
    const key = testGuid(0x62);
    engine.addCallout({ calloutKey: key, name: "late", applicableLayer: CONNECT });
    engine.addFilter({
      name: "f",
      layer: CONNECT,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    });
    let notified = 0;
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (...a) => answers.permit(a[6]),
      notifyFn: () => {
        notified++;
        return true;
      },
    });
    assert.equal(notified, 0);
    assert.equal(classifyConnect(engine).action, "FWP_ACTION_PERMIT");
  });

  test("D1–D3: either half first; duplicate registration fails; unregistering falls back to C14; re-register works", () => {
    const engine = new FilterEngine();
    const key = testGuid(0x63);
    const reg = {
      calloutKey: key,
      classifyFn: (...a: Parameters<import("./model.ts").CalloutClassifyFn>) => answers.permit(a[6]),
    };
    assert.equal(engine.registerCallout(reg), undefined);
    assert.throws(
      () => engine.registerCallout(reg),
      (e: unknown) => e instanceof FwpError && e.code === "FWP_E_ALREADY_EXISTS",
    );
    const c = engine.addCallout({ calloutKey: key, name: "c", applicableLayer: CONNECT });
    engine.addFilter({
      name: "f",
      layer: CONNECT,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    });
    assert.equal(engine.isCalloutRegistered(key), true);
    assert.equal(classifyConnect(engine).action, "FWP_ACTION_PERMIT");
    engine.unregisterCallout(c.calloutId);
    assert.equal(engine.isCalloutRegistered(key), false);
    assert.equal(classifyConnect(engine).action, "FWP_ACTION_BLOCK");
    assert.throws(
      () => engine.unregisterCallout(key),
      (e: unknown) => e instanceof FwpError && e.code === "FWP_E_CALLOUT_NOT_FOUND",
    );
    assert.equal(engine.registerCallout(reg), c.calloutId);
    assert.equal(classifyConnect(engine).action, "FWP_ACTION_PERMIT");
  });

  test("D17: flowDeleted calls flowDeleteFn(layerId, calloutId, flowContext) once", () => {
    const engine = new FilterEngine();
    const key = testGuid(0x64);
    const calls: [number, number, bigint][] = [];
    engine.registerCallout({
      calloutKey: key,
      classifyFn: () => {},
      flowDeleteFn: (layerId, calloutId, ctx) => calls.push([layerId, calloutId, ctx]),
    });
    const c = engine.addCallout({ calloutKey: key, name: "c", applicableLayer: "FWPM_LAYER_STREAM_V4" });
    assert.equal(engine.flowDeleted("FWPM_LAYER_STREAM_V4", key, 0xabcn), true);
    assert.deepEqual(calls, [[getLayer("FWPM_LAYER_STREAM_V4").runtimeId, c.calloutId, 0xabcn]]);
    assert.equal(engine.flowDeleted("FWPM_LAYER_STREAM_V4", testGuid(0x65), 1n), false);
    assert.equal(engine.flowDeleted(getLayer("FWPM_LAYER_STREAM_V4").runtimeId, c.calloutId, 2n), true);
    assert.equal(calls.length, 2);
  });
});
