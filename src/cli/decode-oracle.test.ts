/**
 * Differential test against TShark: every capture in fixtures/captures is decoded by `openwfp decode`'s
 * record builder and compared, packet by packet and field by field, with the `.tshark.json` dissection
 * beside it (TShark 4.0.17, IP defragmentation and TCP reassembly off). Fields that TShark joins with "|"
 * (an ICMP error's quoted header repeats ip.* fields) are compared on their first, outer value.
 * Documented deviations are listed in docs/deviations.md and in DEVIATIONS below; nothing else may differ.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { formatEpochNs } from "../base/index.ts";
import { readCaptureSync } from "../capture/index.ts";
import { type DecodeRecord, decodeRecord } from "./decode.ts";

const ROOT = join(import.meta.dirname, "../../fixtures/captures");

type Oracle = Record<string, string>;

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...captures(path));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(path);
  }
  return out;
}

/**
 * Known, justified differences: "file#frame" → fields allowed to differ, with the reason (docs/deviations.md).
 */
const DEVIATIONS: Record<string, { fields: string[]; why: string }> = {
  "loopback_null/pcpp__null_loopback.pcap#3": {
    fields: ["ip", "udp"],
    why: "LINKTYPE_NULL family 0x0f000800 is no address family; TShark guesses an EtherType, openwfp reports it undecoded",
  },
  "loopback_null/pcpp__NullLoopback.pcap#3": {
    fields: ["ip", "udp"],
    why: "same frame as pcpp__null_loopback.pcap #3",
  },
};

function first(v: string | undefined): string | undefined {
  return v?.split("|")[0];
}

function second(v: string | undefined): string | undefined {
  return v?.split("|")[1];
}

/**
 * TShark prints frame.time_epoch as seconds, ".", then the nanosecond field with %09d — so an invalid
 * sub-second value of a pcap record (10^9 ns or more, or negative as a signed 32-bit number) prints as ten
 * digits or with a leading "-". Both readers keep the same (seconds, nanoseconds) pair; this turns TShark's
 * text back into that instant so it can be compared with our always-normalised 9-decimal text.
 */
function tsharkTimeToNs(text: string): bigint {
  const negative = text.startsWith("-");
  const [secs = "0", frac = "0"] = (negative ? text.slice(1) : text).split(".");
  const ns = BigInt(frac.length === 9 ? frac : frac.padEnd(9, "0").slice(0, Math.max(9, frac.length)));
  return negative ? BigInt(secs) * 1_000_000_000n - ns : BigInt(secs) * 1_000_000_000n + ns;
}

function num(v: string | undefined): number | undefined {
  const f = first(v);
  if (f === undefined || f === "") return undefined;
  return f.startsWith("0x") ? Number.parseInt(f, 16) : Number(f);
}

function flagLetters(hex: number): string {
  const letters = "CEUAPRSF";
  let out = "";
  for (let i = 0; i < 8; i++) if (hex & (0x80 >> i)) out += letters[i];
  return out;
}

/** What TShark's fields say our record must hold; only keys TShark has are compared. */
function expected(o: Oracle): Record<string, unknown> {
  const e: Record<string, unknown> = {
    length: num(o["frame.len"]),
    capturedLength: num(o["frame.cap_len"]),
    time: formatEpochNs(tsharkTimeToNs(o["frame.time_epoch"] ?? "0")),
  };
  if (o["ip.version"] !== undefined && first(o["ip.version"]) === "4" && o["ip.src"] !== undefined) {
    e.ip = {
      version: 4,
      src: first(o["ip.src"]),
      dst: first(o["ip.dst"]),
      protocol: num(o["ip.proto"]),
      ttl: num(o["ip.ttl"]),
      id: num(o["ip.id"]),
      fragmentOffset: (num(o["ip.frag_offset"]) ?? 0) * 8,
      moreFragments: first(o["ip.flags.mf"]) === "1",
      dontFragment: first(o["ip.flags.df"]) === "1",
    };
  } else if (o["ipv6.src"] !== undefined) {
    const ip: Record<string, unknown> = {
      version: 6,
      src: first(o["ipv6.src"]),
      dst: first(o["ipv6.dst"]),
      ttl: num(o["ipv6.hlim"]),
    };
    if (o["ipv6.fraghdr.ident"] !== undefined) {
      ip.id = num(o["ipv6.fraghdr.ident"]);
      ip.fragmentOffset = (num(o["ipv6.fraghdr.offset"]) ?? 0) * 8;
      ip.moreFragments = first(o["ipv6.fraghdr.more"]) === "1";
    }
    e.ip = ip;
  }
  const icmpError = (o["ip.src"] ?? o["ipv6.src"] ?? "").includes("|");
  if (icmpError) {
    // TShark's tcp.*/udp.* and second ip.* values are the datagram the ICMP error quotes.
    const v4 = o["ip.src"]?.includes("|") === true;
    const quoted: Record<string, unknown> = {
      src: second(v4 ? o["ip.src"] : o["ipv6.src"]),
      dst: second(v4 ? o["ip.dst"] : o["ipv6.dst"]),
    };
    const port = (k: string): number | undefined => num(o[`tcp.${k}`] ?? o[`udp.${k}`]);
    if (port("srcport") !== undefined) {
      quoted.srcPort = port("srcport");
      quoted.dstPort = port("dstport");
    }
    const type = o["icmp.type"] ?? o["icmpv6.type"];
    const code = o["icmp.code"] ?? o["icmpv6.code"];
    e.icmp = { type: num(type), code: num(code), quoted };
    return e;
  }
  if (o["tcp.srcport"] !== undefined) {
    e.tcp = {
      srcPort: num(o["tcp.srcport"]),
      dstPort: num(o["tcp.dstport"]),
      seq: num(o["tcp.seq_raw"]),
      ack: num(o["tcp.ack_raw"]),
      flags: flagLetters(num(o["tcp.flags"]) ?? 0),
      window: num(o["tcp.window_size_value"]),
      ...(o["tcp.len"] !== undefined ? { payloadLength: num(o["tcp.len"]) } : {}),
    };
  }
  if (o["udp.srcport"] !== undefined) {
    e.udp = { srcPort: num(o["udp.srcport"]), dstPort: num(o["udp.dstport"]), length: num(o["udp.length"]) };
  }
  if (o["icmp.type"] !== undefined) e.icmp = { type: num(o["icmp.type"]), code: num(o["icmp.code"]) };
  if (o["icmpv6.type"] !== undefined) e.icmp = { type: num(o["icmpv6.type"]), code: num(o["icmpv6.code"]) };
  return e;
}

/** Our record projected onto the keys TShark has. */
function actual(r: DecodeRecord, want: Record<string, unknown>): Record<string, unknown> {
  const a: Record<string, unknown> = { length: r.length, capturedLength: r.capturedLength, time: r.time };
  const pick = (obj: object | undefined, keys: Record<string, unknown> | undefined): unknown => {
    if (obj === undefined) return undefined;
    if (keys === undefined) return obj;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(keys)) out[k] = (obj as Record<string, unknown>)[k];
    return out;
  };
  for (const key of ["ip", "tcp", "udp", "icmp"] as const) {
    const wanted = want[key] as Record<string, unknown> | undefined;
    let mine = pick(r[key], wanted) as Record<string, unknown> | undefined;
    if (key === "icmp" && mine !== undefined && wanted?.quoted !== undefined) {
      mine = { ...mine, quoted: pick(r.icmp?.quoted, wanted.quoted as Record<string, unknown>) };
    }
    if (mine !== undefined || wanted !== undefined) a[key] = mine;
  }
  return a;
}

describe("decode agrees with TShark on every fixture capture", () => {
  const files = captures(ROOT);
  it("finds the fixture captures", () => {
    assert.ok(files.length >= 60, `only ${files.length} captures`);
  });
  for (const file of files) {
    const name = relative(ROOT, file);
    it(name, () => {
      const oracle = JSON.parse(readFileSync(`${file}.tshark.json`, "utf8")) as { packets: Oracle[] };
      const read = readCaptureSync(new Uint8Array(readFileSync(file)));
      assert.equal(read.packets.length, oracle.packets.length, "packet count");
      let compared = 0;
      read.packets.forEach((packet, i) => {
        const o = oracle.packets[i] as Oracle;
        const record = decodeRecord(packet);
        const want = expected(o);
        const got = actual(record, want);
        const deviation = DEVIATIONS[`${name}#${i + 1}`];
        for (const key of deviation?.fields ?? []) {
          delete want[key];
          delete got[key];
        }
        assert.deepEqual(got, want, `${name} frame ${i + 1}`);
        if (o["frame.interface_id"] !== undefined) {
          const iface = read.interfaces[record.interface];
          assert.equal(iface?.sectionInterfaceId, num(o["frame.interface_id"]), `${name} frame ${i + 1} interface`);
        }
        compared++;
      });
      assert.equal(compared, oracle.packets.length);
    });
  }
});
