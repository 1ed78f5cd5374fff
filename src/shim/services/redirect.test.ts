/**
 * Connect and bind redirection on a bare shim (D24–D29): the modify sequence, what the stack may act on,
 * and every refusal. Redirected connections through the stack are in src/stack/redirect.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type IpAddress, Ipv4Address, ManualClock } from "../../base/index.ts";
import { type CalloutClassifyFn, type ClassifyOut, FilterEngine } from "../../engine/index.ts";
import { FWPS_CONNECTION_REDIRECT_STATE as STATE, FWPS_RIGHT, getLayer } from "../../fwp/index.ts";
import type { ClassifyFacts } from "../facts.ts";
import type { BindRequest, ConnectRequest } from "../packet.ts";
import { Shim } from "../shim.ts";
import { addCallout } from "./callout-fixtures.testing.ts";
import { ClassifyContext } from "./pend.ts";
import { RedirectHandle, RedirectRecords } from "./redirect.ts";

const v4 = (s: string) => Ipv4Address.parse(s);
const facts: ClassifyFacts = {
  ipVersion: 4,
  protocol: 6,
  localAddress: v4("10.0.0.1"),
  remoteAddress: v4("10.0.0.2"),
  localPort: 50000,
  remotePort: 80,
};
const PROVIDER = "5e1f0000-0000-4000-8000-000000000001";

function connectRequest(): ConnectRequest {
  return {
    kind: "connect-request",
    localAddressAndPort: { address: v4("10.0.0.1"), port: 50000 },
    remoteAddressAndPort: { address: v4("10.0.0.2"), port: 80 },
    portReservationToken: 0n,
    localRedirectTargetPID: 0,
    previousVersion: null,
    modifierFilterId: 0n,
    localRedirectHandle: undefined,
    localRedirectContext: undefined,
  };
}

function setup() {
  const engine = new FilterEngine();
  const shim = new Shim({ engine, clock: new ManualClock(1n) });
  // 10.0.0.1 and loopback are this host's.
  shim.attachStack({
    defer: (fn) => fn(),
    isLocalAddress: (a: IpAddress) => a.isLoopback() || a.equals(v4("10.0.0.1")),
  });
  const classify = (layerData: ConnectRequest | BindRequest = connectRequest()) => {
    const ctx = new ClassifyContext();
    const layer = getLayer(
      layerData.kind === "bind-request" ? "FWPM_LAYER_ALE_BIND_REDIRECT_V4" : "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
    );
    const verdict = shim.classify(layer, { facts, layerData, classifyContext: ctx });
    return { ctx, verdict, layerData };
  };
  return { engine, shim, classify };
}

/** A redirecting callout: acquire, edit, apply, PERMIT, release (D26); statuses recorded. */
function redirector(
  shim: () => Shim,
  edit: (w: ConnectRequest) => void,
  log: string[],
  opts: { apply?: boolean } = {},
): CalloutClassifyFn {
  return (_v, _m, _d, classifyContext, filter, _f, out) => {
    const h = shim().fwps.acquireClassifyHandle(classifyContext);
    log.push(`acquire ${h.status}`);
    const w = shim().fwps.acquireWritableLayerDataPointer(h.classifyHandle, filter.filterId, 0, out);
    log.push(`writable ${w.status} ${out.actionType} write=${out.rights & FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE}`);
    if (w.writableLayerData?.kind === "connect-request") edit(w.writableLayerData);
    if (opts.apply !== false)
      log.push(`apply ${shim().fwps.applyModifiedLayerData(h.classifyHandle, w.writableLayerData, 0)}`);
    out.actionType = "FWP_ACTION_PERMIT";
    shim().fwps.releaseClassifyHandle(h.classifyHandle);
  };
}

describe("FwpsAcquireWritableLayerDataPointer0 / FwpsApplyModifiedLayerData0 (D26)", () => {
  it("the applied copy is what the stack acts on; acquiring set BLOCK and cleared WRITE", () => {
    const { engine, shim, classify } = setup();
    const log: string[] = [];
    addCallout(
      engine,
      "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
      redirector(
        () => shim,
        (w) => {
          w.remoteAddressAndPort = { address: v4("10.0.0.9"), port: 8080 };
        },
        log,
      ),
    );
    const { ctx, layerData } = classify();
    assert.deepEqual(log, [
      "acquire STATUS_SUCCESS",
      "writable STATUS_SUCCESS FWP_ACTION_BLOCK write=0",
      "apply STATUS_SUCCESS",
    ]);
    const applied = ctx.applied as ConnectRequest;
    assert.equal(applied.remoteAddressAndPort.address.toString(), "10.0.0.9");
    assert.equal(applied.remoteAddressAndPort.port, 8080);
    assert.notEqual(applied.modifierFilterId, 0n);
    assert.equal(
      (layerData as ConnectRequest).remoteAddressAndPort.port,
      8080,
      "later callouts see the modified request (D28)",
    );
    assert.equal(shim.fwps.outstandingClassifyHandles, 0);
  });

  it("writing to the indicated (read-only) copy changes nothing", () => {
    const { engine, classify } = setup();
    addCallout(engine, "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4", (_v, _m, layerData, _c, _f, _fl, out) => {
      (layerData as ConnectRequest).remoteAddressAndPort = { address: v4("10.0.0.9"), port: 1 };
      out.actionType = "FWP_ACTION_PERMIT";
    });
    const { ctx } = classify();
    assert.equal(ctx.applied, undefined);
  });

  it("applying without acquiring, or another object than the acquired copy, is STATUS_INVALID_PARAMETER", () => {
    const { engine, shim, classify } = setup();
    const log: string[] = [];
    addCallout(engine, "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4", (_v, _m, layerData, classifyContext, filter, _f, out) => {
      const h = shim.fwps.acquireClassifyHandle(classifyContext).classifyHandle;
      log.push(shim.fwps.applyModifiedLayerData(h, layerData, 0));
      const w = shim.fwps.acquireWritableLayerDataPointer(h, filter.filterId, 0, out)
        .writableLayerData as ConnectRequest;
      log.push(shim.fwps.applyModifiedLayerData(h, { ...w }, 0));
      log.push(shim.fwps.acquireWritableLayerDataPointer(h, filter.filterId, 0, out).status);
      log.push(shim.fwps.applyModifiedLayerData(h, w, 0));
      log.push(shim.fwps.applyModifiedLayerData(h, w, 0));
      out.actionType = "FWP_ACTION_PERMIT";
      shim.fwps.releaseClassifyHandle(h);
    });
    const { ctx } = classify();
    assert.deepEqual(log, [
      "STATUS_INVALID_PARAMETER",
      "STATUS_INVALID_PARAMETER",
      "STATUS_FWP_IN_USE",
      "STATUS_SUCCESS",
      "STATUS_INVALID_PARAMETER",
    ]);
    assert.equal(ctx.applied, undefined, "an unchanged copy changes nothing");
  });

  it("refuses without a classify handle, outside classifyFn, at a layer without writable data, and without WRITE", () => {
    const { engine, shim, classify } = setup();
    const log: string[] = [];
    let kept: unknown;
    addCallout(
      engine,
      "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
      (_v, _m, _d, classifyContext, filter, _f, out) => {
        log.push(shim.fwps.acquireWritableLayerDataPointer(undefined, filter.filterId, 0, out).status);
        const h = shim.fwps.acquireClassifyHandle(classifyContext).classifyHandle;
        kept = h;
        out.rights = 0;
        log.push(shim.fwps.acquireWritableLayerDataPointer(h, filter.filterId, 0, out).status);
        out.actionType = "FWP_ACTION_CONTINUE";
        shim.fwps.releaseClassifyHandle(h);
      },
      { action: "FWP_ACTION_CALLOUT_INSPECTION" },
    );
    addCallout(engine, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", (_v, _m, _d, classifyContext, filter, _f, out) => {
      const h = shim.fwps.acquireClassifyHandle(classifyContext).classifyHandle;
      log.push(`auth-connect ${shim.fwps.acquireWritableLayerDataPointer(h, filter.filterId, 0, out).status}`);
      shim.fwps.releaseClassifyHandle(h);
      out.actionType = "FWP_ACTION_CONTINUE";
    });
    classify();
    shim.classify(getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), { facts: { ...facts, direction: "outbound" } });
    const out: ClassifyOut = { actionType: "FWP_ACTION_CONTINUE", rights: 1, flags: 0 };
    log.push(`later ${shim.fwps.acquireWritableLayerDataPointer(kept, 1n, 0, out).status}`);
    assert.deepEqual(log, [
      "STATUS_INVALID_PARAMETER",
      "STATUS_ACCESS_DENIED",
      "auth-connect STATUS_FWP_INCOMPATIBLE_LAYER",
      "later STATUS_INVALID_PARAMETER",
    ]);
  });

  it("a redirect to a local process needs a live redirect handle (D29): without one the apply is refused", () => {
    const { engine, shim, classify } = setup();
    const log: string[] = [];
    const { redirectHandle } = shim.fwps.redirectHandleCreate(PROVIDER);
    const cases: ((w: ConnectRequest) => void)[] = [
      (w) => {
        w.remoteAddressAndPort = { address: v4("127.0.0.1"), port: 9000 };
      },
      (w) => {
        w.remoteAddressAndPort = { address: v4("10.0.0.1"), port: 9000 };
      },
      (w) => {
        w.remoteAddressAndPort = { address: v4("10.0.0.9"), port: 9000 };
        w.localRedirectTargetPID = 4242;
      },
      (w) => {
        w.remoteAddressAndPort = { address: v4("127.0.0.1"), port: 9000 };
        w.localRedirectHandle = redirectHandle;
        w.localRedirectTargetPID = 4242;
      },
    ];
    let i = 0;
    addCallout(
      engine,
      "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
      redirector(
        () => shim,
        (w) => cases[i]?.(w),
        log,
      ),
    );
    const applied: unknown[] = [];
    for (i = 0; i < cases.length; i++) applied.push(classify().ctx.applied === undefined ? "unchanged" : "redirected");
    assert.deepEqual(
      log.filter((l) => l.startsWith("apply")),
      [
        "apply STATUS_INVALID_PARAMETER",
        "apply STATUS_INVALID_PARAMETER",
        "apply STATUS_INVALID_PARAMETER",
        "apply STATUS_SUCCESS",
      ],
    );
    assert.deepEqual(applied, ["unchanged", "unchanged", "unchanged", "redirected"]);
    shim.fwps.redirectHandleDestroy(redirectHandle);
    log.length = 0;
    i = 3;
    assert.equal(classify().ctx.applied, undefined, "a destroyed handle no longer redirects");
  });

  it("a callout in a lower sublayer sees the first redirection: modifierFilterId and previousVersion with its handle (D28)", () => {
    const { engine, shim, classify } = setup();
    engine.addSublayer({ subLayerKey: "5e1f0000-0000-4000-8000-0000000000a1", name: "first", weight: 0x9000 });
    engine.addSublayer({ subLayerKey: "5e1f0000-0000-4000-8000-0000000000a2", name: "second", weight: 0x8000 });
    const { redirectHandle } = shim.fwps.redirectHandleCreate(PROVIDER);
    const log: string[] = [];
    const first = addCallout(
      engine,
      "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
      redirector(
        () => shim,
        (w) => {
          w.remoteAddressAndPort = { address: v4("127.0.0.1"), port: 9000 };
          w.localRedirectHandle = redirectHandle;
          w.localRedirectTargetPID = 7;
        },
        log,
      ),
      { sublayer: "5e1f0000-0000-4000-8000-0000000000a1" },
    );
    const seen: string[] = [];
    addCallout(
      engine,
      "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
      (_v, _m, layerData, _c, _f, _fl, out) => {
        const r = layerData as ConnectRequest;
        seen.push(
          `${r.modifierFilterId === first.filterId} ${r.previousVersion?.localRedirectHandle === redirectHandle} write=${out.rights}`,
        );
        out.actionType = "FWP_ACTION_CONTINUE";
      },
      { sublayer: "5e1f0000-0000-4000-8000-0000000000a2", action: "FWP_ACTION_CALLOUT_INSPECTION" },
    );
    classify();
    assert.deepEqual(seen, ["true true write=0"]);
  });

  it("bind redirect: the BIND_REQUEST0 copy takes a new local address and port", () => {
    const { engine, shim, classify } = setup();
    addCallout(engine, "FWPM_LAYER_ALE_BIND_REDIRECT_V4", (_v, _m, _d, classifyContext, filter, _f, out) => {
      const h = shim.fwps.acquireClassifyHandle(classifyContext).classifyHandle;
      const w = shim.fwps.acquireWritableLayerDataPointer(h, filter.filterId, 0, out).writableLayerData as BindRequest;
      w.localAddressAndPort = { address: v4("10.0.0.1"), port: 5353 };
      shim.fwps.applyModifiedLayerData(h, w, 0);
      out.actionType = "FWP_ACTION_PERMIT";
      shim.fwps.releaseClassifyHandle(h);
    });
    const request: BindRequest = {
      kind: "bind-request",
      localAddressAndPort: { address: Ipv4Address.ANY, port: 50001 },
      portReservationToken: 0n,
      previousVersion: null,
      modifierFilterId: 0n,
    };
    const applied = classify(request).ctx.applied as BindRequest;
    assert.equal(applied.localAddressAndPort.port, 5353);
    assert.equal(applied.localAddressAndPort.address.toString(), "10.0.0.1");
  });

  it("FWPS_CLASSIFY_FLAG_REAUTHORIZE_IF_MODIFIED_BY_OTHERS is only for a pended classify; other flags are refused", () => {
    const { engine, shim, classify } = setup();
    const log: string[] = [];
    addCallout(engine, "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4", (_v, _m, _d, classifyContext, filter, _f, out) => {
      const h = shim.fwps.acquireClassifyHandle(classifyContext).classifyHandle;
      const w = shim.fwps.acquireWritableLayerDataPointer(h, filter.filterId, 0, out).writableLayerData;
      log.push(shim.fwps.applyModifiedLayerData(h, w, 1));
      log.push(shim.fwps.applyModifiedLayerData(h, w, 2));
      log.push(shim.fwps.applyModifiedLayerData(h, w, 0));
      shim.fwps.releaseClassifyHandle(h);
      out.actionType = "FWP_ACTION_PERMIT";
    });
    classify();
    assert.deepEqual(log, ["STATUS_FWP_INVALID_FLAGS", "STATUS_FWP_INVALID_FLAGS", "STATUS_SUCCESS"]);
  });
});

describe("FwpsQueryConnectionRedirectState0 (D26)", () => {
  const mine = new RedirectHandle(PROVIDER, 0);
  const other = new RedirectHandle("5e1f0000-0000-4000-8000-000000000002", 0);
  const record = (h: RedirectHandle, ctx: unknown) => ({
    redirectHandle: h,
    redirectContext: ctx,
    modifierFilterId: 1n,
    originalDestination: { address: v4("10.0.0.2"), port: 80 },
    redirectedTo: { address: v4("127.0.0.1"), port: 9000 },
  });
  const shim = new Shim({ engine: new FilterEngine(), clock: new ManualClock(1n) });

  it("NOT_REDIRECTED without records, REDIRECTED_BY_SELF with this handle's latest, BY_OTHER, PREVIOUSLY_BY_SELF", () => {
    const q = (r: unknown) => shim.fwps.queryConnectionRedirectState(r, mine);
    assert.equal(q(undefined).state, STATE.FWPS_CONNECTION_NOT_REDIRECTED);
    assert.equal(q(new RedirectRecords([])).state, STATE.FWPS_CONNECTION_NOT_REDIRECTED);
    const self = q(new RedirectRecords([record(mine, "ctx")]));
    assert.equal(self.state, STATE.FWPS_CONNECTION_REDIRECTED_BY_SELF);
    assert.equal(self.redirectContext, "ctx");
    const byOther = q(new RedirectRecords([record(other, "theirs")]));
    assert.equal(byOther.state, STATE.FWPS_CONNECTION_REDIRECTED_BY_OTHER);
    assert.equal(byOther.redirectContext, undefined);
    const previously = q(new RedirectRecords([record(mine, "first"), record(other, "then")]));
    assert.equal(previously.state, STATE.FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF);
    assert.equal(previously.redirectContext, "first");
  });

  it("a value that is no live redirect handle: STATUS_INVALID_PARAMETER, NOT_REDIRECTED", () => {
    const gone = shim.fwps.redirectHandleCreate(PROVIDER).redirectHandle as RedirectHandle;
    shim.fwps.redirectHandleDestroy(gone);
    const records = new RedirectRecords([record(gone, 1)]);
    for (const h of [undefined, {}, gone]) {
      const r = shim.fwps.queryConnectionRedirectState(records, h);
      assert.equal(r.status, "STATUS_INVALID_PARAMETER");
      assert.equal(r.state, STATE.FWPS_CONNECTION_NOT_REDIRECTED);
    }
    assert.equal(shim.fwps.redirectHandleCreate(PROVIDER, 1).status, "STATUS_FWP_INVALID_FLAGS");
  });
});
