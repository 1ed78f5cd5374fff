/**
 * D5 / D12 / H13: a kernel callout registered with FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY (0x4) hears
 * FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT for each filter calling it that a transaction added, after the
 * commit succeeded (an implicit transaction's commit included), never for an aborted or failed one; change
 * subscriptions for objects added in a transaction are delivered after commit too.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Guid } from "../base/guid.ts";
import type { CalloutNotifyType, FilterSpec } from "../engine/index.ts";
import { FWP_CALLOUT_FLAG, isFwpError } from "../fwp/index.ts";
import { blockPort, CONNECT_V4, connectAction, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import type { Bfe } from "./bfe.ts";
import { ADMINISTRATOR } from "./security/index.ts";
import { MemoryStore, type ObjectStore, type PersistedObject, type StoreChange } from "./store/index.ts";

const COMMIT_ADD_NOTIFY: number = FWP_CALLOUT_FLAG.FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY;
const PERSISTENT = 0x1;

const SHORT: Readonly<Record<CalloutNotifyType, string>> = {
  FWPS_CALLOUT_NOTIFY_ADD_FILTER: "ADD",
  FWPS_CALLOUT_NOTIFY_DELETE_FILTER: "DELETE",
  FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT: "POST_COMMIT",
};

/** A MemoryStore that writes each commit into a shared log, and can be told to fail the next one. */
class LoggingStore implements ObjectStore {
  readonly inner = MemoryStore.open();
  failNext = false;
  constructor(readonly log: string[]) {}
  loadObjects(): PersistedObject[] {
    return this.inner.loadObjects();
  }
  loadOptions(): Record<string, unknown> {
    return this.inner.loadOptions();
  }
  commit(changes: Iterable<StoreChange>, options?: Record<string, unknown>): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("SQLITE_FULL: database or disk is full");
    }
    const list = [...changes];
    this.inner.commit(list, options);
    if (list.length > 0) this.log.push(`store commit (${list.length})`);
  }
  close(): void {
    this.inner.close();
  }
}

interface Rig {
  readonly bfe: Bfe;
  readonly store: LoggingStore;
  readonly log: string[];
  /** filter name → its notifications, in order. */
  notified(name: string): string[];
}

/**
 * A BFE with a persistent callout `guid(70)` at ALE_AUTH_CONNECT_V4 whose kernel half is registered with
 * `flags`; its notifyFn writes `TYPE name` into the log (`(no key)` after it when filterKey is null).
 */
function rig(flags: number): Rig {
  const log: string[] = [];
  const store = new LoggingStore(log);
  const { bfe } = openTestBfe({ store });
  const s = bfe.openSession(ADMINISTRATOR);
  s.addCallout({ calloutKey: guid(70), name: "watcher", applicableLayer: CONNECT_V4, flags: 0x10000 });
  log.length = 0;
  bfe.engine.registerCallout({
    calloutKey: guid(70),
    flags,
    classifyFn: () => {},
    notifyFn: (type, filterKey, filter) => {
      log.push(`${SHORT[type]} ${filter.name}${filterKey === null ? " (no key)" : ""}`);
      return true;
    },
  });
  return {
    bfe,
    store,
    log,
    notified: (name) => log.filter((l) => l.split(" ")[1] === name).map((l) => l.split(" ")[0] as string),
  };
}

function inspect(name: string, extra: Partial<FilterSpec> = {}): FilterSpec {
  return {
    name,
    layer: CONNECT_V4,
    action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: guid(70) as Guid },
    flags: PERSISTENT,
    ...extra,
  };
}

function code(c: string): (e: unknown) => boolean {
  return (e) => isFwpError(e) && e.code === c;
}

describe("D5/D12/H13: FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT", () => {
  it("H13: in a transaction, ADD_FILTER comes at commit, then the store commit, then POST_COMMIT for each filter in order", async () => {
    const r = rig(COMMIT_ADD_NOTIFY);
    const s = r.bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    const a = s.addFilter(inspect("a"));
    s.addFilter(blockPort(9, { flags: PERSISTENT }));
    const b = s.addFilter(inspect("b"));
    assert.deepEqual(r.log, [], "nothing is heard before the commit");
    s.commit();
    assert.deepEqual(r.log, ["ADD a", "ADD b", "store commit (3)", "POST_COMMIT a", "POST_COMMIT b"]);
    assert.ok(r.bfe.engine.getFilter(a.filterKey) !== undefined && r.bfe.engine.getFilter(b.filterKey) !== undefined);
  });

  it("D12: POST_COMMIT carries the filter key and the committed filter; a classify inside it sees the commit", async () => {
    const r = rig(0);
    const keys: (Guid | null)[] = [];
    const seen: string[] = [];
    r.bfe.engine.unregisterCallout(guid(70));
    r.bfe.engine.registerCallout({
      calloutKey: guid(70),
      flags: COMMIT_ADD_NOTIFY,
      classifyFn: () => {},
      notifyFn: (type, filterKey, filter) => {
        if (type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT") {
          keys.push(filterKey);
          assert.equal(filter, r.bfe.engine.getFilter(filter.filterKey), "the live engine's own object");
          seen.push(connectAction(r.bfe, 9));
        }
        return true;
      },
    });
    const s = r.bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(blockPort(9, { flags: PERSISTENT }));
    const a = s.addFilter(inspect("a"));
    s.commit();
    assert.deepEqual(keys, [a.filterKey]);
    assert.deepEqual(seen, ["FWP_ACTION_BLOCK"], "the block added in the same transaction is in force");
  });

  it("D12: an add outside a transaction (implicit) gets ADD_FILTER during the add and POST_COMMIT after its commit", () => {
    const r = rig(COMMIT_ADD_NOTIFY);
    const s = r.bfe.openSession(ADMINISTRATOR);
    s.addFilter(inspect("a"));
    s.addFilter(inspect("b", { flags: 0 })); // static: no store write
    assert.deepEqual(r.log, ["ADD a", "store commit (1)", "POST_COMMIT a", "ADD b", "POST_COMMIT b"]);
  });

  it("D5: without FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY a callout hears ADD_FILTER only", async () => {
    const r = rig(0);
    const s = r.bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(inspect("a"));
    s.commit();
    s.addFilter(inspect("b"));
    assert.deepEqual(r.notified("a"), ["ADD"]);
    assert.deepEqual(r.notified("b"), ["ADD"]);
  });

  it("H13: an aborted transaction gives no notification at all", async () => {
    const r = rig(COMMIT_ADD_NOTIFY);
    const s = r.bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(inspect("a"));
    s.abort();
    assert.deepEqual(r.log, []);
    assert.equal(r.bfe.engine.filters(CONNECT_V4).length, 0);
  });

  it("H13: a commit that fails (the store's write) gives ADD then its undo, never POST_COMMIT", async () => {
    const r = rig(COMMIT_ADD_NOTIFY);
    const s = r.bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(inspect("a"));
    r.store.failNext = true;
    assert.throws(() => s.commit(), /SQLITE_FULL/);
    assert.deepEqual(r.notified("a"), ["ADD", "DELETE"]);
    // The implicit form too.
    r.store.failNext = true;
    assert.throws(() => s.addFilter(inspect("b")), /SQLITE_FULL/);
    assert.ok(!r.notified("b").includes("POST_COMMIT"));
  });

  it("H13: a commit another callout refuses gives no POST_COMMIT to the callout that agreed", async () => {
    const r = rig(COMMIT_ADD_NOTIFY);
    const s = r.bfe.openSession(ADMINISTRATOR);
    s.addCallout({ calloutKey: guid(71), name: "picky", applicableLayer: CONNECT_V4, flags: 0x10000 });
    r.bfe.engine.registerCallout({
      calloutKey: guid(71),
      flags: COMMIT_ADD_NOTIFY,
      classifyFn: () => {},
      notifyFn: () => false,
    });
    r.log.length = 0;
    await s.beginTransaction();
    s.addFilter(inspect("a"));
    s.addFilter(inspect("refused", { action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: guid(71) } }));
    assert.throws(() => s.commit(), code("FWP_E_CALLOUT_NOTIFICATION_FAILED"));
    assert.deepEqual(r.notified("a"), ["ADD", "DELETE"]);
  });

  it("D12: a filter added and deleted again in the same transaction is not notified after commit", async () => {
    const r = rig(COMMIT_ADD_NOTIFY);
    const s = r.bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    const a = s.addFilter(inspect("a"));
    s.addFilter(inspect("b"));
    s.deleteFilterByKey(a.filterKey);
    s.commit();
    assert.deepEqual(r.notified("a"), ["ADD", "DELETE"]);
    assert.ok(r.log.includes("DELETE a (no key)"), "DELETE_FILTER has no filter key (D12)");
    assert.deepEqual(r.notified("b"), ["ADD", "POST_COMMIT"]);
  });

  it("H13: change subscriptions for objects added in a transaction arrive after commit, after POST_COMMIT", async () => {
    const r = rig(COMMIT_ADD_NOTIFY);
    const watcher = r.bfe.openSession(ADMINISTRATOR);
    watcher.subscribeFilterChanges({}, (c) =>
      r.log.push(`FWPM_CHANGE_${c.changeType === 1 ? "ADD" : "DELETE"} ${c.objectId}`),
    );
    const s = r.bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    const a = s.addFilter(inspect("a"));
    assert.deepEqual(r.log, []);
    s.commit();
    assert.deepEqual(r.log, ["ADD a", "store commit (1)", "POST_COMMIT a", `FWPM_CHANGE_ADD ${a.filterId}`]);
    r.log.length = 0;
    await s.beginTransaction();
    s.addFilter(inspect("gone"));
    s.abort();
    assert.deepEqual(r.log, [], "an aborted transaction notifies no subscriber either");
  });
});
