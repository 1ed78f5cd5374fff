import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GUID_NULL } from "../base/guid.ts";
import { FWPM_SUBLAYER, fwpUint8, isFwpError } from "../fwp/index.ts";
import { blockPort, CONNECT_V4, classifyPort, connectAction, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import { ENUM_FLAG_INCLUDE_BOOTTIME } from "./filter-template.ts";
import { ADMINISTRATOR } from "./security/index.ts";
import { MemoryStore } from "./store/index.ts";

const DYNAMIC = 0x1;
const PERSISTENT = 0x1;
const BOOTTIME = 0x2;
const CALLOUT_PERSISTENT = 0x10000;

function code(c: string): (e: unknown) => boolean {
  return (e) => isFwpError(e) && e.code === c;
}

describe("§H.3 lifetimes", () => {
  it("H14: dynamic, static, persistent, boot-time and built-in objects are told apart", () => {
    const { bfe } = openTestBfe();
    const st = bfe.openSession(ADMINISTRATOR);
    const dyn = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const d = dyn.addFilter(blockPort(1));
    const s = st.addFilter(blockPort(2));
    const p = st.addFilter(blockPort(3, { flags: PERSISTENT }));
    const b = st.addFilter(blockPort(4, { flags: BOOTTIME }));
    assert.equal(st.lifetimeOf("filter", d.filterKey), "dynamic");
    assert.equal(st.lifetimeOf("filter", s.filterKey), "static");
    assert.equal(st.lifetimeOf("filter", p.filterKey), "persistent");
    assert.equal(st.lifetimeOf("filter", b.filterId), "bootTime");
    assert.equal(st.lifetimeOf("sublayer", FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL), "builtin");
  });

  it("H14: built-in objects cannot be deleted (FWP_E_BUILTIN_OBJECT)", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    assert.throws(() => s.deleteSublayerByKey(FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL), code("FWP_E_BUILTIN_OBJECT"));
    const builtinProvider = s.enumProviders()[0];
    assert.ok(builtinProvider?.builtin);
    assert.throws(() => s.deleteProviderByKey(builtinProvider.providerKey), code("FWP_E_BUILTIN_OBJECT"));
    const builtinCallout = s.enumCallouts()[0];
    assert.ok(builtinCallout?.builtin);
    assert.throws(() => s.deleteCalloutById(builtinCallout.calloutId), code("FWP_E_BUILTIN_OBJECT"));
  });

  it("H14/H15/H45: after a BFE restart persistent and boot-time objects are back (same keys, ids, weights); static and dynamic are gone", () => {
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const s = first.bfe.openSession(ADMINISTRATOR);
    const dyn = first.bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const prov = s.addProvider({ providerKey: guid(1), name: "acme", flags: PERSISTENT });
    const sub = s.addSublayer({
      subLayerKey: guid(2),
      name: "acme sublayer",
      weight: 0x200,
      flags: PERSISTENT,
      providerKey: prov.providerKey,
    });
    const co = s.addCallout({
      calloutKey: guid(3),
      name: "acme callout",
      applicableLayer: CONNECT_V4,
      flags: CALLOUT_PERSISTENT,
    });
    const pc = s.addProviderContext({
      providerContextKey: guid(4),
      name: "ctx",
      flags: PERSISTENT,
      data: { mode: "strict", n: 7n },
    });
    const persistent = s.addFilter(
      blockPort(23, {
        flags: PERSISTENT,
        sublayer: sub.subLayerKey,
        providerKey: prov.providerKey,
        weight: fwpUint8(9),
      }),
    );
    const boot = s.addFilter(blockPort(24, { flags: BOOTTIME }));
    s.addFilter(blockPort(25));
    dyn.addFilter(blockPort(26));
    first.bfe.close();

    const second = openTestBfe({}, store);
    const t = second.bfe.openSession(ADMINISTRATOR);
    assert.equal(connectAction(second.bfe, 23), "FWP_ACTION_BLOCK");
    // H15: the boot-time filter is back as an object (below) but no longer enforced once BFE runs.
    assert.equal(connectAction(second.bfe, 24), "FWP_ACTION_PERMIT");
    assert.equal(connectAction(second.bfe, 25), "FWP_ACTION_PERMIT");
    assert.equal(connectAction(second.bfe, 26), "FWP_ACTION_PERMIT");
    const back = t.getFilterByKey(persistent.filterKey);
    assert.equal(back.filterId, persistent.filterId);
    assert.equal(back.effectiveWeight, persistent.effectiveWeight);
    assert.equal(back.sublayer.subLayerKey, sub.subLayerKey);
    assert.equal(t.getFilterById(boot.filterId).filterKey, boot.filterKey);
    assert.equal(t.getCalloutByKey(co.calloutKey).calloutId, co.calloutId);
    assert.deepEqual(t.getProviderContextByKey(pc.providerContextKey).data, { mode: "strict", n: 7n });
    assert.equal(t.getProviderContextByKey(pc.providerContextKey).providerContextId, pc.providerContextId);
    assert.equal(t.getSublayerByKey(sub.subLayerKey).weight, 0x200);
    assert.deepEqual(
      t.enumFilters({ layer: CONNECT_V4, flags: ENUM_FLAG_INCLUDE_BOOTTIME }).map((f) => f.filterKey),
      [persistent.filterKey, boot.filterKey],
    );
    // H20 within the new lifetime: new ids continue above the restored ones.
    assert.ok(t.addFilter(blockPort(27)).filterId > boot.filterId);
  });

  it("H15: a restart loads the stored filters in one batch, boot-time and persistent in the order they were stored", async () => {
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const s = first.bfe.openSession(ADMINISTRATOR);
    const added = await s.transact(() =>
      [1, 2, 3, 4, 5].map((n) => s.addFilter(blockPort(40 + n, { flags: n % 2 === 0 ? BOOTTIME : PERSISTENT }))),
    );
    first.bfe.close();
    const seenAtBoot: string[] = [];
    const second = openTestBfe(
      { beforeStart: (engine) => seenAtBoot.push(...[1, 2, 3, 4, 5].map((n) => classifyPort(engine, 40 + n))) },
      store,
    );
    assert.deepEqual(
      second.bfe.engine.filters().map((f) => f.filterKey),
      added.map((f) => f.filterKey),
    );
    // Before BFE start only the boot-time filters (even n) are enforced; after it only the persistent ones.
    const even = (n: number): string => (n % 2 === 0 ? "FWP_ACTION_BLOCK" : "FWP_ACTION_PERMIT");
    const odd = (n: number): string => (n % 2 === 0 ? "FWP_ACTION_PERMIT" : "FWP_ACTION_BLOCK");
    assert.deepEqual(seenAtBoot, [1, 2, 3, 4, 5].map(even));
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => connectAction(second.bfe, 40 + n)),
      [1, 2, 3, 4, 5].map(odd),
    );
  });

  it("H14: deleting a persistent object removes it from the store; it does not come back", () => {
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const s = first.bfe.openSession(ADMINISTRATOR);
    const f = s.addFilter(blockPort(23, { flags: PERSISTENT }));
    s.deleteFilterById(f.filterId);
    first.bfe.close();
    const second = openTestBfe({}, store);
    assert.equal(connectAction(second.bfe, 23), "FWP_ACTION_PERMIT");
    assert.equal(store.loadObjects().length, 0);
  });
});

describe("H17: reference rules (FWP_E_LIFETIME_MISMATCH)", () => {
  it("static may not reference a dynamic object", () => {
    const { bfe } = openTestBfe();
    const dyn = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const st = bfe.openSession(ADMINISTRATOR);
    const sub = dyn.addSublayer({ name: "dyn", weight: 1 });
    assert.throws(() => st.addFilter(blockPort(1, { sublayer: sub.subLayerKey })), code("FWP_E_LIFETIME_MISMATCH"));
  });

  it("dynamic may reference its own session's dynamic objects, not another dynamic session's", () => {
    const { bfe } = openTestBfe();
    const d1 = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const d2 = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const sub = d1.addSublayer({ name: "mine", weight: 1 });
    assert.ok(d1.addFilter(blockPort(1, { sublayer: sub.subLayerKey })));
    assert.throws(() => d2.addFilter(blockPort(2, { sublayer: sub.subLayerKey })), code("FWP_E_LIFETIME_MISMATCH"));
  });

  it("dynamic may reference static, persistent and built-in objects", () => {
    const { bfe } = openTestBfe();
    const st = bfe.openSession(ADMINISTRATOR);
    const d = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const staticSub = st.addSublayer({ name: "static", weight: 1 });
    const prov = st.addProvider({ providerKey: guid(1), name: "p", flags: PERSISTENT });
    assert.ok(d.addFilter(blockPort(1, { sublayer: staticSub.subLayerKey, providerKey: prov.providerKey })));
    assert.ok(d.addFilter(blockPort(2, { sublayer: FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL })));
  });

  it("persistent and boot-time may not reference static objects", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const staticProv = s.addProvider({ providerKey: guid(1), name: "p" });
    assert.throws(
      () => s.addSublayer({ name: "x", weight: 1, flags: PERSISTENT, providerKey: staticProv.providerKey }),
      code("FWP_E_LIFETIME_MISMATCH"),
    );
    assert.throws(
      () => s.addFilter(blockPort(1, { flags: BOOTTIME, providerKey: staticProv.providerKey })),
      code("FWP_E_LIFETIME_MISMATCH"),
    );
    assert.throws(
      () => s.addFilter(blockPort(1, { flags: PERSISTENT, providerKey: staticProv.providerKey })),
      code("FWP_E_LIFETIME_MISMATCH"),
    );
  });

  it("persistent may not reference a persistent object of another provider", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const a = s.addProvider({ providerKey: guid(1), name: "a", flags: PERSISTENT });
    const b = s.addProvider({ providerKey: guid(2), name: "b", flags: PERSISTENT });
    const subA = s.addSublayer({ name: "a's", weight: 1, flags: PERSISTENT, providerKey: a.providerKey });
    assert.ok(s.addFilter(blockPort(1, { flags: PERSISTENT, sublayer: subA.subLayerKey, providerKey: a.providerKey })));
    assert.throws(
      () => s.addFilter(blockPort(2, { flags: PERSISTENT, sublayer: subA.subLayerKey, providerKey: b.providerKey })),
      code("FWP_E_LIFETIME_MISMATCH"),
    );
  });
});

describe("H18–H20: existence, deletion and identifiers", () => {
  it("H18: referencing a missing object fails with the matching *_NOT_FOUND", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    assert.throws(
      () => s.addSublayer({ name: "x", weight: 1, providerKey: guid(9) }),
      code("FWP_E_PROVIDER_NOT_FOUND"),
    );
    assert.throws(() => s.addFilter(blockPort(1, { sublayer: guid(9) })), code("FWP_E_SUBLAYER_NOT_FOUND"));
    assert.throws(
      () =>
        s.addFilter({
          name: "c",
          layer: CONNECT_V4,
          action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: guid(9) },
        }),
      code("FWP_E_CALLOUT_NOT_FOUND"),
    );
    assert.throws(
      () => s.addFilter(blockPort(1, { flags: 0x4, providerContextKey: guid(9) })),
      code("FWP_E_PROVIDER_CONTEXT_NOT_FOUND"),
    );
    assert.throws(() => s.addFilter(blockPort(1, { layer: "FWPM_LAYER_NOPE" })), code("FWP_E_LAYER_NOT_FOUND"));
  });

  it("H19: an object in use cannot be deleted (FWP_E_IN_USE); a missing one is *_NOT_FOUND", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const p = s.addProvider({ providerKey: guid(1), name: "p" });
    const sub = s.addSublayer({ name: "s", weight: 1, providerKey: p.providerKey });
    const co = s.addCallout({ calloutKey: guid(3), name: "c", applicableLayer: CONNECT_V4 });
    const pc = s.addProviderContext({ providerContextKey: guid(4), name: "pc" });
    const f = s.addFilter({
      name: "uses all",
      layer: CONNECT_V4,
      sublayer: sub.subLayerKey,
      flags: 0x4,
      providerContextKey: pc.providerContextKey,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: co.calloutKey },
    });
    assert.throws(() => s.deleteProviderByKey(p.providerKey), code("FWP_E_IN_USE"));
    assert.throws(() => s.deleteSublayerByKey(sub.subLayerKey), code("FWP_E_IN_USE"));
    assert.throws(() => s.deleteCalloutByKey(co.calloutKey), code("FWP_E_IN_USE"));
    assert.throws(() => s.deleteProviderContextById(pc.providerContextId), code("FWP_E_IN_USE"));
    s.deleteFilterByKey(f.filterKey);
    s.deleteCalloutByKey(co.calloutKey);
    s.deleteProviderContextByKey(pc.providerContextKey);
    s.deleteSublayerByKey(sub.subLayerKey);
    s.deleteProviderByKey(p.providerKey);
    assert.throws(() => s.deleteFilterByKey(f.filterKey), code("FWP_E_FILTER_NOT_FOUND"));
    assert.throws(() => s.deleteProviderByKey(guid(1)), code("FWP_E_PROVIDER_NOT_FOUND"));
    assert.throws(() => s.deleteSublayerByKey(sub.subLayerKey), code("FWP_E_SUBLAYER_NOT_FOUND"));
    assert.throws(() => s.deleteCalloutById(co.calloutId), code("FWP_E_CALLOUT_NOT_FOUND"));
    assert.throws(() => s.deleteProviderContextById(pc.providerContextId), code("FWP_E_PROVIDER_CONTEXT_NOT_FOUND"));
    assert.throws(() => s.getFilterById(f.filterId), code("FWP_E_FILTER_NOT_FOUND"));
  });

  it("H20: zero or absent keys are generated from the injected random bytes", () => {
    const bytes: number[] = [];
    const randomBytes = (n: number): Uint8Array => {
      const out = new Uint8Array(n).map((_, i) => (bytes.length + i) & 0xff);
      for (const b of out) bytes.push(b);
      return out;
    };
    const { bfe } = openTestBfe({ randomBytes });
    const s = bfe.openSession(ADMINISTRATOR, { sessionKey: guid(100) });
    const before = bytes.length;
    const sub = s.addSublayer({ subLayerKey: GUID_NULL, name: "s", weight: 1 });
    const f = s.addFilter(blockPort(1));
    assert.notEqual(sub.subLayerKey, GUID_NULL);
    assert.notEqual(f.filterKey, sub.subLayerKey);
    assert.equal(bytes.length - before, 32, "two GUIDs of 16 random bytes each");
  });

  it("H20: providers, provider contexts and callouts without a key get a generated one", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const p = s.addProvider({ name: "p" });
    const pc = s.addProviderContext({ name: "pc", providerContextKey: GUID_NULL });
    const c = s.addCallout({ name: "c", applicableLayer: CONNECT_V4 });
    assert.equal(new Set([p.providerKey, pc.providerContextKey, c.calloutKey, GUID_NULL]).size, 4);
    assert.equal(s.getProviderByKey(p.providerKey).name, "p");
  });

  it("H20: keys are unique per object type: a filter and a provider context may share a GUID", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    s.addProviderContext({ providerContextKey: guid(5), name: "pc" });
    assert.equal(s.addFilter(blockPort(1, { filterKey: guid(5) })).filterKey, guid(5));
    assert.throws(() => s.addFilter(blockPort(2, { filterKey: guid(5) })), code("FWP_E_ALREADY_EXISTS"));
  });

  it("H20: run-time ids increase and are never reused, not even after an abort or a delete", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const a = s.addFilter(blockPort(1));
    await s.beginTransaction();
    const b = s.addFilter(blockPort(2));
    const c1 = s.addCallout({ calloutKey: guid(1), name: "c", applicableLayer: CONNECT_V4 });
    s.abort();
    s.deleteFilterById(a.filterId);
    const c = s.addFilter(blockPort(3));
    const c2 = s.addCallout({ calloutKey: guid(2), name: "c", applicableLayer: CONNECT_V4 });
    assert.ok(b.filterId > a.filterId);
    assert.ok(c.filterId > b.filterId);
    assert.ok(c2.calloutId > c1.calloutId);
  });
});
