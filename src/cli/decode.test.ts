/**
 * `openwfp decode` on faults of the file itself: a fault that stops reading is printed last with exit 1, after
 * every packet read before it; a fault reading goes on past — a pcap header with a zero snap length — is a
 * warning on standard error, printed before the packets it precedes, and changes neither a packet nor the exit
 * code.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { type DecodeOptions, runDecode } from "./decode.ts";
import { LineWriter } from "./output.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-decode-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = join(import.meta.dirname, "../../fixtures/captures/tcp_session/zeek__tcp_fin_retransmission.pcap");

/** Runs the command; standard output and standard error interleaved in one log, in the order written. */
async function decode(path: string, options: DecodeOptions): Promise<{ code: number; log: string[] }> {
  const log: string[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") log.push(`out ${line}`);
      done();
    },
  });
  const code = await runDecode(path, options, new LineWriter(stdout), (s) => log.push(`err ${s.trimEnd()}`));
  return { code, log };
}

/** The fixture with its header's snap length (bytes 16–19) set to 0. */
function withZeroSnapLength(): string {
  const bytes = new Uint8Array(readFileSync(FIXTURE));
  assert.notEqual(new DataView(bytes.buffer).getUint32(16, true), 0, "the fixture has a snap length");
  bytes.fill(0, 16, 20);
  const path = join(dir, "zero-snaplen.pcap");
  writeFileSync(path, bytes);
  return path;
}

const WARNING =
  "warning: E_CAPTURE_ZERO_SNAPLEN: zero snap length, read as 262144 as libpcap does; every record is still read " +
  "in full (field pcap.header.snaplen, offset 16)";

describe("openwfp decode reports faults of the file", () => {
  const zero = withZeroSnapLength();

  for (const [name, options] of [
    ["lines", {}],
    ["--json", { json: true }],
  ] as const) {
    it(`a zero pcap snap length is a warning before the packets, and every packet is decoded as before (${name})`, async () => {
      const original = await decode(FIXTURE, options);
      const zeroed = await decode(zero, options);
      assert.equal(original.code, 0);
      assert.deepEqual(
        original.log.filter((l) => l.startsWith("err")),
        [],
      );
      assert.equal(zeroed.code, 0, "not an error: nothing was lost");
      assert.deepEqual(zeroed.log, [`err openwfp decode: ${zero}: ${WARNING}`, ...original.log]);
      assert.equal(original.log.length, 5);
    });
  }

  it("the warning is printed even when --limit stops before the first packet", async () => {
    const { code, log } = await decode(zero, { limit: 0 });
    assert.equal(code, 0);
    assert.deepEqual(log, [`err openwfp decode: ${zero}: ${WARNING}`]);
  });

  it("a fatal fault comes after the packets read before it, and exits 1", async () => {
    const bytes = readFileSync(FIXTURE);
    const cut = join(dir, "cut.pcap");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 3));
    const { code, log } = await decode(cut, { json: true });
    assert.equal(code, 1);
    assert.equal(log.length, 5);
    assert.ok(log.slice(0, 4).every((l) => l.startsWith("out {")));
    assert.match(
      log[4] ?? "",
      /^err openwfp decode: .*cut\.pcap: E_CAPTURE_TRUNCATED: file ends inside the record data .*\(field pcap\.record\.data, offset \d+\)$/,
    );
  });
});
