import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Ipv4Address } from "../base/ip.ts";
import { ARP_ETHERNET_IPV4_LENGTH, ArpOperation, type ArpRepr, ArpView, emitArp, parseArp } from "./arp.ts";
import { formatWireError } from "./error.ts";
import { emitEthernetHeader, formatMac } from "./ethernet.ts";
import { EtherType } from "./ethertype.ts";

function bytesOf(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

/**
 * A broadcast "who has 24.166.173.159? tell 24.166.172.1" as a cable modem head end sends it, typed in
 * byte by byte: Ethernet header, the 28-byte message, then 18 bytes of padding up to 60.
 */
const REQUEST_FRAME = bytesOf(`
  ffffffffffff 00070daff454 0806
  0001 0800 06 04 0001 00070daff454 18a6ac01 000000000000 18a6ad9f
  000000000000000000000000000000000000`);

/** "10.0.0.2 is at 02:00:00:00:00:02", sent to 10.0.0.1 (02:00:00:00:00:01). */
const REPLY_FRAME = bytesOf(`
  020000000001 020000000002 0806
  0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001
  000000000000000000000000000000000000`);

describe("ARP (RFC 826) view and repr on hand-built frames", () => {
  it("reads every field of a request, ignoring the Ethernet padding", () => {
    const r = ArpView.check(REQUEST_FRAME, 14);
    assert.ok(r.ok);
    const v = r.value;
    assert.equal(v.hardwareType, 1);
    assert.equal(v.protocolType, 0x0800);
    assert.equal(v.hardwareLength, 6);
    assert.equal(v.protocolLength, 4);
    assert.equal(v.operation, ArpOperation.request);
    assert.equal(v.length, ARP_ETHERNET_IPV4_LENGTH);
    assert.equal(v.end, REQUEST_FRAME.length);
    assert.ok(v.isEthernetIpv4);
    assert.equal(formatMac(v.senderHardwareAddress), "00:07:0d:af:f4:54");
    assert.deepEqual([...v.senderProtocolAddress], [24, 166, 172, 1]);
    assert.deepEqual([...v.targetHardwareAddress], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...v.targetProtocolAddress], [24, 166, 173, 159]);
    assert.equal(new Ipv4Address(v.targetIpv4).toString(), "24.166.173.159");
  });

  it("parses a reply into its repr", () => {
    const r = parseArp(REPLY_FRAME, 14);
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      operation: ArpOperation.reply,
      senderMac: "02:00:00:00:00:02",
      senderIp: Ipv4Address.parse("10.0.0.2"),
      targetMac: "02:00:00:00:00:01",
      targetIp: Ipv4Address.parse("10.0.0.1"),
    });
  });

  it("emits exactly the bytes it parsed (parse → emit → parse)", () => {
    for (const frame of [REQUEST_FRAME, REPLY_FRAME]) {
      const repr = parseArp(frame, 14);
      assert.ok(repr.ok);
      const out = new Uint8Array(ARP_ETHERNET_IPV4_LENGTH);
      assert.equal(emitArp(repr.value, out, 0), ARP_ETHERNET_IPV4_LENGTH);
      assert.deepEqual(out, frame.subarray(14, 14 + ARP_ETHERNET_IPV4_LENGTH));
      assert.deepEqual(parseArp(out), repr);
    }
  });

  it("edits the operation in place (a request turned into a reply)", () => {
    const copy = REQUEST_FRAME.slice();
    const v = ArpView.check(copy, 14);
    assert.ok(v.ok);
    v.value.operation = ArpOperation.reply;
    assert.equal(copy[21], 2);
    const r = parseArp(copy, 14);
    assert.ok(r.ok);
    assert.equal(r.value.operation, ArpOperation.reply);
  });

  it("views other pairings without parsing them (IPv6 over ARP is not a thing a host resolves)", () => {
    // hardware type 6 (IEEE 802), protocol 0x86dd, 16-byte protocol addresses: 8 + 2 × 22 bytes.
    const odd = new Uint8Array(8 + 2 * (6 + 16));
    odd.set([0, 6, 0x86, 0xdd, 6, 16, 0, 1]);
    const v = ArpView.check(odd);
    assert.ok(v.ok);
    assert.equal(v.value.length, 52);
    assert.equal(v.value.targetProtocolAddress.length, 16);
    assert.equal(v.value.isEthernetIpv4, false);
    const r = parseArp(odd);
    assert.ok(!r.ok);
    assert.equal(formatWireError(r.error), "arp: hardware type 6 is not Ethernet (1) at offset 0 (field hardwareType)");
  });

  it("names the field that makes a message something other than Ethernet/IPv4", () => {
    const cases: [number, number, string][] = [
      [2, 0x86, "protocolType"],
      [4, 7, "hardwareLength"],
      [5, 16, "protocolLength"],
    ];
    for (const [at, value, field] of cases) {
      const b = new Uint8Array(64);
      b.set(REQUEST_FRAME.subarray(14, 42));
      b[at] = value;
      const r = parseArp(b);
      assert.ok(!r.ok, field);
      assert.equal(r.error.field, field);
      assert.equal(r.error.offset, at);
    }
  });

  it("refuses truncated messages with an error value naming offset and field", () => {
    const header = ArpView.check(REQUEST_FRAME, 14, 21);
    assert.ok(!header.ok);
    assert.equal(
      formatWireError(header.error),
      "arp: header truncated (need 8 bytes, have 7) at offset 14 (field header)",
    );
    const addresses = ArpView.check(REQUEST_FRAME, 14, 14 + 27);
    assert.ok(!addresses.ok);
    assert.equal(
      formatWireError(addresses.error),
      "arp: addresses truncated (need 28 bytes, have 27) at offset 22 (field addresses)",
    );
    assert.ok(ArpView.check(REQUEST_FRAME, 14, 14 + 28).ok);
    // An `end` past the buffer is clamped to the buffer, never read beyond it.
    assert.ok(!ArpView.check(REQUEST_FRAME.subarray(0, 30), 14, 1000).ok);
    assert.ok(!ArpView.check(REQUEST_FRAME, -1).ok);
    // Absurd lengths (255 + 255) cannot make the view read past the message.
    const absurd = REQUEST_FRAME.slice(14, 42);
    absurd[4] = 255;
    absurd[5] = 255;
    const r = ArpView.check(absurd);
    assert.ok(!r.ok);
    assert.equal(r.error.field, "addresses");
  });

  it("refuses to emit what cannot be encoded", () => {
    const repr: ArpRepr = {
      operation: 1,
      senderMac: "02:00:00:00:00:01",
      senderIp: Ipv4Address.parse("10.0.0.1"),
      targetMac: "00:00:00:00:00:00",
      targetIp: Ipv4Address.parse("10.0.0.2"),
    };
    assert.throws(() => emitArp(repr, new Uint8Array(27), 0), RangeError);
    assert.throws(() => emitArp({ ...repr, senderMac: "02:00:00:00:01" }, new Uint8Array(28), 0), RangeError);
    assert.throws(() => emitArp({ ...repr, operation: 0x10000 }, new Uint8Array(28), 0), RangeError);
  });
});

describe("ARP cross-checked with tshark", () => {
  const dir = mkdtempSync(join(tmpdir(), "openwfp-arp-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A little-endian microsecond pcap of Ethernet frames, written field by field (wire/ may not use capture/). */
  function pcap(frames: readonly Uint8Array[]): Uint8Array {
    const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, 0xa1b2c3d4, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setUint32(16, 65535, true);
    dv.setUint32(20, 1, true);
    let at = 24;
    frames.forEach((f, i) => {
      dv.setUint32(at, 1000 + i, true);
      dv.setUint32(at + 8, f.length, true);
      dv.setUint32(at + 12, f.length, true);
      out.set(f, at + 16);
      at += 16 + f.length;
    });
    return out;
  }

  /** Frames emitted by `emitArp` inside `emitEthernetHeader`, padded to 60 bytes. */
  function emittedFrame(repr: ArpRepr, dst: string): Uint8Array {
    const frame = new Uint8Array(60);
    const n = emitEthernetHeader({ dst, src: repr.senderMac, tags: [], etherType: EtherType.Arp }, frame, 0);
    emitArp(repr, frame, n);
    return frame;
  }

  const emitted: ArpRepr[] = [
    {
      operation: ArpOperation.request,
      senderMac: "02:00:00:00:00:01",
      senderIp: Ipv4Address.parse("192.168.1.10"),
      targetMac: "00:00:00:00:00:00",
      targetIp: Ipv4Address.parse("192.168.1.1"),
    },
    {
      operation: ArpOperation.reply,
      senderMac: "02:00:00:00:00:fe",
      senderIp: Ipv4Address.parse("192.168.1.1"),
      targetMac: "02:00:00:00:00:01",
      targetIp: Ipv4Address.parse("192.168.1.10"),
    },
  ];

  it("tshark reads the same opcode and addresses, and finds nothing malformed", () => {
    const frames = [
      REQUEST_FRAME,
      REPLY_FRAME,
      emittedFrame(emitted[0]!, "ff:ff:ff:ff:ff:ff"),
      emittedFrame(emitted[1]!, "02:00:00:00:00:01"),
    ];
    const path = join(dir, "arp.pcap");
    writeFileSync(path, pcap(frames));
    const fields = [
      "arp.hw.type",
      "arp.proto.type",
      "arp.opcode",
      "arp.src.hw_mac",
      "arp.src.proto_ipv4",
      "arp.dst.hw_mac",
      "arp.dst.proto_ipv4",
    ];
    const run = spawnSync("tshark", ["-r", path, "-T", "fields", ...fields.flatMap((f) => ["-e", f])], {
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    const rows = run.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    assert.equal(rows.length, frames.length);
    frames.forEach((frame, i) => {
      const r = parseArp(frame, 14);
      assert.ok(r.ok);
      const a = r.value;
      assert.deepEqual(
        rows[i],
        ["1", "0x0800", String(a.operation), a.senderMac, a.senderIp.toString(), a.targetMac, a.targetIp.toString()],
        `frame ${i + 1}`,
      );
    });
    const malformed = spawnSync("tshark", ["-r", path, "-Y", "_ws.malformed || _ws.expert.severity >= warning"], {
      encoding: "utf8",
    });
    assert.equal(malformed.status, 0, malformed.stderr);
    assert.equal(malformed.stdout.trim(), "");
  });
});
