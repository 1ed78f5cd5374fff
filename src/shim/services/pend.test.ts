/**
 * FwpsPendOperation0 / FwpsCompleteOperation0 and the classify-handle family on a bare shim (D19–D22):
 * where a pend is allowed, what each call returns. What the stack does with a pended operation (the
 * connect waits, the reauthorization, the flush) is in src/stack/pend.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address, ManualClock } from "../../base/index.ts";
import { type CalloutClassifyFn, type ClassifyOut, FilterEngine } from "../../engine/index.ts";
import { FWP_CONDITION_FLAG, FWPS_RIGHT, type FwpmLayerName, getLayer } from "../../fwp/index.ts";
import type { ClassifyFacts } from "../facts.ts";
import { Shim } from "../shim.ts";
import { addCallout } from "./callout-fixtures.testing.ts";
import { ClassifyContext, type ClassifyHandle, CompletionHandle, heldOperation, PendedOperation } from "./pend.ts";

const v4 = (s: string) => Ipv4Address.parse(s);
const facts: ClassifyFacts = {
  ipVersion: 4,
  direction: "outbound",
  protocol: 6,
  localAddress: v4("10.0.0.1"),
  remoteAddress: v4("10.0.0.2"),
  localPort: 50000,
  remotePort: 80,
};

function shimWith(layer: FwpmLayerName, fn: CalloutClassifyFn) {
  const engine = new FilterEngine();
  const shim = new Shim({ engine, clock: new ManualClock(1n) });
  const callout = addCallout(engine, layer, fn);
  return { engine, shim, callout };
}

/** A callout that pends the operation and answers BLOCK + ABSORB, as D19 asks. */
function pendingCallout(shim: () => Shim, results: { status: string; ctx: unknown }[]): CalloutClassifyFn {
  return (_v, meta, _d, _c, _f, _flow, out) => {
    const r = shim().fwps.pendOperation(meta?.completionHandle);
    results.push({ status: r.status, ctx: r.completionContext });
    if (r.status === "STATUS_SUCCESS") {
      out.actionType = "FWP_ACTION_BLOCK";
      out.rights &= ~FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE;
      out.flags |= 1;
    } else out.actionType = "FWP_ACTION_CONTINUE";
  };
}

describe("FwpsPendOperation0 (D19)", () => {
  const allowed: FwpmLayerName[] = [
    "FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4",
    "FWPM_LAYER_ALE_AUTH_LISTEN_V6",
    "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
    "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6",
  ];
  for (const name of allowed) {
    it(`pends the initial authorization at ${name.replace("FWPM_LAYER_", "")}: a completion context, BLOCK + ABSORB held`, () => {
      const results: { status: string; ctx: unknown }[] = [];
      let shim: Shim | undefined;
      const s = shimWith(
        name,
        pendingCallout(() => shim as Shim, results),
      );
      shim = s.shim;
      const handle = new CompletionHandle();
      const v = shim.classify(getLayer(name), {
        facts: { ...facts, ipVersion: name.endsWith("V6") ? 6 : 4 },
        metadata: { completionHandle: handle },
      });
      assert.equal(results[0]?.status, "STATUS_SUCCESS");
      assert.ok(results[0]?.ctx instanceof PendedOperation);
      assert.equal(v.absorbed, true);
      assert.equal(heldOperation(handle, v.permit), results[0]?.ctx);
    });
  }

  it("refuses a reauthorization (IS_REAUTHORIZE): STATUS_FWP_CANNOT_PEND (G11)", () => {
    const results: { status: string; ctx: unknown }[] = [];
    let shim: Shim | undefined;
    const s = shimWith(
      "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      pendingCallout(() => shim as Shim, results),
    );
    shim = s.shim;
    const v = shim.classify(getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), {
      facts: { ...facts, flags: FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE },
      metadata: { completionHandle: new CompletionHandle() },
    });
    assert.equal(results[0]?.status, "STATUS_FWP_CANNOT_PEND");
    assert.equal(v.permit, true, "the callout continued; nothing blocked");
  });

  it("shim.reauthorize hands its own COMPLETION_HANDLE, which cannot be pended", () => {
    const results: { status: string; ctx: unknown }[] = [];
    let shim: Shim | undefined;
    const s = shimWith(
      "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      pendingCallout(() => shim as Shim, results),
    );
    shim = s.shim;
    const flow = shim.createFlow("", getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), facts, "outbound", 6);
    shim.reauthorize(flow, { facts });
    assert.equal(results[0]?.status, "STATUS_FWP_CANNOT_PEND");
  });

  it("refuses elsewhere: no handle (STATUS_INVALID_PARAMETER), a handle whose classification ended, a discard layer, a second pend (STATUS_FWP_CANNOT_PEND)", () => {
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: new ManualClock(1n) });
    const statuses: string[] = [];
    let kept: unknown;
    addCallout(engine, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", (_v, meta, _d, _c, _f, _fl, out) => {
      kept = meta?.completionHandle;
      statuses.push(shim.fwps.pendOperation(meta?.completionHandle).status);
      statuses.push(shim.fwps.pendOperation(meta?.completionHandle).status);
      out.actionType = "FWP_ACTION_BLOCK";
    });
    addCallout(engine, "FWPM_LAYER_ALE_AUTH_CONNECT_V4_DISCARD", (_v, meta, _d, _c, _f, _fl, out) => {
      statuses.push(`discard ${shim.fwps.pendOperation(meta?.completionHandle).status}`);
      out.actionType = "FWP_ACTION_CONTINUE";
    });
    addCallout(engine, "FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4", (_v, meta, _d, _c, _f, _fl, out) => {
      statuses.push(`established ${shim.fwps.pendOperation(meta?.completionHandle).status}`);
      statuses.push(`stale ${shim.fwps.pendOperation(kept).status}`);
      out.actionType = "FWP_ACTION_CONTINUE";
    });
    shim.classify(getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), {
      facts,
      metadata: { completionHandle: new CompletionHandle() },
    });
    shim.classify(getLayer("FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4"), {
      facts,
      metadata: { completionHandle: new CompletionHandle() },
    });
    assert.deepEqual(statuses, [
      "STATUS_SUCCESS",
      "STATUS_FWP_CANNOT_PEND",
      "discard STATUS_FWP_CANNOT_PEND",
      "established STATUS_INVALID_PARAMETER",
      "stale STATUS_FWP_CANNOT_PEND",
    ]);
    assert.equal(shim.fwps.pendOperation(kept).status, "STATUS_FWP_CANNOT_PEND", "outside classifyFn");
  });

  it("a pend the layer overrules (it permitted after all) is cancelled [INF]", () => {
    const h = new CompletionHandle();
    h.layer = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    h.live = true;
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: new ManualClock(1n) });
    const op = shim.fwps.pendOperation(h).completionContext as PendedOperation;
    h.live = false;
    assert.equal(heldOperation(h, true), undefined);
    assert.equal(op.state, "cancelled");
    assert.equal(shim.fwps.completeOperation(op), "STATUS_INVALID_PARAMETER");
  });
});

describe("FwpsCompleteOperation0 (D20)", () => {
  it("runs the stack's continuation once; completing twice or a non-context is STATUS_INVALID_PARAMETER", () => {
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: new ManualClock(1n) });
    const h = new CompletionHandle();
    h.layer = getLayer("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
    h.live = true;
    const op = shim.fwps.pendOperation(h).completionContext as PendedOperation;
    h.live = false;
    const resumed: unknown[] = [];
    op.whenCompleted((nbl) => resumed.push(nbl ?? "none"));
    assert.equal(shim.fwps.completeOperation(op), "STATUS_SUCCESS");
    assert.equal(shim.fwps.completeOperation(op), "STATUS_INVALID_PARAMETER");
    assert.equal(shim.fwps.completeOperation({}), "STATUS_INVALID_PARAMETER");
    assert.deepEqual(resumed, ["none"]);
    assert.equal(op.state, "completed");
  });

  it("with a stack attached, the continuation runs after the current event (never inside classifyFn)", () => {
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: new ManualClock(1n) });
    const later: (() => void)[] = [];
    shim.attachStack({ defer: (fn) => later.push(fn) });
    const h = new CompletionHandle();
    h.layer = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    h.live = true;
    const op = shim.fwps.pendOperation(h).completionContext as PendedOperation;
    let resumed = false;
    op.whenCompleted(() => {
      resumed = true;
    });
    shim.fwps.completeOperation(op);
    assert.equal(resumed, false);
    for (const fn of later) fn();
    assert.equal(resumed, true);
  });
});

describe("classify handles: FwpsAcquireClassifyHandle0, FwpsPendClassify0, FwpsCompleteClassify0 (D21)", () => {
  function pendAt(layer: FwpmLayerName, ctxFor: (shim: Shim) => unknown = () => undefined) {
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: new ManualClock(1n) });
    const got: { acquire?: string; pend?: string; handle?: ClassifyHandle; filterId?: bigint } = {};
    addCallout(engine, layer, (_v, _m, _d, classifyContext, filter, _fl, out) => {
      const a = shim.fwps.acquireClassifyHandle(classifyContext);
      got.acquire = a.status;
      if (a.classifyHandle === undefined) return;
      got.handle = a.classifyHandle;
      got.filterId = filter.filterId;
      got.pend = shim.fwps.pendClassify(a.classifyHandle, filter.filterId, 0, out);
      out.actionType = "FWP_ACTION_BLOCK";
      out.rights &= ~FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE;
    });
    const ctx = ctxFor(shim);
    shim.classify(getLayer(layer), { facts, ...(ctx !== undefined ? { classifyContext: ctx } : {}) });
    return { shim, got, ctx };
  }

  for (const layer of [
    "FWPM_LAYER_ALE_ENDPOINT_CLOSURE_V4",
    "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
    "FWPM_LAYER_ALE_BIND_REDIRECT_V6",
  ] as const) {
    it(`pends at ${layer.replace("FWPM_LAYER_", "")}; completion resumes the stack, then the handle is released`, () => {
      const { shim, got, ctx } = pendAt(layer, () => new ClassifyContext());
      const c = ctx as ClassifyContext;
      assert.equal(got.acquire, "STATUS_SUCCESS");
      assert.equal(got.pend, "STATUS_SUCCESS");
      assert.equal(c.isPended, true);
      const completions: unknown[] = [];
      c.whenCompleted((x) => completions.push(x.classifyOut?.actionType ?? null));
      const out: ClassifyOut = {
        actionType: "FWP_ACTION_PERMIT",
        rights: FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE,
        flags: 0,
      };
      assert.equal(shim.fwps.completeClassify(got.handle, 0, out), "STATUS_SUCCESS");
      assert.equal(shim.fwps.completeClassify(got.handle, 0, out), "STATUS_INVALID_PARAMETER", "not pended any more");
      assert.deepEqual(completions, ["FWP_ACTION_PERMIT"]);
      assert.equal(shim.fwps.releaseClassifyHandle(got.handle), "STATUS_SUCCESS");
      assert.equal(shim.fwps.releaseClassifyHandle(got.handle), "STATUS_INVALID_PARAMETER");
      assert.equal(shim.fwps.outstandingClassifyHandles, 0);
    });
  }

  for (const layer of [
    "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
    "FWPM_LAYER_ALE_FLOW_ESTABLISHED_V6",
    "FWPM_LAYER_INBOUND_TRANSPORT_V4",
    "FWPM_LAYER_STREAM_V4",
    "FWPM_LAYER_OUTBOUND_IPPACKET_V4",
    "FWPM_LAYER_ALE_RESOURCE_RELEASE_V4",
  ] as const) {
    it(`cannot pend at ${layer.replace("FWPM_LAYER_", "")}: STATUS_FWP_CANNOT_PEND (the handle is still acquired)`, () => {
      const { shim, got } = pendAt(layer);
      assert.equal(got.acquire, "STATUS_SUCCESS");
      assert.equal(got.pend, "STATUS_FWP_CANNOT_PEND");
      assert.equal(shim.fwps.outstandingClassifyHandles, 1);
      shim.fwps.releaseClassifyHandle(got.handle);
      assert.equal(shim.fwps.outstandingClassifyHandles, 0);
    });
  }

  it("a handle is acquired only inside classifyFn from its classifyContext; a stale one cannot pend or complete", () => {
    const { shim, got } = pendAt("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(shim.fwps.acquireClassifyHandle(undefined).status, "STATUS_INVALID_PARAMETER");
    assert.equal(shim.fwps.acquireClassifyHandle(new ClassifyContext()).status, "STATUS_INVALID_PARAMETER");
    assert.equal(shim.fwps.acquireClassifyHandle({}, 0).status, "STATUS_INVALID_PARAMETER");
    const out: ClassifyOut = { actionType: "FWP_ACTION_BLOCK", rights: 0, flags: 0 };
    assert.equal(shim.fwps.pendClassify(got.handle, 1n, 0, out), "STATUS_INVALID_PARAMETER");
    assert.equal(shim.fwps.completeClassify(got.handle, 0, null), "STATUS_INVALID_PARAMETER");
  });

  it("completing with null asks for a new classification (the stack classifies the indication again)", () => {
    const { shim, got, ctx } = pendAt("FWPM_LAYER_ALE_CONNECT_REDIRECT_V4", () => new ClassifyContext());
    const c = ctx as ClassifyContext;
    let again = false;
    c.whenCompleted((x) => {
      again = x.classifyOut === null;
    });
    shim.fwps.completeClassify(got.handle, 0, null);
    assert.equal(again, true);
  });
});
