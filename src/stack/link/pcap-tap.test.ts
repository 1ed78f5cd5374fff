import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ByteArraySink, readCaptureSync } from "../../capture/index.ts";
import { tsharkEpochToNs } from "../../capture/testing.ts";
import { ms, Scheduler, seconds } from "../sim/scheduler.ts";
import { collect, ethernetFrame, tsharkFields, tsharkProblems, udpPacket } from "./link-fixtures.testing.ts";
import { PcapRecorder } from "./pcap-tap.ts";
import { PointToPointLink } from "./point-to-point.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-pcap-tap-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const EPOCH = 1_700_000_000_000_000_000n;
const MAC_A = "02:00:00:00:00:0a";
const MAC_B = "02:00:00:00:00:0b";

describe("PcapRecorder", () => {
  it("records what a tapped port sends and receives, stamped with simulated time, and tshark agrees", () => {
    const s = new Scheduler();
    const path = join(dir, "two-hosts.pcapng");
    const recorder = PcapRecorder.toFile(s, path, { epochNs: EPOCH });
    const link = new PointToPointLink(s, { delayNs: ms(1) });
    const portA = recorder.tap(link.a, "hostA eth0", "host A's NIC");
    const portB = recorder.tap(link.b, "hostB eth0");
    const atA = collect(s, portA);
    const atB = collect(s, portB);
    const sent = [
      { at: 0n, from: portA, frame: ethernetFrame(MAC_A, MAC_B, udpPacket("10.0.0.1", "10.0.0.2")) },
      { at: 1_500_001n, from: portA, frame: ethernetFrame(MAC_A, MAC_B, udpPacket("fe80::a", "fe80::b")) },
      { at: seconds(2), from: portB, frame: ethernetFrame(MAC_B, MAC_A, udpPacket("10.0.0.2", "10.0.0.1")) },
    ];
    for (const x of sent) s.at(x.at, () => x.from.transmit(x.frame));
    s.run();
    recorder.close();
    assert.equal(atB.length, 2);
    assert.equal(atA.length, 1);
    assert.equal(recorder.recorded, 6);

    const rows = tsharkFields(path, [
      "frame.time_epoch",
      "frame.interface_name",
      "frame.len",
      "eth.src",
      "eth.dst",
      "ip.src",
      "ipv6.src",
      "udp.dstport",
    ]);
    const expected = [
      [0n, "hostA eth0", sent[0]!],
      [ms(1), "hostB eth0", sent[0]!],
      [1_500_001n, "hostA eth0", sent[1]!],
      [2_500_001n, "hostB eth0", sent[1]!],
      [seconds(2), "hostB eth0", sent[2]!],
      [seconds(2) + ms(1), "hostA eth0", sent[2]!],
    ] as const;
    assert.equal(rows.length, expected.length);
    rows.forEach((row, i) => {
      const [t, ifName, x] = expected[i]!;
      const v6 = x === sent[1];
      assert.equal(tsharkEpochToNs(row[0]!), EPOCH + t, `frame ${i + 1} time`);
      assert.deepEqual(
        row.slice(1),
        [
          ifName,
          String(x.frame.length),
          x.from === portA ? MAC_A : MAC_B,
          x.from === portA ? MAC_B : MAC_A,
          v6 ? "" : x.from === portA ? "10.0.0.1" : "10.0.0.2",
          v6 ? "fe80::a" : "",
          "40001",
        ],
        `frame ${i + 1}`,
      );
    });
    assert.equal(tsharkProblems(path), "");
  });

  it("writes one Ethernet interface per tap with nanosecond timestamps, and the frames' exact bytes", () => {
    const s = new Scheduler(5n);
    const sink = new ByteArraySink();
    const recorder = new PcapRecorder(s, sink);
    const link = new PointToPointLink(s, { delayNs: 3n });
    const a = recorder.tap(link.a, "a");
    recorder.tap(link.b, "b").attach(() => {});
    const frame = ethernetFrame(MAC_A, MAC_B, udpPacket("10.0.0.1", "10.0.0.2"));
    a.transmit(frame);
    s.run();
    recorder.close();
    const r = readCaptureSync(sink.toUint8Array());
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.interfaces.map((i) => [i.linkType, i.name, i.timestampUnitsPerSecond]),
      [
        [1, "a", 1_000_000_000n],
        [1, "b", 1_000_000_000n],
      ],
    );
    assert.deepEqual(
      r.packets.map((p) => [p.interfaceId, p.timestampNs, p.data]),
      [
        [0, 5n, frame],
        [1, 8n, frame],
      ],
    );
  });

  it("records loopback packets as LINKTYPE_NULL with the BSD family header, or as LINKTYPE_RAW", () => {
    const s = new Scheduler(seconds(1));
    const path = join(dir, "loopback.pcapng");
    const recorder = PcapRecorder.toFile(s, path);
    const nullTap = recorder.loopback("Loopback Pseudo-Interface 1");
    const rawTap = recorder.loopback("loopback raw", { encapsulation: "raw" });
    assert.deepEqual([nullTap.interfaceId, rawTap.interfaceId], [0, 1]);
    const v4 = udpPacket("127.0.0.1", "127.0.0.1");
    const v6 = udpPacket("::1", "::1");
    nullTap.record(v4);
    nullTap.record(v6);
    rawTap.record(v4);
    rawTap.record(v6);
    recorder.close();
    nullTap.record(v4); // after close: ignored, never a throw
    const rows = tsharkFields(path, [
      "frame.interface_name",
      "frame.encap_type",
      "frame.len",
      "null.family",
      "ip.dst",
      "ipv6.dst",
    ]);
    assert.deepEqual(rows, [
      ["Loopback Pseudo-Interface 1", "15", String(v4.length + 4), "2", "127.0.0.1", ""],
      ["Loopback Pseudo-Interface 1", "15", String(v6.length + 4), "24", "", "::1"],
      ["loopback raw", "7", String(v4.length), "", "127.0.0.1", ""],
      ["loopback raw", "7", String(v6.length), "", "", "::1"],
    ]);
    assert.equal(tsharkProblems(path), "");
  });

  it("cuts frames longer than the snap length, keeping their original length", () => {
    const s = new Scheduler();
    const sink = new ByteArraySink();
    const recorder = new PcapRecorder(s, sink, { snapLength: 64 });
    const link = new PointToPointLink(s);
    const frame = ethernetFrame(MAC_A, MAC_B, udpPacket("10.0.0.1", "10.0.0.2", new Uint8Array(500)));
    recorder.tap(link.a, "a").transmit(frame);
    recorder.close();
    const p = readCaptureSync(sink.toUint8Array()).packets[0]!;
    assert.equal(p.capturedLength, 64);
    assert.equal(p.originalLength, frame.length);
    assert.deepEqual(p.data, frame.subarray(0, 64));
  });
});
