import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ipv4Address } from "../../base/index.ts";
import { enumName, enumValue, FWPM_NET_EVENT_TYPE } from "../../fwp/index.ts";
import { blockPort, CONNECT_V4, incoming, openTestBfe, REMOTE_PORT } from "../bfe-fixtures.testing.ts";
import { fwpUint16 } from "../../fwp/index.ts";
import { ADMINISTRATOR } from "../security/index.ts";
import { netEventFromClassify } from "./from-classify.ts";

/**
 * FWPM_NET_EVENT_TYPE as wfp-semantics.md H31 lists it from fwpmtypes.h and the FWPM_NET_EVENT_TYPE page
 * (https://learn.microsoft.com/windows/win32/api/fwpmtypes/ne-fwpmtypes-fwpm_net_event_type).
 */
const H31: readonly [string, number][] = [
  ["FWPM_NET_EVENT_TYPE_IKEEXT_MM_FAILURE", 0],
  ["FWPM_NET_EVENT_TYPE_IKEEXT_QM_FAILURE", 1],
  ["FWPM_NET_EVENT_TYPE_IKEEXT_EM_FAILURE", 2],
  ["FWPM_NET_EVENT_TYPE_CLASSIFY_DROP", 3],
  ["FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP", 4],
  ["FWPM_NET_EVENT_TYPE_IPSEC_DOSP_DROP", 5],
  ["FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW", 6],
  ["FWPM_NET_EVENT_TYPE_CAPABILITY_DROP", 7],
  ["FWPM_NET_EVENT_TYPE_CAPABILITY_ALLOW", 8],
  ["FWPM_NET_EVENT_TYPE_CLASSIFY_DROP_MAC", 9],
];

describe("H31 net event types", () => {
  test("H31: FWPM_NET_EVENT_TYPE values in the generated enums match the reference, both ways", () => {
    for (const [name, value] of H31) {
      assert.equal((FWPM_NET_EVENT_TYPE as Record<string, number>)[name], value, name);
      assert.equal(enumValue(name), value, name);
      assert.equal(enumName("FWPM_NET_EVENT_TYPE", value), name, String(value));
    }
    // Later values come after CLASSIFY_DROP_MAC; MAX is past every type.
    const values = Object.values(FWPM_NET_EVENT_TYPE);
    assert.equal(new Set(values).size, values.length);
    assert.ok(FWPM_NET_EVENT_TYPE.FWPM_NET_EVENT_TYPE_MAX > 9);
    for (const v of values) assert.ok(v <= FWPM_NET_EVENT_TYPE.FWPM_NET_EVENT_TYPE_MAX);
  });

  test("H31: the events netEventFromClassify raises carry CLASSIFY_DROP (3) and CLASSIFY_ALLOW (6)", () => {
    const { bfe } = openTestBfe();
    bfe.openSession(ADMINISTRATOR).addFilter(blockPort(443));
    const header = { direction: "outbound", ipProtocol: 6, remoteAddr: Ipv4Address.parse("20.212.88.117") } as const;
    const classify = (port: number) =>
      bfe.engine.classify({
        layer: CONNECT_V4,
        incomingValues: incoming(CONNECT_V4, { [REMOTE_PORT]: fwpUint16(port) }),
      });
    const drop = netEventFromClassify(classify(443), header, 0n);
    const allow = netEventFromClassify(classify(80), header, 0n);
    assert.ok(drop !== null && allow !== null);
    assert.equal(enumValue(drop.type), 3);
    assert.equal(enumValue(allow.type), 6);
  });
});
