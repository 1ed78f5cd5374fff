/**
 * Seeded mutation fuzzing over the real fixture captures: flip, overwrite, insert and delete bytes in whole
 * files and in single packets, cut files at random points, then read (sync and streaming) and decode
 * everything. Nothing may throw, hang or allocate without bound: every fault must come back as an error
 * value that names an offset and a field. The seed is fixed, so a failure replays exactly.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SeededRng } from "../base/index.ts";
import { openCaptureStream, readCaptureSync } from "../capture/index.ts";
import { decodePacket } from "../wire/index.ts";
import { decodeRecord } from "./decode.ts";

const ROOT = join(import.meta.dirname, "../../fixtures/captures");
const SEED = 0x5eed2026;

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...captureFiles(path));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(path);
  }
  return out;
}

function mutate(rng: SeededRng, input: Uint8Array): Uint8Array {
  let bytes = input.slice();
  const edits = 1 + rng.nextInt(8);
  for (let e = 0; e < edits; e++) {
    if (bytes.length === 0) break;
    const at = rng.nextInt(bytes.length);
    switch (rng.nextInt(6)) {
      case 0: // flip one bit
        bytes[at] = (bytes[at] as number) ^ (1 << rng.nextInt(8));
        break;
      case 1: // an interesting byte: 0, 0xff, 0x7f, 0x80, a small length
        bytes[at] = rng.pick([0, 0xff, 0x7f, 0x80, 1, 4, 5, 0x45, 0x60]);
        break;
      case 2: // a big 32-bit value (absurd lengths)
        for (let i = 0; i < 4 && at + i < bytes.length; i++) bytes[at + i] = rng.pick([0xff, 0x7f, 0x10, 0x00]);
        break;
      case 3: {
        // delete a run
        const n = 1 + rng.nextInt(16);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + n)]);
        break;
      }
      case 4: {
        // insert random bytes
        const ins = rng.bytes(1 + rng.nextInt(16));
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...ins, ...bytes.subarray(at)]);
        break;
      }
      default: // truncate
        bytes = bytes.subarray(0, at);
    }
  }
  return bytes;
}

function checkDecodes(buffer: Uint8Array): number {
  const read = readCaptureSync(buffer);
  let n = 0;
  for (const packet of read.packets) {
    assert.ok(packet.data.length <= buffer.length, "a packet cannot hold more bytes than the file");
    const record = decodeRecord(packet);
    for (const e of record.errors) assert.match(e, /at offset \d+ \(field [\w.[\]]+\)/, e);
    n++;
  }
  for (const e of read.errors) {
    assert.equal(typeof e.offset, "number");
    assert.ok(e.offset >= 0 && e.offset <= buffer.length, `error offset ${e.offset} outside the file`);
    assert.ok(e.field.length > 0);
  }
  return n;
}

describe("seeded mutation fuzzing of the real captures", () => {
  const files = captureFiles(ROOT).map((f) => new Uint8Array(readFileSync(f)));

  it("mutated files never make the readers or the decoder throw (3,000 cases)", () => {
    const rng = new SeededRng(SEED);
    let packets = 0;
    for (let i = 0; i < 3000; i++) {
      const source = rng.pick(files);
      packets += checkDecodes(mutate(rng, source));
    }
    assert.ok(packets > 1000, `only ${packets} packets survived mutation: the fuzzer is not reaching the decoder`);
  });

  it("every prefix of a file reads cleanly up to the cut (truncated files)", () => {
    for (const file of files.filter((f) => f.length < 1500)) {
      for (let cut = 0; cut < file.length; cut++) checkDecodes(file.subarray(0, cut));
    }
  });

  it("mutated packets never make the dissector throw (20,000 cases, every link type)", () => {
    const rng = new SeededRng(SEED + 1);
    const packets = files.flatMap((f) => readCaptureSync(f).packets);
    const linkTypes = [0, 1, 101, 108, 113, 228, 229, 276];
    for (let i = 0; i < 20000; i++) {
      const p = rng.pick(packets);
      const data = mutate(rng, p.data);
      const linkType = rng.chance(0.8) ? p.linkType : rng.pick(linkTypes);
      const decoded = decodePacket(linkType, data);
      for (const e of decoded.errors) assert.match(e, /at offset \d+ \(field [\w.[\]]+\)/, e);
    }
  });

  it("the streaming reader agrees with the sync reader on mutated files", async () => {
    const rng = new SeededRng(SEED + 2);
    const dir = mkdtempSync(join(tmpdir(), "openwfp-fuzz-"));
    for (let i = 0; i < 150; i++) {
      const bytes = mutate(rng, rng.pick(files));
      const path = join(dir, `case-${i}.bin`);
      writeFileSync(path, bytes);
      const sync = readCaptureSync(bytes);
      const stream = openCaptureStream(path, { chunkSize: 64 + rng.nextInt(4096) });
      const streamed: number[] = [];
      for await (const p of stream.packets()) streamed.push(p.capturedLength);
      assert.deepEqual(
        streamed,
        sync.packets.map((p) => p.capturedLength),
        `case ${i}`,
      );
      assert.deepEqual(
        stream.errors.map((e) => `${e.code}@${e.offset}`),
        sync.errors.map((e) => `${e.code}@${e.offset}`),
        `case ${i} errors`,
      );
    }
  });
});
