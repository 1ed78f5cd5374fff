import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFwpError } from "../fwp/index.ts";
import { blockPort, CONNECT_V4, connectAction, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import { ADMINISTRATOR, KERNEL_MODE } from "./security/index.ts";
import { MemoryStore, type ObjectStore, type PersistedObject, type StoreChange } from "./store/index.ts";

const READ_ONLY = 0x1;
const PERSISTENT = 0x1;

function code(c: string): (e: unknown) => boolean {
  return (e) => isFwpError(e) && e.code === c;
}

/** A MemoryStore whose next commit fails (a full disk, a killed process…). */
class FailingStore implements ObjectStore {
  readonly inner = MemoryStore.open();
  failNext = false;
  loadObjects(): PersistedObject[] {
    return this.inner.loadObjects();
  }
  loadOptions(): Record<string, unknown> {
    return this.inner.loadOptions();
  }
  commit(changes: readonly StoreChange[], options?: Record<string, unknown>): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("SQLITE_FULL: database or disk is full");
    }
    this.inner.commit(changes, options);
  }
  close(): void {
    this.inner.close();
  }
}

describe("§H.2 transactions", () => {
  it("H6: a call outside a transaction runs in an implicit one and is committed at once", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    s.addFilter(blockPort(23));
    assert.equal(s.inTransaction, false);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    assert.equal(bfe.lockHolder, undefined);
  });

  it("H6/H9: an explicit read/write transaction reaches the engine only at commit", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(blockPort(23));
    s.addFilter(blockPort(24));
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    s.commit();
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    assert.equal(connectAction(bfe, 24), "FWP_ACTION_BLOCK");
  });

  it("H7: a second Begin is FWP_E_TXN_IN_PROGRESS; Commit or Abort without one is FWP_E_NO_TXN_IN_PROGRESS", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    assert.throws(() => s.commit(), code("FWP_E_NO_TXN_IN_PROGRESS"));
    assert.throws(() => s.abort(), code("FWP_E_NO_TXN_IN_PROGRESS"));
    await s.beginTransaction(READ_ONLY);
    await assert.rejects(s.beginTransaction(), code("FWP_E_TXN_IN_PROGRESS"));
    s.commit();
    await s.beginTransaction();
    await assert.rejects(s.beginTransaction(READ_ONLY), code("FWP_E_TXN_IN_PROGRESS"));
    s.abort();
    await assert.rejects(s.beginTransaction(0x2), code("FWP_E_INVALID_FLAGS"));
  });

  it("H8: adds and deletes inside a read-only transaction are FWP_E_INCOMPATIBLE_TXN; reads work", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const f = s.addFilter(blockPort(23));
    await s.beginTransaction(READ_ONLY);
    assert.throws(() => s.addFilter(blockPort(24)), code("FWP_E_INCOMPATIBLE_TXN"));
    assert.throws(() => s.addSublayer({ name: "x", weight: 1 }), code("FWP_E_INCOMPATIBLE_TXN"));
    assert.throws(() => s.deleteFilterByKey(f.filterKey), code("FWP_E_INCOMPATIBLE_TXN"));
    assert.equal(s.getFilterById(f.filterId).name, "block 23");
    s.commit();
  });

  it("H8: a read-only transaction does not take the write lock", async () => {
    const { bfe } = openTestBfe();
    const reader = bfe.openSession(ADMINISTRATOR);
    const writer = bfe.openSession(ADMINISTRATOR);
    await reader.beginTransaction(READ_ONLY);
    await writer.beginTransaction();
    assert.equal(bfe.lockHolder, writer.sessionKey);
    writer.abort();
    reader.abort();
  });

  it("H9: other sessions do not see uncommitted changes; the writer reads its own writes", async () => {
    const { bfe } = openTestBfe();
    const w = bfe.openSession(ADMINISTRATOR);
    const r = bfe.openSession(ADMINISTRATOR);
    await w.beginTransaction();
    const f = w.addFilter(blockPort(23));
    const sl = w.addSublayer({ subLayerKey: guid(5), name: "s", weight: 3 });
    assert.equal(w.getFilterByKey(f.filterKey).filterId, f.filterId);
    assert.ok(w.enumSublayers().some((x) => x.subLayerKey === sl.subLayerKey));
    assert.throws(() => r.getFilterByKey(f.filterKey), code("FWP_E_FILTER_NOT_FOUND"));
    assert.equal(r.enumFilters().length, 0);
    w.commit();
    assert.equal(r.getFilterByKey(f.filterKey).filterId, f.filterId);
  });

  it("H9: abort discards every change of the transaction, deletes included", async () => {
    const { bfe, store } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const kept = s.addFilter(blockPort(22, { flags: PERSISTENT }));
    await s.beginTransaction();
    s.addFilter(blockPort(23, { flags: PERSISTENT }));
    s.deleteFilterByKey(kept.filterKey);
    assert.throws(() => s.getFilterByKey(kept.filterKey), code("FWP_E_FILTER_NOT_FOUND"));
    s.abort();
    assert.equal(connectAction(bfe, 22), "FWP_ACTION_BLOCK");
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    assert.equal(s.getFilterByKey(kept.filterKey).filterId, kept.filterId);
    assert.deepEqual(
      store.loadObjects().map((o) => o.key),
      [kept.filterKey],
    );
  });

  it("H10: a failing call does not doom the transaction: 3 adds, 1 failure, commit adds the 3", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(blockPort(1));
    s.addFilter(blockPort(2));
    s.addFilter(blockPort(3));
    assert.throws(() => s.addFilter(blockPort(4, { sublayer: guid(404) })), code("FWP_E_SUBLAYER_NOT_FOUND"));
    s.commit();
    assert.deepEqual(
      [1, 2, 3, 4].map((p) => connectAction(bfe, p)),
      ["FWP_ACTION_BLOCK", "FWP_ACTION_BLOCK", "FWP_ACTION_BLOCK", "FWP_ACTION_PERMIT"],
    );
  });

  it("H10: … or abort adds none of them; or retry the failed call and commit all four", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(blockPort(1));
    assert.throws(() => s.addFilter(blockPort(4, { sublayer: guid(404) })), code("FWP_E_SUBLAYER_NOT_FOUND"));
    s.abort();
    assert.equal(connectAction(bfe, 1), "FWP_ACTION_PERMIT");
    await s.beginTransaction();
    s.addFilter(blockPort(1));
    assert.throws(() => s.addFilter(blockPort(4, { sublayer: guid(404) })), code("FWP_E_SUBLAYER_NOT_FOUND"));
    s.addSublayer({ subLayerKey: guid(404), name: "late", weight: 1 });
    s.addFilter(blockPort(4, { sublayer: guid(404) }));
    s.commit();
    assert.equal(connectAction(bfe, 4), "FWP_ACTION_BLOCK");
  });

  it("H11: a user-mode transaction holding the lock past the watchdog is aborted; its next call gets FWP_E_TXN_ABORTED", async () => {
    const { bfe, clock } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(blockPort(23));
    clock.advanceMs(3_600_001);
    assert.throws(() => s.addFilter(blockPort(24)), code("FWP_E_TXN_ABORTED"));
    assert.equal(s.inTransaction, false);
    assert.equal(bfe.lockHolder, undefined);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
  });

  it("H11: a kernel-mode transaction has no lock hold limit", async () => {
    const { bfe, clock } = openTestBfe();
    const k = bfe.openSession(KERNEL_MODE);
    await k.beginTransaction();
    k.addFilter(blockPort(23));
    clock.advanceMs(2 * 3_600_000);
    k.addFilter(blockPort(24));
    k.commit();
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    assert.equal(connectAction(bfe, 24), "FWP_ACTION_BLOCK");
  });

  it("H11: a waiting writer force-aborts a holder past the watchdog (TXN_WATCHDOG option sets the limit)", async () => {
    const { bfe, timer } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    admin.setEngineOption("FWPM_ENGINE_TXN_WATCHDOG_TIMEOUT_IN_MSEC", 5_000);
    const a = bfe.openSession(ADMINISTRATOR);
    const b = bfe.openSession(ADMINISTRATOR, { txnWaitTimeoutInMSec: 10_000 });
    await a.beginTransaction();
    const waiting = b.beginTransaction();
    timer.advanceMs(10_000);
    await waiting;
    assert.equal(bfe.lockHolder, b.sessionKey);
    assert.throws(() => a.commit(), code("FWP_E_TXN_ABORTED"));
  });

  it("H12: subscriptions, security changes and engine options are refused inside a transaction", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    assert.throws(() => s.subscribeFilterChanges({}, () => {}), code("FWP_E_TXN_IN_PROGRESS"));
    assert.throws(() => s.subscribeNetEvents(undefined, () => {}), code("FWP_E_TXN_IN_PROGRESS"));
    assert.throws(() => s.setSecurityInfo("filter", null, "O:BAD:(A;;GA;;;BA)"), code("FWP_E_TXN_IN_PROGRESS"));
    assert.throws(() => s.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 0), code("FWP_E_TXN_IN_PROGRESS"));
    s.abort();
  });

  it("transact: begin, body, commit — and abort when the body throws", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await assert.rejects(
      s.transact(() => {
        s.addFilter(blockPort(1));
        throw new Error("changed my mind");
      }),
      /changed my mind/,
    );
    assert.equal(connectAction(bfe, 1), "FWP_ACTION_PERMIT");
    const f = await s.transact(() => s.addFilter(blockPort(2)));
    assert.equal(s.getFilterById(f.filterId).name, "block 2");
  });
});

describe("H9: atomic publication to the live engine", () => {
  it("a commit whose store write fails leaves engine and store unchanged, aborts the transaction and frees the lock", async () => {
    const store = new FailingStore();
    const { bfe } = openTestBfe({ store });
    const s = bfe.openSession(ADMINISTRATOR);
    s.addFilter(blockPort(22, { flags: PERSISTENT }));
    await s.beginTransaction();
    s.addFilter(blockPort(23, { flags: PERSISTENT }));
    s.addFilter(blockPort(24));
    store.failNext = true;
    assert.throws(() => s.commit(), /SQLITE_FULL/);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    assert.equal(connectAction(bfe, 24), "FWP_ACTION_PERMIT");
    assert.equal(connectAction(bfe, 22), "FWP_ACTION_BLOCK");
    assert.equal(store.loadObjects().length, 1);
    assert.equal(s.inTransaction, false);
    assert.equal(bfe.lockHolder, undefined);
  });

  it("an implicit add whose store write fails is not in the engine", () => {
    const store = new FailingStore();
    const { bfe } = openTestBfe({ store });
    const s = bfe.openSession(ADMINISTRATOR);
    store.failNext = true;
    assert.throws(() => s.addFilter(blockPort(23, { flags: PERSISTENT })), /SQLITE_FULL/);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    assert.equal(s.enumFilters().length, 0);
  });

  it("a classify during a commit (from a callout's notifyFn) sees the policy before it, never half", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const calloutKey = guid(77);
    s.addCallout({ calloutKey, name: "observer", applicableLayer: CONNECT_V4 });
    const seen: string[] = [];
    bfe.engine.registerCallout({
      calloutKey,
      classifyFn: () => {},
      notifyFn: (type) => {
        if (type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER") seen.push([1, 2].map((p) => connectAction(bfe, p)).join("/"));
        return true;
      },
    });
    await s.beginTransaction();
    s.addFilter(blockPort(1));
    s.addFilter({ name: "inspect", layer: CONNECT_V4, action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey } });
    s.addFilter(blockPort(2));
    assert.deepEqual(seen, [], "the kernel callout hears of the filter only at commit");
    s.commit();
    assert.deepEqual(seen, ["FWP_ACTION_PERMIT/FWP_ACTION_PERMIT"]);
    assert.equal(connectAction(bfe, 1), "FWP_ACTION_BLOCK");
    assert.equal(connectAction(bfe, 2), "FWP_ACTION_BLOCK");
  });

  it("a callout rejecting its filter at commit fails the commit and nothing of the transaction is applied", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const calloutKey = guid(78);
    s.addCallout({ calloutKey, name: "picky", applicableLayer: CONNECT_V4 });
    bfe.engine.registerCallout({ calloutKey, classifyFn: () => {}, notifyFn: () => false });
    await s.beginTransaction();
    s.addFilter(blockPort(1));
    s.addFilter({ name: "refused", layer: CONNECT_V4, action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey } });
    assert.throws(() => s.commit(), code("FWP_E_CALLOUT_NOTIFICATION_FAILED"));
    assert.equal(connectAction(bfe, 1), "FWP_ACTION_PERMIT");
    assert.equal(s.enumFilters().length, 0);
  });
});
