/**
 * Property: through the whole stack — NICs, IP, the shims at every classify point, TCP — with seeded
 * loss, reordering and duplication on both hosts' NICs in both directions, every byte a TCP socket sends
 * reaches the peer's socket exactly once and in order, both ways, over IPv4 and IPv6; each side sees the
 * peer's FIN, the close handshake completes (both TCBs gone after TIME-WAIT), and nothing is left in the
 * connection tables. A run is a pure function of its seed: the same scenario gives the same classify
 * log, the same bytes and the same fault counts.
 *
 * Each NIC drops up to 10 % of the frames it sends and up to 10 % of those it receives (so up to 19 % of
 * the frames between two hosts), duplicates and holds back (1–10 ms, so later frames overtake it) up to
 * 10 % each, and flips a byte behind the Ethernet header of up to 2 % (which a checksum must catch).
 * Half the runs use Windows' Nagle and delayed-ACK defaults. Retransmission limits are raised above the defaults (5 data, 2 SYN retransmissions, which
 * a real stack would also exceed at this loss rate now and then): the property is about what arrives,
 * not about when a stack gives up.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ClassifyRecord } from "../shim/index.ts";
import { addr, lan, type TestHost } from "./net-fixtures.testing.ts";
import { seconds } from "./sim/scheduler.ts";
import { pattern, sameBytes, tcpExchange } from "./traffic.testing.ts";

/** A probability in [0, max] in steps of 0.001, uniform (fast-check's default bias favours 0 and max). */
const probability = (max: number) =>
  fc.noBias(fc.integer({ min: 0, max: Math.round(max * 1000) })).map((n) => n / 1000);
/** A transfer size: uniform up to 100 KB, sometimes empty or a single byte. */
const size = fc.oneof(
  { weight: 9, arbitrary: fc.noBias(fc.integer({ min: 2, max: 100_000 })) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1) },
);
const direction = fc.record({
  loss: probability(0.1),
  duplicate: probability(0.1),
  reorder: probability(0.1),
  // A flipped byte past the Ethernet header: the frame reaches the stack and must fail a checksum there.
  corrupt: probability(0.02),
  corruptPayloadOnly: fc.constant(true),
});

const scenario = fc.record({
  version: fc.constantFrom(4 as const, 6 as const),
  up: size,
  down: size,
  delayMs: fc.noBias(fc.integer({ min: 0, max: 5 })),
  client: fc.record({ outbound: direction, inbound: direction }),
  server: fc.record({ outbound: direction, inbound: direction }),
  /** Windows' defaults (Nagle on, delayed ACK) or neither. */
  windowsAcks: fc.boolean(),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

const RETRIES = { maxRetransmissions: 15, maxSynRetransmissions: 10 };

const ADDRESSES = {
  4: { client: "10.0.0.1/24", server: "10.0.0.2/24", to: "10.0.0.2" },
  6: { client: "fd00::1/64", server: "fd00::2/64", to: "fd00::2" },
} as const;

function hostOf(hosts: Record<string, TestHost>, name: string): TestHost {
  const h = hosts[name];
  assert.ok(h !== undefined);
  return h;
}

function runScenario(p: Scenario) {
  const a = ADDRESSES[p.version];
  const tuning = { ...RETRIES, nagle: p.windowsAcks, delayedAck: p.windowsAcks };
  const t = lan(
    [
      {
        name: "client",
        addresses: [a.client],
        faults: { ...p.client, seed: p.seed },
        options: { tcp: { tuning } },
      },
      {
        name: "server",
        addresses: [a.server],
        faults: { ...p.server, seed: p.seed ^ 0x5a5a5a5a },
        options: { tcp: { tuning } },
      },
    ],
    { delayMs: p.delayMs, seed: p.seed },
  );
  const client = hostOf(t.hosts, "client");
  const server = hostOf(t.hosts, "server");
  const up = pattern(p.up, p.seed);
  const down = pattern(p.down, ~p.seed);
  const x = tcpExchange(client, server, { family: p.version, port: 8080, to: addr(a.to), up, down });
  // Long enough for every backoff and for TIME-WAIT (2·MSL = 120 s) to end.
  t.net.runFor(seconds(3600));
  const faults = t.net.faultInjectors.map((f) => ({ outbound: { ...f.outbound }, inbound: { ...f.inbound } }));
  return { t, x, up, down, client, server, faults };
}

/** The classify log as text: time, host, layer, packet, direction, action. */
function logText(log: readonly ClassifyRecord[]): string[] {
  return log.map((r) => `${r.time} ${r.host} ${r.layer.fwpsName} ${r.packet} ${r.direction} ${r.action}`);
}

describe("property: TCP through the whole stack over lossy, reordering, duplicating NICs", () => {
  it("delivers every byte exactly once and in order, both ways, and closes both ends", () => {
    const totals = { lost: 0, duplicated: 0, reordered: 0, corrupted: 0, retransmissions: 0, runs: { 4: 0, 6: 0 } };
    fc.assert(
      fc.property(scenario, (p) => {
        const { x, up, down, client, server, faults } = runScenario(p);
        assert.ok(sameBytes(x.atServer.bytes(), up), `client → server: ${x.atServer.length} of ${up.length} bytes`);
        assert.ok(sameBytes(x.atClient.bytes(), down), `server → client: ${x.atClient.length} of ${down.length} bytes`);
        assert.equal(x.client.outcome, "connected");
        assert.ok(x.clientSawFin && x.serverSawFin, "both FINs arrived");
        assert.equal(x.client.state, "CLOSED");
        assert.equal(x.server?.state, "CLOSED");
        assert.equal(x.client.connection?.closeReason, "closed");
        assert.equal(x.server?.connection?.closeReason, "closed");
        assert.equal(client.host.tcp.connectionCount, 0);
        assert.equal(server.host.tcp.connectionCount, 0);
        assert.equal(x.listener.listener?.synReceivedCount, 0);
        for (const f of faults) {
          totals.lost += f.outbound.lost + f.inbound.lost;
          totals.duplicated += f.outbound.duplicated + f.inbound.duplicated;
          totals.reordered += f.outbound.reordered + f.inbound.reordered;
          totals.corrupted += f.outbound.corrupted + f.inbound.corrupted;
        }
        totals.retransmissions +=
          (x.client.connection?.counters.retransmissions ?? 0) + (x.server?.connection?.counters.retransmissions ?? 0);
        totals.runs[p.version]++;
      }),
      { seed: 20250601, numRuns: 60 },
    );
    // The faults really happened and TCP really had to repair them, over both IP versions.
    assert.ok(
      totals.lost > 200 && totals.duplicated > 200 && totals.reordered > 200 && totals.corrupted > 50,
      JSON.stringify(totals),
    );
    assert.ok(totals.retransmissions > 100, JSON.stringify(totals));
    assert.ok(totals.runs[4] >= 10 && totals.runs[6] >= 10, JSON.stringify(totals.runs));
  });

  it("is deterministic: the same scenario gives the same classify log, bytes and faults", () => {
    const samples = fc.sample(scenario, { seed: 77, numRuns: 3 });
    for (const p of samples) {
      const first = runScenario(p);
      const second = runScenario(p);
      assert.ok(first.t.log.length > 50);
      assert.equal(second.t.log.length, first.t.log.length);
      assert.deepEqual(logText(second.t.log), logText(first.t.log));
      assert.deepEqual(second.faults, first.faults);
      assert.ok(sameBytes(second.x.atServer.bytes(), first.x.atServer.bytes()));
      assert.ok(sameBytes(second.x.atClient.bytes(), first.x.atClient.bytes()));
      assert.equal(second.t.net.scheduler.nowNs(), first.t.net.scheduler.nowNs());
      assert.equal(second.t.net.scheduler.eventsRun, first.t.net.scheduler.eventsRun);
    }
  });
});
