import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type IpAddress, Ipv4Address, Ipv6Address, parseIpAddress, SeededRng } from "../../base/index.ts";
import {
  ArpOperation,
  ArpView,
  EtherType,
  EthernetView,
  fillIcmpv6Checksum,
  formatMac,
  Ipv6View,
  parseIcmpv6,
  parseMac,
  verifyIcmpv6Checksum,
} from "../../wire/index.ts";
import { FaultInjector } from "../link/fault.ts";
import { ethernetFrame, tsharkFields, tsharkProblems, udpPacket } from "../link/link-fixtures.testing.ts";
import { PcapRecorder } from "../link/pcap-tap.ts";
import { PointToPointLink } from "../link/point-to-point.ts";
import { SharedSegment } from "../link/shared-segment.ts";
import type { Port } from "../link/port.ts";
import { ms, Scheduler, seconds } from "../sim/scheduler.ts";
import { arpFrame, neighborAdvertisementFrame, neighborSolicitationFrame } from "./resolution-frames.ts";
import { NeighborCache, type NeighborCacheOptions, type ResolveFailure } from "./neighbor.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-neighbor-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const MAC_A = "02:00:00:00:00:0a";
const MAC_B = "02:00:00:00:00:0b";
const ip = (text: string): IpAddress => parseIpAddress(text);

interface TestHost {
  readonly cache: NeighborCache;
  /** Frames the cache sent. */
  readonly sent: Uint8Array[];
  /** Frames `input` declined (to go up to IP). */
  readonly passedUp: Uint8Array[];
  readonly mac: Uint8Array;
}

function host(
  s: Scheduler,
  port: Port,
  mac: string,
  addresses: readonly string[],
  options: Partial<NeighborCacheOptions> = {},
): TestHost {
  const owned = addresses.map(ip);
  const sent: Uint8Array[] = [];
  const passedUp: Uint8Array[] = [];
  const cache = new NeighborCache({
    scheduler: s,
    mac: parseMac(mac)!,
    sendFrame: (f) => {
      sent.push(f);
      port.transmit(f);
    },
    ownsAddress: (a) => owned.some((o) => o.equals(a)),
    sourceAddress: (version) => owned.find((o) => o.version === version),
    ...options,
  });
  port.attach((f) => {
    if (!cache.input(f)) passedUp.push(f);
  });
  return { cache, sent, passedUp, mac: parseMac(mac)! };
}

/** Two hosts on a 1 ms cable; A may record to a pcapng file. */
function pair(options: Partial<NeighborCacheOptions> = {}, recordTo?: string) {
  const s = new Scheduler();
  const link = new PointToPointLink(s, { delayNs: ms(1) });
  const recorder = recordTo === undefined ? undefined : PcapRecorder.toFile(s, recordTo);
  const portA = recorder?.tap(link.a, "A eth0") ?? link.a;
  const a = host(s, portA, MAC_A, ["10.0.0.1", "fe80::a", "2001:db8::a"], options);
  const b = host(s, link.b, MAC_B, ["10.0.0.2", "fe80::b", "2001:db8::b"], options);
  return { s, link, a, b, recorder };
}

/** Resolves and records the outcome with the time it came. */
function resolveInto(s: Scheduler, cache: NeighborCache, target: string, packet?: Uint8Array) {
  const out: { mac?: string; failure?: ResolveFailure; atNs: bigint }[] = [];
  cache.resolve(
    ip(target),
    (mac, failure) =>
      out.push({
        atNs: s.nowNs(),
        ...(mac !== undefined ? { mac: formatMac(mac) } : {}),
        ...(failure !== undefined ? { failure } : {}),
      }),
    packet,
  );
  return out;
}

describe("NeighborCache: ARP (RFC 826)", () => {
  it("two caches on a link resolve each other; the answerer learns the asker", () => {
    const path = join(dir, "arp.pcapng");
    const { s, a, b, recorder } = pair({}, path);
    const got = resolveInto(s, a.cache, "10.0.0.2");
    assert.deepEqual(got, []);
    assert.equal(a.cache.state(ip("10.0.0.2")), "incomplete");
    s.run();
    assert.deepEqual(got, [{ mac: MAC_B, atNs: ms(2) }]);
    assert.equal(a.cache.state(ip("10.0.0.2")), "reachable");
    assert.equal(b.cache.state(ip("10.0.0.1")), "stale");
    assert.equal(formatMac(b.cache.lookup(ip("10.0.0.1"))!), MAC_A);
    assert.equal(a.cache.counters.arpRequestsSent, 1);
    assert.equal(b.cache.counters.arpRepliesSent, 1);
    assert.equal(b.cache.counters.learned, 1);

    // The request: broadcast, 60 bytes, sender 10.0.0.1 at A, target 10.0.0.2 with a zero hardware address.
    const request = a.sent[0]!;
    assert.equal(request.length, 60);
    const eth = EthernetView.check(request);
    assert.ok(eth.ok);
    assert.equal(formatMac(eth.value.dst), "ff:ff:ff:ff:ff:ff");
    assert.equal(eth.value.etherType, EtherType.Arp);
    const arp = ArpView.check(request, 14);
    assert.ok(arp.ok);
    assert.deepEqual(arp.value.toRepr(), {
      ok: true,
      value: {
        operation: ArpOperation.request,
        senderMac: MAC_A,
        senderIp: Ipv4Address.parse("10.0.0.1"),
        targetMac: "00:00:00:00:00:00",
        targetIp: Ipv4Address.parse("10.0.0.2"),
      },
    });

    // B now resolves A at once from what it learned (STALE → DELAY, RFC 4861 §7.3.3).
    const back = resolveInto(s, b.cache, "10.0.0.1");
    assert.deepEqual(back, [{ mac: MAC_A, atNs: ms(2) }]);
    assert.equal(b.cache.state(ip("10.0.0.1")), "delay");
    recorder!.close();

    assert.deepEqual(
      tsharkFields(path, ["eth.dst", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"]),
      [
        ["ff:ff:ff:ff:ff:ff", "1", MAC_A, "10.0.0.1", "10.0.0.2"],
        [MAC_A, "2", MAC_B, "10.0.0.2", "10.0.0.1"],
      ],
    );
    assert.equal(tsharkProblems(path), "");
  });

  it("answers at once, synchronously, when the MAC is known", () => {
    const { s, a } = pair();
    resolveInto(s, a.cache, "10.0.0.2");
    s.run();
    const sentBefore = a.sent.length;
    const got = resolveInto(s, a.cache, "10.0.0.2");
    assert.deepEqual(got, [{ mac: MAC_B, atNs: s.nowNs() }]);
    assert.equal(a.sent.length, sentBefore);
  });

  it("maps broadcast and multicast destinations without asking", () => {
    const { s, a } = pair();
    const cases: [string, string][] = [
      ["255.255.255.255", "ff:ff:ff:ff:ff:ff"],
      ["224.0.0.251", "01:00:5e:00:00:fb"],
      ["239.255.128.1", "01:00:5e:7f:80:01"],
      ["ff02::1", "33:33:00:00:00:01"],
      ["ff02::1:ff00:b", "33:33:ff:00:00:0b"],
    ];
    for (const [target, mac] of cases) assert.deepEqual(resolveInto(s, a.cache, target), [{ mac, atNs: 0n }]);
    assert.equal(a.sent.length, 0);
  });

  it("refuses next hops no neighbor can hold", () => {
    const { s, a } = pair();
    for (const target of ["0.0.0.0", "127.0.0.1", "::", "::1", "::ffff:10.0.0.2"]) {
      assert.deepEqual(resolveInto(s, a.cache, target), [{ failure: "invalidAddress", atNs: 0n }], target);
    }
    assert.equal(a.sent.length, 0);
  });

  it("fails after 3 requests 1 s apart, reporting every queued packet", () => {
    const failed: { nextHop: string; packets: readonly Uint8Array[]; atNs: bigint }[] = [];
    const { s, a } = pair({
      onResolutionFailed: (nextHop, packets) => failed.push({ nextHop: nextHop.toString(), packets, atNs: s.nowNs() }),
    });
    const packets = [1, 2, 3].map((n) => udpPacket("10.0.0.1", "10.0.0.99", Uint8Array.of(n)));
    const outcomes = packets.map((p) => resolveInto(s, a.cache, "10.0.0.99", p));
    s.run();
    for (const o of outcomes) assert.deepEqual(o, [{ failure: "unresolvable", atNs: seconds(3) }]);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.nextHop, "10.0.0.99");
    assert.equal(failed[0]!.atNs, seconds(3));
    assert.deepEqual(failed[0]!.packets, packets);
    assert.equal(a.cache.state(ip("10.0.0.99")), undefined);
    assert.equal(a.cache.counters.arpRequestsSent, 3);
    assert.equal(a.cache.counters.queued, 3);
    assert.equal(a.cache.counters.resolutionFailures, 1);
    assert.equal(a.cache.counters.unresolvedDrops, 3);
  });

  it("sends the retries at 0, 1 and 2 s", () => {
    const s = new Scheduler();
    const times: bigint[] = [];
    const cache = new NeighborCache({
      scheduler: s,
      mac: parseMac(MAC_A)!,
      sendFrame: () => times.push(s.nowNs()),
      ownsAddress: () => false,
      sourceAddress: () => Ipv4Address.parse("10.0.0.1"),
    });
    cache.resolve(ip("10.0.0.99"), () => {});
    s.run();
    assert.deepEqual(times, [0n, seconds(1), seconds(2)]);
  });

  it("bounds the queue per neighbor, dropping the oldest (RFC 4861 §7.2.2)", () => {
    const { s, a } = pair({ maxQueuedPerNeighbor: 2 });
    const outcomes = [1, 2, 3, 4].map(() => resolveInto(s, a.cache, "10.0.0.2"));
    assert.deepEqual(outcomes[0], [{ failure: "queueOverflow", atNs: 0n }]);
    assert.deepEqual(outcomes[1], [{ failure: "queueOverflow", atNs: 0n }]);
    s.run();
    assert.deepEqual(outcomes[2], [{ mac: MAC_B, atNs: ms(2) }]);
    assert.deepEqual(outcomes[3], [{ mac: MAC_B, atNs: ms(2) }]);
    assert.equal(a.cache.counters.queueDrops, 2);
    assert.equal(a.cache.counters.arpRequestsSent, 1);
  });

  it("asks from the waiting packet's source address when it is ours", () => {
    const { s, a } = pair();
    const s2 = Ipv4Address.parse("10.0.0.1");
    resolveInto(s, a.cache, "10.0.0.2", udpPacket("10.0.0.1", "10.0.0.2"));
    const arp = ArpView.check(a.sent[0]!, 14);
    assert.ok(arp.ok);
    assert.equal(arp.value.senderIpv4, s2.value);
    // A packet from an address that is not ours: the interface's choice instead.
    const c = new NeighborCache({
      scheduler: s,
      mac: parseMac(MAC_A)!,
      sendFrame: (f) => a.sent.push(f),
      ownsAddress: (x) => x.equals(ip("10.0.0.7")),
      sourceAddress: () => Ipv4Address.parse("10.0.0.7"),
    });
    c.resolve(ip("10.0.0.2"), () => {}, udpPacket("192.0.2.1", "10.0.0.2"));
    const arp2 = ArpView.check(a.sent.at(-1)!, 14);
    assert.ok(arp2.ok);
    assert.equal(new Ipv4Address(arp2.value.senderIpv4).toString(), "10.0.0.7");
  });

  it("fails at once with no source address of the family", () => {
    const { s, a } = pair({ sourceAddress: () => undefined });
    assert.deepEqual(resolveInto(s, a.cache, "10.0.0.2"), [{ failure: "noSourceAddress", atNs: 0n }]);
    assert.equal(a.sent.length, 0);
  });
});

describe("NeighborCache on a shared segment", () => {
  it("three hosts on a switch: a bystander sees the broadcast request, answers nothing, learns nothing", () => {
    const s = new Scheduler();
    const lan = new SharedSegment(s, { delayNs: ms(1) });
    const a = host(s, lan.port(), MAC_A, ["10.0.0.1", "fe80::a"]);
    const b = host(s, lan.port(), MAC_B, ["10.0.0.2", "fe80::b"]);
    const c = host(s, lan.port(), "02:00:00:00:00:0c", ["10.0.0.3", "fe80::c"]);
    const v4 = resolveInto(s, a.cache, "10.0.0.2");
    const v6 = resolveInto(s, a.cache, "fe80::b");
    s.run();
    assert.deepEqual(v4, [{ mac: MAC_B, atNs: ms(2) }]);
    assert.deepEqual(v6, [{ mac: MAC_B, atNs: ms(2) }]);
    assert.equal(c.sent.length, 0);
    assert.equal(c.cache.entries().length, 0);
    // The ARP broadcast and the NS (a multicast the switch floods) both reached C and were not for it.
    assert.equal(c.cache.counters.notForUs, 2);
    // The replies were unicast: the switch had learned A's port from the requests.
    assert.equal(lan.counters.framesForwarded, 2);
    assert.equal(b.cache.entries().length, 2);
  });
});

describe("NeighborCache: reachability (RFC 4861 §7.3)", () => {
  it("REACHABLE lasts 30 s; a STALE entry in use waits 5 s in DELAY, then PROBEs with unicast requests", () => {
    const { s, a } = pair();
    resolveInto(s, a.cache, "10.0.0.2");
    s.run();
    assert.equal(a.cache.state(ip("10.0.0.2")), "reachable");
    s.runFor(seconds(30));
    assert.equal(a.cache.state(ip("10.0.0.2")), "stale");
    const sentBefore = a.sent.length;
    assert.deepEqual(resolveInto(s, a.cache, "10.0.0.2"), [{ mac: MAC_B, atNs: s.nowNs() }]);
    assert.equal(a.cache.state(ip("10.0.0.2")), "delay");
    s.runFor(seconds(5));
    assert.equal(a.cache.state(ip("10.0.0.2")), "probe");
    s.run();
    assert.equal(a.cache.state(ip("10.0.0.2")), "reachable");
    const probe = a.sent[sentBefore]!;
    assert.equal(a.sent.length, sentBefore + 1);
    // The probe goes to the cached MAC, not to broadcast.
    assert.equal(formatMac(probe.subarray(0, 6)), MAC_B);
    const probeArp = ArpView.check(probe, 14);
    assert.ok(probeArp.ok);
    assert.equal(probeArp.value.operation, ArpOperation.request);
  });

  it("an upper-layer confirmation in DELAY avoids the probe", () => {
    const { s, a } = pair();
    resolveInto(s, a.cache, "10.0.0.2");
    s.run();
    s.runFor(seconds(31));
    resolveInto(s, a.cache, "10.0.0.2");
    const sentBefore = a.sent.length;
    a.cache.confirmReachable(ip("10.0.0.2"));
    s.runFor(seconds(10));
    assert.equal(a.cache.state(ip("10.0.0.2")), "reachable");
    assert.equal(a.sent.length, sentBefore);
  });

  it("deletes an entry whose unicast probes go unanswered; the next packet resolves afresh", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s, { delayNs: ms(1) });
    const cut = new FaultInjector(s, link.b, { rng: new SeededRng(1) });
    const a = host(s, link.a, MAC_A, ["10.0.0.1"]);
    host(s, cut, MAC_B, ["10.0.0.2"]);
    resolveInto(s, a.cache, "10.0.0.2");
    s.run();
    cut.configure("inbound", { loss: 1 });
    s.runFor(seconds(31));
    resolveInto(s, a.cache, "10.0.0.2");
    s.run();
    assert.equal(a.cache.state(ip("10.0.0.2")), undefined);
    assert.equal(a.cache.counters.arpRequestsSent, 1 + 3);
    const again = resolveInto(s, a.cache, "10.0.0.2");
    s.run();
    assert.equal(again[0]?.failure, "unresolvable");
  });

  it("keeps permanent entries whatever arrives", () => {
    const { s, a, b } = pair();
    a.cache.setPermanent(ip("10.0.0.2"), parseMac("02:00:00:00:00:99")!);
    assert.deepEqual(resolveInto(s, a.cache, "10.0.0.2"), [{ mac: "02:00:00:00:00:99", atNs: 0n }]);
    resolveInto(s, b.cache, "10.0.0.1");
    s.run();
    assert.equal(a.cache.state(ip("10.0.0.2")), "permanent");
    assert.equal(formatMac(a.cache.lookup(ip("10.0.0.2"))!), "02:00:00:00:00:99");
    assert.equal(a.cache.counters.arpRequestsSent, 0);
  });

  it("makes room by evicting the oldest STALE entry; refuses when none may go", () => {
    const { s, a } = pair({ maxEntries: 2 });
    const request = (from: string, fromMac: string) =>
      arpFrame({
        operation: ArpOperation.request,
        ethernetDst: parseMac("ff:ff:ff:ff:ff:ff")!,
        senderMac: parseMac(fromMac)!,
        senderIp: Ipv4Address.parse(from),
        targetMac: new Uint8Array(6),
        targetIp: Ipv4Address.parse("10.0.0.1"),
      });
    a.cache.input(request("10.0.0.5", "02:00:00:00:00:05"));
    a.cache.input(request("10.0.0.6", "02:00:00:00:00:06"));
    a.cache.input(request("10.0.0.7", "02:00:00:00:00:07"));
    assert.deepEqual(
      a.cache.entries().map((e) => [e.address.toString(), e.state]),
      [
        ["10.0.0.6", "stale"],
        ["10.0.0.7", "stale"],
      ],
    );
    const x = resolveInto(s, a.cache, "10.0.0.8");
    const y = resolveInto(s, a.cache, "10.0.0.9");
    assert.deepEqual(x, []);
    assert.deepEqual(y, []);
    assert.deepEqual(resolveInto(s, a.cache, "10.0.0.10"), [{ failure: "tableFull", atNs: 0n }]);
  });
});

describe("NeighborCache: IPv6 Neighbor Discovery (RFC 4861)", () => {
  it("two caches resolve each other with NS to the solicited-node address and a solicited NA", () => {
    const path = join(dir, "nd.pcapng");
    const { s, a, b, recorder } = pair({}, path);
    const got = resolveInto(s, a.cache, "fe80::b");
    s.run();
    assert.deepEqual(got, [{ mac: MAC_B, atNs: ms(2) }]);
    assert.equal(a.cache.state(ip("fe80::b")), "reachable");
    assert.equal(b.cache.state(ip("fe80::a")), "stale");
    assert.deepEqual(resolveInto(s, b.cache, "fe80::a"), [{ mac: MAC_A, atNs: ms(2) }]);

    const ns = a.sent[0]!;
    assert.equal(formatMac(ns.subarray(0, 6)), "33:33:ff:00:00:0b");
    const ip6 = Ipv6View.check(ns, 14);
    assert.ok(ip6.ok);
    assert.equal(ip6.value.hopLimit, 255);
    const src = Ipv6Address.fromBytes(ns, 22);
    const dst = Ipv6Address.fromBytes(ns, 38);
    assert.equal(src.toString(), "fe80::a");
    assert.equal(dst.toString(), "ff02::1:ff00:b");
    assert.ok(verifyIcmpv6Checksum(ns, 54, ns.length, { version: 6, src, dst }));
    const nsRepr = parseIcmpv6(ns, 54);
    assert.ok(nsRepr.ok && nsRepr.value.kind === "neighborSolicitation");
    assert.equal(nsRepr.value.target.toString(), "fe80::b");
    assert.deepEqual(nsRepr.value.options, [{ kind: "sourceLinkLayerAddress", address: MAC_A }]);

    const na = b.sent[0]!;
    assert.equal(formatMac(na.subarray(0, 6)), MAC_A);
    const naRepr = parseIcmpv6(na, 54);
    assert.ok(naRepr.ok && naRepr.value.kind === "neighborAdvertisement");
    assert.deepEqual(
      [naRepr.value.solicited, naRepr.value.override, naRepr.value.router, naRepr.value.target.toString()],
      [true, true, false, "fe80::b"],
    );
    assert.deepEqual(naRepr.value.options, [{ kind: "targetLinkLayerAddress", address: MAC_B }]);
    recorder!.close();

    assert.deepEqual(
      tsharkFields(path, [
        "eth.dst",
        "ipv6.hlim",
        "ipv6.dst",
        "icmpv6.type",
        "icmpv6.checksum.status",
        "icmpv6.nd.ns.target_address",
        "icmpv6.nd.na.target_address",
        "icmpv6.nd.na.flag.s",
        "icmpv6.nd.na.flag.o",
        "icmpv6.opt.linkaddr",
      ]),
      [
        ["33:33:ff:00:00:0b", "255", "ff02::1:ff00:b", "135", "1", "fe80::b", "", "", "", MAC_A],
        [MAC_A, "255", "fe80::a", "136", "1", "", "fe80::b", "1", "1", MAC_B],
      ],
    );
    assert.equal(tsharkProblems(path), "");
  });

  it("resolves global addresses too, and fails an unanswered one after 3 solicitations", () => {
    const { s, a } = pair();
    const ok = resolveInto(s, a.cache, "2001:db8::b");
    const gone = resolveInto(s, a.cache, "2001:db8::99");
    s.run();
    assert.deepEqual(ok, [{ mac: MAC_B, atNs: ms(2) }]);
    assert.deepEqual(gone, [{ failure: "unresolvable", atNs: seconds(3) }]);
    assert.equal(a.cache.counters.solicitationsSent, 4);
  });

  it("answers a duplicate address detection probe (source ::) with an NA to all nodes, Solicited clear", () => {
    const { a } = pair();
    const probe = neighborSolicitationFrame({
      srcMac: parseMac(MAC_B)!,
      src: Ipv6Address.ANY,
      target: Ipv6Address.parse("fe80::a"),
    });
    // A DAD probe carries no source link-layer address option: strip it (8 bytes) and fix the lengths.
    const dad = stripLastOption(probe);
    assert.equal(a.cache.input(dad), true);
    const na = a.sent.at(-1)!;
    assert.equal(formatMac(na.subarray(0, 6)), "33:33:00:00:00:01");
    const repr = parseIcmpv6(na, 54);
    assert.ok(repr.ok && repr.value.kind === "neighborAdvertisement");
    assert.equal(repr.value.solicited, false);
    assert.equal(Ipv6Address.fromBytes(na, 38).toString(), "ff02::1");
    assert.equal(a.cache.entries().length, 0);
  });

  it("an NA without Override does not replace a cached MAC; it makes a REACHABLE entry STALE", () => {
    const { s, a } = pair();
    resolveInto(s, a.cache, "fe80::b");
    s.run();
    const na = (override: boolean, mac: string) =>
      neighborAdvertisementFrame({
        srcMac: parseMac(mac)!,
        dstMac: a.mac,
        target: Ipv6Address.parse("fe80::b"),
        dst: Ipv6Address.parse("fe80::a"),
        solicited: false,
        override,
        router: false,
      });
    a.cache.input(na(false, "02:00:00:00:00:77"));
    assert.equal(formatMac(a.cache.lookup(ip("fe80::b"))!), MAC_B);
    assert.equal(a.cache.state(ip("fe80::b")), "stale");
    a.cache.input(na(true, "02:00:00:00:00:77"));
    assert.equal(formatMac(a.cache.lookup(ip("fe80::b"))!), "02:00:00:00:00:77");
    assert.equal(a.cache.state(ip("fe80::b")), "stale");
  });

  it("leaves every other frame to the IP layer", () => {
    const { a } = pair();
    const udp6 = ethernetFrame(MAC_B, MAC_A, udpPacket("fe80::b", "fe80::a"));
    const udp4 = ethernetFrame(MAC_B, MAC_A, udpPacket("10.0.0.2", "10.0.0.1"));
    assert.equal(a.cache.input(udp6), false);
    assert.equal(a.cache.input(udp4), false);
    assert.equal(a.cache.input(udp6.subarray(0, 10)), false);
    assert.equal(a.cache.counters.ndIn + a.cache.counters.arpIn, 0);
  });
});

describe("NeighborCache: hostile input is dropped and counted", () => {
  const broadcast = parseMac("ff:ff:ff:ff:ff:ff")!;
  const zero = new Uint8Array(6);
  const arp = (fields: Partial<Parameters<typeof arpFrame>[0]> = {}) =>
    arpFrame({
      operation: ArpOperation.request,
      ethernetDst: broadcast,
      senderMac: parseMac(MAC_B)!,
      senderIp: Ipv4Address.parse("10.0.0.2"),
      targetMac: zero,
      targetIp: Ipv4Address.parse("10.0.0.1"),
      ...fields,
    });

  it("a truncated ARP message", () => {
    const { a } = pair();
    for (const cut of [14, 20, 41]) assert.equal(a.cache.input(arp().subarray(0, cut)), true);
    assert.equal(a.cache.counters.malformed, 3);
    assert.equal(a.sent.length, 0);
    assert.equal(a.cache.entries().length, 0);
  });

  it("an ARP request for an address that is not ours: no reply, nothing learned", () => {
    const { a } = pair();
    a.cache.input(arp({ targetIp: Ipv4Address.parse("10.0.0.3") }));
    assert.equal(a.cache.counters.notForUs, 1);
    assert.equal(a.sent.length, 0);
    assert.equal(a.cache.entries().length, 0);
  });

  it("ARP that is not Ethernet/IPv4, has an unknown operation, a group sender, or claims our address", () => {
    const { a } = pair();
    const notIpv4 = arp();
    notIpv4[16] = 0x86;
    notIpv4[17] = 0xdd;
    a.cache.input(notIpv4);
    a.cache.input(arp({ operation: ArpOperation.reverseRequest }));
    a.cache.input(arp({ senderMac: broadcast }));
    a.cache.input(arp({ senderMac: a.mac }));
    assert.equal(a.cache.counters.invalid, 4);
    a.cache.input(arp({ senderIp: Ipv4Address.parse("10.0.0.1") }));
    assert.equal(a.cache.counters.conflicts, 1);
    assert.equal(a.sent.length, 0);
    assert.equal(a.cache.entries().length, 0);
  });

  it("an ARP probe (sender 0.0.0.0) for our address is answered, but nothing is learned", () => {
    const { a } = pair();
    a.cache.input(arp({ senderIp: Ipv4Address.ANY }));
    assert.equal(a.cache.counters.arpRepliesSent, 1);
    assert.equal(a.cache.entries().length, 0);
  });

  it("an NA with a bad checksum leaves the entry INCOMPLETE", () => {
    const { a } = pair();
    a.cache.resolve(ip("fe80::b"), () => {});
    const na = neighborAdvertisementFrame({
      srcMac: parseMac(MAC_B)!,
      dstMac: a.mac,
      target: Ipv6Address.parse("fe80::b"),
      dst: Ipv6Address.parse("fe80::a"),
      solicited: true,
      override: true,
      router: false,
    });
    na[56] = (na[56] as number) ^ 0x01; // the checksum's high byte
    assert.equal(a.cache.input(na), true);
    assert.equal(a.cache.counters.badChecksum, 1);
    assert.equal(a.cache.state(ip("fe80::b")), "incomplete");
  });

  it("NS/NA with a hop limit other than 255, a nonzero code, a multicast target, or cut short", () => {
    const { a } = pair();
    a.cache.resolve(ip("fe80::b"), () => {});
    const ns = () =>
      neighborSolicitationFrame({
        srcMac: parseMac(MAC_B)!,
        src: Ipv6Address.parse("fe80::b"),
        target: Ipv6Address.parse("fe80::a"),
      });
    const hop = ns();
    hop[21] = 64;
    a.cache.input(hop);
    const code = ns();
    code[55] = 1;
    fixChecksum(code);
    a.cache.input(code);
    const multicastTarget = neighborSolicitationFrame({
      srcMac: parseMac(MAC_B)!,
      src: Ipv6Address.parse("fe80::b"),
      target: Ipv6Address.parse("ff02::1"),
    });
    a.cache.input(multicastTarget);
    assert.equal(a.cache.counters.invalid, 3);
    const short = ns().subarray(0, 60);
    a.cache.input(short);
    assert.equal(a.cache.counters.malformed, 1);
    assert.equal(a.cache.counters.advertisementsSent, 0);
  });

  it("an NS for someone else's address, and an NA nobody asked for", () => {
    const { a } = pair();
    a.cache.input(
      neighborSolicitationFrame({
        srcMac: parseMac(MAC_B)!,
        src: Ipv6Address.parse("fe80::b"),
        target: Ipv6Address.parse("fe80::c"),
      }),
    );
    assert.equal(a.cache.counters.notForUs, 1);
    a.cache.input(
      neighborAdvertisementFrame({
        srcMac: parseMac(MAC_B)!,
        dstMac: a.mac,
        target: Ipv6Address.parse("fe80::b"),
        dst: Ipv6Address.parse("fe80::a"),
        solicited: true,
        override: true,
        router: false,
      }),
    );
    assert.equal(a.cache.counters.unsolicited, 1);
    assert.equal(a.cache.entries().length, 0);
    assert.equal(a.sent.length, 0);
  });

  it("a flood of seeded random garbage is never an exception", () => {
    const { a } = pair();
    const rng = new SeededRng(99);
    const seeds = [
      arp(),
      neighborSolicitationFrame({
        srcMac: parseMac(MAC_B)!,
        src: Ipv6Address.parse("fe80::b"),
        target: Ipv6Address.parse("fe80::a"),
      }),
    ];
    for (let i = 0; i < 5000; i++) {
      const f = rng.pick(seeds).slice(0, 14 + rng.nextInt(80));
      for (let k = 0; k < 3; k++) {
        const at = 14 + rng.nextInt(Math.max(1, f.length - 14));
        if (at < f.length) f[at] = rng.nextU32() & 0xff;
      }
      a.cache.input(f);
    }
    const c = a.cache.counters;
    assert.equal(c.arpIn + c.ndIn > 0, true);
  });
});

/** Removes the last 8-byte ND option of an NS frame and recomputes lengths and checksum. */
function stripLastOption(frame: Uint8Array): Uint8Array {
  const out = frame.slice(0, frame.length - 8);
  const payload = out.length - 54;
  out[18] = payload >>> 8;
  out[19] = payload & 0xff;
  fixChecksum(out);
  return out;
}

/** Recomputes the ICMPv6 checksum of the IPv6 packet at offset 14 (after an edit). */
function fixChecksum(frame: Uint8Array): void {
  const src = Ipv6Address.fromBytes(frame, 22);
  const dst = Ipv6Address.fromBytes(frame, 38);
  fillIcmpv6Checksum(frame, 54, frame.length, { version: 6, src, dst });
}
