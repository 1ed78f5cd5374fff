import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Guid, Ipv4Address, Ipv6Address } from "../../base/index.ts";
import { isFwpError } from "../../fwp/index.ts";
import { filetimeFromEpochNs } from "./filetime.ts";
import { netEventHeader } from "./from-classify.ts";
import {
  KEYWORD_CAPABILITY_DROP,
  KEYWORD_CLASSIFY_ALLOW,
  KEYWORD_INBOUND_BCAST,
  KEYWORD_INBOUND_MCAST,
  NetEventLog,
} from "./log.ts";
import type { NetEvent, NetEventCast, NetEventHeaderInput } from "./types.ts";

const SUBLAYER = "00000000-0000-4000-8000-000000000001" as Guid;

function drop(
  seconds: number,
  input: Partial<NetEventHeaderInput> = {},
  direction: "inbound" | "outbound" = "outbound",
  cast?: NetEventCast,
): NetEvent {
  const header = netEventHeader({ direction, ...input }, BigInt(seconds) * 1_000_000_000n, "V4");
  return {
    type: "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP",
    header,
    direction,
    cast: direction === "inbound" ? (cast ?? "unicast") : undefined,
    classifyDrop: {
      filterId: BigInt(seconds),
      layerId: 48,
      reauthReason: 0,
      originalProfile: 0,
      currentProfile: 0,
      msFwpDirection: direction === "inbound" ? "MS_FWP_DIRECTION_IN" : "MS_FWP_DIRECTION_OUT",
      isLoopback: false,
      vSwitchId: undefined,
      vSwitchSourcePort: 0,
      vSwitchDestinationPort: 0,
      vetoed: false,
    },
    internalFields: {
      terminatingFiltersInfo: [{ filterId: BigInt(seconds), subLayer: SUBLAYER, actionType: "FWP_ACTION_BLOCK" }],
    },
  };
}

function allow(seconds: number): NetEvent {
  const d = drop(seconds);
  if (d.type !== "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP") throw new Error("unreachable");
  const { vSwitchId: _a, vSwitchSourcePort: _b, vSwitchDestinationPort: _c, vetoed: _d, ...rest } = d.classifyDrop;
  return {
    type: "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW",
    header: d.header,
    direction: "outbound",
    cast: undefined,
    classifyAllow: rest,
    internalFields: d.internalFields,
  };
}

function filterIds(events: readonly NetEvent[]): bigint[] {
  return events.map((e) => (e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP" ? e.classifyDrop.filterId : -1n));
}

describe("NetEventLog ring (H33)", () => {
  test("keeps the newest `capacity` events, oldest first, and counts what it overwrote", () => {
    const log = new NetEventLog({ capacity: 3 });
    for (let i = 1; i <= 5; i++) log.record(drop(i));
    assert.equal(log.size, 3);
    assert.equal(log.overflowCount, 2);
    assert.deepEqual(filterIds(log.enumerate()), [3n, 4n, 5n]);
  });

  test("memory is fixed by the capacity, whatever the event rate", () => {
    const log = new NetEventLog({ capacity: 8 });
    for (let i = 0; i < 10_000; i++) log.record(drop(i));
    assert.equal(log.size, 8);
    assert.equal(log.overflowCount, 10_000 - 8);
    assert.deepEqual(filterIds(log.enumerate()), [9992n, 9993n, 9994n, 9995n, 9996n, 9997n, 9998n, 9999n]);
  });

  test("a capacity that is not a positive integer within bounds is refused", () => {
    for (const capacity of [0, -1, 1.5, 2 ** 21]) {
      assert.throws(
        () => new NetEventLog({ capacity }),
        (e) => isFwpError(e, "FWP_E_OUT_OF_BOUNDS"),
      );
    }
  });

  test("enumeration is a snapshot: events recorded later do not appear in it", () => {
    const log = new NetEventLog();
    log.record(drop(1));
    const snapshot = log.enumerate();
    log.record(drop(2));
    assert.equal(snapshot.length, 1);
    assert.equal(log.enumerate().length, 2);
  });

  test("clear empties the ring (a reboot) and keeps the counters", () => {
    const log = new NetEventLog({ capacity: 1 });
    log.record(drop(1));
    log.record(drop(2));
    log.clear();
    assert.equal(log.size, 0);
    assert.equal(log.overflowCount, 1);
    assert.deepEqual(log.enumerate(), []);
  });
});

describe("NetEventLog collection switch and keywords (H32, H33)", () => {
  test("by default outbound drops and inbound unicast drops are logged", () => {
    const log = new NetEventLog();
    assert.equal(log.record(drop(1)), "recorded");
    assert.equal(log.record(drop(2, {}, "inbound", "unicast")), "recorded");
    assert.equal(log.size, 2);
  });

  test("inbound multicast and broadcast drops need INBOUND_MCAST / INBOUND_BCAST", () => {
    const log = new NetEventLog();
    assert.equal(log.record(drop(1, {}, "inbound", "multicast")), "keyword");
    assert.equal(log.record(drop(2, {}, "inbound", "broadcast")), "keyword");
    assert.equal(log.filteredCount, 2);
    log.keywords = KEYWORD_INBOUND_MCAST;
    assert.equal(log.record(drop(3, {}, "inbound", "multicast")), "recorded");
    assert.equal(log.record(drop(4, {}, "inbound", "broadcast")), "keyword");
    log.keywords = KEYWORD_INBOUND_BCAST;
    assert.equal(log.record(drop(5, {}, "inbound", "broadcast")), "recorded");
    assert.deepEqual(filterIds(log.enumerate()), [3n, 5n]);
  });

  test("CLASSIFY_ALLOW events need the CLASSIFY_ALLOW keyword (netsh keywords=19 = MCAST|BCAST|CLASSIFY_ALLOW)", () => {
    const log = new NetEventLog();
    assert.equal(log.record(allow(1)), "keyword");
    log.keywords = KEYWORD_CAPABILITY_DROP;
    assert.equal(log.record(allow(2)), "keyword");
    log.keywords = 19;
    assert.equal(log.keywords & KEYWORD_CLASSIFY_ALLOW, KEYWORD_CLASSIFY_ALLOW);
    assert.equal(log.record(allow(3)), "recorded");
    assert.equal(log.enumerate()[0]?.type, "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW");
  });

  test("a keyword mask that is not a UINT32 is refused", () => {
    const log = new NetEventLog();
    assert.throws(
      () => {
        log.keywords = -1;
      },
      (e) => isFwpError(e, "FWP_E_OUT_OF_BOUNDS"),
    );
  });

  test("while collection is off nothing is recorded and enumeration fails with FWP_E_NET_EVENTS_DISABLED; the old log comes back", () => {
    const log = new NetEventLog();
    log.record(drop(1));
    log.enabled = false;
    assert.equal(log.record(drop(2)), "disabled");
    assert.throws(
      () => log.enumerate(),
      (e) => isFwpError(e, "FWP_E_NET_EVENTS_DISABLED"),
    );
    log.enabled = true;
    assert.deepEqual(filterIds(log.enumerate()), [1n]);
  });

  test("collection can start disabled", () => {
    const log = new NetEventLog({ enabled: false });
    assert.equal(log.enabled, false);
    assert.throws(
      () => log.enumerate(),
      (e) => isFwpError(e, "FWP_E_NET_EVENTS_DISABLED"),
    );
  });
});

describe("NetEventLog subscriptions (H38)", () => {
  test("a subscriber gets new events matching its template, in order, until it unsubscribes", () => {
    const log = new NetEventLog();
    log.record(drop(1, { ipProtocol: 6 }));
    const seen: bigint[] = [];
    const sub = log.subscribe(
      {
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_IP_PROTOCOL",
            matchType: "FWP_MATCH_EQUAL",
            conditionValue: { type: "FWP_UINT8", value: 6 },
          },
        ],
      },
      (e) => seen.push(...filterIds([e])),
    );
    log.record(drop(2, { ipProtocol: 6 }));
    log.record(drop(3, { ipProtocol: 17 }));
    log.record(drop(4, { ipProtocol: 6 }));
    sub.unsubscribe();
    log.record(drop(5, { ipProtocol: 6 }));
    assert.deepEqual(seen, [2n, 4n]);
    assert.equal(log.subscriptionCount, 0);
  });

  test("events filtered out by keywords are not delivered; a throwing subscriber does not stop logging", () => {
    const log = new NetEventLog();
    let calls = 0;
    log.subscribe(undefined, () => {
      calls++;
      throw new Error("subscriber bug");
    });
    log.record(drop(1, {}, "inbound", "multicast"));
    log.record(drop(2));
    assert.equal(calls, 1);
    assert.equal(log.subscriberErrorCount, 1);
    assert.equal(log.size, 1);
  });

  test("subscribing with an invalid template fails", () => {
    const log = new NetEventLog();
    assert.throws(
      () => log.subscribe({ startTime: 2n, endTime: 1n }, () => {}),
      (e) => isFwpError(e, "FWP_E_INVALID_INTERVAL"),
    );
  });
});

describe("NetEventLog enumeration templates (H37)", () => {
  const v6 = Ipv6Address.parse("2001:db8::1");
  const log = new NetEventLog();
  log.record(drop(10, { ipProtocol: 6, remoteAddr: Ipv4Address.parse("10.1.2.3"), remotePort: 443 }));
  log.record(drop(20, { ipProtocol: 17, remoteAddr: Ipv4Address.parse("192.168.1.9"), remotePort: 53 }));
  log.record(drop(30, { ipProtocol: 6, remoteAddr: v6, remotePort: 80 }));

  test("the time window is inclusive on both ends (FILETIME)", () => {
    const got = log.enumerate({
      startTime: filetimeFromEpochNs(20_000_000_000n),
      endTime: filetimeFromEpochNs(30_000_000_000n),
    });
    assert.deepEqual(filterIds(got), [20n, 30n]);
  });

  test("conditions are AND-ed", () => {
    const got = log.enumerate({
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_IP_PROTOCOL",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_UINT8", value: 6 },
        },
        {
          fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT",
          matchType: "FWP_MATCH_GREATER_OR_EQUAL",
          conditionValue: { type: "FWP_UINT16", value: 100 },
        },
      ],
    });
    assert.deepEqual(filterIds(got), [10n]);
  });

  test("address conditions match v4 masks and v6 prefixes", () => {
    const v4 = log.enumerate({
      conditions: [
        {
          fieldKey: "b235ae9a-1d64-49b8-a44c-5ff3d9095045",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_V4_ADDR_MASK", addr: 0x0a000000, mask: 0xff000000 },
        },
      ],
    });
    assert.deepEqual(filterIds(v4), [10n]);
    const six = log.enumerate({
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_IP_REMOTE_ADDRESS",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_V6_ADDR_MASK", addr: Ipv6Address.parse("2001:db8::").bytes, prefixLength: 32 },
        },
      ],
    });
    assert.deepEqual(filterIds(six), [30n]);
  });

  test("a field the event does not carry matches nothing (FWP_EMPTY)", () => {
    const got = log.enumerate({
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_IP_LOCAL_PORT",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_UINT16", value: 1 },
        },
      ],
    });
    assert.deepEqual(got, []);
  });

  test("NET_EVENT_TYPE selects by event type", () => {
    const got = log.enumerate({
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_NET_EVENT_TYPE",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_UINT32", value: 6 },
        },
      ],
    });
    assert.deepEqual(got, []);
    assert.equal(
      log.enumerate({
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_NET_EVENT_TYPE",
            matchType: "FWP_MATCH_EQUAL",
            conditionValue: { type: "FWP_UINT32", value: 3 },
          },
        ],
      }).length,
      3,
    );
  });
});
