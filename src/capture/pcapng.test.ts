/**
 * pcapng shapes the fixtures lack, built byte by byte: several sections with their own byte order, several
 * interfaces with their own link type and timestamp resolution (decimal and power of 2, with if_tsoffset),
 * SPB, obsolete PB, ISB, NRB, custom and unknown blocks. Where tshark reads the same bytes, it is the oracle.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { wiretapEncapsulation } from "./link-type.ts";
import { OptionCode, optionTexts } from "./options.ts";
import { readCaptureSync } from "./reader.ts";
import {
  ByteBuilder,
  block,
  concat,
  epb,
  idb,
  shb,
  spb,
  textOption,
  tsharkEpochToNs,
  tsharkFrames,
} from "./testing.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-pcapng-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const frame = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

/** Two sections (little then big endian), three interfaces, EPBs with three resolutions and an SPB. */
function multiSection(): Uint8Array {
  return concat(
    shb(true, [textOption(OptionCode.COMMENT, "first section"), textOption(OptionCode.SHB_OS, "TestOS")]),
    idb(true, 1, 0, [textOption(OptionCode.IF_NAME, "eth0"), textOption(OptionCode.IF_DESCRIPTION, "wired")]),
    // 2^-20 s per unit and an offset of 100 s.
    idb(true, 0, 65535, [
      { code: OptionCode.IF_TSRESOL, value: [0x80 | 20] },
      { code: OptionCode.IF_TSOFFSET, value: new ByteBuilder(true).u64(100n).build() },
    ]),
    epb(true, 0, 1_600_000_000_123_456n, frame(60, 1)),
    epb(true, 1, (5n << 20n) + 1n, frame(45, 2), 1500),
    shb(false),
    idb(false, 101, 40, [{ code: OptionCode.IF_TSRESOL, value: [9] }]),
    epb(false, 0, 1_600_000_001_000_000_007n, frame(33, 3)),
    spb(false, 100, frame(40, 4)),
  );
}

describe("pcapng sections, interfaces and resolutions", () => {
  const bytes = multiSection();
  const result = readCaptureSync(bytes);

  it("reads both sections, each in its own byte order", () => {
    assert.deepEqual(result.errors, []);
    assert.equal(result.format, "pcapng");
    assert.deepEqual(
      result.sections.map((s) => [s.byteOrder, s.versionMajor, s.sectionLength]),
      [
        ["little", 1, -1n],
        ["big", 1, -1n],
      ],
    );
    assert.deepEqual(optionTexts(result.sections[0]!.options, OptionCode.COMMENT), ["first section"]);
    assert.deepEqual(optionTexts(result.sections[0]!.options, OptionCode.SHB_OS), ["TestOS"]);
  });

  it("numbers interfaces across sections and keeps each one's link type, snap length and options", () => {
    assert.deepEqual(
      result.interfaces.map((i) => [i.id, i.section, i.sectionInterfaceId, i.linkType, i.snapLength]),
      [
        [0, 0, 0, 1, 0],
        [1, 0, 1, 0, 65535],
        [2, 1, 0, 101, 40],
      ],
    );
    assert.equal(result.interfaces[0]?.name, "eth0");
    assert.equal(result.interfaces[0]?.description, "wired");
    assert.equal(result.interfaces[1]?.timestampUnitsPerSecond, 1n << 20n);
    assert.equal(result.interfaces[1]?.timestampOffsetSeconds, 100n);
    assert.equal(result.interfaces[2]?.timestampUnitsPerSecond, 1_000_000_000n);
  });

  it("converts each interface's units to nanoseconds", () => {
    assert.deepEqual(
      result.packets.map((p) => [p.index, p.interfaceId, p.linkType, p.timestampNs]),
      [
        [1, 0, 1, 1_600_000_000_123_456_000n],
        // 5 s + 1/2^20 s (953.67 ns, truncated) + 100 s offset.
        [2, 1, 0, 105_000_000_953n],
        [3, 2, 101, 1_600_000_001_000_000_007n],
        // A Simple Packet Block has no timestamp.
        [4, 2, 101, 0n],
      ],
    );
  });

  it("takes an SPB's captured length from the snap length and the room in the block", () => {
    const spbPacket = result.packets[3]!;
    assert.equal(spbPacket.originalLength, 100);
    assert.equal(spbPacket.capturedLength, 40);
    assert.deepEqual(spbPacket.data, frame(40, 4));
    assert.equal(result.packets[1]?.originalLength, 1500);
    assert.deepEqual(result.packets[1]?.data, frame(45, 2));
  });

  it("agrees with tshark on every frame", () => {
    const path = join(dir, "multi-section.pcapng");
    writeFileSync(path, bytes);
    const { frames, status } = tsharkFrames(path);
    assert.equal(status, 0);
    assert.equal(frames.length, result.packets.length);
    result.packets.forEach((p, i) => {
      const f = frames[i]!;
      assert.equal(p.originalLength, f.length);
      assert.equal(p.capturedLength, f.capturedLength);
      assert.equal(wiretapEncapsulation(p.linkType), f.encapType);
      assert.equal(String(result.interfaces[p.interfaceId]?.sectionInterfaceId), f.interfaceId);
      // tshark leaves the time of an SPB empty; we report 0.
      assert.equal(p.timestampNs, f.timeEpoch === "" ? 0n : tsharkEpochToNs(f.timeEpoch));
    });
  });
});

describe("pcapng blocks other than packets", () => {
  const le = true;
  const nrb = block(
    le,
    4,
    new ByteBuilder(le)
      .u16(1)
      .u16(4 + 20)
      .bytes([192, 0, 2, 1])
      .bytes(new TextEncoder().encode("a.example\0b.example\0"))
      .pad()
      .u16(2)
      .u16(16 + 12)
      .bytes([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
      .bytes(new TextEncoder().encode("v6.example\0\0"))
      .u16(0)
      .u16(0)
      .build(),
  );
  const isb = block(le, 5, new ByteBuilder(le).u32(0).u32(0).u32(2_000_000).build(), [
    { code: OptionCode.ISB_IFRECV, value: new ByteBuilder(le).u64(42n).build() },
  ]);
  const pb = block(le, 2, new ByteBuilder(le).u16(0).u16(3).u32(0).u32(7).u32(4).u32(4).bytes([0x45, 0, 0, 4]).build());
  const bytes = concat(
    shb(le),
    idb(le, 228, 0),
    nrb,
    block(le, 0x00000bad, new ByteBuilder(le).u32(32473).bytes([1, 2, 3, 4]).build()),
    block(le, 0x40000bad, new ByteBuilder(le).u32(32473).build()),
    block(le, 0x12345678, new Uint8Array(20)),
    pb,
    isb,
    epb(le, 0, 9n, frame(20, 5)),
  );
  const result = readCaptureSync(bytes);

  it("parses name resolution records for IPv4 and IPv6", () => {
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.nameRecords, [
      { family: 4, address: "192.0.2.1", names: ["a.example", "b.example"] },
      { family: 6, address: "2001:db8::1", names: ["v6.example"] },
    ]);
  });

  it("skips custom and unknown blocks by their length", () => {
    assert.deepEqual(
      result.packets.map((p) => [p.index, p.timestampNs, p.capturedLength, p.linkType]),
      [
        [1, 7000n, 4, 228],
        [2, 9000n, 20, 228],
      ],
    );
  });

  it("reads interface statistics with their options", () => {
    assert.equal(result.statistics.length, 1);
    assert.equal(result.statistics[0]?.timestampNs, 2_000_000_000n);
    assert.deepEqual(
      result.statistics[0]?.options.map((o) => o.code),
      [OptionCode.ISB_IFRECV],
    );
  });
});
