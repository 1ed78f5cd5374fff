/**
 * Reassembly of the real captures in fixtures/captures/ipv4_frag and ipv6_frag, checked two ways:
 *
 * - against the committed TShark dissection beside each file (`*.tshark.json`, made with IP
 *   defragmentation off): for every datagram we rebuild, the offset-zero fragment's entry gives the
 *   addresses, the protocol, the UDP length or TCP header length, and the transport checksum, which
 *   must verify over our rebuilt bytes;
 * - against TShark run now with defragmentation on: we complete a datagram at exactly the frames where
 *   TShark reports `ip.reassembled.length` / `ipv6.reassembled.length`, with that length, except for the
 *   deviations listed below.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Ipv4Address, Ipv6Address } from "../../base/ip.ts";
import { Ipv4View } from "../../wire/ipv4.ts";
import { Ipv6View } from "../../wire/ipv6.ts";
import { verifyTcpChecksum } from "../../wire/tcp.ts";
import type { PseudoHeaderAddresses } from "../../wire/transport-checksum.ts";
import { verifyUdpChecksum } from "../../wire/udp.ts";
import { capturedIpPackets } from "./fragment-fixtures.testing.ts";
import { type OverlapPolicy, Reassembler, type ReassemblyDropReason } from "./reassembly.ts";

const ROOT = join(import.meta.dirname, "../../../fixtures/captures");
const FILES = ["ipv4_frag", "ipv6_frag"].flatMap((dir) =>
  readdirSync(join(ROOT, dir))
    .filter((name) => name.endsWith(".pcap"))
    .sort()
    .map((name) => `${dir}/${name}`),
);

/**
 * Where we knowingly differ from TShark, which reassembles whatever it can:
 * - zeek__ipv4_fragmented-1: the first fragment carries 18 bytes with MF set (not a multiple of 8,
 *   RFC 791 §3.2) and a later fragment runs past the end the last fragment set; we drop ("badLength").
 * - zeek__ipv4_fragmented-4: fragments [24, 72) and [48, 72) overlap; by default we drop the datagram
 *   as Windows does, with "acceptFirst" we rebuild it like TShark.
 */
const DEVIATIONS: readonly {
  readonly file: string;
  readonly frame: number;
  readonly policies: readonly OverlapPolicy[];
  readonly reason: ReassemblyDropReason;
}[] = [
  { file: "ipv4_frag/zeek__ipv4_fragmented-1.pcap", frame: 3, policies: ["drop", "acceptFirst"], reason: "badLength" },
  { file: "ipv4_frag/zeek__ipv4_fragmented-4.pcap", frame: 5, policies: ["drop"], reason: "overlap" },
];

interface Completion {
  readonly frame: number;
  readonly packet: Uint8Array;
  readonly fragments: number;
}

interface Run {
  readonly completions: Completion[];
  readonly drops: Map<number, ReassemblyDropReason>;
  readonly reassembler: Reassembler;
  readonly lastNs: bigint;
}

function run(file: string, policy: OverlapPolicy): Run {
  const r = new Reassembler({ ipv4Overlap: policy, ipv6Overlap: policy });
  const completions: Completion[] = [];
  const drops = new Map<number, ReassemblyDropReason>();
  let lastNs = 0n;
  for (const p of capturedIpPackets(join(ROOT, file))) {
    const result = r.input(p.ip, p.timestampNs);
    lastNs = p.timestampNs;
    if (result.kind === "complete")
      completions.push({ frame: p.frame, packet: result.packet, fragments: result.fragments });
    else if (result.kind === "dropped") drops.set(p.frame, result.reason);
  }
  return { completions, drops, reassembler: r, lastNs };
}

/** Version, addresses, and where the upper layer starts, of a rebuilt (unfragmented) packet. */
function upperLayer(packet: Uint8Array): {
  readonly addresses: PseudoHeaderAddresses;
  readonly protocol: number;
  readonly offset: number;
} {
  if (packet[0] === 0x45 || (packet[0] as number) >>> 4 === 4) {
    const v = Ipv4View.check(packet);
    assert.ok(v.ok);
    assert.equal(v.value.isFragment, false);
    assert.ok(v.value.checksumValid(), "rebuilt IPv4 header checksum");
    const addresses = {
      version: 4,
      src: new Ipv4Address(v.value.srcAddress),
      dst: new Ipv4Address(v.value.dstAddress),
    } as const;
    return { addresses, protocol: v.value.protocol, offset: v.value.payloadOffset };
  }
  const v = Ipv6View.check(packet);
  assert.ok(v.ok);
  const chain = v.value.extensions();
  assert.ok(chain.ok);
  assert.equal(chain.value.fragment, undefined, "no Fragment header left");
  const addresses = {
    version: 6,
    src: Ipv6Address.fromBytes(packet, 8),
    dst: Ipv6Address.fromBytes(packet, 24),
  } as const;
  return { addresses, protocol: chain.value.upperProtocol, offset: chain.value.upperOffset };
}

type OracleEntry = Record<string, string>;

function oracle(file: string): OracleEntry[] {
  return (JSON.parse(readFileSync(join(ROOT, `${file}.tshark.json`), "utf8")) as { packets: OracleEntry[] }).packets;
}

/** The committed oracle's entry for the offset-zero fragment of the datagram `packet` was rebuilt from. */
function firstFragmentEntry(entries: readonly OracleEntry[], packet: Uint8Array, upto: number): OracleEntry {
  const u = upperLayer(packet);
  const src = u.addresses.src.toString();
  const dst = u.addresses.dst.toString();
  const found = entries.filter((e) => {
    if (Number(e["frame.number"]) > upto) return false;
    if (u.addresses.version === 4) {
      const id = Number.parseInt(e["ip.id"] ?? "", 16);
      return (
        e["ip.src"] === src &&
        e["ip.dst"] === dst &&
        id === (((packet[4] as number) << 8) | (packet[5] as number)) &&
        e["ip.frag_offset"] === "0" &&
        e["ip.flags.mf"] === "1"
      );
    }
    return e["ipv6.src"] === src && e["ipv6.dst"] === dst && e["ipv6.fraghdr.offset"] === "0";
  });
  const last = found.at(-1);
  assert.ok(last !== undefined, "the oracle has the first fragment");
  return last;
}

const tsharkRuns = new Map<string, Map<number, number>>();

/** `tshark` with defragmentation on: frame → reassembled data length (one run per file). */
function tsharkReassembled(file: string): Map<number, number> {
  const cached = tsharkRuns.get(file);
  if (cached !== undefined) return cached;
  const out = spawnSync(
    "tshark",
    [
      "-r",
      join(ROOT, file),
      "-o",
      "ip.defragment:TRUE",
      "-o",
      "ipv6.defragment:TRUE",
      "-T",
      "fields",
      "-e",
      "frame.number",
      "-e",
      "ip.reassembled.length",
      "-e",
      "ipv6.reassembled.length",
    ],
    { encoding: "utf8" },
  );
  assert.equal(out.status, 0, `tshark failed: ${out.stderr}`);
  const lengths = new Map<number, number>();
  for (const line of out.stdout.split("\n")) {
    const [frame, v4, v6] = line.split("\t");
    const length = v4 || v6;
    if (frame && length) lengths.set(Number(frame), Number(length));
  }
  tsharkRuns.set(file, lengths);
  return lengths;
}

/** Data length of a rebuilt packet: what TShark calls the reassembled length. */
function dataLength(packet: Uint8Array): number {
  if ((packet[0] as number) >>> 4 === 4) return packet.length - ((packet[0] as number) & 0x0f) * 4;
  const v = Ipv6View.check(packet);
  assert.ok(v.ok);
  const chain = v.value.extensions();
  assert.ok(chain.ok);
  // The fixtures carry no Unfragmentable extension headers: the whole payload was fragmented.
  assert.ok(chain.value.headers.every((h) => h.type !== 0 && h.type !== 43));
  return v.value.payloadLength;
}

/** A rebuilt datagram agrees with the committed oracle's entry for its offset-zero fragment. */
function checkAgainstOracle(entries: readonly OracleEntry[], c: Completion): void {
  const e = firstFragmentEntry(entries, c.packet, c.frame);
  const u = upperLayer(c.packet);
  const data = dataLength(c.packet);
  assert.equal(u.protocol, Number(e["ip.proto"] ?? e["ipv6.fraghdr.nxt"]), `frame ${c.frame}: protocol`);
  const at = u.offset;
  const field = (o: number): number => ((c.packet[at + o] as number) << 8) | (c.packet[at + o + 1] as number);
  if (u.protocol === 17) {
    assert.equal(data, Number(e["udp.length"]), `frame ${c.frame}: UDP length = reassembled length`);
    assert.equal(field(4), data);
    assert.equal(field(6), Number.parseInt(e["udp.checksum"] ?? "", 16));
    assert.equal(verifyUdpChecksum(c.packet, at, c.packet.length, u.addresses), "good", "UDP checksum");
  } else if (u.protocol === 6) {
    assert.equal(((c.packet[at + 12] as number) >>> 4) * 4, Number(e["tcp.hdr_len"]));
    assert.equal(field(16), Number.parseInt(e["tcp.checksum"] ?? "", 16));
    assert.ok(verifyTcpChecksum(c.packet, at, c.packet.length, u.addresses), "TCP checksum");
  } else assert.fail(`unexpected protocol ${u.protocol}`);
}

/** Datagrams rebuilt from several fragments per file, by policy ("drop", "acceptFirst"). */
const REBUILT: Readonly<Record<string, readonly [number, number]>> = {
  "ipv4_frag/pcpp__IPv4Frag.pcap": [1, 1],
  "ipv4_frag/zeek__ipv4_fragmented-1.pcap": [0, 0],
  "ipv4_frag/zeek__ipv4_fragmented-2.pcap": [0, 0],
  "ipv4_frag/zeek__ipv4_fragmented-3.pcap": [0, 0],
  "ipv4_frag/zeek__ipv4_fragmented-4.pcap": [0, 1],
  "ipv4_frag/zeek__ipv4_fragmented-syn.pcap": [1, 1],
  "ipv6_frag/pcpp__ipv6-frag.pcap": [1, 1],
  "ipv6_frag/zeek__ipv6-fragmented-dns.pcap": [1, 1],
  "ipv6_frag/zeek__ipv6-http-atomic-frag.pcap": [0, 0],
};

describe("reassembling the real captures", () => {
  it("covers every capture in ipv4_frag and ipv6_frag", () => {
    assert.deepEqual(FILES, Object.keys(REBUILT).sort());
  });

  for (const file of FILES) {
    it(`${file}: rebuilt datagrams agree with the committed TShark dissection`, () => {
      const entries = oracle(file);
      const policies = ["drop", "acceptFirst"] as const;
      const rebuilt = policies.map((policy) => {
        const multi = run(file, policy).completions.filter((x) => x.fragments >= 2);
        for (const c of multi) checkAgainstOracle(entries, c);
        return multi.length;
      });
      assert.deepEqual(rebuilt, REBUILT[file]);
    });
  }

  for (const policy of ["drop", "acceptFirst"] as const) {
    it(`completes where TShark reassembles, with TShark's length (overlaps: ${policy})`, () => {
      let reassembled = 0;
      for (const file of FILES) {
        const theirs = tsharkReassembled(file);
        const { completions, drops } = run(file, policy);
        const ours = new Map(completions.filter((c) => c.fragments >= 2).map((c) => [c.frame, dataLength(c.packet)]));
        const expected = new Map(theirs);
        for (const d of DEVIATIONS.filter((x) => x.file === file && x.policies.includes(policy))) {
          assert.ok(theirs.has(d.frame), `${file}: the deviation at frame ${d.frame} is stale`);
          assert.equal(drops.get(d.frame), d.reason, `${file} frame ${d.frame}`);
          expected.delete(d.frame);
        }
        assert.deepEqual(ours, expected, file);
        reassembled += ours.size;
      }
      assert.equal(reassembled, policy === "drop" ? 4 : 5);
    });
  }

  it("an atomic fragment (RFC 6946) comes back alone, the Fragment header removed", () => {
    const { completions } = run("ipv6_frag/zeek__ipv6-http-atomic-frag.pcap", "drop");
    const atomic = completions.filter((c) => c.fragments === 1);
    assert.deepEqual(
      atomic.map((c) => c.frame),
      [13, 15, 16, 20, 21],
    );
    for (const c of atomic) {
      const u = upperLayer(c.packet);
      assert.equal(u.protocol, 6);
      assert.ok(verifyTcpChecksum(c.packet, u.offset, c.packet.length, u.addresses), `frame ${c.frame} TCP checksum`);
    }
  });

  it("datagrams left incomplete expire 60 s on, with their first fragment when it came", () => {
    const three = run("ipv4_frag/zeek__ipv4_fragmented-3.pcap", "drop");
    const [e] = three.reassembler.expire(three.lastNs + 60_000_000_000n);
    assert.ok(e !== undefined);
    assert.equal(e.identification, 0x4bc5);
    assert.equal(e.fragments, 5);
    const frame1 = capturedIpPackets(join(ROOT, "ipv4_frag/zeek__ipv4_fragmented-3.pcap"))[0];
    assert.deepEqual(e.firstFragment, frame1?.ip.subarray(0, 1500));

    const dns = run("ipv6_frag/zeek__ipv6-fragmented-dns.pcap", "drop");
    const expired = dns.reassembler.expire(dns.lastNs + 60_000_000_000n);
    assert.deepEqual(
      expired.map((x) => [x.identification, x.fragments, x.firstFragment]),
      [[1, 1, undefined]],
    );
  });
});
