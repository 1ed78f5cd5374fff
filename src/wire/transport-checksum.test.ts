import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureFiles } from "./link-ip-fixtures.testing.ts";
import {
  computeTransportChecksum,
  fillTransportChecksum,
  IP_PROTOCOL_ICMPV6,
  IP_PROTOCOL_TCP,
  IP_PROTOCOL_UDP,
  pseudoHeaderSum,
  verifyTransportChecksum,
} from "./transport-checksum.ts";
import { referenceChecksum, segments, TRANSPORT_FOLDERS } from "./transport-fixtures.testing.ts";

const files = TRANSPORT_FOLDERS.flatMap(captureFiles);
const FIELD: Record<number, number> = { [IP_PROTOCOL_TCP]: 16, [IP_PROTOCOL_UDP]: 6, [IP_PROTOCOL_ICMPV6]: 2 };
const all = [IP_PROTOCOL_TCP, IP_PROTOCOL_UDP, IP_PROTOCOL_ICMPV6].flatMap((p) =>
  segments(files, p).filter((s) => s.end === s.declaredEnd),
);

describe("pseudo-header checksums (RFC 9293, RFC 768, RFC 4443 §2.3, RFC 8200 §8.1)", () => {
  it("covers TCP and UDP over IPv4 and IPv6, and ICMPv6", () => {
    const kinds = new Set(all.map((s) => `${s.protocol}/${s.addresses.version}`));
    assert.deepEqual([...kinds].sort(), ["17/4", "17/6", "58/6", "6/4", "6/6"]);
  });

  it("computes what a naive reference computes, whatever the field holds, without writing", () => {
    for (const s of all) {
      const bytes = s.frame.slice(s.offset, s.end);
      const before = bytes.slice();
      const field = FIELD[s.protocol] as number;
      const expected = referenceChecksum(s.addresses, s.protocol, bytes, field);
      assert.equal(computeTransportChecksum(s.addresses, s.protocol, bytes, 0, bytes.length, field), expected);
      assert.deepEqual(bytes, before);
      bytes[field] = 0x5a;
      bytes[field + 1] = 0xa5;
      assert.equal(computeTransportChecksum(s.addresses, s.protocol, bytes, 0, bytes.length, field), expected);
    }
  });

  it("verifies exactly the messages whose field equals the computed value (modulo ±0)", () => {
    let verified = 0;
    for (const s of all) {
      const field = FIELD[s.protocol] as number;
      const captured = ((s.frame[s.offset + field] as number) << 8) | (s.frame[s.offset + field + 1] as number);
      const expected = computeTransportChecksum(s.addresses, s.protocol, s.frame, s.offset, s.end, s.offset + field);
      const same = captured === expected || (expected === 0 && captured === 0xffff);
      assert.equal(verifyTransportChecksum(s.addresses, s.protocol, s.frame, s.offset, s.end), same);
      if (same) verified++;
    }
    assert.ok(verified > 0.95 * all.length, `verified is ${verified}`);
  });

  it("fills the field in each mode: compute verifies, wrong never does, keep writes the kept value", () => {
    for (const s of all) {
      const bytes = s.frame.slice(s.offset, s.end);
      const field = FIELD[s.protocol] as number;
      const correct = fillTransportChecksum(s.addresses, s.protocol, bytes, 0, bytes.length, field, "compute", 0);
      assert.ok(verifyTransportChecksum(s.addresses, s.protocol, bytes, 0, bytes.length));
      const wrong = fillTransportChecksum(s.addresses, s.protocol, bytes, 0, bytes.length, field, "wrong", 0);
      assert.notEqual(wrong, correct);
      assert.ok(!verifyTransportChecksum(s.addresses, s.protocol, bytes, 0, bytes.length));
      assert.equal(
        fillTransportChecksum(s.addresses, s.protocol, bytes, 0, bytes.length, field, "keep", 0x1234),
        0x1234,
      );
      assert.deepEqual([bytes[field], bytes[field + 1]], [0x12, 0x34]);
    }
  });

  it("a pseudo-header sum adds protocol, length and both addresses", () => {
    const s4 = all.find((s) => s.addresses.version === 4);
    const s6 = all.find((s) => s.addresses.version === 6);
    assert.ok(s4 && s6);
    for (const a of [s4.addresses, s6.addresses]) {
      const base = pseudoHeaderSum(a, 6, 100);
      assert.equal(pseudoHeaderSum(a, 17, 100), base + 11);
      assert.equal(pseudoHeaderSum(a, 6, 101), base + 1);
      // Source and destination are added, so swapping them leaves the sum unchanged.
      const swapped =
        a.version === 4
          ? { version: 4 as const, src: a.dst, dst: a.src }
          : { version: 6 as const, src: a.dst, dst: a.src };
      assert.equal(pseudoHeaderSum(swapped, 6, 100), base);
    }
    // The IPv6 length is 32 bits: both halves count (RFC 8200 §8.1).
    assert.equal(pseudoHeaderSum(s6.addresses, 58, 0x10000) - pseudoHeaderSum(s6.addresses, 58, 0), 1);
  });
});
