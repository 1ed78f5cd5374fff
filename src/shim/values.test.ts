import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIpAddress } from "../base/index.ts";
import { FWP_CONDITION_SOCKET_PROPERTY_FLAG, getLayer } from "../fwp/index.ts";
import type { ClassifyFacts } from "./facts.ts";
import { incomingValuesFor } from "./values.ts";

const facts: ClassifyFacts = {
  ipVersion: 4,
  protocol: 6,
  localAddress: parseIpAddress("192.168.1.10"),
  localPort: 9000,
};

/** The value of `condition`'s field at `layerName` (the field list names it by the layer's own name). */
function valueAt(layerName: string, condition: string, f: ClassifyFacts) {
  const layer = getLayer(layerName);
  const field = layer.fields.find((x) => x.condition === condition);
  assert.ok(field !== undefined, `${layerName} has no ${condition}`);
  return incomingValuesFor(layer, f)[field.index];
}

describe("incoming values: ALE_SIO_FIREWALL_SYSTEM_PORT / SIO_FIREWALL_SOCKET_PROPERTY", () => {
  const where = [
    ["FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4", "FWPM_CONDITION_ALE_SIO_FIREWALL_SOCKET_PROPERTY"],
    ["FWPM_LAYER_ALE_AUTH_LISTEN_V6", "FWPM_CONDITION_ALE_SIO_FIREWALL_SOCKET_PROPERTY"],
    ["FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "FWPM_CONDITION_ALE_SIO_FIREWALL_SYSTEM_PORT"],
    ["FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6_DISCARD", "FWPM_CONDITION_ALE_SIO_FIREWALL_SYSTEM_PORT"],
  ] as const;

  it("is FWP_UINT32 0 for an ordinary socket at every layer that has it, never FWP_EMPTY", () => {
    for (const [layer, condition] of where) {
      assert.deepEqual(valueAt(layer, condition, facts), { type: "FWP_UINT32", value: 0 }, layer);
    }
  });

  it("carries the socket's FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits when the facts give them", () => {
    const F = FWP_CONDITION_SOCKET_PROPERTY_FLAG;
    const bits =
      F.FWP_CONDITION_SOCKET_PROPERTY_FLAG_IS_SYSTEM_PORT_RPC | F.FWP_CONDITION_SOCKET_PROPERTY_FLAG_ALLOW_EDGE_TRAFFIC;
    assert.equal(bits, 3);
    for (const [layer, condition] of where) {
      assert.deepEqual(valueAt(layer, condition, { ...facts, socketProperties: bits }), {
        type: "FWP_UINT32",
        value: 3,
      });
    }
  });
});
