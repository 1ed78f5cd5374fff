/**
 * A simulation recorded with the Network's PcapRecorder is a capture tshark reads without complaint:
 * TCP (handshake, 200 KB each way, orderly close), UDP (with a datagram fragmented by IPv4 and by
 * IPv6), a UDP datagram to a closed port (ICMP port unreachable), ping, ARP and neighbour discovery,
 * over IPv4 and IPv6, loss-free.
 *
 * - Over the whole file, with tshark's IPv4 / TCP / UDP checksum validation on: no malformed packet and
 *   no expert item of severity error (bad checksums, bad lengths).
 * - Per NIC (each tap's frames on their own, as one capture point would see them — the file holds every
 *   frame twice, once at the sender's NIC and once at the receiver's, which tshark 4.0's TCP analysis
 *   cannot tell apart): no expert warning and no TCP analysis flag other than window updates (no
 *   retransmission, duplicate ACK, lost segment, out-of-order, zero window, window full, keep-alive ...).
 * - Cross-checks on tshark's dissection: the frame count per interface equals the NIC's counters; two
 *   TCP streams, each carrying 200,000 payload bytes each way exactly once; the advertised right edge
 *   (ACK + scaled window) never moves left (RFC 9293 §3.8.6.2.2) and no segment goes past it; both
 *   fragmented datagrams are reassembled by tshark to their full length; every echo request has its
 *   reply.
 *
 * The hosts' receive buffers are 256 KiB: with the default 64 KiB receive window, equal to the 64 KiB
 * send buffer, a bulk sender on a link with no bandwidth limit is always window-limited and tshark
 * rightly marks those segments "TCP Window Full" (a warning that describes the configuration, not a
 * fault); a receive window larger than the send buffer, as Windows' receive-window auto-tuning gives on
 * a LAN, leaves nothing to flag.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FileSink } from "../capture/index.ts";
import { tshark } from "./link/link-fixtures.testing.ts";
import { addr, lan, type TestHost } from "./net-fixtures.testing.ts";
import { ms, seconds } from "./sim/scheduler.ts";
import { pattern, sameBytes, tcpExchange, udpEcho } from "./traffic.testing.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-capture-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const BULK = 200_000;
/**
 * tshark's options for every read: checksum validation on, and only the protocols the stack speaks
 * dissected (the payloads are random bytes, which application dissectors — DNS on 53, HTTP on 80, or a
 * heuristic one — would report as their own malformed messages).
 */
const OPTIONS = [
  "-o",
  "ip.check_checksum:TRUE",
  "-o",
  "tcp.check_checksum:TRUE",
  "-o",
  "udp.check_checksum:TRUE",
  "--disable-protocol",
  "ALL",
  "--enable-protocol",
  "frame,eth,ethertype,arp,ip,ipv6,tcp,udp,icmp,icmpv6,data",
];

/** Frames with a problem of any severity from error up (malformed packets, bad checksums or lengths). */
const ERRORS = "_ws.malformed || _ws.expert.severity >= error";
/** ... or a warning, or any TCP analysis flag but a window update. */
const WARNINGS =
  "_ws.malformed || _ws.expert.severity >= warning || (tcp.analysis.flags && !tcp.analysis.window_update)";

const FIELDS = [
  "frame.number",
  "tcp.stream",
  "tcp.srcport",
  "tcp.seq",
  "tcp.len",
  "tcp.ack",
  "tcp.window_size",
  "tcp.flags.ack",
  "tcp.flags.fin",
  "tcp.flags.reset",
  "ip.flags.mf",
  "ip.frag_offset",
  "ipv6.fraghdr.ident",
  "udp.length",
  "udp.checksum.status",
  "udp.dstport",
  "icmp.type",
  "icmp.code",
  "icmp.resp_to",
  "icmpv6.type",
  "icmpv6.code",
  "icmpv6.resp_to",
] as const;

type Frame = Record<(typeof FIELDS)[number], string>;

/** Every frame of a file as tshark dissects it: FIELDS, first occurrence (an ICMP error's quote comes second). */
function dissect(path: string): Frame[] {
  const rows = run(["-r", path, "-T", "fields", "-E", "occurrence=f", ...FIELDS.flatMap((f) => ["-e", f])]);
  return rows.map((row) => Object.fromEntries(FIELDS.map((f, i) => [f, row[i] ?? ""])) as Frame);
}

function run(args: readonly string[]): string[][] {
  const r = tshark([...OPTIONS, ...args]);
  assert.equal(r.status, 0, `tshark ${args.join(" ")} failed: ${r.stderr}`);
  return r.rows;
}

const h = (hosts: Record<string, TestHost>, name: string): TestHost => {
  const x = hosts[name];
  assert.ok(x !== undefined, `no host ${name}`);
  return x;
};

/** Records the scenario into `path`; returns what the hosts saw. */
function record(path: string) {
  const tuning = { receiveBufferSize: 256 * 1024 };
  const t = lan(
    [
      { name: "a", addresses: ["10.0.0.1/24", "fd00::1/64"], options: { tcp: { tuning } } },
      { name: "b", addresses: ["10.0.0.2/24", "fd00::2/64"], options: { tcp: { tuning } } },
    ],
    { capture: new FileSink(path), staticNeighbors: false },
  );
  const a = h(t.hosts, "a");
  const b = h(t.hosts, "b");
  const tcp = [
    tcpExchange(a, b, { family: 4, port: 40080, to: addr("10.0.0.2"), up: pattern(BULK, 1), down: pattern(BULK, 2) }),
    tcpExchange(a, b, { family: 6, port: 40443, to: addr("fd00::2"), up: pattern(BULK, 3), down: pattern(BULK, 4) }),
  ];
  t.net.runFor(seconds(5));
  const udp = [
    udpEcho(a, b, { family: 4, port: 40053, to: addr("10.0.0.2"), datagrams: [pattern(4000, 5), pattern(100, 6)] }),
    udpEcho(a, b, { family: 6, port: 40054, to: addr("fd00::2"), datagrams: [pattern(4000, 7), pattern(100, 8)] }),
  ];
  const pings = [a.host.icmp.socket(a.app, 4), a.host.icmp.socket(a.app, 6)];
  pings[0]?.ping(addr("10.0.0.2"), 0x77, 1);
  pings[1]?.ping(addr("fd00::2"), 0x77, 1);
  t.net.runFor(ms(100));
  for (const [i, e] of udp.entries()) e.client.sendTo(pattern(10, 9), addr(i === 0 ? "10.0.0.2" : "fd00::2"), 9);
  // Past TIME-WAIT (2·MSL = 120 s): every TCB is gone.
  t.net.runFor(seconds(300));
  t.net.close();
  return { t, a, b, tcp, udp, pings };
}

describe("a recorded simulation, read back by tshark", () => {
  const path = join(dir, "scenario.pcapng");
  const r = record(path);

  it("ran as intended: every byte delivered, every connection closed, every echo answered", () => {
    for (const [i, x] of r.tcp.entries()) {
      assert.ok(sameBytes(x.atServer.bytes(), pattern(BULK, 2 * i + 1)), `stream ${i}: client → server bytes`);
      assert.ok(sameBytes(x.atClient.bytes(), pattern(BULK, 2 * i + 2)), `stream ${i}: server → client bytes`);
      assert.equal(x.client.state, "CLOSED");
      assert.equal(x.server?.state, "CLOSED");
    }
    for (const e of r.udp) {
      assert.deepEqual(
        e.atClient.map((d) => d.length),
        [4000, 100],
      );
      assert.equal(e.client.counters.errors, 1, "the datagram to port 9 came back as ICMP port unreachable");
    }
    for (const p of r.pings) assert.equal(p.counters.replies, 1);
    assert.equal(r.a.host.tcp.connectionCount + r.b.host.tcp.connectionCount, 0);
  });

  it("has no malformed packet and no error-level expert item (checksums validated)", () => {
    const bad = run(["-r", path, "-Y", ERRORS]);
    assert.deepEqual(bad, []);
    const frames = run(["-r", path, "-T", "fields", "-e", "frame.number"]);
    assert.equal(frames.length, r.t.net.recorder?.recorded);
  });

  for (const name of ["a", "b"] as const) {
    describe(`at ${name}'s NIC`, () => {
      const only = join(dir, `${name}.pcapng`);
      run(["-r", path, "-Y", `frame.interface_name == "${name}:eth0"`, "-w", only]);
      const nic = h(r.t.hosts, name).nic;

      const frames = dissect(only);

      it("holds every frame the NIC sent and received", () => {
        assert.equal(frames.length, nic.counters.framesIn + nic.counters.framesOut);
        assert.ok(frames.length > 500);
      });

      it("has no warning and no TCP analysis flag but window updates", () => {
        assert.deepEqual(run(["-r", only, "-Y", WARNINGS]), []);
      });

      it("carries two TCP streams of 200,000 payload bytes each way, sent once", () => {
        const bytes = new Map<string, number>();
        for (const f of frames) {
          if (f["tcp.stream"] === "") continue;
          const down = f["tcp.srcport"] === "40080" || f["tcp.srcport"] === "40443";
          const key = `${f["tcp.stream"]}/${down ? "down" : "up"}`;
          bytes.set(key, (bytes.get(key) ?? 0) + Number(f["tcp.len"]));
        }
        assert.deepEqual([...bytes.entries()].sort(), [
          ["0/down", BULK],
          ["0/up", BULK],
          ["1/down", BULK],
          ["1/up", BULK],
        ]);
      });

      it("never sees the advertised right edge move left, nor a segment beyond it", () => {
        // Right edges (tshark's relative numbers: ACK + window, scaled) by stream and sending port.
        const edge = new Map<string, number>();
        let checked = 0;
        for (const f of frames) {
          if (f["tcp.stream"] === "" || f["tcp.flags.reset"] === "1") continue;
          const me = `${f["tcp.stream"]}/${f["tcp.srcport"]}`;
          const peer = [...edge.keys()].find((k) => k.startsWith(`${f["tcp.stream"]}/`) && k !== me);
          const len = Number(f["tcp.len"]);
          const end = Number(f["tcp.seq"]) + len + (f["tcp.flags.fin"] === "1" ? 1 : 0);
          if (peer !== undefined && len > 0) {
            assert.ok(end <= (edge.get(peer) as number), `${me}: segment ${f["tcp.seq"]}+${len} beyond the window`);
            checked++;
          }
          if (f["tcp.flags.ack"] !== "1") continue;
          const right = Number(f["tcp.ack"]) + Number(f["tcp.window_size"]);
          const before = edge.get(me);
          assert.ok(before === undefined || right >= before, `${me}: right edge ${right} after ${before}`);
          edge.set(me, right);
        }
        assert.ok(checked > 200);
      });

      it("reassembles both fragmented datagrams, matches every echo reply to its request and the port unreachable", () => {
        const count = (p: (f: Frame) => boolean) => frames.filter(p).length;
        assert.equal(
          count((f) => f["ip.flags.mf"] === "1" || Number(f["ip.frag_offset"] || 0) > 0),
          6,
          "4,008 bytes of UDP in 1,480-byte IPv4 pieces, there and back",
        );
        assert.equal(
          count((f) => f["ipv6.fraghdr.ident"] !== ""),
          6,
          "4,008 bytes of UDP in 1,448-byte IPv6 pieces, there and back",
        );
        assert.deepEqual(
          frames.filter((f) => f["udp.length"] === "4008").map((f) => f["udp.checksum.status"]),
          ["1", "1", "1", "1"],
          "reassembled: request and echo, IPv4 and IPv6, checksums good",
        );
        assert.equal(
          count(
            (f) =>
              (f["icmp.type"] === "0" || f["icmpv6.type"] === "129") && f["icmp.resp_to"] + f["icmpv6.resp_to"] !== "",
          ),
          2,
        );
        assert.equal(
          count(
            (f) =>
              ((f["icmp.type"] === "3" && f["icmp.code"] === "3") ||
                (f["icmpv6.type"] === "1" && f["icmpv6.code"] === "4")) &&
              f["udp.dstport"] === "9",
          ),
          2,
        );
      });
    });
  }
});

describe("the same tshark checks on a faulty run", () => {
  it("report the frames a fault injector corrupted and the retransmissions loss caused", () => {
    const path = join(dir, "faulty.pcapng");
    const t = lan(
      [
        { name: "a", addresses: ["10.0.0.1/24"] },
        {
          name: "b",
          addresses: ["10.0.0.2/24"],
          faults: { inbound: { loss: 0.05, corrupt: 0.05, corruptPayloadOnly: true }, seed: 11 },
        },
      ],
      { capture: new FileSink(path) },
    );
    const a = h(t.hosts, "a");
    const b = h(t.hosts, "b");
    const x = tcpExchange(a, b, {
      family: 4,
      port: 40080,
      to: addr("10.0.0.2"),
      up: pattern(50_000, 1),
      down: pattern(0, 2),
    });
    t.net.runFor(seconds(300));
    t.net.close();
    assert.ok(sameBytes(x.atServer.bytes(), pattern(50_000, 1)), "TCP repaired what the faults did");
    const injected = t.net.faultInjectors[0]?.inbound;
    assert.ok(injected !== undefined && injected.corrupted > 0 && injected.lost > 0);
    // The recorder taps outside the injector: b's interface shows frames as b received them.
    const only = join(dir, "faulty-b.pcapng");
    run(["-r", path, "-Y", 'frame.interface_name == "b:eth0"', "-w", only]);
    const errors = run(["-r", only, "-Y", ERRORS]);
    assert.ok(errors.length > 0 && errors.length <= injected.corrupted, `${errors.length} of ${injected.corrupted}`);
    const d = b.host.ip.counters.discards;
    const dropped =
      b.host.tcp.counters.checksumErrors + (d.BadChecksum ?? 0) + (d.MalformedHeader ?? 0) + (d.BadLength ?? 0);
    assert.equal(dropped, errors.length, "the stack dropped each frame tshark flags (TCP or IPv4 checksum, length)");
    const warnings = run(["-r", only, "-Y", WARNINGS]);
    assert.ok(warnings.length > errors.length, "lost segments show up as TCP analysis flags");
  });
});
