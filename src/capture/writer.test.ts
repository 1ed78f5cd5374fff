/**
 * Writers round-trip through our reader, and tshark reads our files with the same frames, times and lengths.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isDecodableLinkType, linkTypeName, wiretapEncapsulation } from "./link-type.ts";
import { CaptureWriteError, PcapWriter } from "./pcap-writer.ts";
import { PcapngWriter } from "./pcapng-writer.ts";
import { readCaptureSync } from "./reader.ts";
import { ByteArraySink, FileSink } from "./sink.ts";
import { tsharkEpochToNs, tsharkFrames } from "./testing.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-writer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const fixture = readCaptureSync(
  new Uint8Array(
    readFileSync(join(import.meta.dirname, "../../fixtures/captures/pcapng_multi_if/pcpp__pcapng-example.pcapng")),
  ),
);

/** Packets with awkward lengths (0..3 padding bytes) and times, some truncated below their original length. */
const packets = Array.from({ length: 9 }, (_, i) => ({
  timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 123_456_789n + BigInt(i),
  data: Uint8Array.from({ length: 40 + i }, (_, j) => (i * 31 + j) & 0xff),
  originalLength: 40 + i + (i % 3 === 0 ? 100 : 0),
}));

function checkWithTshark(path: string, expected: { timestampNs: bigint; length: number; capturedLength: number }[]) {
  const { frames, status, stderr } = tsharkFrames(path);
  assert.equal(status, 0, stderr);
  assert.equal(frames.length, expected.length);
  frames.forEach((f, i) => {
    const e = expected[i]!;
    assert.equal(f.number, i + 1);
    assert.equal(tsharkEpochToNs(f.timeEpoch), e.timestampNs, `frame ${i + 1} time`);
    assert.equal(f.length, e.length, `frame ${i + 1} length`);
    assert.equal(f.capturedLength, e.capturedLength, `frame ${i + 1} captured length`);
  });
}

describe("PcapWriter", () => {
  for (const byteOrder of ["little", "big"] as const) {
    for (const precision of ["micro", "nano"] as const) {
      it(`round-trips ${byteOrder}-endian ${precision}second pcap, read back by us and by tshark`, () => {
        const sink = new ByteArraySink();
        const w = new PcapWriter(sink, { linkType: 113, byteOrder, precision, snapLength: 65535 });
        for (const p of packets) w.writePacket(p);
        w.close();
        const bytes = sink.toUint8Array();
        const r = readCaptureSync(bytes);
        assert.deepEqual(r.errors, []);
        assert.equal(r.format, "pcap");
        assert.equal(r.sections[0]?.byteOrder, byteOrder);
        assert.equal(r.interfaces[0]?.snapLength, 65535);
        const expectedNs = (ns: bigint) => (precision === "nano" ? ns : (ns / 1000n) * 1000n);
        assert.deepEqual(
          r.packets.map((p) => [p.index, p.linkType, p.timestampNs, p.originalLength, p.data]),
          packets.map((p, i) => [i + 1, 113, expectedNs(p.timestampNs), p.originalLength, p.data]),
        );
        const path = join(dir, `w-${byteOrder}-${precision}.pcap`);
        writeFileSync(path, bytes);
        checkWithTshark(
          path,
          r.packets.map((p) => ({
            timestampNs: p.timestampNs,
            length: p.originalLength,
            capturedLength: p.capturedLength,
          })),
        );
      });
    }
  }

  it("rejects what pcap cannot hold", () => {
    const w = new PcapWriter(new ByteArraySink(), { linkType: 1 });
    assert.throws(() => w.writePacket({ timestampNs: -1n, data: new Uint8Array(1) }), CaptureWriteError);
    assert.throws(() => w.writePacket({ timestampNs: 1n << 63n, data: new Uint8Array(1) }), CaptureWriteError);
    assert.throws(
      () => w.writePacket({ timestampNs: 0n, data: new Uint8Array(4), originalLength: 3 }),
      CaptureWriteError,
    );
    assert.throws(() => new PcapWriter(new ByteArraySink(), { linkType: 70000 }), CaptureWriteError);
  });

  it("every decodable link type is labelled as Wireshark labels it", () => {
    for (const linkType of [0, 1, 101, 108, 113, 228, 229, 276]) {
      assert.ok(isDecodableLinkType(linkType), linkTypeName(linkType));
      const path = join(dir, `lt-${linkType}.pcap`);
      const sink = new FileSink(path);
      const w = new PcapWriter(sink, { linkType });
      w.writePacket({ timestampNs: 1_000_000_000n, data: Uint8Array.of(0x45, 0, 0, 4) });
      w.close();
      const { frames } = tsharkFrames(path);
      assert.equal(frames[0]?.encapType, wiretapEncapsulation(linkType), linkTypeName(linkType));
    }
    assert.equal(isDecodableLinkType(105), false);
    assert.deepEqual([0, 1, 101, 108, 113, 228, 229, 276, 127, 150, 9999].map(linkTypeName), [
      "NULL",
      "EN10MB",
      "RAW",
      "LOOP",
      "LINUX_SLL",
      "IPV4",
      "IPV6",
      "LINUX_SLL2",
      "IEEE802_11_RADIO",
      "USER3",
      "LINKTYPE_9999",
    ]);
  });
});

describe("PcapngWriter", () => {
  for (const byteOrder of ["little", "big"] as const) {
    it(`copies a multi-interface capture (${byteOrder}-endian), read back identically by us and by tshark`, () => {
      const path = join(dir, `copy-${byteOrder}.pcapng`);
      const sink = new FileSink(openSync(path, "w"));
      const w = new PcapngWriter(sink, { byteOrder, application: "openwfp test", comment: "copy" });
      for (const i of fixture.interfaces) {
        w.addInterface({
          linkType: i.linkType,
          snapLength: i.snapLength,
          timestampResolution: i.timestampUnitsPerSecond === 1_000_000_000n ? "nano" : "micro",
          ...(i.name !== undefined ? { name: i.name } : {}),
          description: `interface ${i.id}`,
        });
      }
      for (const p of fixture.packets) w.writePacket(p);
      w.close();
      assert.equal(w.packetsWritten, fixture.packets.length);

      const r = readCaptureSync(new Uint8Array(readFileSync(path)));
      assert.deepEqual(r.errors, []);
      assert.equal(r.sections[0]?.byteOrder, byteOrder);
      assert.deepEqual(
        r.interfaces.map((i) => [i.linkType, i.snapLength, i.name, i.description, i.timestampUnitsPerSecond]),
        fixture.interfaces.map((i) => [
          i.linkType,
          i.snapLength,
          i.name,
          `interface ${i.id}`,
          i.timestampUnitsPerSecond,
        ]),
      );
      assert.deepEqual(r.packets, fixture.packets);
      checkWithTshark(
        path,
        r.packets.map((p) => ({
          timestampNs: p.timestampNs,
          length: p.originalLength,
          capturedLength: p.capturedLength,
        })),
      );
    });
  }

  it("writes interfaces of different link types and resolutions, EPBs of every padding, truncated packets", () => {
    const sink = new ByteArraySink();
    const w = new PcapngWriter(sink);
    assert.equal(w.addInterface({ linkType: 101, timestampResolution: "nano" }), 0);
    assert.equal(w.addInterface({ linkType: 276, timestampResolution: "micro", snapLength: 0 }), 1);
    for (const [i, p] of packets.entries()) w.writePacket({ ...p, interfaceId: i % 2 });
    const bytes = sink.toUint8Array();
    const r = readCaptureSync(bytes);
    assert.deepEqual(r.errors, []);
    const expected = packets.map((p, i) => [
      i % 2,
      i % 2 === 0 ? 101 : 276,
      i % 2 === 0 ? p.timestampNs : (p.timestampNs / 1000n) * 1000n,
      p.originalLength,
      p.data,
    ]);
    assert.deepEqual(
      r.packets.map((p) => [p.interfaceId, p.linkType, p.timestampNs, p.originalLength, p.data]),
      expected,
    );
    const path = join(dir, "mixed.pcapng");
    writeFileSync(path, bytes);
    checkWithTshark(
      path,
      r.packets.map((p) => ({
        timestampNs: p.timestampNs,
        length: p.originalLength,
        capturedLength: p.capturedLength,
      })),
    );
  });

  it("refuses a packet for an interface not added", () => {
    const w = new PcapngWriter(new ByteArraySink());
    assert.throws(() => w.writePacket({ interfaceId: 0, timestampNs: 0n, data: new Uint8Array(1) }), CaptureWriteError);
  });
});
