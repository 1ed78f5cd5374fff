import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { FWPM_FILTER_FLAG, FWPM_PROVIDER_FLAG, isFwpError } from "../fwp/index.ts";
import { blockPort, CONNECT_V4, connectAction, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import { ENUM_FLAG_INCLUDE_DISABLED } from "./filter-template.ts";
import { exportNetsh, importNetsh, parseNetshXml } from "./netsh/index.ts";
import { gateStoredObjects, type ServiceStartType } from "./provider-gating.ts";
import { ADMINISTRATOR } from "./security/index.ts";
import { MemoryStore } from "./store/index.ts";

const PERSISTENT = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_PERSISTENT;
const BOOTTIME = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_BOOTTIME;
const FILTER_DISABLED = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_DISABLED;
const PROVIDER_PERSISTENT = FWPM_PROVIDER_FLAG.FWPM_PROVIDER_FLAG_PERSISTENT;
const PROVIDER_DISABLED = FWPM_PROVIDER_FLAG.FWPM_PROVIDER_FLAG_DISABLED;

const KEPLOY = readFileSync(new URL("../../fixtures/wfp-state/keploy__wfpstate.xml", import.meta.url), "utf8");

/** The keploy dump's providers: the IKEEXT one (DISABLED in the dump) and the Policyagent one (not). */
function dumpProviders() {
  const providers = parseNetshXml(KEPLOY).providers ?? [];
  const ike = providers.find((p) => p.serviceName === "IKEEXT");
  const policyAgent = providers.find((p) => p.serviceName === "Policyagent");
  assert.ok(ike !== undefined && policyAgent !== undefined);
  return { ike, policyAgent, providers };
}

/** Start types reproducing the dump: IKEEXT demand-start, PolicyAgent as its provider shows (not gated). */
const startTypes = (table: Record<string, ServiceStartType>) => (name: string) =>
  table[name.toUpperCase()] ?? "unknown";

/** The key the test's IKEEXT provider uses (FWPM_PROVIDER_IKEEXT itself is a built-in of the engine). */
const IKE_KEY = guid(21);

/**
 * A store holding, as persistent objects: the dump's IKEEXT provider (its name and service name, under
 * IKE_KEY) and Policyagent provider, and a provider without a service name, each owning a persistent
 * block filter; plus a boot-time filter of the IKEEXT provider.
 */
async function storeWithProviders() {
  const dump = dumpProviders();
  const ike = { ...dump.ike, providerKey: IKE_KEY };
  const policyAgent = dump.policyAgent;
  const store = MemoryStore.open();
  const t = openTestBfe({}, store);
  const s = t.bfe.openSession(ADMINISTRATOR);
  const ids: Record<string, bigint> = {};
  await s.transact(() => {
    for (const p of [ike, policyAgent]) {
      s.addProvider({
        providerKey: p.providerKey,
        name: p.displayData.name ?? "",
        flags: PROVIDER_PERSISTENT,
        serviceName: p.serviceName,
      });
    }
    s.addProvider({ providerKey: guid(9), name: "no service", flags: PROVIDER_PERSISTENT });
    ids.ike = s.addFilter(blockPort(1001, { providerKey: ike.providerKey, flags: PERSISTENT })).filterId;
    ids.policyAgent = s.addFilter(
      blockPort(1002, { providerKey: policyAgent.providerKey, flags: PERSISTENT }),
    ).filterId;
    ids.plain = s.addFilter(blockPort(1003, { providerKey: guid(9), flags: PERSISTENT })).filterId;
    ids.ikeBoot = s.addFilter(blockPort(1004, { providerKey: ike.providerKey, flags: BOOTTIME })).filterId;
  });
  t.bfe.close();
  return { store, ike, policyAgent, ids };
}

describe("H16 provider gating at BFE start", () => {
  it("H16: the keploy dump shows the IKEEXT provider (service IKEEXT) DISABLED and the Policyagent one not", () => {
    const { ike, policyAgent, providers } = dumpProviders();
    assert.notEqual(ike.flags & PROVIDER_DISABLED, 0);
    assert.equal(policyAgent.flags & PROVIDER_DISABLED, 0);
    // Providers without a service name are never DISABLED in the dump.
    for (const p of providers) if (p.serviceName === "") assert.equal(p.flags & PROVIDER_DISABLED, 0, p.providerKey);
  });

  it("H16: a demand-start IKEEXT service loads its provider and persistent filters DISABLED; others load normally", async () => {
    const { store, ike, policyAgent, ids } = await storeWithProviders();
    const { bfe } = openTestBfe({ serviceStartType: startTypes({ IKEEXT: "demand", POLICYAGENT: "auto" }) }, store);
    const s = bfe.openSession(ADMINISTRATOR);
    assert.equal(s.getProviderByKey(ike.providerKey).flags, PROVIDER_PERSISTENT | PROVIDER_DISABLED);
    assert.equal(s.getProviderByKey(ike.providerKey).serviceName, "IKEEXT");
    assert.equal(s.getProviderByKey(policyAgent.providerKey).flags, PROVIDER_PERSISTENT);
    assert.equal(s.getProviderByKey(guid(9)).flags, PROVIDER_PERSISTENT);
    // The gated filter is still a BFE object, reported DISABLED …
    const gated = s.getFilterById(ids.ike as bigint);
    assert.equal(gated.flags, PERSISTENT | FILTER_DISABLED);
    assert.equal(s.getFilterById(ids.policyAgent as bigint).flags, PERSISTENT);
    // … enumerated only with FWP_FILTER_ENUM_FLAG_INCLUDE_DISABLED (H25) …
    assert.ok(!s.enumFilters().some((f) => f.filterId === ids.ike));
    assert.ok(!s.enumFilters({ layer: CONNECT_V4 }).some((f) => f.filterId === ids.ike));
    assert.ok(
      s.enumFilters({ layer: CONNECT_V4, flags: ENUM_FLAG_INCLUDE_DISABLED }).some((f) => f.filterId === ids.ike),
    );
    // … and never classified; the other providers' filters enforce. The boot-time filter is not gated (not
    // DISABLED); once BFE runs it is not classified either, gated or not (H15).
    assert.equal(connectAction(bfe, 1001), "FWP_ACTION_PERMIT");
    assert.equal(connectAction(bfe, 1002), "FWP_ACTION_BLOCK");
    assert.equal(connectAction(bfe, 1003), "FWP_ACTION_BLOCK");
    assert.equal(s.getFilterById(ids.ikeBoot as bigint).flags & FILTER_DISABLED, 0);
    assert.equal(connectAction(bfe, 1004), "FWP_ACTION_PERMIT");
    bfe.close();
  });

  it("H16: gating is decided at each start — once the service is auto-start the same store loads enabled", async () => {
    const { store, ike, ids } = await storeWithProviders();
    const first = openTestBfe({ serviceStartType: startTypes({ IKEEXT: "disabled", POLICYAGENT: "auto" }) }, store);
    assert.equal(connectAction(first.bfe, 1001), "FWP_ACTION_PERMIT");
    // Setting security on a gated object stores it again; the DISABLED state must not stick.
    const s1 = first.bfe.openSession(ADMINISTRATOR);
    s1.setSecurityInfo("filter", first.bfe.engine.getFilter(ids.ike as bigint)?.filterKey ?? null, "D:(A;;GA;;;BA)");
    first.bfe.close();
    const second = openTestBfe({}, store); // default: every service auto-start
    const s2 = second.bfe.openSession(ADMINISTRATOR);
    assert.equal(s2.getProviderByKey(ike.providerKey).flags, PROVIDER_PERSISTENT);
    assert.equal(s2.getFilterById(ids.ike as bigint).flags, PERSISTENT);
    assert.equal(connectAction(second.bfe, 1001), "FWP_ACTION_BLOCK");
  });

  it("H16: a DISABLED filter can be deleted and keeps its provider in use until then", async () => {
    const { store, ike, ids } = await storeWithProviders();
    const { bfe } = openTestBfe({ serviceStartType: startTypes({ IKEEXT: "demand", POLICYAGENT: "auto" }) }, store);
    const s = bfe.openSession(ADMINISTRATOR);
    s.deleteFilterById(ids.ikeBoot as bigint);
    assert.throws(
      () => s.deleteProviderByKey(ike.providerKey),
      (e) => isFwpError(e, "FWP_E_IN_USE"),
    );
    s.deleteFilterById(ids.ike as bigint);
    s.deleteProviderByKey(ike.providerKey);
    assert.ok(!store.loadObjects().some((o) => o.key === ike.providerKey));
    bfe.close();
  });

  it("H16: the DISABLED bits are output-only — setting them on add is FWP_E_INVALID_FLAGS", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    assert.throws(
      () => s.addProvider({ providerKey: guid(1), name: "p", flags: PROVIDER_DISABLED }),
      (e) => isFwpError(e, "FWP_E_INVALID_FLAGS"),
    );
    assert.throws(
      () => s.addFilter(blockPort(1, { flags: FILTER_DISABLED })),
      (e) => isFwpError(e, "FWP_E_INVALID_FLAGS"),
    );
    assert.equal(bfe.engine.getProvider(guid(1)), undefined);
  });

  it("H16: gateStoredObjects — no provider, no service name or an auto-start service is never gated", () => {
    const specs = [
      { kind: "provider" as const, key: guid(1), spec: { providerKey: guid(1), name: "a", serviceName: "svcA" } },
      { kind: "provider" as const, key: guid(2), spec: { providerKey: guid(2), name: "b", serviceName: "svcB" } },
      { kind: "provider" as const, key: guid(3), spec: { providerKey: guid(3), name: "c" } },
      { kind: "filter" as const, key: guid(11), spec: blockPort(1, { providerKey: guid(1), flags: PERSISTENT }) },
      { kind: "filter" as const, key: guid(12), spec: blockPort(2, { providerKey: guid(2), flags: PERSISTENT }) },
      { kind: "filter" as const, key: guid(13), spec: blockPort(3, { providerKey: guid(3), flags: PERSISTENT }) },
      { kind: "filter" as const, key: guid(14), spec: blockPort(4, { flags: PERSISTENT }) },
    ];
    const out = gateStoredObjects(specs, (n) => (n === "svcA" ? "auto" : "unknown"));
    assert.deepEqual([...out.disabledProviders], [guid(2)]);
    assert.deepEqual([...out.disabledFilters], [guid(12)]);
    assert.equal(out.specs.length, specs.length);
    const disabledFlags = out.specs.map((x) => (x.spec as { disabled?: boolean }).disabled === true);
    assert.deepEqual(disabledFlags, [false, true, false, false, true, false, false]);
  });

  it("H16/H48: netsh import keeps a provider's serviceName, drops its output-only DISABLED bit, and export prints it", async () => {
    const doc = parseNetshXml(KEPLOY);
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const report = await importNetsh(doc, s);
    const { policyAgent } = dumpProviders();
    const p = s.getProviderByKey(policyAgent.providerKey);
    assert.equal(p.serviceName, "Policyagent");
    // Every provider the import added keeps its service name and loses the DISABLED bit; the built-in
    // IKEEXT provider is left as the engine has it (reported as existing).
    assert.ok(report.providers.existing > 0);
    const exported = exportNetsh(bfe, "state").providers ?? [];
    let added = 0;
    for (const q of doc.providers ?? []) {
      if (bfe.engine.getProvider(q.providerKey)?.builtin === true) continue;
      added++;
      const x = exported.find((e) => e.providerKey === q.providerKey);
      assert.equal(x?.serviceName, q.serviceName, q.providerKey);
      assert.equal((x?.flags ?? 0) & PROVIDER_DISABLED, 0, q.providerKey);
    }
    assert.equal(added, report.providers.added);
  });
});
