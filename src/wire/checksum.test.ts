import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checksumVerifies, internetChecksum, pseudoHeaderSumV4, wrongChecksum } from "./checksum.ts";

describe("Internet checksum (RFC 1071)", () => {
  it("matches the RFC 1071 worked example", () => {
    // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (before complement).
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    assert.equal(internetChecksum(bytes), ~0xddf2 & 0xffff);
  });
  it("verifies a real IPv4 header from a capture (zeek fragmented-4, checksum 0xf2bd)", () => {
    const header = Uint8Array.from([
      0x45, 0x10, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0xff, 0x06, 0xf2, 0xbd, 0x0a, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00,
      0x01,
    ]);
    assert.ok(checksumVerifies(header, 0, 20));
    const copy = header.slice();
    copy[10] = 0;
    copy[11] = 0;
    assert.equal(internetChecksum(copy), 0xf2bd);
  });
  it("pads an odd tail with zero", () => {
    assert.equal(internetChecksum(Uint8Array.from([0x12])), ~0x1200 & 0xffff);
  });
  it("folds pseudo-header sums of large values", () => {
    const sum = pseudoHeaderSumV4(0xffffffff, 0xffffffff, 17, 0xffff);
    assert.equal(internetChecksum(new Uint8Array(0), 0, 0, sum), internetChecksum(new Uint8Array(0), 0, 0, sum));
    assert.ok(sum > 0xffff);
  });
  it("a wrong checksum never verifies and is never zero", () => {
    for (const correct of [0, 1, 2, 0xfffe, 0xffff, 0x1234]) {
      const w = wrongChecksum(correct);
      assert.notEqual(w, 0);
      assert.notEqual(w, correct);
      // Differing by one or two in one's-complement arithmetic is never equivalent.
      const diff = (((w - correct) % 0xffff) + 0xffff) % 0xffff;
      assert.notEqual(diff, 0);
    }
  });
});
