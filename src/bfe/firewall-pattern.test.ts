import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Filter, FilterSpec } from "../engine/index.ts";
import { FWPM_FILTER_FLAG, fwpUint16 } from "../fwp/index.ts";
import { CONNECT_V4, connectAction, guid, openTestBfe, REMOTE_PORT } from "./bfe-fixtures.testing.ts";
import { ADMINISTRATOR, LOCAL_SYSTEM } from "./security/index.ts";
import type { ObjectChange } from "./types.ts";

const CLEAR_ACTION_RIGHT = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT;
const NOTIFY_ON_ADD = 0x1;
const APP_SUBLAYER = guid(1);
const FIREWALL_SUBLAYER = guid(2);
const FIREWALL_PROVIDER = guid(3);

function onPort(
  name: string,
  port: number,
  type: "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK",
  extra: Partial<FilterSpec> = {},
): FilterSpec {
  return {
    name,
    layer: CONNECT_V4,
    action: { type },
    conditions: [{ fieldKey: REMOTE_PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(port) }],
    ...extra,
  };
}

describe("H30 firewall pattern (public API)", () => {
  it("H30: a firewall subscribed to filter adds mirrors the apps' validated soft filters into its higher sublayer", async () => {
    const { bfe } = openTestBfe();
    // The firewall: its own provider and a sublayer above the apps', holding a hard default block.
    const firewall = bfe.openSession(LOCAL_SYSTEM, { displayName: "firewall" });
    await firewall.transact(() => {
      firewall.addProvider({ providerKey: FIREWALL_PROVIDER, name: "firewall" });
      firewall.addSublayer({
        subLayerKey: FIREWALL_SUBLAYER,
        name: "firewall",
        weight: 0x8000,
        providerKey: FIREWALL_PROVIDER,
      });
      firewall.addFilter({
        name: "default block",
        layer: CONNECT_V4,
        sublayer: FIREWALL_SUBLAYER,
        providerKey: FIREWALL_PROVIDER,
        weight: { type: "FWP_UINT8", value: 0 },
        action: { type: "FWP_ACTION_BLOCK" },
        flags: CLEAR_ACTION_RIGHT,
      });
    });
    // The firewall's policy: apps may open 443 and 8080, nothing else.
    const allowedPorts = new Set([443, 8080]);
    const queue: ObjectChange[] = [];
    const seenBySelf: ObjectChange[] = [];
    firewall.subscribeFilterChanges({ flags: NOTIFY_ON_ADD, template: { layer: CONNECT_V4 } }, (c) => queue.push(c));
    const mirrored = new Map<string, bigint>();
    const mirror = (): void => {
      for (const change of queue.splice(0)) {
        const f: Filter = firewall.getFilterByKey(change.objectKey);
        const soft = (f.flags & CLEAR_ACTION_RIGHT) === 0;
        const port = f.conditions[0]?.value;
        const portOk = port?.type === "FWP_UINT16" && allowedPorts.has(port.value);
        if (f.providerKey === FIREWALL_PROVIDER || !soft || f.action.type !== "FWP_ACTION_PERMIT" || !portOk) continue;
        const copy = firewall.addFilter({
          name: `mirror of ${f.name}`,
          layer: CONNECT_V4,
          sublayer: FIREWALL_SUBLAYER,
          providerKey: FIREWALL_PROVIDER,
          weight: { type: "FWP_UINT8", value: 10 },
          action: { type: "FWP_ACTION_PERMIT" },
          conditions: f.conditions.map((c) => ({
            fieldKey: c.fieldKey,
            matchType: c.matchType,
            conditionValue: c.value,
          })),
        });
        mirrored.set(f.filterKey, copy.filterId);
      }
    };
    const app = bfe.openSession(ADMINISTRATOR, { displayName: "app" });
    app.subscribeFilterChanges({ flags: NOTIFY_ON_ADD }, (c) => seenBySelf.push(c));
    await app.transact(() => {
      app.addSublayer({ subLayerKey: APP_SUBLAYER, name: "app", weight: 0x100 });
      app.addFilter(onPort("https", 443, "FWP_ACTION_PERMIT", { sublayer: APP_SUBLAYER }));
      app.addFilter(onPort("smtp", 25, "FWP_ACTION_PERMIT", { sublayer: APP_SUBLAYER }));
      app.addFilter(onPort("proxy", 8080, "FWP_ACTION_PERMIT", { sublayer: APP_SUBLAYER, flags: CLEAR_ACTION_RIGHT }));
    });
    // Before the firewall acts, its hard block in the higher sublayer wins over every app permit (C2).
    assert.equal(connectAction(bfe, 443), "FWP_ACTION_BLOCK");
    // Notified after commit (H13), only of the other session's adds (H29): three app filters.
    assert.equal(queue.length, 3);
    assert.equal(seenBySelf.length, 0);
    mirror();
    // Only the soft permit on an allowed port was mirrored: 443 opens; 25 (not allowed) and 8080 (a hard
    // filter: CLEAR_ACTION_RIGHT, not an overridable one) stay blocked.
    assert.equal(mirrored.size, 1);
    assert.equal(connectAction(bfe, 443), "FWP_ACTION_PERMIT");
    assert.equal(connectAction(bfe, 25), "FWP_ACTION_BLOCK");
    assert.equal(connectAction(bfe, 8080), "FWP_ACTION_BLOCK");
    // The mirror lives in the firewall's sublayer; the app was told about it (another session's add).
    const copyId = [...mirrored.values()][0] as bigint;
    assert.equal(bfe.engine.getFilter(copyId)?.sublayer.subLayerKey, FIREWALL_SUBLAYER);
    assert.deepEqual(
      seenBySelf.map((c) => c.objectId),
      [copyId],
    );
    // The firewall's own add was not notified back to it (H29), so nothing is mirrored twice.
    assert.equal(queue.length, 0);
  });
});
