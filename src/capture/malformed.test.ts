/**
 * Malformed captures: every fault becomes a CaptureError value with its code, file offset and field; the
 * packets before it are kept; nothing throws, hangs or allocates from a length field.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SeededRng } from "../base/rng.ts";
import { pcapSnapLengthFallback } from "./decoder.ts";
import { readCaptureSync } from "./reader.ts";
import { scanCaptureFile } from "./scan.ts";
import { openCaptureStream } from "./stream.ts";
import { ByteBuilder, block, concat, epb, idb, pcapFile, shb, spb, tsharkFrames } from "./testing.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-malformed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const frame = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
const twoPackets = pcapFile(true, false, 1, 65535, [
  { seconds: 10, fraction: 1, data: frame(60) },
  { seconds: 11, fraction: 2, data: frame(70) },
]);

function only(bytes: Uint8Array) {
  const r = readCaptureSync(bytes);
  assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
  return { result: r, error: r.errors[0]! };
}

describe("malformed pcap", () => {
  it("an empty file is truncated at the magic", () => {
    const { result, error } = only(new Uint8Array(0));
    assert.equal(result.format, undefined);
    assert.deepEqual([error.code, error.offset, error.field, error.fatal], ["E_CAPTURE_TRUNCATED", 0, "magic", true]);
  });

  it("an unknown magic is rejected, whatever the file is called", () => {
    const { error } = only(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    assert.deepEqual([error.code, error.offset, error.field], ["E_CAPTURE_BAD_MAGIC", 0, "magic"]);
  });

  it("a file header cut short is truncated", () => {
    const { error } = only(twoPackets.subarray(0, 20));
    assert.deepEqual([error.code, error.offset, error.field], ["E_CAPTURE_TRUNCATED", 0, "pcap.header"]);
  });

  it("an unsupported version is a bad header", () => {
    const bytes = twoPackets.slice();
    bytes[4] = 3;
    const { error } = only(bytes);
    assert.deepEqual([error.code, error.offset, error.field], ["E_CAPTURE_BAD_HEADER", 4, "pcap.header.versionMajor"]);
  });

  it("reserved bits in the link-type field are a bad header; FCS bits are accepted", () => {
    const reserved = pcapFile(true, false, 0x00300001, 65535, [{ seconds: 1, fraction: 0, data: frame(20) }]);
    assert.equal(only(reserved).error.code, "E_CAPTURE_BAD_HEADER");
    // FCS present, 2 × 16-bit words = 4 bytes.
    const fcs = readCaptureSync(
      pcapFile(true, false, 0x24000001, 65535, [{ seconds: 1, fraction: 0, data: frame(20) }]),
    );
    assert.deepEqual(fcs.errors, []);
    assert.equal(fcs.interfaces[0]?.linkType, 1);
    assert.equal(fcs.interfaces[0]?.fcsLength, 4);
    assert.equal(fcs.packets[0]?.linkType, 1);
  });

  it("a record header cut short keeps the packets before it", () => {
    const cut = twoPackets.subarray(0, 24 + 16 + 60 + 5);
    const { result, error } = only(cut);
    assert.equal(result.packets.length, 1);
    assert.deepEqual([error.code, error.offset, error.field], ["E_CAPTURE_TRUNCATED", 100, "pcap.record.header"]);
  });

  it("record data cut short keeps the packets before it, as tshark does", () => {
    const cut = twoPackets.subarray(0, twoPackets.length - 1);
    const { result, error } = only(cut);
    assert.equal(result.packets.length, 1);
    assert.deepEqual([error.code, error.offset, error.field], ["E_CAPTURE_TRUNCATED", 100, "pcap.record.data"]);
    const path = join(dir, "cut.pcap");
    writeFileSync(path, cut);
    const tshark = tsharkFrames(path);
    assert.equal(tshark.frames.length, result.packets.length);
    assert.match(tshark.stderr, /cut short|truncated/i);
  });

  it("a captured length over 256 MiB stops reading without allocating it", () => {
    const bytes = twoPackets.slice();
    new DataView(bytes.buffer).setUint32(24 + 16 + 60 + 8, 0x20000000, true);
    const before = process.memoryUsage().arrayBuffers;
    const { result, error } = only(bytes);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, "no large allocation");
    assert.equal(result.packets.length, 1);
    assert.deepEqual([error.code, error.offset, error.field], ["E_CAPTURE_TOO_LARGE", 108, "pcap.record.caplen"]);
  });

  describe("a zero snap length in a pcap header", () => {
    // Big-endian nanosecond file: the diagnostic's offset must not depend on the byte order.
    const records = [
      { seconds: 1, fraction: 5, data: frame(1500) },
      { seconds: 2, fraction: 6, data: frame(300_000) },
      { seconds: 3, fraction: 7, data: frame(60) },
    ];
    const bytes = pcapFile(false, true, 1, 0, records);
    const expected = {
      code: "E_CAPTURE_ZERO_SNAPLEN",
      message: "zero snap length, read as 262144 as libpcap does; every record is still read in full",
      offset: 16,
      field: "pcap.header.snaplen",
      fatal: false,
    };

    it("is reported, not fatal, naming offset 16 and the snaplen field; every record is read in full", () => {
      const r = readCaptureSync(bytes);
      assert.deepEqual(r.errors, [expected]);
      assert.equal(r.interfaces[0]?.snapLength, 262144);
      // Even the record longer than 262144 bytes, which libpcap would cut: no data is lost.
      assert.deepEqual(
        r.packets.map((p) => [p.capturedLength, p.timestampNs]),
        [
          [1500, 1_000_000_005n],
          [300_000, 2_000_000_006n],
          [60, 3_000_000_007n],
        ],
      );
      assert.deepEqual(r.packets[1]?.data, frame(300_000));
    });

    it("is reported by the streaming reader and the scan too", async () => {
      const path = join(dir, "zero-snaplen.pcap");
      writeFileSync(path, bytes);
      const stream = openCaptureStream(path, { chunkSize: 4096 });
      const lengths: number[] = [];
      for await (const p of stream) lengths.push(p.capturedLength);
      assert.deepEqual(lengths, [1500, 300_000, 60]);
      assert.deepEqual(stream.errors, [expected]);
      assert.equal(stream.error, undefined, "not fatal");
      const scanned: number[] = [];
      const summary = await scanCaptureFile(path, (_b, _o, n) => scanned.push(n));
      assert.deepEqual(scanned, [1500, 300_000, 60]);
      assert.deepEqual(summary.errors, [expected]);
    });

    it("falls back to libpcap's larger maximum for link types that have one (DBUS: 128 MiB)", () => {
      const r = readCaptureSync(pcapFile(true, false, 231, 0, [{ seconds: 1, fraction: 0, data: frame(10) }]));
      assert.equal(
        r.errors[0]?.message,
        "zero snap length, read as 134217728 as libpcap does; every record is still read in full",
      );
      assert.equal(r.interfaces[0]?.snapLength, 134217728);
      assert.equal(pcapSnapLengthFallback(1), 262144);
    });

    it("tshark reads such a file too (its own limit refuses records over 262144 bytes, whatever the header)", () => {
      const path = join(dir, "zero-snaplen-tshark.pcap");
      const small = records.filter((r) => r.data.length <= 262144);
      writeFileSync(path, pcapFile(false, true, 1, 0, small));
      const { frames, status } = tsharkFrames(path);
      assert.equal(status, 0);
      assert.deepEqual(
        frames.map((f) => f.capturedLength),
        [1500, 60],
      );
    });
  });

  it("a captured length above the snap length is tolerated", () => {
    const r = readCaptureSync(pcapFile(true, false, 1, 64, [{ seconds: 1, fraction: 0, data: frame(1000) }]));
    assert.deepEqual(r.errors, []);
    assert.equal(r.packets[0]?.capturedLength, 1000);
  });
});

describe("malformed pcapng", () => {
  const le = true;
  const good = epb(le, 0, 1n, frame(30));

  function blockWithLength(length: number, trailing = length): Uint8Array {
    const b = new ByteBuilder(le).u32(6).u32(length);
    while (b.length < Math.max(length, 12) - 4) b.u8(0);
    return b.u32(trailing).build();
  }

  const cases: [string, Uint8Array, string, string][] = [
    ["a block length below 12", blockWithLength(8), "E_CAPTURE_BAD_BLOCK_LENGTH", "pcapng.block.length"],
    ["a block length not a multiple of 4", blockWithLength(34), "E_CAPTURE_BAD_BLOCK_LENGTH", "pcapng.block.length"],
    [
      "a trailing length that differs",
      blockWithLength(36, 40),
      "E_CAPTURE_BAD_BLOCK_LENGTH",
      "pcapng.block.trailingLength",
    ],
    [
      "a block length over the limit",
      new ByteBuilder(le).u32(6).u32(0x7ffffff0).build(),
      "E_CAPTURE_TOO_LARGE",
      "pcapng.block.length",
    ],
    ["a block cut short", good.subarray(0, good.length - 6), "E_CAPTURE_TRUNCATED", "pcapng.block"],
    ["a block header cut short", good.subarray(0, 6), "E_CAPTURE_TRUNCATED", "pcapng.block.header"],
  ];
  for (const [name, tail, code, field] of cases) {
    it(`${name} stops reading after the good packets`, () => {
      const head = concat(shb(le), idb(le, 1, 0), good);
      const { result, error } = only(concat(head, tail));
      assert.equal(result.packets.length, 1);
      assert.equal(error.code, code);
      assert.equal(error.field, field);
      assert.equal(error.fatal, true);
      assert.ok(
        error.offset >= head.length && error.offset < head.length + Math.max(tail.length, 1),
        `offset ${error.offset}`,
      );
    });
  }

  it("a bad byte-order magic is rejected", () => {
    const bytes = shb(le).slice();
    bytes[8] = 0x99;
    const { error } = only(bytes);
    assert.deepEqual([error.code, error.offset, error.field], ["E_CAPTURE_BAD_MAGIC", 8, "pcapng.shb.byteOrderMagic"]);
  });

  it("an unsupported section version is a bad header", () => {
    const bytes = shb(le).slice();
    bytes[12] = 2;
    assert.equal(only(bytes).error.code, "E_CAPTURE_BAD_HEADER");
  });

  it("an EPB naming an interface that does not exist is skipped, and reading goes on", () => {
    const head = concat(shb(le), idb(le, 1, 0));
    const { result, error } = only(concat(head, epb(le, 3, 1n, frame(10)), good));
    assert.deepEqual(
      result.packets.map((p) => p.capturedLength),
      [30],
    );
    assert.deepEqual(
      [error.code, error.offset, error.field, error.fatal],
      ["E_CAPTURE_UNKNOWN_INTERFACE", head.length + 8, "pcapng.epb.interfaceId", false],
    );
  });

  it("packets before any IDB refer to no interface", () => {
    const { result, error } = only(concat(shb(le), spb(le, 10, frame(12))));
    assert.equal(result.packets.length, 0);
    assert.equal(error.code, "E_CAPTURE_UNKNOWN_INTERFACE");
  });

  it("interfaces of an earlier section are not visible in the next one", () => {
    const { result, error } = only(concat(shb(le), idb(le, 1, 0), good, shb(!le), epb(!le, 0, 1n, frame(5))));
    assert.equal(result.packets.length, 1);
    assert.equal(error.code, "E_CAPTURE_UNKNOWN_INTERFACE");
  });

  it("an EPB whose captured length overruns its block is skipped", () => {
    const bad = epb(le, 0, 1n, frame(8)).slice();
    new DataView(bad.buffer).setUint32(20, 0xfffffff0, true);
    const { result, error } = only(concat(shb(le), idb(le, 1, 0), bad, good));
    assert.equal(result.packets.length, 1);
    assert.deepEqual([error.code, error.field, error.fatal], ["E_CAPTURE_BAD_BLOCK", "pcapng.epb.caplen", false]);
  });

  it("an IDB SnapLen of 0 is valid and means no limit, for EPBs and SPBs alike", () => {
    const r = readCaptureSync(
      concat(shb(le), idb(le, 1, 0), epb(le, 0, 1n, frame(70_000)), spb(le, 5000, frame(5000))),
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.interfaces[0]?.snapLength, 0);
    // An SPB is cut to the snap length when there is one (see pcapng.test.ts); with 0 it keeps every byte.
    assert.deepEqual(
      r.packets.map((p) => [p.capturedLength, p.originalLength]),
      [
        [70_000, 70_000],
        [5000, 5000],
      ],
    );
  });

  it("an option running past its block is reported and the block kept", () => {
    const body = new ByteBuilder(le).u16(1).u16(0).u32(0).u16(2).u16(200).u32(0).build();
    const { result, error } = only(concat(shb(le), block(le, 1, body), good));
    assert.equal(result.packets.length, 1);
    assert.equal(result.interfaces.length, 1);
    assert.deepEqual(
      [error.code, error.field, error.fatal],
      ["E_CAPTURE_BAD_OPTION", "pcapng.idb.option.length", false],
    );
  });
});

describe("damaged fixtures never throw or hang", () => {
  const root = join(import.meta.dirname, "../../fixtures/captures");
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)$/.test(n)) files.push(p);
    }
  };
  walk(root);

  it("every prefix of a file reads as a prefix of its packets", () => {
    const rng = new SeededRng(7);
    for (const path of files) {
      const bytes = readFileSync(path);
      const whole = readCaptureSync(bytes).packets;
      for (let k = 0; k < 12; k++) {
        const cut = rng.nextInt(bytes.length);
        const r = readCaptureSync(bytes.subarray(0, cut));
        assert.ok(r.packets.length <= whole.length, path);
        for (const [i, p] of r.packets.entries()) assert.deepEqual(p, whole[i]);
      }
    }
  });

  it("a file cut inside a packet's data keeps exactly the packets before it and reports the truncation", () => {
    const rng = new SeededRng(9);
    for (const path of files) {
      const bytes = readFileSync(path);
      const whole = readCaptureSync(bytes).packets;
      if (whole.length === 0) continue;
      const victim = whole[rng.nextInt(whole.length)]!;
      if (victim.capturedLength === 0) continue;
      const cut = victim.data.byteOffset - bytes.byteOffset + rng.nextInt(victim.capturedLength);
      const r = readCaptureSync(bytes.subarray(0, cut));
      assert.equal(r.packets.length, victim.index - 1, path);
      assert.equal(r.errors.at(-1)?.code, "E_CAPTURE_TRUNCATED", path);
      assert.ok(r.errors.at(-1)!.offset < cut, path);
    }
  });

  it("random byte damage yields packets and errors, never an exception", () => {
    const rng = new SeededRng(11);
    for (const path of files) {
      const bytes = readFileSync(path);
      for (let k = 0; k < 8; k++) {
        const damaged = Uint8Array.from(bytes);
        for (let j = 0; j < 4; j++) damaged[rng.nextInt(damaged.length)] = rng.nextInt(256);
        const r = readCaptureSync(damaged);
        for (const p of r.packets) assert.equal(p.data.length, p.capturedLength);
        for (const e of r.errors) assert.ok(e.offset >= 0 && e.offset <= damaged.length, `${path}: ${e.offset}`);
      }
    }
  });
});
