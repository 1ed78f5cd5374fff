import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFwpError } from "../fwp/index.ts";
import { blockPort, CONNECT_V4, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import { ADMINISTRATOR, AccessDeniedError, EVERYONE_USER } from "./security/index.ts";
import type { ObjectChange } from "./types.ts";

const ON_ADD = 0x1;
const ON_DELETE = 0x2;

function code(c: string): (e: unknown) => boolean {
  return (e) => isFwpError(e) && e.code === c;
}

describe("§H.5 change subscriptions", () => {
  it("H28: a filter subscription gets FWPM_CHANGE_ADD / DELETE with the key and filterId", () => {
    const { bfe } = openTestBfe();
    const watcher = bfe.openSession(ADMINISTRATOR);
    const actor = bfe.openSession(ADMINISTRATOR);
    const got: ObjectChange[] = [];
    watcher.subscribeFilterChanges({ flags: ON_ADD | ON_DELETE }, (c) => got.push(c));
    const f = actor.addFilter(blockPort(1));
    actor.deleteFilterById(f.filterId);
    assert.deepEqual(got, [
      { kind: "filter", changeType: 1, objectKey: f.filterKey, objectId: f.filterId },
      { kind: "filter", changeType: 2, objectKey: f.filterKey, objectId: f.filterId },
    ]);
  });

  it("H28: subscriptions are per object type and honour NOTIFY_ON_ADD / NOTIFY_ON_DELETE", () => {
    const { bfe } = openTestBfe();
    const watcher = bfe.openSession(ADMINISTRATOR);
    const actor = bfe.openSession(ADMINISTRATOR);
    const adds: string[] = [];
    const deletes: string[] = [];
    watcher.subscribeSublayerChanges({ flags: ON_ADD }, (c) => adds.push(`${c.kind}:${c.objectKey}`));
    watcher.subscribeCalloutChanges({ flags: ON_DELETE }, (c) => deletes.push(`${c.kind}:${String(c.objectId)}`));
    const sl = actor.addSublayer({ subLayerKey: guid(1), name: "s", weight: 1 });
    const co = actor.addCallout({ calloutKey: guid(2), name: "c", applicableLayer: CONNECT_V4 });
    actor.addFilter(blockPort(1));
    actor.deleteSublayerByKey(sl.subLayerKey);
    actor.deleteCalloutById(co.calloutId);
    assert.deepEqual(adds, [`sublayer:${guid(1)}`]);
    assert.deepEqual(deletes, [`callout:${co.calloutId}`]);
  });

  it("H28: a filter subscription's template restricts it (layer, conditions); unsubscribe stops delivery", () => {
    const { bfe } = openTestBfe();
    const watcher = bfe.openSession(ADMINISTRATOR);
    const actor = bfe.openSession(ADMINISTRATOR);
    const got: unknown[] = [];
    const sub = watcher.subscribeFilterChanges({ template: { layer: CONNECT_V4, providerKey: guid(7) } }, (c) =>
      got.push(c.objectId),
    );
    actor.addProvider({ providerKey: guid(7), name: "p" });
    const mine = actor.addFilter(blockPort(1, { providerKey: guid(7) }));
    actor.addFilter(blockPort(2));
    actor.addFilter(blockPort(3, { layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V6", providerKey: guid(7) }));
    assert.deepEqual(got, [mine.filterId]);
    assert.equal(watcher.subscriptions("filter").length, 1);
    sub.unsubscribe();
    actor.addFilter(blockPort(4, { providerKey: guid(7) }));
    assert.deepEqual(got, [mine.filterId]);
    assert.equal(watcher.subscriptions("filter").length, 0);
  });

  it("H13: changes made in a transaction are delivered after commit, and not at all after abort", async () => {
    const { bfe } = openTestBfe();
    const watcher = bfe.openSession(ADMINISTRATOR);
    const actor = bfe.openSession(ADMINISTRATOR);
    const got: bigint[] = [];
    watcher.subscribeFilterChanges({}, (c) => got.push(c.objectId as bigint));
    await actor.beginTransaction();
    actor.addFilter(blockPort(1));
    actor.abort();
    await actor.beginTransaction();
    const f = actor.addFilter(blockPort(2));
    assert.deepEqual(got, []);
    actor.commit();
    assert.deepEqual(got, [f.filterId]);
  });

  it("H29: changes made through the subscribing session itself are not notified", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const other = bfe.openSession(ADMINISTRATOR);
    const got: unknown[] = [];
    s.subscribeFilterChanges({}, (c) => got.push(c.objectId));
    s.addFilter(blockPort(1));
    const f = other.addFilter(blockPort(2));
    assert.deepEqual(got, [f.filterId]);
  });

  it("H29: subscribing needs SUBSCRIBE on the container; subscribers only hear of objects they can READ", () => {
    const { bfe, access } = openTestBfe();
    const user = bfe.openSession(EVERYONE_USER);
    assert.throws(
      () => user.subscribeFilterChanges({}, () => {}),
      (e) => e instanceof AccessDeniedError,
    );
    // Give Everyone SUBSCRIBE (0x200) on the filter container but no READ (0x80) on filters.
    access.setObjectSecurity("filter", null, "O:BAD:(A;;GA;;;BA)(A;;0x200;;;WD)");
    const got: unknown[] = [];
    user.subscribeFilterChanges({}, (c) => got.push(c));
    const admin = bfe.openSession(ADMINISTRATOR);
    admin.addFilter(blockPort(1));
    assert.deepEqual(got, []);
    access.setObjectSecurity("filter", null, "O:BAD:(A;;GA;;;BA)(A;;0x200;;;WD)(A;OI;0x80;;;WD)");
    admin.addFilter(blockPort(2));
    assert.equal(got.length, 1);
  });

  it("H29/H12: not callable inside a transaction; a throwing callback does not break the change", async () => {
    const { bfe } = openTestBfe();
    const watcher = bfe.openSession(ADMINISTRATOR);
    const actor = bfe.openSession(ADMINISTRATOR);
    watcher.subscribeFilterChanges({}, () => {
      throw new Error("subscriber bug");
    });
    const f = actor.addFilter(blockPort(1));
    assert.equal(actor.getFilterById(f.filterId).filterKey, f.filterKey);
    await watcher.beginTransaction();
    assert.throws(() => watcher.subscribeProviderChanges({}, () => {}), code("FWP_E_TXN_IN_PROGRESS"));
    watcher.abort();
    assert.throws(() => watcher.subscribeProviderChanges({ flags: 0x4 }, () => {}), code("FWP_E_INVALID_FLAGS"));
    assert.throws(
      () => watcher.subscribeProviderChanges({ template: { layer: CONNECT_V4 } }, () => {}),
      code("FWP_E_INVALID_PARAMETER"),
    );
  });

  it("H3 + H28: a dynamic session's objects vanishing at close are notified as deletes", () => {
    const { bfe } = openTestBfe();
    const watcher = bfe.openSession(ADMINISTRATOR);
    const dyn = bfe.openSession(ADMINISTRATOR, { flags: 0x1 });
    const got: number[] = [];
    watcher.subscribeFilterChanges({ flags: ON_DELETE }, (c) => got.push(c.changeType));
    dyn.addFilter(blockPort(1));
    dyn.addFilter(blockPort(2));
    dyn.close();
    assert.deepEqual(got, [2, 2]);
  });
});
