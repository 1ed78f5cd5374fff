/**
 * Every capture under fixtures/captures is read and compared, packet by packet, with the tshark oracle beside
 * it (`<file>.tshark.json`, TShark 4.0.17) and with `_pcap_summary.json` (magic, format, encapsulation).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { wiretapEncapsulation } from "./link-type.ts";
import { readCaptureSync } from "./reader.ts";
import { tsharkEpochToNs } from "./testing.ts";

const ROOT = join(import.meta.dirname, "../../fixtures/captures");

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...captureFiles(path));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(path);
  }
  return out;
}

interface OraclePacket {
  readonly "frame.number": string;
  readonly "frame.len": string;
  readonly "frame.cap_len": string;
  readonly "frame.time_epoch": string;
  readonly "frame.encap_type": string;
  readonly "frame.interface_id"?: string;
}

interface SummaryEntry {
  readonly file: string;
  readonly magic: string;
  readonly capinfos: { readonly file_type: string | null; readonly packets: string | null };
  readonly packet_count_tshark: number;
}

const summary = new Map(
  (JSON.parse(readFileSync(join(ROOT, "_pcap_summary.json"), "utf8")) as SummaryEntry[]).map((e) => [e.file, e]),
);
const files = captureFiles(ROOT);

describe("fixture captures match the tshark oracle", () => {
  it("finds every capture listed in the summary", () => {
    assert.equal(files.length, summary.size);
    assert.ok(files.length >= 70, `${files.length} captures`);
  });

  for (const path of files) {
    const name = relative(ROOT, path);
    it(name, () => {
      const bytes = readFileSync(path);
      const oracle = JSON.parse(readFileSync(`${path}.tshark.json`, "utf8")) as { packets?: OraclePacket[] };
      const expected = oracle.packets ?? [];
      const entry = summary.get(name);
      assert.ok(entry, `${name} is in _pcap_summary.json`);
      const result = readCaptureSync(bytes);

      // The format comes from the magic, whatever the file is called.
      const fileType = entry.capinfos.file_type;
      if (fileType === null) {
        // tshark could not open it (libpcap's reserved link-type bits): neither do we.
        assert.equal(result.packets.length, 0);
        assert.equal(result.errors[0]?.code, "E_CAPTURE_BAD_HEADER");
        return;
      }
      assert.equal(result.format, fileType === "pcapng" ? "pcapng" : "pcap");
      assert.deepEqual(result.errors, []);
      if (fileType === "nsecpcap") assert.equal(result.interfaces[0]?.timestampUnitsPerSecond, 1_000_000_000n);
      if (fileType === "pcap") assert.equal(result.interfaces[0]?.timestampUnitsPerSecond, 1_000_000n);

      assert.equal(result.packets.length, expected.length);
      assert.equal(result.packets.length, entry.packet_count_tshark);
      result.packets.forEach((p, i) => {
        const o = expected[i]!;
        const where = `${name} packet ${i + 1}`;
        assert.equal(p.index, Number(o["frame.number"]), where);
        assert.equal(p.originalLength, Number(o["frame.len"]), `${where} frame.len`);
        assert.equal(p.capturedLength, Number(o["frame.cap_len"]), `${where} frame.cap_len`);
        assert.equal(p.data.length, p.capturedLength, where);
        assert.equal(p.timestampNs, tsharkEpochToNs(o["frame.time_epoch"]), `${where} frame.time_epoch`);
        assert.equal(wiretapEncapsulation(p.linkType), Number(o["frame.encap_type"]), `${where} encap`);
        assert.equal(result.interfaces[p.interfaceId]?.linkType, p.linkType, where);
        if (o["frame.interface_id"] !== undefined) {
          const iface = result.interfaces[p.interfaceId];
          assert.equal(iface?.sectionInterfaceId, Number(o["frame.interface_id"]), `${where} interface`);
        }
      });
    });
  }
});
