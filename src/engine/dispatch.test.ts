/**
 * ClassifyRequest.calloutDispatch: the caller gives each callout its own layer data (the stream layer's
 * waterfall, wfp-semantics.md E11) and sees each answer; arbitration itself is unchanged.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FilterEngine } from "./engine.ts";
import { CALLOUT_NOT_INVOKED, type CalloutClassifyFn, type ClassifyOut, type Filter } from "./model.ts";

const LAYER = "FWPM_LAYER_STREAM_V4";

function twoCallouts(answers: { hi: CalloutClassifyFn; lo: CalloutClassifyFn }) {
  const engine = new FilterEngine();
  const keys = { hi: "6f1c0000-0000-4000-8000-000000000001", lo: "6f1c0000-0000-4000-8000-000000000002" };
  const subs = { hi: "6f1c0000-0000-4000-8000-0000000000a1", lo: "6f1c0000-0000-4000-8000-0000000000a2" };
  engine.addSublayer({ subLayerKey: subs.hi, name: "high", weight: 0x200 });
  engine.addSublayer({ subLayerKey: subs.lo, name: "low", weight: 0x100 });
  for (const k of ["hi", "lo"] as const) {
    engine.addCallout({ calloutKey: keys[k], name: k, applicableLayer: LAYER });
    engine.registerCallout({ calloutKey: keys[k], classifyFn: answers[k] });
    engine.addFilter({
      name: k,
      layer: LAYER,
      sublayer: subs[k],
      action: { type: "FWP_ACTION_CALLOUT_UNKNOWN", calloutKey: keys[k] },
    });
  }
  return engine;
}

describe("callout dispatch (per-callout layer data)", () => {
  it("gives each callout, in evaluation order, the layer data `before` returns, and shows `after` its answer", () => {
    const seen: string[] = [];
    const engine = twoCallouts({
      hi: (_v, _m, data, _c, _f, _fc, out) => {
        seen.push(`hi:${String(data)}`);
        out.actionType = "FWP_ACTION_PERMIT";
      },
      lo: (_v, _m, data, _c, _f, _fc, out) => {
        seen.push(`lo:${String(data)}`);
        out.actionType = "FWP_ACTION_BLOCK";
        out.rights = 0;
      },
    });
    const order: string[] = [];
    const answers: string[] = [];
    const result = engine.classify({
      layer: LAYER,
      incomingValues: [],
      layerData: "shared",
      calloutDispatch: {
        before: (f: Filter, _id: number, out: ClassifyOut) => {
          order.push(`${f.name}:${out.actionType}:${out.rights}`);
          return `own-${f.name}`;
        },
        after: (f: Filter, _id: number, out: ClassifyOut) => answers.push(`${f.name}:${out.actionType}`),
      },
    });
    assert.deepEqual(seen, ["hi:own-hi", "lo:own-lo"]);
    // The pre-load (C13) is visible to `before`: nothing decided yet, then hi's soft PERMIT.
    assert.deepEqual(order, ["hi:FWP_ACTION_CONTINUE:1", "lo:FWP_ACTION_PERMIT:1"]);
    assert.deepEqual(answers, ["hi:FWP_ACTION_PERMIT", "lo:FWP_ACTION_BLOCK"]);
    assert.equal(result.action, "FWP_ACTION_BLOCK");
  });

  it("a callout `before` declines is not invoked; what `before` left in classifyOut is its answer", () => {
    let invoked = 0;
    const engine = twoCallouts({
      hi: (_v, _m, _d, _c, _f, _fc, out) => {
        invoked++;
        out.actionType = "FWP_ACTION_BLOCK";
      },
      lo: (_v, _m, _d, _c, _f, _fc, out) => {
        invoked++;
        out.actionType = "FWP_ACTION_CONTINUE";
      },
    });
    let afters = 0;
    const result = engine.classify({
      layer: LAYER,
      incomingValues: [],
      trace: true,
      calloutDispatch: {
        before: (f, _id, out) => {
          if (f.name !== "hi") return "data";
          out.actionType = "FWP_ACTION_PERMIT";
          return CALLOUT_NOT_INVOKED;
        },
        after: () => {
          afters++;
        },
      },
    });
    assert.equal(invoked, 1, "only the low callout ran");
    assert.equal(afters, 1, "after follows invocations only");
    assert.equal(result.action, "FWP_ACTION_PERMIT");
    const hi = result.trace?.sublayers[0]?.filters[0];
    assert.equal(hi?.calloutInvoked, false);
    assert.equal(hi?.action, "FWP_ACTION_PERMIT");
  });

  it("without a dispatch every callout gets the request's layerData", () => {
    const seen: unknown[] = [];
    const fn: CalloutClassifyFn = (_v, _m, data, _c, _f, _fc, out) => {
      seen.push(data);
      out.actionType = "FWP_ACTION_CONTINUE";
    };
    const engine = twoCallouts({ hi: fn, lo: fn });
    engine.classify({ layer: LAYER, incomingValues: [], layerData: "shared" });
    assert.deepEqual(seen, ["shared", "shared"]);
  });
});
