/**
 * Test support for the link-layer and IP decoder tests: reads the real captures in fixtures/captures
 * and the TShark JSON oracle beside each. Deliberately tiny and independent of src/capture (the real
 * pcap/pcapng readers live there): classic pcap (either byte order, micro or nano magic) and the
 * pcapng blocks that carry packets (SHB, IDB, EPB). Throws on a malformed file: fixtures are trusted.
 */
import { readdirSync, readFileSync } from "node:fs";
import { EthernetView } from "./ethernet.ts";
import { LoopbackView } from "./loopback.ts";
import { SllView } from "./sll.ts";
import { Sll2View } from "./sll2.ts";

const ROOT = new URL("../../fixtures/captures/", import.meta.url);

export interface FixturePacket {
  /** 1-based, as TShark's frame.number. */
  readonly number: number;
  readonly linkType: number;
  readonly data: Uint8Array;
  readonly originalLength: number;
}

export type OraclePacket = Readonly<Record<string, string>>;

/** Capture files (not oracles) in one fixtures/captures folder, sorted. */
export function captureFiles(folder: string): string[] {
  return readdirSync(new URL(`${folder}/`, ROOT))
    .filter((name) => !name.endsWith(".json"))
    .sort()
    .map((name) => `${folder}/${name}`);
}

/** The packets of a capture (path relative to fixtures/captures), pcap or pcapng sniffed from the magic. */
export function readCapture(path: string): FixturePacket[] {
  const file = new Uint8Array(readFileSync(new URL(path, ROOT)));
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint32(0, false) === 0x0a0d0d0a) return readPcapng(file, view);
  const magic = view.getUint32(0, true);
  let little: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false;
  else throw new Error(`${path}: not a pcap file`);
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const packets: FixturePacket[] = [];
  for (let at = 24; at + 16 <= file.length; ) {
    const captured = view.getUint32(at + 8, little);
    const originalLength = view.getUint32(at + 12, little);
    const data = file.subarray(at + 16, at + 16 + captured);
    packets.push({ number: packets.length + 1, linkType, data, originalLength });
    at += 16 + captured;
  }
  return packets;
}

function readPcapng(file: Uint8Array, view: DataView): FixturePacket[] {
  let little = true;
  const linkTypes: number[] = [];
  const packets: FixturePacket[] = [];
  for (let at = 0; at + 12 <= file.length; ) {
    const type = view.getUint32(at, little);
    if (type === 0x0a0d0d0a) {
      little = view.getUint32(at + 8, true) === 0x1a2b3c4d;
      linkTypes.length = 0;
    }
    const length = view.getUint32(at + 4, little);
    if (length < 12) throw new Error("pcapng: bad block length");
    if (type === 1) linkTypes.push(view.getUint16(at + 8, little));
    if (type === 6) {
      const iface = view.getUint32(at + 8, little);
      const captured = view.getUint32(at + 20, little);
      const originalLength = view.getUint32(at + 24, little);
      const linkType = linkTypes[iface];
      if (linkType === undefined) throw new Error("pcapng: packet on an undeclared interface");
      packets.push({
        number: packets.length + 1,
        linkType,
        data: file.subarray(at + 28, at + 28 + captured),
        originalLength,
      });
    }
    at += length;
  }
  return packets;
}

/** The TShark oracle packets of a capture, in frame order. */
export function readOracle(path: string): OraclePacket[] {
  const json = JSON.parse(readFileSync(new URL(`${path}.tshark.json`, ROOT), "utf8")) as {
    packets: OraclePacket[];
  };
  return json.packets;
}

/** Each packet of a capture with its oracle entry (asserting the two agree on count and length). */
export function packetsWithOracle(path: string): { packet: FixturePacket; oracle: OraclePacket }[] {
  const packets = readCapture(path);
  const oracle = readOracle(path);
  if (packets.length !== oracle.length) {
    throw new Error(`${path}: ${packets.length} packets but ${oracle.length} oracle entries`);
  }
  return packets.map((packet, i) => {
    const entry = oracle[i] as OraclePacket;
    if (Number(entry["frame.cap_len"]) !== packet.data.length) throw new Error(`${path}: frame ${i + 1} length`);
    return { packet, oracle: entry };
  });
}

/** Every capture in the given folders whose link type is one of `linkTypes`. */
export function allPackets(
  folders: readonly string[],
  linkTypes: readonly number[],
): { path: string; packet: FixturePacket; oracle: OraclePacket }[] {
  const out: { path: string; packet: FixturePacket; oracle: OraclePacket }[] = [];
  for (const folder of folders) {
    for (const path of captureFiles(folder)) {
      for (const { packet, oracle } of packetsWithOracle(path)) {
        if (linkTypes.includes(packet.linkType)) out.push({ path, packet, oracle });
      }
    }
  }
  return out;
}

/** Lower-case hex of bytes, for readable assertion messages. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes from a hex string (spaces ignored). */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Where the network-layer packet starts in a frame, found with this folder's link-layer views:
 * Ethernet (1), NULL (0), LINUX_SLL (113), LINUX_SLL2 (276), raw IP (101, 228, 229).
 */
export function networkLayer(packet: FixturePacket): { etherType: number | undefined; offset: number } | undefined {
  const data = packet.data;
  switch (packet.linkType) {
    case 1: {
      const v = EthernetView.check(data);
      return v.ok ? { etherType: v.value.etherType, offset: v.value.payloadOffset } : undefined;
    }
    case 0: {
      const v = LoopbackView.check(data);
      return v.ok ? { etherType: v.value.etherType, offset: v.value.payloadOffset } : undefined;
    }
    case 113: {
      const v = SllView.check(data);
      return v.ok ? { etherType: v.value.protocol, offset: v.value.payloadOffset } : undefined;
    }
    case 276: {
      const v = Sll2View.check(data);
      return v.ok ? { etherType: v.value.protocol, offset: v.value.payloadOffset } : undefined;
    }
    case 101:
    case 228:
    case 229: {
      const version = (data[0] ?? 0) >>> 4;
      return { etherType: version === 4 ? 0x0800 : version === 6 ? 0x86dd : undefined, offset: 0 };
    }
    default:
      return undefined;
  }
}

/** Every folder of fixtures/captures whose captures TShark decoded (pcap_format_edge holds a broken one). */
export const ALL_FOLDERS = [
  "icmp",
  "ipv4_frag",
  "ipv6",
  "ipv6_frag",
  "linux_sll",
  "loopback_null",
  "pcapng_multi_if",
  "raw_ip",
  "tcp_rst",
  "tcp_session",
  "udp_dns",
  "vlan",
] as const;

/** Every packet of every capture whose network layer is `etherType`, with the offset of that layer. */
export function networkPackets(
  etherType: number,
): { path: string; packet: FixturePacket; oracle: OraclePacket; offset: number }[] {
  const out: { path: string; packet: FixturePacket; oracle: OraclePacket; offset: number }[] = [];
  for (const { path, packet, oracle } of allPackets(ALL_FOLDERS, [0, 1, 101, 113, 228, 229, 276])) {
    const layer = networkLayer(packet);
    if (layer !== undefined && layer.etherType === etherType) out.push({ path, packet, oracle, offset: layer.offset });
  }
  return out;
}

/** First value of a TShark field (repeated fields, e.g. an ICMP error's inner header, are joined with '|'). */
export function first(oracle: OraclePacket, field: string): string | undefined {
  return oracle[field]?.split("|")[0];
}
