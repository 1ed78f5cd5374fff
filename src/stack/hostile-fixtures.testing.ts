/**
 * Test support for hostile input: a LAN with an honest client, a victim server and an attacker
 * ("mallory") that puts hand-built bytes on the wire through its NIC; packet builders over the wire
 * emitters (any field, any checksum, fragments of either IP version); a check that honest TCP and UDP
 * traffic between client and server still works; and a check that the server's memory-holding structures
 * stay within their bounds.
 */
import assert from "node:assert/strict";
import { type IpAddress, Ipv4Address, Ipv6Address } from "../base/index.ts";
import {
  EtherType,
  emitIpv4Header,
  emitIpv6Header,
  type Icmpv4EmitRepr,
  type Icmpv6EmitRepr,
  type Ipv6ExtensionRepr,
  ipv6ExtensionType,
  ipv6HeaderLength,
  TCP_ACK,
  type TcpRepr,
} from "../wire/index.ts";
import { buildIcmpv4, buildIcmpv6, buildTcp, buildUdp } from "./build.ts";
import type { HostOptions } from "./host.ts";
import { addr, lan, type TestHost, type TestNet } from "./net-fixtures.testing.ts";
import { seconds } from "./sim/scheduler.ts";
import { pattern, sameBytes, tcpExchange, udpEcho } from "./traffic.testing.ts";

export const CLIENT4 = "10.0.0.1";
export const SERVER4 = "10.0.0.2";
export const MALLORY4 = "10.0.0.66";
export const CLIENT6 = "fd00::1";
export const SERVER6 = "fd00::2";
export const MALLORY6 = "fd00::66";

export interface Arena {
  readonly t: TestNet;
  readonly client: TestHost;
  readonly server: TestHost;
  readonly mallory: TestHost;
}

function named(t: TestNet, name: string): TestHost {
  const h = t.hosts[name];
  assert.ok(h !== undefined, `no host ${name}`);
  return h;
}

/** Client, server and mallory on one switched segment (10.0.0.0/16, fd00::/64), static neighbours. */
export function arena(serverOptions: HostOptions = {}): Arena {
  const t = lan([
    { name: "client", addresses: [`${CLIENT4}/16`, `${CLIENT6}/64`] },
    { name: "server", addresses: [`${SERVER4}/16`, `${SERVER6}/64`], options: serverOptions },
    { name: "mallory", addresses: [`${MALLORY4}/16`, `${MALLORY6}/64`] },
  ]);
  return { t, client: named(t, "client"), server: named(t, "server"), mallory: named(t, "mallory") };
}

/** Mallory sends `packet` (IPv4 or IPv6, by its version nibble) to the server's MAC, now. */
export function inject(a: Arena, packet: Uint8Array, to: TestHost = a.server): void {
  const etherType = (packet[0] ?? 0) >>> 4 === 6 ? EtherType.Ipv6 : EtherType.Ipv4;
  a.mallory.host.transmit(a.mallory.nic, to.nic.mac, etherType, packet);
}

export interface Ipv4Spec {
  readonly id?: number;
  readonly more?: boolean;
  /** Fragment offset in bytes. */
  readonly offset?: number;
  readonly ttl?: number;
  readonly dontFragment?: boolean;
}

/** An IPv4 packet with a correct header checksum (unless the caller breaks it afterwards). */
export function ipv4(src: string, dst: string, protocol: number, payload: Uint8Array, o: Ipv4Spec = {}): Uint8Array {
  const out = new Uint8Array(20 + payload.length);
  emitIpv4Header(
    {
      src: Ipv4Address.parse(src),
      dst: Ipv4Address.parse(dst),
      protocol,
      ttl: o.ttl ?? 64,
      identification: o.id ?? 0x4242,
      dscp: 0,
      ecn: 0,
      dontFragment: o.dontFragment ?? false,
      moreFragments: o.more ?? false,
      fragmentOffset: o.offset ?? 0,
      options: [],
      payloadLength: payload.length,
      checksum: 0,
    },
    out,
    0,
  );
  out.set(payload, 20);
  return out;
}

/** An IPv6 packet; with `fragment`, a Fragment header carries `payload` as that fragment. */
export function ipv6(
  src: string,
  dst: string,
  upperProtocol: number,
  payload: Uint8Array,
  fragment?: { readonly offset: number; readonly more: boolean; readonly id: number },
): Uint8Array {
  const extensions: Ipv6ExtensionRepr[] =
    fragment === undefined
      ? []
      : [
          {
            kind: "fragment",
            fragmentOffset: fragment.offset,
            moreFragments: fragment.more,
            identification: fragment.id,
          },
        ];
  const first = extensions[0];
  const probe = {
    src: Ipv6Address.parse(src),
    dst: Ipv6Address.parse(dst),
    trafficClass: 0,
    flowLabel: 0,
    hopLimit: 64,
    nextHeader: first === undefined ? upperProtocol : ipv6ExtensionType(first),
    payloadLength: 0,
    extensions,
    upperProtocol,
  };
  const headerLength = ipv6HeaderLength(probe);
  const out = new Uint8Array(headerLength + payload.length);
  emitIpv6Header({ ...probe, payloadLength: headerLength - 40 + payload.length }, out, 0);
  out.set(payload, headerLength);
  return out;
}

/** An IP packet of the version of `src` (no fragmentation). */
export function ip(src: string, dst: string, protocol: number, payload: Uint8Array): Uint8Array {
  return src.includes(":") ? ipv6(src, dst, protocol, payload) : ipv4(src, dst, protocol, payload);
}

/** A TCP segment (header + payload) with a correct checksum. */
export function tcp(src: string, dst: string, over: Partial<TcpRepr>, payload = new Uint8Array(0)): Uint8Array {
  const repr: TcpRepr = {
    srcPort: 40000,
    dstPort: 80,
    seq: 1000,
    ack: 0,
    flags: TCP_ACK,
    window: 8192,
    urgentPointer: 0,
    options: [],
    checksum: 0,
    payloadLength: payload.length,
    ...over,
  };
  return buildTcp(addr(src), addr(dst), repr, payload);
}

/** A UDP datagram (header + payload) with a correct checksum. */
export function udp(src: string, dst: string, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  return buildUdp(addr(src), addr(dst), srcPort, dstPort, payload);
}

/**
 * An ICMP error about `quoted` (the offending packet's first bytes): destination unreachable with `code`
 * (IPv4 code 4 / IPv6 packet too big carry `mtu`), from `src` to `dst`.
 */
export function icmpError(
  src: string,
  dst: string,
  kind: "unreachable" | "too-big",
  code: number,
  quoted: Uint8Array,
  mtu = 0,
): Uint8Array {
  if (!src.includes(":")) {
    const message = buildIcmpv4({
      kind: "destinationUnreachable",
      type: 3,
      code: kind === "too-big" ? 4 : code,
      checksum: 0,
      nextHopMtu: mtu,
      data: quoted,
    } as Icmpv4EmitRepr);
    return ipv4(src, dst, 1, message);
  }
  const s = Ipv6Address.parse(src);
  const d = Ipv6Address.parse(dst);
  const repr =
    kind === "too-big"
      ? { kind: "packetTooBig", type: 2, code: 0, checksum: 0, mtu, data: quoted }
      : { kind: "destinationUnreachable", type: 1, code, checksum: 0, data: quoted };
  return ipv6(src, dst, 58, buildIcmpv6(s, d, repr as Icmpv6EmitRepr));
}

/** An echo request with a correct checksum. */
export function echoRequest(src: string, dst: string, identifier: number, sequence: number): Uint8Array {
  const data = pattern(32, identifier);
  if (!src.includes(":")) {
    const m = buildIcmpv4({ kind: "echoRequest", type: 8, code: 0, checksum: 0, identifier, sequence, data });
    return ipv4(src, dst, 1, m);
  }
  const m = buildIcmpv6(Ipv6Address.parse(src), Ipv6Address.parse(dst), {
    kind: "echoRequest",
    type: 128,
    code: 0,
    checksum: 0,
    identifier,
    sequence,
    data,
  } as Icmpv6EmitRepr);
  return ipv6(src, dst, 58, m);
}

/** A copy of `packet` with bit 0 of byte `at` flipped. */
export function flip(packet: Uint8Array, at: number): Uint8Array {
  const out = packet.slice();
  out[at] = (out[at] as number) ^ 1;
  return out;
}

let honestRound = 0;

/**
 * Honest traffic between client and server over IPv4 and IPv6: a TCP exchange each way (20 KB / 10 KB)
 * that must complete with every byte and close, and a UDP echo (one datagram fragmented, one small)
 * that must come back whole. Listeners and UDP sockets are closed at the end. Runs the network for
 * `runNs` (default 300 s: past TIME-WAIT).
 */
export function assertHonestTrafficWorks(a: Arena, runNs: bigint = seconds(300)): void {
  const round = ++honestRound;
  const base = 20000 + 4 * (round % 5000);
  const tcpPorts = [base, base + 1];
  const udpPorts = [base + 2, base + 3];
  const targets: readonly [4 | 6, IpAddress][] = [
    [4, addr(SERVER4)],
    [6, addr(SERVER6)],
  ];
  const xs = targets.map(([family, to], i) =>
    tcpExchange(a.client, a.server, {
      family,
      port: tcpPorts[i] as number,
      to,
      up: pattern(20_000, round * 8 + i),
      down: pattern(10_000, round * 8 + 4 + i),
    }),
  );
  const us = targets.map(([family, to], i) =>
    udpEcho(a.client, a.server, {
      family,
      port: udpPorts[i] as number,
      to,
      datagrams: [pattern(3000, round * 16 + i), pattern(10, round * 16 + 8 + i)],
    }),
  );
  a.t.net.runFor(runNs);
  for (const [i, x] of xs.entries()) {
    const v = targets[i]?.[0];
    assert.equal(x.client.outcome, "connected", `honest TCP over IPv${v} connects`);
    assert.ok(sameBytes(x.atServer.bytes(), pattern(20_000, round * 8 + i)), `honest TCP over IPv${v}: up`);
    assert.ok(sameBytes(x.atClient.bytes(), pattern(10_000, round * 8 + 4 + i)), `honest TCP over IPv${v}: down`);
    assert.ok(x.clientSawFin && x.serverSawFin, `honest TCP over IPv${v} closes`);
    if (runNs >= seconds(240)) assert.equal(x.client.state, "CLOSED");
    x.listener.close();
  }
  for (const [i, u] of us.entries()) {
    const v = targets[i]?.[0];
    assert.deepEqual(
      u.atClient.map((d) => d.length),
      [3000, 10],
      `honest UDP over IPv${v} echoes both datagrams`,
    );
    assert.ok(sameBytes(u.atClient[0] as Uint8Array, pattern(3000, round * 16 + i)));
    u.client.close();
    u.server.close();
  }
}

export interface Bounds {
  readonly flows?: number;
  readonly connections?: number;
  readonly sockets?: number;
}

/** The server's memory-holding structures are within their limits (and the given bounds). */
export function assertBounded(a: Arena, bounds: Bounds = {}): void {
  const h = a.server.host;
  const r = h.ip.reassembler;
  assert.ok(r.bytesHeld <= r.options.maxBytes, `reassembler holds ${r.bytesHeld} bytes`);
  assert.ok(r.datagramsHeld <= r.options.maxDatagrams, `reassembler holds ${r.datagramsHeld} datagrams`);
  assert.ok(h.shim.flows.size <= (bounds.flows ?? 64), `ALE flow table holds ${h.shim.flows.size} flows`);
  assert.ok(h.tcp.connectionCount <= (bounds.connections ?? 16), `TCP holds ${h.tcp.connectionCount} connections`);
  assert.ok(h.tcp.sockets.length <= (bounds.sockets ?? 32), `TCP keeps ${h.tcp.sockets.length} sockets`);
  for (const s of h.tcp.sockets) {
    const l = s.listener;
    if (l !== undefined) assert.ok(l.synReceivedCount <= l.maxSynReceived);
  }
  const n = h.neighborCache(a.server.nic)?.entries().length ?? 0;
  assert.ok(n <= 1024, `neighbour cache holds ${n} entries`);
}
