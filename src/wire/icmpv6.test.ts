import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv6Address } from "../base/ip.ts";
import {
  emitIcmpv6,
  type Icmpv6Repr,
  Icmpv6View,
  icmpv6Length,
  type NdOption,
  parseIcmpv6,
  parseNdOptions,
  verifyIcmpv6Checksum,
} from "./icmpv6.ts";
import { captureFiles } from "./link-ip-fixtures.testing.ts";
import type { Ipv6PseudoHeaderAddresses } from "./transport-checksum.ts";
import {
  oracleNumber,
  referenceChecksum,
  segments,
  TRANSPORT_FOLDERS,
  type TransportSegment,
} from "./transport-fixtures.testing.ts";

const icmpSegments = segments([...TRANSPORT_FOLDERS, "ipv6_frag"].flatMap(captureFiles), 58);
const label = (s: TransportSegment) => `${s.path} #${s.packet.number}`;

function parsed(s: TransportSegment): Icmpv6Repr {
  const r = parseIcmpv6(s.frame, s.offset, s.end);
  assert.ok(r.ok, label(s));
  return r.value;
}

function v6(s: TransportSegment): Ipv6PseudoHeaderAddresses {
  assert.equal(s.addresses.version, 6);
  return s.addresses as Ipv6PseudoHeaderAddresses;
}

const oracleText = (s: TransportSegment, field: string, index: number) => s.oracle[field]?.split("|")[index];

function option<K extends "mtu" | "prefixInformation">(options: readonly NdOption[], kind: K) {
  return options.find((o): o is Extract<NdOption, { kind: K }> => o.kind === kind);
}

function linkLayerAddress(
  options: readonly NdOption[],
  kind: "sourceLinkLayerAddress" | "targetLinkLayerAddress",
): string | undefined {
  for (const o of options) if (o.kind === kind) return o.address;
  return undefined;
}

describe("ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861) on real captures", () => {
  it("covers echo, the four error types and RS, RA, NS, NA", () => {
    const kinds = new Set(icmpSegments.map((s) => parsed(s).kind));
    for (const k of [
      "echoRequest",
      "echoReply",
      "destinationUnreachable",
      "packetTooBig",
      "timeExceeded",
      "routerSolicitation",
      "routerAdvertisement",
      "neighborSolicitation",
      "neighborAdvertisement",
      "other",
    ]) {
      assert.ok(kinds.has(k as Icmpv6Repr["kind"]), k);
    }
  });

  it("reads type, code, and echo identifier and sequence as TShark does", () => {
    let echoes = 0;
    for (const s of icmpSegments) {
      const repr = parsed(s);
      assert.equal(repr.type, oracleNumber(s.oracle, "icmpv6.type"), label(s));
      assert.equal(repr.code, oracleNumber(s.oracle, "icmpv6.code"), label(s));
      if (repr.kind === "echoRequest" || repr.kind === "echoReply") {
        assert.equal(repr.identifier, oracleNumber(s.oracle, "icmpv6.echo.identifier"), label(s));
        assert.equal(repr.sequence, oracleNumber(s.oracle, "icmpv6.echo.sequence_number"), label(s));
        echoes++;
      }
    }
    assert.ok(echoes > 20, `echoes is ${echoes}`);
  });

  it("parses the quoted IPv6 header, its extension chain and the quoted ports as TShark does", () => {
    let quotes = 0;
    let withExtensions = 0;
    for (const s of icmpSegments) {
      const repr = parsed(s);
      if (!("quoted" in repr)) continue;
      assert.ok(repr.quoted.ok, label(s));
      const q = repr.quoted.value;
      assert.equal(q.ip.src.toString(), oracleText(s, "ipv6.src", 1), label(s));
      assert.equal(q.ip.dst.toString(), oracleText(s, "ipv6.dst", 1), label(s));
      assert.equal(q.ip.nextHeader, oracleNumber(s.oracle, "ipv6.nxt", 1), label(s));
      assert.equal(q.ip.hopLimit, oracleNumber(s.oracle, "ipv6.hlim", 1), label(s));
      assert.equal(q.ip.payloadLength, oracleNumber(s.oracle, "ipv6.plen", 1), label(s));
      if (q.ip.upperProtocol === 17) {
        assert.equal(q.srcPort, oracleNumber(s.oracle, "udp.srcport"), label(s));
        assert.equal(q.dstPort, oracleNumber(s.oracle, "udp.dstport"), label(s));
      }
      if (q.ip.extensions.length > 0) withExtensions++;
      quotes++;
    }
    assert.ok(quotes >= 10, `quotes is ${quotes}`);
    assert.ok(withExtensions >= 1, "a quote with a Hop-by-Hop header (icmp6-destunreach-ip6ext-udp)");
  });

  it("reads the MTU of packet too big", () => {
    const s = icmpSegments.find((x) => parsed(x).kind === "packetTooBig");
    assert.ok(s);
    const repr = parsed(s);
    assert.ok(repr.kind === "packetTooBig");
    assert.equal(repr.mtu, Buffer.from(s.frame).readUInt32BE(s.offset + 4));
  });

  it("reads ND targets, flags and link-layer address options as TShark summarises them", () => {
    let checked = 0;
    for (const s of icmpSegments) {
      const repr = parsed(s);
      const info = s.oracle["_ws.col.Info"] ?? "";
      if (repr.kind === "neighborSolicitation") {
        const m = /Neighbor Solicitation for (\S+)(?: from (\S+))?/.exec(info);
        assert.ok(m, label(s));
        assert.equal(repr.target.toString(), m[1]);
        assert.equal(linkLayerAddress(repr.options, "sourceLinkLayerAddress"), m[2], label(s));
        checked++;
      } else if (repr.kind === "neighborAdvertisement") {
        const m = /Neighbor Advertisement (\S+) \(([a-z, ]+)\)(?: is at (\S+))?/.exec(info);
        assert.ok(m, label(s));
        assert.equal(repr.target.toString(), m[1]);
        const flags = (m[2] as string).split(", ");
        assert.deepEqual(
          [repr.router, repr.solicited, repr.override],
          [flags.includes("rtr"), flags.includes("sol"), flags.includes("ovr")],
          label(s),
        );
        assert.equal(linkLayerAddress(repr.options, "targetLinkLayerAddress"), m[3], label(s));
        checked++;
      } else if (repr.kind === "routerAdvertisement") {
        const m = /Router Advertisement from (\S+)/.exec(info);
        assert.ok(m, label(s));
        assert.equal(linkLayerAddress(repr.options, "sourceLinkLayerAddress"), m[1]);
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} ND messages checked`);
  });

  it("decodes the router advertisement's MTU and prefix information options", () => {
    const s = icmpSegments.find((x) => parsed(x).kind === "routerAdvertisement");
    assert.ok(s);
    const ra = parsed(s);
    assert.ok(ra.kind === "routerAdvertisement");
    const at = s.offset + 16; // options start after the 16-byte RA
    const mtu = option(ra.options, "mtu");
    const prefix = option(ra.options, "prefixInformation");
    assert.ok(mtu && prefix);
    // Cross-check against the raw option bytes, located by walking type/length independently.
    const raw = new Map<number, Uint8Array>();
    for (let i = at; i < s.end; i += (s.frame[i + 1] as number) * 8) {
      raw.set(s.frame[i] as number, s.frame.subarray(i, i + (s.frame[i + 1] as number) * 8));
    }
    const mtuBytes = raw.get(5);
    const prefixBytes = raw.get(3);
    assert.ok(mtuBytes && prefixBytes);
    assert.equal(mtu.mtu, Buffer.from(mtuBytes).readUInt32BE(4));
    assert.equal(prefix.prefixLength, prefixBytes[2]);
    assert.equal(prefix.onLink, ((prefixBytes[3] as number) & 0x80) !== 0);
    assert.equal(prefix.autonomous, ((prefixBytes[3] as number) & 0x40) !== 0);
    assert.equal(prefix.validLifetime, Buffer.from(prefixBytes).readUInt32BE(4));
    assert.equal(prefix.preferredLifetime, Buffer.from(prefixBytes).readUInt32BE(8));
    assert.equal(prefix.prefix.toString(), new Ipv6Address(prefixBytes.slice(16, 32)).toString());
    assert.equal(ra.curHopLimit, s.frame[s.offset + 4]);
    assert.equal(ra.routerLifetime, Buffer.from(s.frame).readUInt16BE(s.offset + 6));
  });

  it("round-trips every message byte for byte, and parse → emit → parse is identical", () => {
    for (const s of icmpSegments) {
      const repr = parsed(s);
      const original = s.frame.slice(s.offset, s.end);
      const out = new Uint8Array(icmpv6Length(repr));
      assert.equal(emitIcmpv6(repr, out, 0), original.length, label(s));
      assert.deepEqual(out, original, label(s));
      const again = parseIcmpv6(out);
      assert.ok(again.ok);
      assert.deepEqual(again.value, repr, label(s));
    }
  });

  it("computes checksums over the IPv6 pseudo-header equal to the captured ones where those are right", (t) => {
    const wrong: string[] = [];
    for (const s of icmpSegments) {
      const repr = parsed(s);
      const message = s.frame.slice(s.offset, s.end);
      const expected = referenceChecksum(s.addresses, 58, message, 2);
      assert.equal(verifyIcmpv6Checksum(s.frame, s.offset, s.end, v6(s)), expected === repr.checksum, label(s));
      if (expected !== repr.checksum) wrong.push(`${label(s)} (0x${repr.checksum.toString(16)})`);
      const out = new Uint8Array(icmpv6Length(repr));
      emitIcmpv6(repr, out, 0, v6(s));
      assert.equal(((out[2] as number) << 8) | (out[3] as number), expected, label(s));
      assert.ok(verifyIcmpv6Checksum(out, 0, out.length, v6(s)));
      emitIcmpv6(repr, out, 0, v6(s), "wrong");
      assert.ok(!verifyIcmpv6Checksum(out, 0, out.length, v6(s)), label(s));
    }
    t.diagnostic(`ICMPv6: ${icmpSegments.length} messages, wrong checksum in capture: [${wrong.join("; ")}]`);
    assert.ok(wrong.length * 10 < icmpSegments.length, `too many wrong checksums: ${wrong.join("; ")}`);
  });
});

describe("ICMPv6 malformed messages and built messages", () => {
  const ns = icmpSegments.find((s) => {
    const r = parsed(s);
    return r.kind === "neighborSolicitation" && r.options.length > 0;
  });
  assert.ok(ns);
  const s = ns;

  it("an ND option of length 0 or running past the message is an error at its length byte", () => {
    const at = s.offset + 24;
    for (const bad of [0, 2]) {
      const f = s.frame.slice(0, s.end);
      f[at + 1] = bad;
      const r = parseIcmpv6(f, s.offset, s.end);
      assert.ok(!r.ok, `length ${bad}`);
      assert.deepEqual([r.error.protocol, r.error.field, r.error.offset], ["icmpv6", "ndOption.length", at + 1]);
    }
    const halfOption = parseNdOptions(Uint8Array.from([1]), 0, 1);
    assert.ok(!halfOption.ok);
  });

  it("a neighbor solicitation without its full target, or a message under 8 bytes, is an error", () => {
    const r = parseIcmpv6(s.frame, s.offset, s.offset + 20);
    assert.ok(!r.ok);
    assert.equal(r.error.offset, s.offset);
    const tiny = Icmpv6View.check(s.frame, s.offset, s.offset + 7);
    assert.ok(!tiny.ok);
    assert.equal(tiny.error.field, "header");
  });

  it("keeps unknown ND options and reserved bits, and never throws on corruption", () => {
    const f = s.frame.slice(0, s.end);
    for (let i = s.offset; i < s.end; i++) {
      for (let v = 0; v < 256; v += 5) {
        const g = f.slice();
        g[i] = v;
        const r = parseIcmpv6(g, s.offset, g.length);
        if (!r.ok) continue;
        const out = new Uint8Array(s.offset + icmpv6Length(r.value));
        emitIcmpv6(r.value, out, s.offset);
        assert.deepEqual(out.subarray(s.offset), g.subarray(s.offset), `byte ${i} = ${v}`);
        assert.deepEqual(parseIcmpv6(out, s.offset), r);
      }
    }
    for (let end = s.offset; end < s.end; end++) parseIcmpv6(f, s.offset, end);
  });

  it("an error quoting garbage keeps the error inside `quoted`, naming field and offset", () => {
    const error = icmpSegments.find((x) => x.path.includes("ip6ext"));
    assert.ok(error);
    const quote = error.offset + 8;
    const bad = error.frame.slice(0, error.end);
    bad[quote] = 0x45;
    const r = parseIcmpv6(bad, error.offset, error.end);
    assert.ok(r.ok && r.value.kind === "destinationUnreachable" && !r.value.quoted.ok);
    assert.deepEqual(
      [r.value.quoted.error.protocol, r.value.quoted.error.field, r.value.quoted.error.offset],
      ["ipv6", "version", quote],
    );
    const cut = parseIcmpv6(error.frame, error.offset, quote + 39);
    assert.ok(cut.ok && "quoted" in cut.value && !cut.value.quoted.ok);
    assert.equal(cut.value.quoted.error.offset, quote);
    // The Hop-by-Hop header's length pointing past the quote.
    const chain = error.frame.slice(0, error.end);
    chain[quote + 41] = 200;
    const c = parseIcmpv6(chain, error.offset, error.end);
    assert.ok(c.ok && "quoted" in c.value && !c.value.quoted.ok);
    assert.equal(c.value.quoted.error.protocol, "ipv6");
    assert.equal(c.value.quoted.error.offset, quote + 41);
    for (let i = quote; i < error.end; i++) {
      for (let v = 0; v < 256; v += 7) {
        const g = error.frame.slice(0, error.end);
        g[i] = v;
        const p = parseIcmpv6(g, error.offset, g.length);
        assert.ok(p.ok);
        const out: Uint8Array = new Uint8Array(error.offset + icmpv6Length(p.value));
        emitIcmpv6(p.value, out, error.offset);
        assert.deepEqual(parseIcmpv6(out, error.offset), p);
      }
    }
  });

  it("emits a redirect with options and parses it back", () => {
    const target = Ipv6Address.parse("fe80::1");
    const destination = Ipv6Address.parse("2001:db8::5");
    const redirect = {
      kind: "redirect",
      type: 137,
      code: 0,
      checksum: 0,
      target,
      destination,
      options: [
        { kind: "targetLinkLayerAddress", address: "00:60:97:07:69:ea" },
        { kind: 4, data: new Uint8Array(14) },
      ],
    } as const;
    const addresses = { version: 6, src: Ipv6Address.parse("fe80::2"), dst: Ipv6Address.parse("fe80::3") } as const;
    const out = new Uint8Array(icmpv6Length(redirect));
    assert.equal(out.length, 8 + 32 + 8 + 16);
    emitIcmpv6(redirect, out, 0, addresses);
    assert.ok(verifyIcmpv6Checksum(out, 0, out.length, addresses));
    const back = parseIcmpv6(out);
    assert.ok(back.ok && back.value.kind === "redirect");
    assert.equal(back.value.target.toString(), "fe80::1");
    assert.equal(back.value.destination.toString(), "2001:db8::5");
    assert.deepEqual(back.value.options, redirect.options);
  });

  it("emits packet too big with its MTU and parameter problem with its pointer", () => {
    const data = new Uint8Array(48);
    data[0] = 0x60;
    const tooBig = { kind: "packetTooBig", type: 2, code: 0, checksum: 0, mtu: 1280, data } as const;
    const out = new Uint8Array(icmpv6Length(tooBig));
    emitIcmpv6(tooBig, out, 0);
    assert.deepEqual([...out.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 5, 0]);
    const back = parseIcmpv6(out);
    assert.ok(back.ok && back.value.kind === "packetTooBig");
    assert.equal(back.value.mtu, 1280);
    const problem = { kind: "parameterProblem", type: 4, code: 1, checksum: 0, pointer: 40, data } as const;
    emitIcmpv6(problem, out, 0);
    const p = parseIcmpv6(out);
    assert.ok(p.ok && p.value.kind === "parameterProblem");
    assert.equal(p.value.pointer, 40);
  });
});
