import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CongestionControl, initialWindow } from "./congestion.ts";
import { RtoEstimator } from "./rtt.ts";

const MS = 1_000_000n;

describe("RTO estimator (RFC 6298)", () => {
  const bounds = { initialNs: 1000n * MS, minNs: 300n * MS, maxNs: 60_000n * MS };

  it("starts at the initial RTO and computes SRTT, RTTVAR and RTO from the first sample (§2.2)", () => {
    const e = new RtoEstimator(bounds);
    assert.equal(e.rtoNs, 1000n * MS);
    e.sample(200n * MS);
    assert.equal(e.srttNs, 200e6);
    assert.equal(e.rttvarNs, 100e6);
    assert.equal(e.rtoNs, 600n * MS); // SRTT + 4·RTTVAR
  });

  it("updates with alpha 1/8 and beta 1/4 (§2.3) and respects the minimum (§2.4)", () => {
    const e = new RtoEstimator(bounds);
    e.sample(200n * MS);
    e.sample(100n * MS);
    // RTTVAR = 3/4·100 + 1/4·|200−100| = 100; SRTT = 7/8·200 + 1/8·100 = 187.5
    assert.equal(e.rttvarNs, 100e6);
    assert.equal(e.srttNs, 187.5e6);
    assert.equal(e.rtoNs, 587_500_000n);
    const fast = new RtoEstimator(bounds);
    fast.sample(1n * MS);
    assert.equal(fast.rtoNs, 300n * MS);
  });

  it("doubles on each expiry up to the maximum (§5.5) and a sample clears the backoff", () => {
    const e = new RtoEstimator(bounds);
    const seen: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      seen.push(e.rtoNs);
      e.backOff();
    }
    assert.deepEqual(
      seen.map((v) => Number(v / MS)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
    );
    e.sample(100n * MS);
    assert.equal(e.backoff, 0);
    assert.equal(e.rtoNs, 300n * MS);
  });
});

describe("NewReno congestion control (RFC 5681, RFC 6582)", () => {
  it("starts with the RFC 5681 initial window and grows by one MSS per ACK in slow start", () => {
    assert.equal(initialWindow(1460), 4380);
    assert.equal(initialWindow(536), 2144);
    assert.equal(initialWindow(3000), 6000);
    const cc = new CongestionControl(true, 1000);
    const w0 = cc.cwnd;
    cc.onNewAck(1000, 1000);
    assert.equal(cc.cwnd, w0 + 1000);
  });

  it("fast retransmit on the third duplicate ACK, inflation, then deflation on the full ACK", () => {
    const cc = new CongestionControl(true, 1000);
    assert.equal(cc.onDuplicateAck(1, 10000, 20000, 10000), false);
    assert.equal(cc.onDuplicateAck(2, 10000, 20000, 10000), false);
    assert.equal(cc.onDuplicateAck(3, 10000, 20000, 10000), true);
    assert.equal(cc.ssthresh, 5000);
    assert.equal(cc.cwnd, 8000);
    assert.ok(cc.inRecovery);
    cc.onDuplicateAck(4, 10000, 20000, 10000);
    assert.equal(cc.cwnd, 9000);
    assert.equal(cc.onNewAck(2000, 12000), true, "partial ACK: retransmit the next hole");
    assert.equal(cc.onNewAck(8000, 20000), false);
    assert.equal(cc.cwnd, 5000);
    assert.ok(!cc.inRecovery);
  });

  it("collapses to one segment on a timeout and ignores stale duplicate ACKs from before it", () => {
    const cc = new CongestionControl(true, 1000);
    cc.onTimeout(8000, 30000);
    assert.equal(cc.cwnd, 1000);
    assert.equal(cc.ssthresh, 4000);
    assert.equal(cc.onDuplicateAck(3, 1000, 30000, 25000), false);
  });

  it("disabled, the window is unlimited", () => {
    assert.equal(new CongestionControl(false, 1460).cwnd, Number.POSITIVE_INFINITY);
  });
});
