/**
 * Test support for links, taps and neighbor resolution: real IPv4/IPv6 UDP packets and Ethernet frames
 * built with the wire/ emitters, a frame collector, and tshark run on a file.
 */
import { spawnSync } from "node:child_process";
import { Ipv4Address, Ipv6Address } from "../../base/index.ts";
import {
  EtherType,
  emitEthernetHeader,
  emitIpv4Header,
  emitIpv6Header,
  emitUdpHeader,
  ETHERNET_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
} from "../../wire/index.ts";
import type { Scheduler } from "../sim/scheduler.ts";
import type { Port } from "./port.ts";

/** An IPv4 (when both addresses are dotted quads) or IPv6 UDP packet from port 40000 to 40001 with `payload`. */
export function udpPacket(src: string, dst: string, payload: Uint8Array = Uint8Array.of(1, 2, 3, 4)): Uint8Array {
  const udpLength = 8 + payload.length;
  if (!src.includes(":")) {
    const s = Ipv4Address.parse(src);
    const d = Ipv4Address.parse(dst);
    const packet = new Uint8Array(20 + udpLength);
    emitIpv4Header(
      {
        src: s,
        dst: d,
        protocol: 17,
        ttl: 128,
        identification: 1,
        dscp: 0,
        ecn: 0,
        dontFragment: false,
        moreFragments: false,
        fragmentOffset: 0,
        options: [],
        payloadLength: udpLength,
        checksum: 0,
      },
      packet,
      0,
    );
    packet.set(payload, 28);
    emitUdpHeader({ srcPort: 40000, dstPort: 40001, checksum: 0, payloadLength: payload.length }, packet, 20, {
      version: 4,
      src: s,
      dst: d,
    });
    return packet;
  }
  const s = Ipv6Address.parse(src);
  const d = Ipv6Address.parse(dst);
  const packet = new Uint8Array(IPV6_HEADER_LENGTH + udpLength);
  emitIpv6Header(
    {
      src: s,
      dst: d,
      trafficClass: 0,
      flowLabel: 0,
      hopLimit: 64,
      nextHeader: 17,
      payloadLength: udpLength,
      extensions: [],
      upperProtocol: 17,
    },
    packet,
    0,
  );
  packet.set(payload, 48);
  emitUdpHeader({ srcPort: 40000, dstPort: 40001, checksum: 0, payloadLength: payload.length }, packet, 40, {
    version: 6,
    src: s,
    dst: d,
  });
  return packet;
}

/** `packet` in an Ethernet II frame. */
export function ethernetFrame(srcMac: string, dstMac: string, packet: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + packet.length);
  const etherType = (packet[0] ?? 0) >>> 4 === 6 ? EtherType.Ipv6 : EtherType.Ipv4;
  emitEthernetHeader({ dst: dstMac, src: srcMac, tags: [], etherType }, frame, 0);
  frame.set(packet, ETHERNET_HEADER_LENGTH);
  return frame;
}

export interface Received {
  readonly atNs: bigint;
  readonly frame: Uint8Array;
}

/** Attaches to `port` and keeps every frame it delivers with its arrival time. */
export function collect(scheduler: Scheduler, port: Port): Received[] {
  const out: Received[] = [];
  port.attach((frame) => out.push({ atNs: scheduler.nowNs(), frame }));
  return out;
}

/** tshark on a file; `rows` splits `-T fields` output into tab-separated rows. */
export function tshark(args: readonly string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
  rows: string[][];
} {
  const run = spawnSync("tshark", [...args], { encoding: "utf8" });
  const rows = run.stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t"));
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, rows };
}

/** `-T fields` with one `-e` per field. */
export function tsharkFields(path: string, fields: readonly string[], filter?: string): string[][] {
  const run = tshark([
    "-r",
    path,
    ...(filter !== undefined ? ["-Y", filter] : []),
    "-T",
    "fields",
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  if (run.status !== 0) throw new Error(`tshark failed: ${run.stderr}`);
  return run.rows;
}

/** Frames tshark marks malformed or with a warning/error expert item, as its one-line summaries. */
export function tsharkProblems(path: string): string {
  const run = tshark(["-r", path, "-Y", "_ws.malformed || _ws.expert.severity >= warning"]);
  if (run.status !== 0) throw new Error(`tshark failed: ${run.stderr}`);
  return run.stdout.trim();
}
