import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Guid } from "../base/guid.ts";
import { findLayer, FWPM_SUBLAYER } from "../fwp/index.ts";
import { blockPort, CONNECT_V4, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import {
  ADMINISTRATOR,
  AccessControl,
  AccessDeniedError,
  type BfeObjectType,
  DELETE,
  EVERYONE_USER,
  FWPM_ACTRL_ADD,
  FWPM_ACTRL_ADD_LINK,
  FWPM_ACTRL_BEGIN_READ_TXN,
  FWPM_ACTRL_BEGIN_WRITE_TXN,
  FWPM_ACTRL_ENUM,
  FWPM_ACTRL_OPEN,
  FWPM_ACTRL_READ,
  KERNEL_MODE,
  type Principal,
} from "./security/index.ts";
import { MemoryStore } from "./store/index.ts";

/** Records every check the BFE asks for. */
class RecordingAccess extends AccessControl {
  readonly calls: string[] = [];
  override check(principal: Principal, type: BfeObjectType, key: Guid | null, desired: number, path?: string): void {
    this.calls.push(`${type}:${key ?? "container"}:0x${desired.toString(16)}`);
    super.check(principal, type, key, desired, path);
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

describe("H42: every call is checked with the right rights", () => {
  it("open → OPEN(engine); begin → BEGIN_READ_TXN / BEGIN_WRITE_TXN(engine)", async () => {
    const access = new RecordingAccess();
    const { bfe } = openTestBfe({ access });
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction(1);
    s.commit();
    await s.beginTransaction();
    s.abort();
    assert.deepEqual(access.calls, [
      `engine:container:${hex(FWPM_ACTRL_OPEN)}`,
      `engine:container:${hex(FWPM_ACTRL_BEGIN_READ_TXN)}`,
      `engine:container:${hex(FWPM_ACTRL_BEGIN_WRITE_TXN)}`,
    ]);
  });

  it("FilterAdd → ADD(filter container) + ADD_LINK(provider, layer, sublayer, callout, provider context)", () => {
    const access = new RecordingAccess();
    const { bfe } = openTestBfe({ access });
    const s = bfe.openSession(ADMINISTRATOR);
    s.addProvider({ providerKey: guid(1), name: "p" });
    s.addSublayer({ subLayerKey: guid(2), name: "s", weight: 1 });
    s.addCallout({ calloutKey: guid(3), name: "c", applicableLayer: CONNECT_V4 });
    s.addProviderContext({ providerContextKey: guid(4), name: "pc" });
    access.calls.length = 0;
    s.addFilter({
      name: "all links",
      layer: CONNECT_V4,
      sublayer: guid(2),
      providerKey: guid(1),
      flags: 0x4,
      providerContextKey: guid(4),
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: guid(3) },
    });
    const link = hex(FWPM_ACTRL_ADD_LINK);
    assert.deepEqual(access.calls.sort(), [
      `callout:${guid(3)}:${link}`,
      `filter:container:${hex(FWPM_ACTRL_ADD)}`,
      `layer:${findLayer(CONNECT_V4)?.key}:${link}`,
      `provider:${guid(1)}:${link}`,
      `providerContext:${guid(4)}:${link}`,
      `sublayer:${guid(2)}:${link}`,
    ]);
  });

  it("delete → DELETE(object); get → READ(object); enum → ENUM(container) and READ per returned object", () => {
    const access = new RecordingAccess();
    const { bfe } = openTestBfe({ access });
    const s = bfe.openSession(ADMINISTRATOR);
    const f = s.addFilter(blockPort(1));
    access.calls.length = 0;
    s.getFilterById(f.filterId);
    s.enumFilters();
    s.deleteFilterByKey(f.filterKey);
    assert.deepEqual(access.calls, [
      `filter:${f.filterKey}:${hex(FWPM_ACTRL_READ)}`,
      `filter:container:${hex(FWPM_ACTRL_ENUM)}`,
      `filter:${f.filterKey}:${hex(DELETE)}`,
    ]);
  });

  it("H44: a plain user is denied with ERROR_ACCESS_DENIED; enumeration hides objects the caller cannot READ", async () => {
    const { bfe, access } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    const user = bfe.openSession(EVERYONE_USER);
    const f = admin.addFilter(blockPort(1));
    for (const call of [
      () => user.addFilter(blockPort(2)),
      () => user.deleteFilterByKey(f.filterKey),
      () => user.getFilterByKey(f.filterKey),
      () => user.enumFilters(),
    ]) {
      assert.throws(call, (e) => e instanceof AccessDeniedError && e.hresult === 0x80070005);
    }
    await assert.rejects(user.beginTransaction(), (e) => e instanceof AccessDeniedError);
    // ENUM for everyone on the filter container, READ denied on this filter: it is left out.
    access.setObjectSecurity("filter", null, "O:BAD:(A;;GA;;;BA)(A;OICI;0xa0;;;WD)");
    const g = admin.addFilter(blockPort(3));
    access.setObjectSecurity("filter", f.filterKey, "O:BAD:P(A;;GA;;;BA)");
    assert.deepEqual(
      user.enumFilters().map((x) => x.filterKey),
      [g.filterKey],
    );
  });

  it("H43: kernel-mode callers skip every check", () => {
    const { bfe } = openTestBfe({ access: new AccessControl({ engineSecurity: "O:SYD:P" }) });
    const k = bfe.openSession(KERNEL_MODE);
    assert.ok(k.addFilter(blockPort(1, { sublayer: FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL })));
  });
});

describe("H40: object descriptors through transactions and restarts", () => {
  it("a persistent object's descriptor comes back after a restart; SetSecurityInfo on it is stored too", () => {
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const s = first.bfe.openSession(ADMINISTRATOR);
    const f = s.addFilter({ ...blockPort(1, { flags: 0x1 }), securityDescriptor: "O:BAD:P(A;;GA;;;BA)(A;;0x80;;;WD)" });
    const g = s.addFilter(blockPort(2, { flags: 0x1 }));
    s.setSecurityInfo("filter", g.filterKey, "O:BAD:P(A;;GA;;;BA)(A;;0x80;;;WD)");
    first.bfe.close();
    const second = openTestBfe({}, store);
    const user = second.bfe.openSession(EVERYONE_USER);
    assert.equal(user.getFilterByKey(f.filterKey).filterId, f.filterId);
    assert.equal(user.getFilterByKey(g.filterKey).filterId, g.filterId);
  });

  it("add, delete and re-add one key in a transaction keeps the new descriptor; abort restores the old one", async () => {
    const { bfe } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    const user = bfe.openSession(EVERYONE_USER);
    const readable = "O:BAD:P(A;;GA;;;BA)(A;;0x80;;;WD)";
    const f = admin.addFilter({ ...blockPort(1), filterKey: guid(50), securityDescriptor: readable });
    assert.equal(user.getFilterByKey(f.filterKey).name, "block 1");
    await admin.beginTransaction();
    admin.deleteFilterByKey(guid(50));
    admin.addFilter({ ...blockPort(2), filterKey: guid(50) });
    admin.abort();
    assert.equal(user.getFilterByKey(guid(50)).name, "block 1", "abort put the readable descriptor back");
    await admin.beginTransaction();
    admin.deleteFilterByKey(guid(50));
    admin.addFilter({ ...blockPort(3), filterKey: guid(50), securityDescriptor: readable });
    admin.commit();
    assert.equal(user.getFilterByKey(guid(50)).name, "block 3", "the re-added object kept its descriptor");
  });
});
