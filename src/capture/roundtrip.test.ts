/**
 * parse → emit → parse over every packet of every capture in fixtures/captures (the folder is walked, never
 * listed by hand), read with our reader, at every layer the dissector finds in it: Ethernet (with its 802.1Q /
 * 802.1ad tags), BSD loopback, Linux SLL and SLL2, ARP, IPv4 (with options), IPv6 (with its extension chain),
 * TCP (with options), UDP, ICMPv4 and ICMPv6 (with the datagram an error quotes). At each layer:
 *
 * - the repr parsed back from the emitted bytes equals the repr parsed from the capture;
 * - emit writes exactly the header's bytes (the region is scrambled first), and they equal the capture's;
 * - emitting with the checksum computed gives the capture's checksum where the dissector found it right and
 *   another value where it found it wrong (checksum-oracle.test.ts in src/cli holds those verdicts to TShark's).
 *
 * The test lives in capture/ because it reads every fixture with the real reader (wire/ may not import it).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { Ipv6Address } from "../base/ip.ts";
import type { Result } from "../base/result.ts";
import {
  type DecodedLayer,
  decodePacket,
  emitArp,
  emitEthernetHeader,
  emitIcmpv4,
  emitIcmpv6,
  emitIpv4Header,
  emitIpv6Header,
  emitLoopbackHeader,
  emitSll2Header,
  emitSllHeader,
  emitTcpHeader,
  emitUdpHeader,
  EthernetView,
  formatWireError,
  Ipv4View,
  Ipv6View,
  ipv6PseudoHeaderDestination,
  type PseudoHeaderAddresses,
  parseArp,
  parseEthernet,
  parseIcmpv4,
  parseIcmpv6,
  parseIpv4,
  parseIpv6,
  parseLoopback,
  parseSll,
  parseSll2,
  parseTcp,
  parseUdp,
  type WireError,
} from "../wire/index.ts";
import { readCaptureSync } from "./reader.ts";

const ROOT = join(import.meta.dirname, "../../fixtures/captures");

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...captures(path));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(path);
  }
  return out;
}

/** Layers round-tripped, by protocol; checksums computed and compared with the capture's, by protocol. */
const layers = new Map<string, number>();
const checksums = new Map<string, number>();
let packets = 0;
/** Packets whose header bytes are not the canonical encoding of their repr (see `zeroAddressPadding`). */
const nonCanonical = new Set<string>();
const count = (map: Map<string, number>, key: string): void => {
  map.set(key, (map.get(key) ?? 0) + 1);
};

/** The `name` field of a decoded layer. */
function field(layer: DecodedLayer, name: string): string {
  const f = layer.fields.find((x) => x.name === name);
  assert.ok(f !== undefined, `${layer.protocol} has no ${name}`);
  return f.value;
}

/** What the dissector said of the layer's checksum field: "good", "bad" or "unverified". */
function verdict(layer: DecodedLayer, name: string): "good" | "bad" | "unverified" | "none" {
  const value = field(layer, name);
  if (value.endsWith("(verified)")) return "good";
  if (value.endsWith("(not verified)")) return "unverified";
  if (value.endsWith("(none)")) return "none";
  return "bad";
}

function must<T>(r: Result<T, WireError>, where: string): T {
  if (!r.ok) assert.fail(`${where}: ${formatWireError(r.error)}`);
  return r.value;
}

/**
 * One layer: parse at `offset` (bounded by `end`), emit into a copy of the frame whose region [offset, offset +
 * span) is scrambled first, and parse again. Returns the emitted copy.
 */
function roundTrip<R>(
  where: string,
  data: Uint8Array,
  offset: number,
  span: number,
  parse: (bytes: Uint8Array) => Result<R, WireError>,
  emit: (repr: R, out: Uint8Array) => number,
  canonical: (bytes: Uint8Array) => Uint8Array = (b) => b,
): { repr: R; out: Uint8Array } {
  const repr = must(parse(data), where);
  const out = data.slice();
  out.fill(0xa5, offset, offset + span);
  const written = emit(repr, out);
  assert.equal(written, span, `${where}: emit wrote ${written} bytes, the capture has ${span}`);
  const expected = canonical(data);
  if (expected !== data) nonCanonical.add(where.slice(0, where.indexOf(" ")));
  assert.deepEqual(out.subarray(offset, offset + span), expected.subarray(offset, offset + span), `${where}: bytes`);
  assert.deepEqual(must(parse(out), `${where} (emitted)`), repr, `${where}: repr`);
  return { repr, out };
}

/**
 * SLL and SLL2 keep 8 bytes for the link-layer address; the repr holds the address (addressLength bytes) and
 * emit writes the rest as zeros, but some capturers leave whatever was in memory there. The canonical form of
 * such a header has that padding zeroed. `lengthAt` is the address length field (SLL 16 bits at 4, SLL2 8 bits
 * at 11), `addressAt` the 8-byte field.
 */
function zeroAddressPadding(lengthAt: number, wide: boolean, addressAt: number): (b: Uint8Array) => Uint8Array {
  return (b) => {
    const length = wide ? ((b[lengthAt] as number) << 8) | (b[lengthAt + 1] as number) : (b[lengthAt] as number);
    if (length >= 8 || b.subarray(addressAt + length, addressAt + 8).every((x) => x === 0)) return b;
    const copy = b.slice();
    copy.fill(0, addressAt + length, addressAt + 8);
    return copy;
  };
}

/** Checks a checksum emitted in "compute" mode against the capture's and the dissector's verdict. */
function checkComputed(where: string, protocol: string, said: string, stored: number, computed: number): void {
  if (said === "unverified" || said === "none") return;
  if (said === "good") assert.equal(computed, stored, `${where}: computed checksum differs from a good one`);
  else assert.notEqual(computed, stored, `${where}: computed checksum equals one flagged wrong`);
  count(checksums, protocol);
}

function u16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

function roundTripPacket(where: string, linkType: number, data: Uint8Array): void {
  const decoded = decodePacket(linkType, data);
  const len = data.length;
  let ipEnd = len;
  let addresses: PseudoHeaderAddresses | undefined;
  for (const layer of decoded.layers) {
    const at = `${where} ${layer.protocol} @${layer.offset}`;
    const o = layer.offset;
    switch (layer.protocol) {
      case "Ethernet II":
        roundTrip(
          at,
          data,
          0,
          layer.length + 4 * decoded.layers.filter((l) => l.protocol.startsWith("802.1")).length,
          (b) => parseEthernet(b, 0, len),
          (r, out) => emitEthernetHeader(r, out, 0),
        );
        break;
      case "802.1Q":
      case "802.1ad":
        // Tags are part of the Ethernet repr, round-tripped with it.
        break;
      case "BSD loopback (NULL)":
      case "BSD loopback (LOOP)": {
        const encapsulation = layer.protocol.endsWith("(LOOP)") ? "loop" : "null";
        roundTrip(
          at,
          data,
          0,
          4,
          (b) => parseLoopback(b, 0, len, encapsulation),
          (r, out) => emitLoopbackHeader(r, out, 0),
        );
        break;
      }
      case "Linux cooked (SLL)":
        roundTrip(
          at,
          data,
          0,
          layer.length,
          (b) => parseSll(b, 0, len),
          (r, out) => emitSllHeader(r, out, 0),
          zeroAddressPadding(4, true, 6),
        );
        break;
      case "Linux cooked (SLL2)":
        roundTrip(
          at,
          data,
          0,
          layer.length,
          (b) => parseSll2(b, 0, len),
          (r, out) => emitSll2Header(r, out, 0),
          zeroAddressPadding(11, false, 12),
        );
        break;
      case "IPv4": {
        const view = must(Ipv4View.check(data, o, len), at);
        ipEnd = view.payloadEnd;
        const { repr } = roundTrip(
          at,
          data,
          o,
          layer.length,
          (b) => parseIpv4(b, o, len),
          (r, out) => emitIpv4Header(r, out, o, "keep"),
        );
        const computed = data.slice();
        emitIpv4Header(repr, computed, o, "compute");
        checkComputed(at, "ipv4", verdict(layer, "header checksum"), repr.checksum, u16(computed, o + 10));
        addresses = { version: 4, src: repr.src, dst: repr.dst };
        break;
      }
      case "IPv6": {
        const view = must(Ipv6View.check(data, o, len), at);
        ipEnd = view.payloadEnd;
        const chain = must(view.extensions(), at);
        const span = chain.upperOffset - o;
        const { repr } = roundTrip(
          at,
          data,
          o,
          span,
          (b) => parseIpv6(b, o, len),
          (r, out) => emitIpv6Header(r, out, o),
        );
        // RFC 8200 §8.1: the final destination, behind a Routing header with segments left.
        const final = ipv6PseudoHeaderDestination(data, chain.headers);
        const dst = typeof final === "number" ? Ipv6Address.fromBytes(data, final) : repr.dst;
        addresses = { version: 6, src: repr.src, dst };
        break;
      }
      default:
        if (layer.protocol.startsWith("IPv6 ")) break; // extension headers: part of the IPv6 repr
        roundTripTransport(at, layer, data, ipEnd, addresses);
    }
  }
  if (decoded.undecoded?.startsWith("ethertype 0x0806") === true) {
    // ARP: the dissector stops at the link layer; the ARP message follows it.
    const link = decoded.layers.at(-1) as DecodedLayer;
    const o = linkType === 1 ? must(EthernetView.check(data), where).payloadOffset : link.offset + link.length;
    roundTrip(
      `${where} ARP @${o}`,
      data,
      o,
      28,
      (b) => parseArp(b, o, len),
      (r, out) => emitArp(r, out, o),
    );
    count(layers, "ARP");
  }
  for (const layer of decoded.layers) count(layers, layer.protocol);
}

function roundTripTransport(
  at: string,
  layer: DecodedLayer,
  data: Uint8Array,
  end: number,
  addresses: PseudoHeaderAddresses | undefined,
): void {
  const o = layer.offset;
  assert.ok(addresses !== undefined, `${at}: no IP header before it`);
  switch (layer.protocol) {
    case "TCP": {
      const { repr } = roundTrip(
        at,
        data,
        o,
        layer.length,
        (b) => parseTcp(b, o, end),
        (r, out) => emitTcpHeader(r, out, o),
      );
      const said = verdict(layer, "checksum");
      if (said !== "unverified") {
        const computed = data.slice(0, end);
        emitTcpHeader(repr, computed, o, addresses, "compute");
        checkComputed(at, "tcp", said, repr.checksum, u16(computed, o + 16));
      }
      return;
    }
    case "UDP": {
      const { repr } = roundTrip(
        at,
        data,
        o,
        8,
        (b) => parseUdp(b, o, end),
        (r, out) => emitUdpHeader(r, out, o),
      );
      const said = verdict(layer, "checksum");
      if (said === "good" || said === "bad") {
        const computed = data.slice(0, end);
        emitUdpHeader(repr, computed, o, addresses, "compute");
        checkComputed(at, "udp", said, repr.checksum, u16(computed, o + 6));
      }
      return;
    }
    case "ICMPv4": {
      const { repr } = roundTrip(
        at,
        data,
        o,
        end - o,
        (b) => parseIcmpv4(b, o, end),
        (r, out) => emitIcmpv4(r, out, o, "keep"),
      );
      const computed = data.slice(0, end);
      emitIcmpv4(repr, computed, o, "compute");
      checkComputed(at, "icmpv4", verdict(layer, "checksum"), repr.checksum, u16(computed, o + 2));
      return;
    }
    case "ICMPv6": {
      const { repr } = roundTrip(
        at,
        data,
        o,
        end - o,
        (b) => parseIcmpv6(b, o, end),
        (r, out) => emitIcmpv6(r, out, o),
      );
      assert.equal(addresses.version, 6, `${at}: ICMPv6 over IPv4`);
      if (addresses.version === 6) {
        const computed = data.slice(0, end);
        emitIcmpv6(repr, computed, o, addresses, "compute");
        checkComputed(at, "icmpv6", verdict(layer, "checksum"), repr.checksum, u16(computed, o + 2));
      }
      return;
    }
    default:
      assert.fail(`${at}: a layer this test does not round-trip`);
  }
}

describe("parse → emit → parse gives the same repr for every packet of every fixture, at every layer", () => {
  const files = captures(ROOT);
  it("finds the fixture captures", () => {
    assert.ok(files.length >= 70, `only ${files.length} captures`);
  });
  for (const file of files) {
    const name = relative(ROOT, file);
    it(name, () => {
      const read = readCaptureSync(new Uint8Array(readFileSync(file)));
      for (const packet of read.packets) {
        roundTripPacket(`${name}#${packet.index}`, packet.linkType, packet.data);
        packets++;
      }
    });
  }
  it("covered every kind of layer", (t) => {
    for (const protocol of [
      "Ethernet II",
      "802.1Q",
      "802.1ad",
      "BSD loopback (NULL)",
      "Linux cooked (SLL)",
      "Linux cooked (SLL2)",
      "ARP",
      "IPv4",
      "IPv6",
      "TCP",
      "UDP",
      "ICMPv4",
      "ICMPv6",
    ]) {
      assert.ok((layers.get(protocol) ?? 0) > 0, `no ${protocol} layer in the fixtures`);
    }
    for (const protocol of ["ipv4", "tcp", "udp", "icmpv4", "icmpv6"]) {
      assert.ok((checksums.get(protocol) ?? 0) > 0, `no ${protocol} checksum computed`);
    }
    const list = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k} ${v}`).join(", ");
    t.diagnostic(
      `${packets} packets (${nonCanonical.size} with SLL address padding that is not zero); layers round-tripped: ` +
        `${list(layers)}; checksums computed and compared: ${list(checksums)}`,
    );
  });
});
