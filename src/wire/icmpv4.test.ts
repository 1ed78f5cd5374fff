import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatIpv4, Ipv4Address } from "../base/ip.ts";
import {
  emitIcmpv4,
  type Icmpv4Repr,
  Icmpv4UnreachableCode,
  Icmpv4View,
  icmpv4Length,
  icmpv4UnreachableCodeName,
  parseIcmpv4,
  verifyIcmpv4Checksum,
} from "./icmpv4.ts";
import { captureFiles } from "./link-ip-fixtures.testing.ts";
import {
  oracleNumber,
  referenceInternetChecksum,
  segments,
  TRANSPORT_FOLDERS,
  type TransportSegment,
} from "./transport-fixtures.testing.ts";

const icmpSegments = segments([...TRANSPORT_FOLDERS, "vlan"].flatMap(captureFiles), 1);
const label = (s: TransportSegment) => `${s.path} #${s.packet.number}`;

function parsed(s: TransportSegment): Icmpv4Repr {
  const r = parseIcmpv4(s.frame, s.offset, s.end);
  assert.ok(r.ok, label(s));
  return r.value;
}

const oracleText = (s: TransportSegment, field: string, index: number) => s.oracle[field]?.split("|")[index];

describe("ICMPv4 (RFC 792) on real captures", () => {
  it("covers echo, destination unreachable, time exceeded, redirect and other types", () => {
    const kinds = new Set(icmpSegments.map((s) => parsed(s).kind));
    for (const k of ["echoRequest", "echoReply", "destinationUnreachable", "timeExceeded", "redirect", "other"]) {
      assert.ok(kinds.has(k as Icmpv4Repr["kind"]), k);
    }
  });

  it("reads type, code, and echo identifier and sequence as TShark does", () => {
    let echoes = 0;
    for (const s of icmpSegments) {
      const repr = parsed(s);
      assert.equal(repr.type, oracleNumber(s.oracle, "icmp.type"), label(s));
      assert.equal(repr.code, oracleNumber(s.oracle, "icmp.code"), label(s));
      if (repr.kind === "echoRequest" || repr.kind === "echoReply") {
        assert.equal(repr.identifier, oracleNumber(s.oracle, "icmp.ident"), label(s));
        assert.equal(repr.sequence, oracleNumber(s.oracle, "icmp.seq"), label(s));
        echoes++;
      }
    }
    assert.ok(echoes > 20, `echoes is ${echoes}`);
  });

  it("parses the quoted IPv4 header and ports of every error message as TShark does", () => {
    let quotes = 0;
    for (const s of icmpSegments) {
      const repr = parsed(s);
      if (!("quoted" in repr)) continue;
      assert.ok(repr.quoted.ok, label(s));
      const q = repr.quoted.value;
      assert.equal(q.ip.src.toString(), oracleText(s, "ip.src", 1), label(s));
      assert.equal(q.ip.dst.toString(), oracleText(s, "ip.dst", 1), label(s));
      assert.equal(q.ip.protocol, oracleNumber(s.oracle, "ip.proto", 1), label(s));
      assert.equal(q.ip.ttl, oracleNumber(s.oracle, "ip.ttl", 1), label(s));
      assert.equal(q.ip.identification, oracleNumber(s.oracle, "ip.id", 1), label(s));
      if (q.ip.protocol === 17) {
        assert.equal(q.srcPort, oracleNumber(s.oracle, "udp.srcport"), label(s));
        assert.equal(q.dstPort, oracleNumber(s.oracle, "udp.dstport"), label(s));
      }
      if (q.ip.protocol === 1) {
        assert.equal(q.icmpType, oracleNumber(s.oracle, "icmp.type", 1), label(s));
        assert.equal(q.icmpCode, oracleNumber(s.oracle, "icmp.code", 1), label(s));
      }
      quotes++;
    }
    assert.ok(quotes >= 6, `quotes is ${quotes}`);
  });

  it("reads the redirect gateway", () => {
    const s = icmpSegments.find((x) => parsed(x).kind === "redirect");
    assert.ok(s);
    const repr = parsed(s);
    assert.ok(repr.kind === "redirect");
    assert.equal(repr.gateway.toString(), formatIpv4(Buffer.from(s.frame).readUInt32BE(s.offset + 4)));
  });

  it("round-trips every message byte for byte, and parse → emit → parse is identical", () => {
    for (const s of icmpSegments) {
      const repr = parsed(s);
      const original = s.frame.slice(s.offset, s.end);
      const out = new Uint8Array(icmpv4Length(repr));
      assert.equal(emitIcmpv4(repr, out, 0, "keep"), original.length, label(s));
      assert.deepEqual(out, original, label(s));
      const again = parseIcmpv4(out);
      assert.ok(again.ok);
      assert.deepEqual(again.value, repr, label(s));
    }
  });

  it("computes checksums equal to the captured ones where those are right, and says which are wrong", (t) => {
    const wrong: string[] = [];
    for (const s of icmpSegments) {
      const repr = parsed(s);
      const message = Array.from(s.frame.subarray(s.offset, s.end));
      message[2] = 0;
      message[3] = 0;
      const expected = referenceInternetChecksum(message);
      assert.equal(verifyIcmpv4Checksum(s.frame, s.offset, s.end), expected === repr.checksum, label(s));
      if (expected !== repr.checksum) wrong.push(`${label(s)} (0x${repr.checksum.toString(16)})`);
      const out = new Uint8Array(icmpv4Length(repr));
      emitIcmpv4(repr, out, 0);
      assert.equal(((out[2] as number) << 8) | (out[3] as number), expected, label(s));
      emitIcmpv4(repr, out, 0, "wrong");
      assert.ok(!verifyIcmpv4Checksum(out, 0, out.length), label(s));
    }
    t.diagnostic(`ICMPv4: ${icmpSegments.length} messages, wrong checksum in capture: [${wrong.join("; ")}]`);
    assert.ok(wrong.length * 10 < icmpSegments.length, `too many wrong checksums: ${wrong.join("; ")}`);
  });
});

describe("ICMPv4 errors quoting garbage, and other edge cases", () => {
  const udpUnreachable = icmpSegments.find((s) => s.path.includes("destunreach-udp"));
  assert.ok(udpUnreachable);
  const s = udpUnreachable;
  const quote = s.offset + 8;

  function withByte(at: number, value: number): Uint8Array {
    const f = s.frame.slice(0, s.end);
    f[at] = value;
    return f;
  }

  it("a quoted header with a bad version is an error value inside the repr", () => {
    const r = parseIcmpv4(withByte(quote, 0x65), s.offset, s.end);
    assert.ok(r.ok && r.value.kind === "destinationUnreachable");
    assert.ok(!r.value.quoted.ok);
    assert.deepEqual(
      [r.value.quoted.error.protocol, r.value.quoted.error.field, r.value.quoted.error.offset],
      ["ipv4", "version", quote],
    );
  });

  it("a quoted header with IHL below 5 or cut short is an error value naming field and offset", () => {
    const ihl = parseIcmpv4(withByte(quote, 0x44), s.offset, s.end);
    assert.ok(ihl.ok && "quoted" in ihl.value && !ihl.value.quoted.ok);
    assert.deepEqual([ihl.value.quoted.error.field, ihl.value.quoted.error.offset], ["ihl", quote]);
    const cut = parseIcmpv4(s.frame, s.offset, quote + 12);
    assert.ok(cut.ok && "quoted" in cut.value && !cut.value.quoted.ok);
    assert.equal(cut.value.quoted.error.offset, quote);
    const empty = parseIcmpv4(s.frame, s.offset, quote);
    assert.ok(empty.ok && "quoted" in empty.value && !empty.value.quoted.ok);
  });

  it("ports are absent when the quote stops before them or quotes a later fragment", () => {
    const short = parseIcmpv4(s.frame, s.offset, quote + 22);
    assert.ok(short.ok && "quoted" in short.value && short.value.quoted.ok);
    assert.equal(short.value.quoted.value.srcPort, undefined);
    const fragment = parseIcmpv4(withByte(quote + 7, 0x10), s.offset, s.end);
    assert.ok(fragment.ok && "quoted" in fragment.value && fragment.value.quoted.ok);
    assert.equal(fragment.value.quoted.value.ip.fragmentOffset, 0x10 * 8);
    assert.equal(fragment.value.quoted.value.dstPort, undefined);
  });

  it("a message shorter than 8 bytes is an error; no corruption or truncation ever throws", () => {
    const r = Icmpv4View.check(s.frame, s.offset, s.offset + 7);
    assert.ok(!r.ok);
    assert.deepEqual([r.error.protocol, r.error.field, r.error.offset], ["icmpv4", "header", s.offset]);
    for (let i = s.offset; i < quote + 28; i++) {
      for (let v = 0; v < 256; v += 3) {
        const g = withByte(i, v);
        const p = parseIcmpv4(g, s.offset, g.length);
        if (!p.ok) continue;
        // Emitted at the same offset, so error offsets inside `quoted` (absolute) compare equal too.
        const out = new Uint8Array(s.offset + icmpv4Length(p.value));
        emitIcmpv4(p.value, out, s.offset, "keep");
        assert.deepEqual(parseIcmpv4(out, s.offset), p);
      }
    }
    for (let end = s.offset; end < s.end; end++) parseIcmpv4(s.frame, s.offset, end);
  });

  it("carries the next-hop MTU of 'fragmentation needed' (RFC 1191) through emit and parse", () => {
    const original = parsed(s);
    assert.ok(original.kind === "destinationUnreachable");
    const needFrag = {
      ...original,
      code: Icmpv4UnreachableCode.fragmentationNeeded,
      nextHopMtu: 1400,
    };
    const out = new Uint8Array(icmpv4Length(needFrag));
    emitIcmpv4(needFrag, out, 0);
    assert.deepEqual([out[0], out[1], out[6], out[7]], [3, 4, 1400 >> 8, 1400 & 0xff]);
    assert.ok(verifyIcmpv4Checksum(out, 0, out.length));
    const back = parseIcmpv4(out);
    assert.ok(back.ok && back.value.kind === "destinationUnreachable");
    assert.equal(back.value.nextHopMtu, 1400);
    assert.equal(icmpv4UnreachableCodeName(back.value.code), "fragmentationNeeded");
    assert.equal(icmpv4UnreachableCodeName(original.code), "portUnreachable");
  });

  it("emits a redirect and a parameter problem built from values", () => {
    const original = parsed(s);
    const data = original.data;
    const redirect = {
      kind: "redirect",
      type: 5,
      code: 1,
      checksum: 0,
      gateway: Ipv4Address.parse("10.0.0.254"),
      data,
    } as const;
    const out = new Uint8Array(icmpv4Length(redirect));
    emitIcmpv4(redirect, out, 0);
    const back = parseIcmpv4(out);
    assert.ok(back.ok && back.value.kind === "redirect");
    assert.equal(back.value.gateway.toString(), "10.0.0.254");
    assert.ok(back.value.quoted.ok);
    const problem = { kind: "parameterProblem", type: 12, code: 0, checksum: 0, pointer: 9, data } as const;
    emitIcmpv4(problem, out, 0);
    const p = parseIcmpv4(out);
    assert.ok(p.ok && p.value.kind === "parameterProblem");
    assert.equal(p.value.pointer, 9);
    assert.equal(out[4], 9);
  });
});
