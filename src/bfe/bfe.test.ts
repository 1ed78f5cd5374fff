import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ADMINISTRATOR } from "./security/index.ts";
import { blockPort, connectAction, guid, openTestBfe } from "./bfe-fixtures.testing.ts";

describe("Bfe: objects of every kind through a session", () => {
  it("adds, reads, enumerates and deletes providers, contexts, sublayers, callouts and filters", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    const p = s.addProvider({ providerKey: guid(1), name: "p" });
    const pc = s.addProviderContext({ providerContextKey: guid(2), name: "pc", providerKey: p.providerKey });
    const sl = s.addSublayer({ subLayerKey: guid(3), name: "sl", weight: 0x100, providerKey: p.providerKey });
    const co = s.addCallout({ calloutKey: guid(4), name: "co", applicableLayer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4" });
    const f = s.addFilter(blockPort(23, { sublayer: sl.subLayerKey, providerKey: p.providerKey }));
    s.commit();
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    assert.equal(s.getProviderContextById(pc.providerContextId).name, "pc");
    assert.equal(s.getCalloutById(co.calloutId).name, "co");
    assert.deepEqual(
      s.enumFilters().map((x) => x.filterKey),
      [f.filterKey],
    );
    assert.ok(s.enumSublayers({ providerKey: guid(1) }).some((x) => x.subLayerKey === guid(3)));
    s.deleteFilterById(f.filterId);
    s.deleteCalloutByKey(co.calloutKey);
    s.deleteSublayerByKey(sl.subLayerKey);
    s.deleteProviderContextByKey(pc.providerContextKey);
    s.deleteProviderByKey(p.providerKey);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    assert.equal(s.enumFilters().length, 0);
  });
});
