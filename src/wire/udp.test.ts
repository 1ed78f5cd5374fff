import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address, Ipv6Address } from "../base/ip.ts";
import { captureFiles } from "./link-ip-fixtures.testing.ts";
import {
  oracleNumber,
  referenceChecksum,
  segments,
  TRANSPORT_FOLDERS,
  type TransportSegment,
} from "./transport-fixtures.testing.ts";
import { computeUdpChecksum, emitUdpHeader, parseUdp, UdpView, verifyUdpChecksum } from "./udp.ts";

const udpSegments = segments(TRANSPORT_FOLDERS.flatMap(captureFiles), 17);
const label = (s: TransportSegment) => `${s.path} #${s.packet.number}`;

describe("UDP header (RFC 768) on real captures", () => {
  it("covers DNS over IPv4 and UDP over IPv6 (with extension headers)", () => {
    assert.ok(udpSegments.filter((s) => s.path.startsWith("udp_dns")).length > 400);
    assert.ok(udpSegments.some((s) => s.addresses.version === 6 && s.offset > s.ipOffset + 40));
  });

  it("reads ports, length and checksum as TShark does", () => {
    for (const s of udpSegments) {
      const r = UdpView.check(s.frame, s.offset, s.end);
      assert.ok(r.ok, label(s));
      const v = r.value;
      assert.equal(v.srcPort, oracleNumber(s.oracle, "udp.srcport"), label(s));
      assert.equal(v.dstPort, oracleNumber(s.oracle, "udp.dstport"), label(s));
      assert.equal(v.length, oracleNumber(s.oracle, "udp.length"), label(s));
      assert.equal(v.checksum, oracleNumber(s.oracle, "udp.checksum"), label(s));
      assert.equal(v.payloadOffset, s.offset + 8);
      assert.equal(v.payloadEnd, Math.min(s.offset + v.length, s.end));
      assert.equal(v.truncated, s.offset + v.length > s.end);
    }
  });

  it("round-trips every header and verifies every captured checksum", (t) => {
    const wrong: string[] = [];
    let none = 0;
    for (const s of udpSegments) {
      const r = parseUdp(s.frame, s.offset, s.end);
      assert.ok(r.ok, label(s));
      const repr = r.value;
      const bytes = s.frame.slice(s.offset, s.offset + 8 + repr.payloadLength);
      const out = bytes.slice();
      out.fill(0, 0, 8);
      assert.equal(emitUdpHeader(repr, out, 0), 8);
      assert.deepEqual(out, bytes, label(s));
      const again = parseUdp(out);
      assert.ok(again.ok);
      assert.deepEqual(again.value, repr, label(s));

      const status = verifyUdpChecksum(bytes, 0, bytes.length, s.addresses);
      if (repr.checksum === 0 && s.addresses.version === 4) {
        assert.equal(status, "none", label(s));
        none++;
        continue;
      }
      let expected = referenceChecksum(s.addresses, 17, bytes, 6);
      if (expected === 0) expected = 0xffff;
      assert.equal(computeUdpChecksum(bytes, 0, bytes.length, s.addresses), expected, label(s));
      assert.equal(status, expected === repr.checksum ? "good" : "bad", label(s));
      if (status === "bad") wrong.push(label(s));
      emitUdpHeader(repr, out, 0, s.addresses, "wrong");
      assert.equal(verifyUdpChecksum(out, 0, out.length, s.addresses), "bad", label(s));
      emitUdpHeader(repr, out, 0, s.addresses);
      assert.equal(verifyUdpChecksum(out, 0, out.length, s.addresses), "good", label(s));
    }
    t.diagnostic(
      `UDP: ${udpSegments.length} datagrams, ${none} without checksum, wrong in capture: [${wrong.join("; ")}]`,
    );
    assert.ok(wrong.length * 10 < udpSegments.length, `too many wrong checksums: ${wrong.join("; ")}`);
  });
});

describe("UDP edge cases", () => {
  const v4 = { version: 4, src: Ipv4Address.parse("10.0.0.1"), dst: Ipv4Address.parse("10.0.0.2") } as const;
  const v6 = { version: 6, src: Ipv6Address.parse("fe80::1"), dst: Ipv6Address.parse("fe80::2") } as const;

  it("sends a computed checksum of 0 as 0xffff, which verifies", () => {
    for (const addresses of [v4, v6]) {
      const out = new Uint8Array(10);
      const repr = { srcPort: 1, dstPort: 2, checksum: 0, payloadLength: 2 };
      emitUdpHeader(repr, out, 0, addresses);
      // With the checksum c of a zero payload as the payload word, everything sums to 0xffff: computed 0.
      out[8] = out[6] as number;
      out[9] = out[7] as number;
      assert.equal(referenceChecksum(addresses, 17, out, 6), 0);
      const written = emitUdpHeader(repr, out, 0, addresses);
      assert.equal(written, 8);
      assert.equal(((out[6] as number) << 8) | (out[7] as number), 0xffff);
      assert.equal(verifyUdpChecksum(out, 0, 10, addresses), "good");
    }
  });

  it("treats 0 as 'no checksum' over IPv4 and as bad over IPv6", () => {
    const out = new Uint8Array(8);
    emitUdpHeader({ srcPort: 53, dstPort: 53, checksum: 0, payloadLength: 0 }, out, 0);
    assert.equal(verifyUdpChecksum(out, 0, 8, v4), "none");
    assert.equal(verifyUdpChecksum(out, 0, 8, v6), "bad");
  });

  it("reports a short header and a length below 8 as errors with offsets", () => {
    const bytes = Uint8Array.from([0, 0, 0, 53, 0, 0, 53, 0, 7, 0, 0]);
    const short = parseUdp(bytes, 4, 11);
    assert.ok(!short.ok);
    assert.deepEqual([short.error.protocol, short.error.field, short.error.offset], ["udp", "header", 4]);
    const r = parseUdp(bytes, 3, 11);
    assert.ok(!r.ok);
    assert.deepEqual([r.error.field, r.error.offset], ["length", 7]);
  });

  it("marks a datagram longer than the capture as truncated rather than failing", () => {
    const bytes = Uint8Array.from([0, 53, 0, 53, 0, 20, 0, 0, 1, 2]);
    const r = UdpView.check(bytes);
    assert.ok(r.ok);
    assert.equal(r.value.truncated, true);
    assert.equal(r.value.payloadEnd, 10);
  });
});
