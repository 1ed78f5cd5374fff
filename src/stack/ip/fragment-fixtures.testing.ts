/**
 * Test support for fragmentation and reassembly: IPv4 / IPv6 packets built with the wire emitters,
 * hand-made fragments (for hostile inputs the fragmenter never produces), the IP packets of a capture
 * file, and a seeded shuffle.
 */
import { readFileSync } from "node:fs";
import { Ipv4Address, Ipv6Address } from "../../base/ip.ts";
import type { SeededRng } from "../../base/rng.ts";
import { readCaptureSync } from "../../capture/index.ts";
import { EthernetView } from "../../wire/ethernet.ts";
import { EtherType } from "../../wire/ethertype.ts";
import { emitIpv4Header, type Ipv4Option, type Ipv4Repr, ipv4HeaderLength } from "../../wire/ipv4.ts";
import { emitIpv6Header, type Ipv6Repr, ipv6HeaderLength } from "../../wire/ipv6.ts";
import { emitIpv6Extension, type Ipv6ExtensionRepr, ipv6ExtensionType } from "../../wire/ipv6-ext.ts";
import type { PseudoHeaderAddresses } from "../../wire/transport-checksum.ts";
import { emitUdpHeader } from "../../wire/udp.ts";

export const SRC4 = Ipv4Address.parse("192.0.2.1");
export const DST4 = Ipv4Address.parse("198.51.100.7");
export const SRC6 = Ipv6Address.parse("2001:db8::1");
export const DST6 = Ipv6Address.parse("2001:db8:ffff::2");

export interface Ipv4PacketSpec {
  readonly payload: Uint8Array;
  readonly protocol?: number;
  readonly identification?: number;
  readonly options?: readonly Ipv4Option[];
  readonly dontFragment?: boolean;
  readonly moreFragments?: boolean;
  /** In bytes. */
  readonly fragmentOffset?: number;
  readonly src?: Ipv4Address;
  readonly dst?: Ipv4Address;
}

/** An IPv4 packet (header emitted by emitIpv4Header, checksum computed) carrying `payload`. */
export function ipv4Packet(spec: Ipv4PacketSpec): Uint8Array {
  const repr: Ipv4Repr = {
    src: spec.src ?? SRC4,
    dst: spec.dst ?? DST4,
    protocol: spec.protocol ?? 17,
    ttl: 64,
    identification: spec.identification ?? 0x1234,
    dscp: 0,
    ecn: 0,
    dontFragment: spec.dontFragment ?? false,
    moreFragments: spec.moreFragments ?? false,
    fragmentOffset: spec.fragmentOffset ?? 0,
    options: spec.options ?? [],
    payloadLength: spec.payload.length,
    checksum: 0,
  };
  const headerLength = ipv4HeaderLength(repr);
  const out = new Uint8Array(headerLength + spec.payload.length);
  emitIpv4Header(repr, out, 0);
  out.set(spec.payload, headerLength);
  return out;
}

/** An IPv4 fragment made by hand: `data` at byte `offset` of datagram `identification`. */
export function ipv4Fragment(
  data: Uint8Array,
  offset: number,
  more: boolean,
  extra: Omit<Ipv4PacketSpec, "payload" | "fragmentOffset" | "moreFragments"> = {},
): Uint8Array {
  return ipv4Packet({ ...extra, payload: data, fragmentOffset: offset, moreFragments: more });
}

export interface Ipv6PacketSpec {
  readonly payload: Uint8Array;
  readonly upperProtocol?: number;
  readonly extensions?: readonly Ipv6ExtensionRepr[];
  readonly src?: Ipv6Address;
  readonly dst?: Ipv6Address;
}

/** An IPv6 packet (base header and extension chain emitted by emitIpv6Header) carrying `payload`. */
export function ipv6Packet(spec: Ipv6PacketSpec): Uint8Array {
  const extensions = spec.extensions ?? [];
  const upperProtocol = spec.upperProtocol ?? 17;
  const first = extensions[0];
  const probe: Ipv6Repr = {
    src: spec.src ?? SRC6,
    dst: spec.dst ?? DST6,
    trafficClass: 0,
    flowLabel: 0x12345,
    hopLimit: 64,
    nextHeader: first === undefined ? upperProtocol : ipv6ExtensionType(first),
    payloadLength: 0,
    extensions,
    upperProtocol,
  };
  const headerLength = ipv6HeaderLength(probe);
  const repr = { ...probe, payloadLength: headerLength - 40 + spec.payload.length };
  const out = new Uint8Array(headerLength + spec.payload.length);
  emitIpv6Header(repr, out, 0);
  out.set(spec.payload, headerLength);
  return out;
}

/**
 * An IPv6 fragment made by hand: base header (+ `unfragmentable` extensions), a Fragment header
 * (offset, M, identification, Next Header `nextHeader`), then `data`.
 */
export function ipv6Fragment(
  data: Uint8Array,
  offset: number,
  more: boolean,
  identification: number,
  nextHeader = 17,
  unfragmentable: readonly Ipv6ExtensionRepr[] = [],
): Uint8Array {
  const fragment: Ipv6ExtensionRepr = { kind: "fragment", fragmentOffset: offset, moreFragments: more, identification };
  return ipv6Packet({ payload: data, upperProtocol: nextHeader, extensions: [...unfragmentable, fragment] });
}

/** `n` bytes counting up from `start` (easy to read in a failing assertion). */
export function bytes(n: number, start = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (start + i) & 0xff;
  return out;
}

/** A UDP datagram (header + `data`) with a correct checksum over the pseudo-header of `addresses`. */
export function udpDatagram(data: Uint8Array, addresses: PseudoHeaderAddresses): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  out.set(data, 8);
  emitUdpHeader({ srcPort: 12345, dstPort: 53, payloadLength: data.length, checksum: 0 }, out, 0, addresses);
  return out;
}

/** A Fragment header written after `prefix` bytes of an IPv6 packet, for tests that patch raw bytes. */
export function writeFragmentHeader(
  out: Uint8Array,
  at: number,
  nextHeader: number,
  offset: number,
  more: boolean,
  identification: number,
): void {
  emitIpv6Extension(
    { kind: "fragment", fragmentOffset: offset, moreFragments: more, identification },
    nextHeader,
    out,
    at,
  );
}

export interface CapturedIp {
  /** 1-based frame number, as tshark numbers frames. */
  readonly frame: number;
  readonly timestampNs: bigint;
  /** The IP packet (a view into the file's bytes). */
  readonly ip: Uint8Array;
}

/** The IPv4 / IPv6 packets of an Ethernet capture file, in file order. */
export function capturedIpPackets(path: string): CapturedIp[] {
  const read = readCaptureSync(new Uint8Array(readFileSync(path)));
  const out: CapturedIp[] = [];
  for (const p of read.packets) {
    const eth = EthernetView.check(p.data);
    if (!eth.ok) continue;
    const type = eth.value.etherType;
    if (type !== EtherType.Ipv4 && type !== EtherType.Ipv6) continue;
    out.push({ frame: p.index, timestampNs: p.timestampNs, ip: p.data.subarray(eth.value.payloadOffset) });
  }
  return out;
}

/** Fisher–Yates with a seeded generator; returns a new array. */
export function shuffled<T>(items: readonly T[], rng: SeededRng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
