import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nsToUnits, pcapFractionNs, pcapngTimestampNs, pcapTimestampNs, tsresolUnitsPerSecond } from "./timestamp.ts";

describe("pcap timestamps", () => {
  it("scale valid fractions to nanoseconds", () => {
    assert.equal(pcapTimestampNs(1418145369, pcapFractionNs(999_999, false)), 1_418_145_369_999_999_000n);
    assert.equal(pcapTimestampNs(1418145369, pcapFractionNs(999_999_999, true)), 1_418_145_369_999_999_999n);
    assert.equal(pcapTimestampNs(0xffffffff, pcapFractionNs(0, false)), 4_294_967_295_000_000_000n);
  });

  it("keep out-of-range fractions the way Wireshark does: scaled into a signed 32-bit integer", () => {
    assert.equal(pcapFractionNs(1_000_000, false), 1_000_000_000);
    assert.equal(pcapFractionNs(0x80000000, false), 0);
    assert.equal(pcapFractionNs(0x80000000, true), -0x80000000);
    assert.equal(pcapFractionNs(0xffffffff, false), -1000);
  });
});

describe("pcapng timestamps", () => {
  it("read if_tsresol as a power of 10 or, with the high bit, of 2", () => {
    assert.equal(tsresolUnitsPerSecond(6), 1_000_000n);
    assert.equal(tsresolUnitsPerSecond(9), 1_000_000_000n);
    assert.equal(tsresolUnitsPerSecond(0x80 | 10), 1024n);
    assert.equal(tsresolUnitsPerSecond(12), 1_000_000_000_000n);
  });

  it("convert units to nanoseconds, truncating below a nanosecond, and add if_tsoffset", () => {
    assert.equal(pcapngTimestampNs(0, 1_500_000, 1_000_000n, 0n), 1_500_000_000n);
    assert.equal(pcapngTimestampNs(1, 0, 1_000_000_000n, 0n), 4_294_967_296n);
    assert.equal(pcapngTimestampNs(0, 1536, 1024n, 10n), 11_500_000_000n);
    assert.equal(pcapngTimestampNs(0, 1, 1024n, 0n), 976_562n);
    assert.equal(pcapngTimestampNs(0, 1_234_567, 1_000_000_000_000n, -1n), -999_998_766n);
  });

  it("nsToUnits inverts the conversion for micro and nano resolutions", () => {
    const ns = 1_700_000_000_123_456_789n;
    assert.equal(nsToUnits(ns, 1_000_000_000n), ns);
    assert.equal(nsToUnits(ns, 1_000_000n), 1_700_000_000_123_456n);
    assert.equal(pcapngTimestampNs(0x0006_0a24, 0x1820_2240, 1_000_000n, 0n), nsToUnits(ns, 1_000_000n) * 1000n);
  });
});
