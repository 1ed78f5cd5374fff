/**
 * The streaming reader and the scan return what the sync reader returns, for every fixture and at every
 * chunk size (tiny chunks put record boundaries everywhere), and keep memory constant on large files.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
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
import { type ScanOptions, scanCaptureFile } from "./scan.ts";
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

  it("the scan's memory does not grow with the file", async () => {
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
      { chunkSize: 1024 * 1024 },
    );
    assert.equal(summary.packets, packetCount);
    assert.equal(sum, packetCount * payload[payload.length - 1]!);
    assert.ok(peak < 4 * 1024 * 1024, `arrayBuffers grew by ${peak} bytes`);
  });
});

describe("scan", () => {
  const variants: ScanOptions[] = [{}, { chunkSize: 64 }, { chunkSize: 100, syncReads: false }];
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

  it("reports damage like the sync reader", async () => {
    const rng = new SeededRng(5);
    for (const path of files) {
      const bytes = new Uint8Array(readFileSync(path));
      const damaged = bytes.slice(0, rng.nextInt(bytes.length + 1));
      const target = join(dir, "damaged-scan.bin");
      writeFileSync(target, damaged);
      const sync = readCaptureSync(damaged);
      let n = 0;
      const summary = await scanCaptureFile(target, () => n++, { chunkSize: 100 });
      assert.equal(n, sync.packets.length, path);
      assert.deepEqual(summary.errors, sync.errors, path);
    }
  });
});
