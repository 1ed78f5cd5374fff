/**
 * Differential test against TShark: every capture in fixtures/captures is read and decoded by `openwfp
 * decode`'s record builder and compared, packet by packet, with the `.tshark.json` dissection beside it
 * (TShark 4.0.17, IP defragmentation and TCP reassembly off): length, captured length, time, interface, link
 * type; IP version, addresses, protocol, TTL / hop limit, id, fragment offset, MF, DF; TCP ports, seq, ack,
 * flags, window, payload length; UDP ports and length; ICMPv4 / ICMPv6 type and code, and the header an ICMP
 * error quotes. Each of our objects is compared whole, so a key TShark has no value for is a difference too.
 *
 * TShark's literal values are what we must produce, except where docs/deviations.md lists a deviation: each
 * one is a rule below that recognises the packet, checks our value in the deviation's stated form, and records
 * the packet; the last test proves that the packets recorded are exactly the packets the document lists.
 * Decoder errors may appear only where TShark marks the packet malformed or cut short; a reader fault only
 * where TShark's dissection stops at the same packet (checksum-oracle.test.ts proves that tshark fails there).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, it } from "node:test";
import { formatEpochNs } from "../base/index.ts";
import { readCaptureSync, wiretapEncapsulation } from "../capture/index.ts";
import { type DecodeRecord, decodeRecord } from "./decode.ts";
import { captures, documentedDeviations, FIXTURES, sortedKeys } from "./oracle.testing.ts";

type Oracle = Record<string, string>;
type Json = Record<string, unknown>;

/** The deviations this test checks, as docs/deviations.md names their lists. */
const DEVIATIONS = [
  "null-family",
  "icmp-quoted",
  "ipv6-upper-protocol",
  "first-fragment-tcp-length",
  "interface-section",
  "timestamp-normalised",
  "decode-error",
] as const;
type Deviation = (typeof DEVIATIONS)[number];

/** Packets where each deviation was needed, filled as the files are compared. */
const seen = new Map<Deviation, Set<string>>(DEVIATIONS.map((d) => [d, new Set<string>()]));

function first(v: string | undefined): string | undefined {
  return v?.split("|")[0];
}

function second(v: string | undefined): string | undefined {
  return v?.split("|")[1];
}

function num(v: string | undefined): number | undefined {
  const f = first(v);
  if (f === undefined || f === "") return undefined;
  return f.startsWith("0x") ? Number.parseInt(f, 16) : Number(f);
}

/**
 * TShark prints frame.time_epoch as seconds, ".", then the nanosecond field with %09d — so an invalid
 * sub-second value of a pcap record (10^9 ns or more, or negative as a signed 32-bit number) prints as ten
 * digits or with a leading "-". Both readers keep the same (seconds, nanoseconds) pair; this turns TShark's
 * text back into that instant.
 */
function tsharkTimeToNs(text: string): bigint {
  const negative = text.startsWith("-");
  const [secs = "0", frac = "0"] = (negative ? text.slice(1) : text).split(".");
  const ns = BigInt(frac.length >= 9 ? frac : frac.padEnd(9, "0"));
  return negative ? BigInt(secs) * 1_000_000_000n - ns : BigInt(secs) * 1_000_000_000n + ns;
}

function flagLetters(hex: number): string {
  const letters = "CEUAPRSF";
  let out = "";
  for (let i = 0; i < 8; i++) if (hex & (0x80 >> i)) out += letters[i];
  return out;
}

/** IPv6 extension headers in TShark's frame.protocols, AH included (RFC 8200 §4 counts it as one). */
const IPV6_EXTENSIONS = new Set(["ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ah"]);
/** TShark protocol names of the upper layers in the fixtures → IANA protocol numbers. */
const PROTOCOL_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, ospf: 89 };

/**
 * The upper-layer protocol of the `nth` IPv6 header (0: the packet's own, 1: the one an ICMPv6 error quotes),
 * from TShark's protocol chain: the first protocol after that header's extension headers. A fragment whose
 * payload TShark shows as "data" has it in ipv6.fraghdr.nxt.
 */
function ipv6UpperProtocol(o: Oracle, nth: number): number {
  const chain = (o["frame.protocols"] ?? "").split(":");
  let at = -1;
  for (let k = 0; k <= nth; k++) at = chain.indexOf("ipv6", at + 1);
  assert.ok(at >= 0, `no IPv6 header ${nth} in ${o["frame.protocols"]}`);
  let i = at + 1;
  while (IPV6_EXTENSIONS.has(chain[i] ?? "")) i++;
  const name = chain[i];
  if ((name === undefined || name === "data") && chain.slice(at + 1, i).includes("ipv6.fraghdr")) {
    return num(o["ipv6.fraghdr.nxt"]) as number;
  }
  const n = PROTOCOL_NUMBERS[name ?? ""];
  assert.ok(n !== undefined, `no protocol number for ${name} in ${o["frame.protocols"]}`);
  return n;
}

/** True when TShark marks the packet malformed, cut short by the snap length, or hit a bounds error. */
function tsharkMarksMalformed(o: Oracle): boolean {
  const chain = (o["frame.protocols"] ?? "").split(":");
  const info = o["_ws.col.Info"] ?? "";
  return (
    chain.includes("_ws.malformed") ||
    chain.includes("_ws.short") ||
    /\[(Malformed Packet|BoundError|Packet size limited during capture|Unreassembled Packet)/.test(info)
  );
}

/** TShark's values in the shape of our record (keys of every object we produce), before deviations. */
function literal(o: Oracle): Json {
  const e: Json = {
    length: num(o["frame.len"]),
    capturedLength: num(o["frame.cap_len"]),
    time: o["frame.time_epoch"],
    linkType: num(o["frame.encap_type"]),
  };
  if (first(o["ip.version"]) === "4" && o["ip.src"] !== undefined) {
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
    const ip: Json = {
      version: 6,
      src: first(o["ipv6.src"]),
      dst: first(o["ipv6.dst"]),
      protocol: num(o["ipv6.nxt"]),
      ttl: num(o["ipv6.hlim"]),
    };
    if (o["ipv6.fraghdr.ident"] !== undefined) {
      ip.id = num(o["ipv6.fraghdr.ident"]);
      ip.fragmentOffset = (num(o["ipv6.fraghdr.offset"]) ?? 0) * 8;
      ip.moreFragments = first(o["ipv6.fraghdr.more"]) === "1";
    }
    e.ip = ip;
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
  const type = o["icmp.type"] ?? o["icmpv6.type"];
  if (type !== undefined) e.icmp = { type: num(type), code: num(o["icmp.code"] ?? o["icmpv6.code"]) };
  return e;
}

/** Our record in the same shape; `linkType` as TShark's encapsulation number. */
function ours(r: DecodeRecord): Json {
  const a: Json = {
    length: r.length,
    capturedLength: r.capturedLength,
    time: r.time,
    linkType: wiretapEncapsulation(r.linkType),
  };
  if (r.ip !== undefined) a.ip = { ...r.ip };
  if (r.tcp !== undefined) a.tcp = { ...r.tcp };
  if (r.udp !== undefined) a.udp = { ...r.udp };
  if (r.icmp !== undefined)
    a.icmp = r.icmp.quoted === undefined ? { ...r.icmp } : { ...r.icmp, quoted: { ...r.icmp.quoted } };
  return a;
}

/**
 * Applies each documented deviation that the packet needs to TShark's values `want`, checking the
 * deviation's own condition, and returns the deviations used.
 */
function applyDeviations(o: Oracle, record: DecodeRecord, want: Json): Deviation[] {
  const used: Deviation[] = [];
  const ip = want.ip as Json | undefined;

  // TShark reads a LINKTYPE_NULL header that holds no address family as an EtherType; we decode no further.
  if (ip !== undefined && record.ip === undefined && /^loopback address family \d+$/.test(record.undecoded ?? "")) {
    const family = Number(record.undecoded?.split(" ").at(-1));
    assert.ok(![2, 24, 28, 30].includes(family), `${family} is an address family`);
    delete want.ip;
    delete want.tcp;
    delete want.udp;
    delete want.icmp;
    used.push("null-family");
  }

  // An ICMP error: TShark repeats ip.* for the quoted header and puts its ports in tcp.*/udp.*; we keep
  // tcp/udp for the packet's own transport header and give the quoted header as icmp.quoted.
  const v4Error = o["ip.src"]?.includes("|") === true;
  const v6Error = o["ipv6.src"]?.includes("|") === true;
  if (want.icmp !== undefined && (v4Error || v6Error)) {
    const quoted: Json = v4Error
      ? { version: 4, src: second(o["ip.src"]), dst: second(o["ip.dst"]), protocol: num(second(o["ip.proto"])) }
      : { version: 6, src: second(o["ipv6.src"]), dst: second(o["ipv6.dst"]), protocol: ipv6UpperProtocol(o, 1) };
    const inner = (want.tcp ?? want.udp) as Json | undefined;
    if (inner !== undefined) {
      quoted.srcPort = inner.srcPort;
      quoted.dstPort = inner.dstPort;
    }
    delete want.tcp;
    delete want.udp;
    (want.icmp as Json).quoted = quoted;
    used.push("icmp-quoted");
  }

  // A first IPv4 fragment: without reassembly TShark gives no tcp.len (the segment's length is unknown); our
  // payloadLength is what this fragment carries after the TCP header, per the IP lengths.
  const tcp = want.tcp as Json | undefined;
  if (tcp !== undefined && tcp.payloadLength === undefined && ip?.version === 4 && ip.moreFragments === true) {
    const room = (num(o["ip.len"]) ?? 0) - (num(o["ip.hdr_len"]) ?? 0);
    const header = num(o["tcp.hdr_len"]) ?? 0;
    if (header <= room) {
      tcp.payloadLength = room - header;
      used.push("first-fragment-tcp-length");
    }
  }

  // IPv6: TShark's ipv6.nxt is the first Next Header; ip.protocol is the one after the extension headers.
  if (ip?.version === 6) {
    const upper = ipv6UpperProtocol(o, 0);
    if (upper !== ip.protocol) {
      ip.protocol = upper;
      used.push("ipv6-upper-protocol");
    }
  }

  // Time: TShark prints an out-of-range sub-second field as read; we print the same instant normalised.
  const normalised = formatEpochNs(tsharkTimeToNs(o["frame.time_epoch"] ?? ""));
  if (normalised !== want.time) {
    want.time = normalised;
    used.push("timestamp-normalised");
  }
  return used;
}

describe("decode agrees with TShark on every fixture capture", () => {
  const files = captures();
  let packets = 0;
  let withIp = 0;
  let withTransport = 0;

  it("finds the fixture captures", () => {
    assert.ok(files.length >= 70, `only ${files.length} captures`);
  });

  for (const file of files) {
    const name = relative(FIXTURES, file);
    it(name, () => {
      const oracle = JSON.parse(readFileSync(`${file}.tshark.json`, "utf8")) as { packets: Oracle[] };
      const read = readCaptureSync(new Uint8Array(readFileSync(file)));
      // A reader fault must stop us where TShark's dissection stopped; only fatal faults are expected here.
      assert.equal(read.packets.length, oracle.packets.length, "packet count");
      for (const e of read.errors) assert.ok(e.fatal, `${name}: non-fatal reader fault ${e.code}`);
      read.packets.forEach((packet, i) => {
        const key = `${name}#${i + 1}`;
        const o = oracle.packets[i] as Oracle;
        assert.equal(num(o["frame.number"]), packet.index, `${key} frame number`);
        const record = decodeRecord(packet);
        const want = literal(o);
        const used = applyDeviations(o, record, want);
        for (const d of used) seen.get(d)?.add(key);
        assert.deepEqual(ours(record), want, key);

        // pcapng: TShark numbers interfaces within a section, we across the file.
        if (o["frame.interface_id"] !== undefined) {
          const local = read.interfaces[record.interface]?.sectionInterfaceId;
          assert.equal(local, num(o["frame.interface_id"]), `${key} interface`);
          if (local !== record.interface) seen.get("interface-section")?.add(key);
        }

        if (record.errors.length > 0 && !tsharkMarksMalformed(o)) seen.get("decode-error")?.add(key);
        packets++;
        if (record.ip !== undefined) withIp++;
        if (record.tcp !== undefined || record.udp !== undefined || record.icmp !== undefined) withTransport++;
      });
    });
  }

  it("every deviation docs/deviations.md lists is needed by exactly the packets it lists", (t) => {
    const documented = documentedDeviations();
    for (const d of DEVIATIONS) {
      const listed = documented.get(d);
      assert.ok(listed !== undefined, `docs/deviations.md has no list for ${d}`);
      assert.deepEqual(sortedKeys(seen.get(d) ?? []), sortedKeys(listed), d);
    }
    t.diagnostic(
      `${packets} packets of ${files.length} captures compared (${withIp} with IP, ${withTransport} with TCP/UDP/ICMP); ` +
        `deviations: ${DEVIATIONS.map((d) => `${d} ${seen.get(d)?.size ?? 0}`).join(", ")}`,
    );
  });
});
