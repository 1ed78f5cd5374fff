/**
 * The streaming reader and the scan return what the sync reader returns, for every fixture and at every
 * chunk size (tiny chunks put record boundaries everywhere), and keep memory constant on large files.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SeededRng } from "../base/rng.ts";
import type { CapturedPacket } from "./types.ts";
import { PcapWriter } from "./pcap-writer.ts";
import { PcapngWriter } from "./pcapng-writer.ts";
import { readCaptureSync } from "./reader.ts";
import { type ScanOptions, type ScanRecord, scanCaptureFile, scanCaptureRecords } from "./scan.ts";
import { FileSink } from "./sink.ts";
import { openCaptureStream } from "./stream.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const dir = mkdtempSync(join(tmpdir(), "openwfp-stream-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const root = join(import.meta.dirname, "../../fixtures/captures");
const files: string[] = [];
const walk = (d: string): void => {
  for (const n of readdirSync(d).sort()) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(pcap|pcapng|cap)$/.test(n)) files.push(p);
  }
};
walk(root);

async function streamAll(path: string, chunkSize?: number) {
  const stream = openCaptureStream(path, chunkSize === undefined ? {} : { chunkSize });
  const packets: CapturedPacket[] = [];
  for await (const p of stream) packets.push(p);
  return { stream, packets };
}

describe("streaming reader", () => {
  for (const chunkSize of [undefined, 64, 1000]) {
    it(`returns the sync reader's packets for every fixture (chunk ${chunkSize ?? "default"})`, async () => {
      for (const path of files) {
        const sync = readCaptureSync(new Uint8Array(readFileSync(path)));
        const { stream, packets } = await streamAll(path, chunkSize);
        assert.deepEqual(packets, sync.packets, path);
        assert.equal(stream.format, sync.format, path);
        assert.deepEqual(stream.interfaces, sync.interfaces, path);
        assert.deepEqual(stream.sections, sync.sections, path);
        assert.deepEqual(stream.errors, sync.errors, path);
      }
    });
  }

  it("reports the same faults at the same offsets as the sync reader for damaged files", async () => {
    const rng = new SeededRng(3);
    for (const path of files) {
      const bytes = new Uint8Array(readFileSync(path));
      const damaged = bytes.slice(0, rng.nextInt(bytes.length + 1));
      if (damaged.length > 0) damaged[rng.nextInt(damaged.length)] = rng.nextInt(256);
      const target = join(dir, "damaged.bin");
      writeFileSync(target, damaged);
      const sync = readCaptureSync(damaged);
      const { stream, packets } = await streamAll(target, 128);
      assert.deepEqual(packets, sync.packets, path);
      assert.deepEqual(stream.errors, sync.errors, path);
      assert.deepEqual(
        stream.error,
        sync.errors.find((e) => e.fatal),
      );
    }
  });

  it("a missing file is an E_CAPTURE_IO error, not an exception", async () => {
    const { stream, packets } = await streamAll(join(dir, "no-such-file.pcap"));
    assert.equal(packets.length, 0);
    assert.equal(stream.error?.code, "E_CAPTURE_IO");
  });

  it("reads a record larger than the chunk", async () => {
    const path = join(dir, "jumbo.pcapng");
    const sink = new FileSink(path);
    const w = new PcapngWriter(sink);
    w.addInterface({ linkType: 1, snapLength: 0 });
    const big = Uint8Array.from({ length: 3 * 1024 * 1024 + 3 }, (_, i) => i % 251);
    w.writePacket({ timestampNs: 1n, data: Uint8Array.of(1, 2, 3) });
    w.writePacket({ timestampNs: 2000n, data: big });
    w.writePacket({ timestampNs: 3000n, data: Uint8Array.of(4) });
    w.close();
    const { stream, packets } = await streamAll(path, 64 * 1024);
    assert.deepEqual(stream.errors, []);
    assert.deepEqual(
      packets.map((p) => p.capturedLength),
      [3, big.length, 1],
    );
    assert.deepEqual(packets[1]?.data, big);
  });

  it("with copyData false, hands out views into the reused chunk buffer", async () => {
    const path = files.find((f) => f.endsWith("pcpp__DnsPackets.pcap"))!;
    const sync = readCaptureSync(new Uint8Array(readFileSync(path)));
    const stream = openCaptureStream(path, { chunkSize: 4096, copyData: false });
    const buffers = new Set<ArrayBufferLike>();
    let i = 0;
    for await (const p of stream) {
      assert.deepEqual(p.data, sync.packets[i]?.data);
      buffers.add(p.data.buffer);
      i++;
    }
    assert.equal(i, sync.packets.length);
    assert.equal(buffers.size, 1);
  });
});

describe("constant memory on files larger than the chunk", () => {
  const packetCount = 48_000;
  const path = join(dir, "large.pcap");
  const payload = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);

  it("writes a file of more than 24 MiB", () => {
    const sink = new FileSink(path);
    const w = new PcapWriter(sink, { linkType: 1 });
    for (let i = 0; i < packetCount; i++) w.writePacket({ timestampNs: BigInt(i) * 1000n, data: payload });
    w.close();
    assert.ok(statSync(path).size > 24 * 1024 * 1024, "file size");
  });

  it("the stream's memory does not grow with the file", async () => {
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let n = 0;
    let bytes = 0;
    for await (const p of openCaptureStream(path, { chunkSize: 1024 * 1024 })) {
      bytes += p.capturedLength;
      if (++n % 4000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
      }
    }
    assert.equal(n, packetCount);
    assert.equal(bytes, packetCount * payload.length);
    // One 1 MiB chunk buffer plus slack; the file is over 28 MiB.
    assert.ok(peak < 4 * 1024 * 1024, `arrayBuffers grew by ${peak} bytes`);
  });

  it("the record scan's memory does not grow with the file", async () => {
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let n = 0;
    let last = 0n;
    const summary = await scanCaptureRecords(
      path,
      (r) => {
        if (r.capturedLength !== payload.length || r.index !== n + 1) throw new Error("bad record");
        if (++n % 8000 === 0) {
          last = r.timestampNs();
          gc();
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        }
      },
      { chunkSize: 1024 * 1024 },
    );
    assert.equal(summary.packets, packetCount);
    assert.equal(last, BigInt(packetCount - 1) * 1000n);
    assert.ok(peak < 4 * 1024 * 1024, `arrayBuffers grew by ${peak} bytes`);
  });

  for (const readAhead of [false, true]) {
    it(`the scan's memory does not grow with the file (read-ahead ${readAhead ? "on" : "off"})`, async () => {
      gc();
      const baseline = process.memoryUsage().arrayBuffers;
      let peak = 0;
      let sum = 0;
      let n = 0;
      const summary = await scanCaptureFile(
        path,
        (buffer, offset, length) => {
          sum += buffer[offset + length - 1]!;
          if (length !== payload.length) throw new Error("bad length");
          if (++n % 8000 === 0) {
            gc();
            peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
          }
        },
        { chunkSize: 1024 * 1024, readAhead },
      );
      assert.equal(summary.packets, packetCount);
      assert.equal(sum, packetCount * payload[payload.length - 1]!);
      // One 1 MiB chunk buffer (three with read-ahead, each with 64 KiB in front) plus slack.
      assert.ok(peak < 4 * 1024 * 1024, `arrayBuffers grew by ${peak} bytes`);
    });
  }
});

describe("scan", () => {
  const variants: ScanOptions[] = [
    {},
    { chunkSize: 64 },
    { chunkSize: 100, syncReads: false },
    { readAhead: true },
    { chunkSize: 64, readAhead: true },
    { chunkSize: 1000, syncReads: false, readAhead: true },
  ];
  for (const options of variants) {
    it(`sees every fixture's packets as the sync reader does (${JSON.stringify(options)})`, async () => {
      for (const path of files) {
        const sync = readCaptureSync(new Uint8Array(readFileSync(path)));
        const seen: [number, number, Uint8Array][] = [];
        const summary = await scanCaptureFile(
          path,
          (buffer, offset, length, linkType) => seen.push([length, linkType, buffer.slice(offset, offset + length)]),
          options,
        );
        assert.equal(summary.format, sync.format, path);
        assert.equal(summary.packets, sync.packets.length, path);
        assert.deepEqual(summary.errors, sync.errors, path);
        assert.deepEqual(
          seen,
          sync.packets.map((p) => [p.capturedLength, p.linkType, p.data]),
          path,
        );
        assert.equal(
          summary.capturedBytes,
          sync.packets.reduce((s, p) => s + p.capturedLength, 0),
        );
      }
    });
  }

  /** What the record scan hands out, as the packet the other readers would make of it. */
  const packetOf = (r: ScanRecord): CapturedPacket => ({
    index: r.index,
    interfaceId: r.interfaceId,
    linkType: r.linkType,
    timestampNs: r.timestampNs(),
    originalLength: r.originalLength,
    capturedLength: r.capturedLength,
    data: r.data().slice(),
  });

  for (const options of variants) {
    it(`the record scan sees every fixture's packets, whole, as the sync reader does (${JSON.stringify(options)})`, async () => {
      for (const path of files) {
        const sync = readCaptureSync(new Uint8Array(readFileSync(path)));
        const seen: CapturedPacket[] = [];
        const records = new Set<ScanRecord>();
        const summary = await scanCaptureRecords(
          path,
          (r) => {
            records.add(r);
            seen.push(packetOf(r));
          },
          options,
        );
        assert.equal(summary.format, sync.format, path);
        assert.equal(summary.packets, sync.packets.length, path);
        assert.deepEqual(summary.interfaces, sync.interfaces, path);
        assert.deepEqual(summary.errors, sync.errors, path);
        assert.deepEqual(seen, sync.packets, path);
        assert.ok(records.size <= 1, "one record object for the whole scan");
      }
    });
  }

  it("the record scan reports damage like the sync reader, at the same offsets, with and without read-ahead", async () => {
    const rng = new SeededRng(11);
    for (const path of files) {
      const bytes = new Uint8Array(readFileSync(path));
      const damaged = bytes.slice(0, rng.nextInt(bytes.length + 1));
      if (damaged.length > 0 && rng.chance(0.5)) damaged[rng.nextInt(damaged.length)] = rng.nextInt(256);
      const target = join(dir, "damaged-records.bin");
      writeFileSync(target, damaged);
      const sync = readCaptureSync(damaged);
      for (const options of [{ chunkSize: 100 }, { chunkSize: 100, readAhead: true }]) {
        const seen: CapturedPacket[] = [];
        const summary = await scanCaptureRecords(target, (r) => seen.push(packetOf(r)), options);
        assert.deepEqual(seen, sync.packets, path);
        assert.deepEqual(summary.errors, sync.errors, path);
      }
    }
  });

  it("the record scan of a missing file is an E_CAPTURE_IO error, not an exception", async () => {
    let n = 0;
    const summary = await scanCaptureRecords(join(dir, "no-such-file.pcap"), () => n++);
    assert.equal(n, 0);
    assert.deepEqual(
      summary.errors.map((e) => [e.code, e.offset, e.fatal]),
      [["E_CAPTURE_IO", 0, true]],
    );
  });

  it("the record scan reads a zero snap length on with the non-fatal E_CAPTURE_ZERO_SNAPLEN", async () => {
    const path = join(dir, "zero-snaplen.pcap");
    const w = new PcapWriter(new FileSink(path), { linkType: 1 });
    for (const n of [60, 1500, 70]) w.writePacket({ timestampNs: BigInt(n) * 1000n, data: new Uint8Array(n) });
    w.close();
    const bytes = new Uint8Array(readFileSync(path));
    new DataView(bytes.buffer).setUint32(16, 0, true);
    writeFileSync(path, bytes);
    const sync = readCaptureSync(bytes);
    const seen: CapturedPacket[] = [];
    const summary = await scanCaptureRecords(path, (r) => seen.push(packetOf(r)));
    assert.deepEqual(seen, sync.packets);
    assert.deepEqual(
      summary.errors.map((e) => [e.code, e.offset, e.field, e.fatal]),
      [["E_CAPTURE_ZERO_SNAPLEN", 16, "pcap.header.snaplen", false]],
    );
    assert.equal(summary.interfaces[0]?.snapLength, 262144);
  });

  it("reads records larger than the chunk and than the read-ahead reserve, with and without read-ahead", async () => {
    // Records of 70 KiB to 3 MiB cross every chunk boundary: the tail carried over no longer fits the 64 KiB
    // reserve in front of the next chunk, so the window is appended to and grown instead.
    const path = join(dir, "big-records.pcap");
    const w = new PcapWriter(new FileSink(path), { linkType: 1, snapLength: 4 * 1024 * 1024 });
    const sizes = [60, 70 * 1024, 3, 3 * 1024 * 1024 + 5, 200 * 1024, 1, 65 * 1024, 64 * 1024 - 16, 1500];
    const payload = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
    for (const [i, n] of sizes.entries()) w.writePacket({ timestampNs: BigInt(i), data: payload(n, i) });
    w.close();
    const variants: ScanOptions[] = [
      {},
      { readAhead: true },
      { chunkSize: 64 * 1024, readAhead: true },
      { chunkSize: 100 * 1024, readAhead: true },
    ];
    for (const options of variants) {
      const seen: number[] = [];
      const summary = await scanCaptureFile(
        path,
        (buffer, offset, length) => {
          assert.deepEqual(buffer.subarray(offset, offset + length), payload(length, seen.length));
          seen.push(length);
        },
        options,
      );
      assert.deepEqual(summary.errors, [], JSON.stringify(options));
      assert.deepEqual(seen, sizes, JSON.stringify(options));
    }
  });

  it("a captured length over 256 MiB ends the scan with the decoder's error, allocating nothing for it", async () => {
    const path = join(dir, "too-large.pcap");
    const w = new PcapWriter(new FileSink(path), { linkType: 1 });
    for (const n of [60, 70, 80]) w.writePacket({ timestampNs: 1n, data: new Uint8Array(n) });
    w.close();
    const bytes = new Uint8Array(readFileSync(path));
    new DataView(bytes.buffer).setUint32(24 + 16 + 60 + 8, 0x20000000, true);
    writeFileSync(path, bytes);
    for (const options of [{}, { readAhead: true }, { chunkSize: 64, readAhead: true }]) {
      const before = process.memoryUsage().arrayBuffers;
      let n = 0;
      const summary = await scanCaptureFile(path, () => n++, options);
      assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, "no large allocation");
      assert.equal(n, 1);
      assert.deepEqual(
        summary.errors.map((e) => [e.code, e.offset, e.field]),
        [["E_CAPTURE_TOO_LARGE", 108, "pcap.record.caplen"]],
      );
    }
  });

  it("a file that shrinks while it is read ahead yields a prefix of its packets and a truncation, never garbage", async () => {
    // The reads already in flight when the file shrinks come back short or empty, whatever the timing: what
    // was delivered must still be the file's first packets, byte for byte.
    const path = join(dir, "shrinking.pcap");
    const w = new PcapWriter(new FileSink(path), { linkType: 1 });
    const packet = (i: number) => Uint8Array.from({ length: 200 + (i % 50) }, (_, j) => (i + j) & 0xff);
    for (let i = 0; i < 3000; i++) w.writePacket({ timestampNs: BigInt(i), data: packet(i) });
    w.close();
    const cutAt = Math.floor(statSync(path).size / 3) + 7;
    let n = 0;
    const summary = await scanCaptureFile(
      path,
      (buffer, offset, length) => {
        assert.deepEqual(buffer.subarray(offset, offset + length), packet(n), `packet ${n}`);
        if (n++ === 10) truncateSync(path, cutAt);
      },
      { chunkSize: 4096, readAhead: true },
    );
    assert.ok(n > 10 && n < 3000, `${n} packets`);
    assert.equal(summary.packets, n);
    for (const e of summary.errors) {
      assert.equal(e.code, "E_CAPTURE_TRUNCATED");
      assert.ok(e.offset < cutAt, `offset ${e.offset}`);
    }
  });

  it("reports damage like the sync reader, at the same offsets, with and without read-ahead", async () => {
    const rng = new SeededRng(5);
    for (const path of files) {
      const bytes = new Uint8Array(readFileSync(path));
      const damaged = bytes.slice(0, rng.nextInt(bytes.length + 1));
      if (damaged.length > 0 && rng.chance(0.5)) damaged[rng.nextInt(damaged.length)] = rng.nextInt(256);
      const target = join(dir, "damaged-scan.bin");
      writeFileSync(target, damaged);
      const sync = readCaptureSync(damaged);
      for (const options of [{ chunkSize: 100 }, { chunkSize: 100, readAhead: true }]) {
        let n = 0;
        const summary = await scanCaptureFile(target, () => n++, options);
        assert.equal(n, sync.packets.length, path);
        assert.deepEqual(summary.errors, sync.errors, path);
      }
    }
  });
});
