/**
 * Checksums, differentially: TShark verifies every IPv4 header, TCP, UDP, ICMP and ICMPv6 checksum of every
 * fixture capture (`-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE`; TShark
 * 4.0 always checks ICMP and ICMPv6), and the packets it finds bad, per protocol, must be exactly the packets
 * `openwfp decode` reports in `badChecksums`, apart from the documented deviations in docs/deviations.md. The
 * same runs check that TShark refuses exactly the files our reader stops on with a fatal fault.
 *
 * TShark runs with its default preferences otherwise (IP reassembly on), once per file, several at a time.
 * Only a packet's own headers count: the outer IP header, and TCP/UDP only when no ICMP error quotes them —
 * TShark also checks the headers an ICMP error quotes, which openwfp does not verify.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { relative } from "node:path";
import { before, describe, it } from "node:test";
import { readCaptureSync } from "../capture/index.ts";
import { decodeRecord } from "./decode.ts";
import {
  captures,
  DEVIATIONS_DOC,
  documentedCounts,
  documentedDeviations,
  FIXTURES,
  sortedKeys,
} from "./oracle.testing.ts";

const HAVE_TSHARK = spawnSync("tshark", ["--version"], { stdio: "ignore" }).status === 0;

/** The `<proto>.checksum.status` fields asked of TShark, in column order after frame.number and protocols. */
const PROTOCOLS = ["ip", "tcp", "udp", "icmp", "icmpv6"] as const;
/** TShark's checksum status: 0 bad, 1 good, 2 unverified. */
const BAD = "0";

/** Our badChecksums prefixes in TShark's protocol names. */
const OUR_NAMES: Record<string, string> = { ipv4: "ip", tcp: "tcp", udp: "udp", icmpv4: "icmp", icmpv6: "icmpv6" };

interface TsharkRun {
  readonly status: number;
  readonly stderr: string;
  /** "file#n protocol" for each checksum TShark finds bad. */
  readonly bad: string[];
}

function runTshark(path: string, name: string): Promise<TsharkRun> {
  const args = [
    "-n",
    "-r",
    path,
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
    "-T",
    "fields",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=|",
    "-e",
    "frame.number",
    "-e",
    "frame.protocols",
    ...PROTOCOLS.flatMap((p) => ["-e", `${p}.checksum.status`]),
  ];
  return new Promise((resolve) => {
    execFile("tshark", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      const bad: string[] = [];
      for (const line of stdout.split("\n")) {
        if (line === "") continue;
        const [frame, protocols = "", ...statuses] = line.split("\t");
        const chain = protocols.split(":");
        const quoting = chain.findIndex((p) => p === "icmp" || p === "icmpv6");
        PROTOCOLS.forEach((protocol, i) => {
          const values = (statuses[i] ?? "").split("|");
          // The packet's own header is the first occurrence; TCP/UDP after an ICMP error are quoted ones.
          if (values[0] !== BAD) return;
          if ((protocol === "tcp" || protocol === "udp") && quoting >= 0 && quoting < chain.indexOf(protocol)) return;
          bad.push(`${name}#${frame} ${protocol}`);
        });
      }
      resolve({ status, stderr, bad });
    });
  });
}

/** Runs `jobs` with at most `limit` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

describe("checksums agree with TShark on every fixture capture", () => {
  const files = captures();
  const names = files.map((f) => relative(FIXTURES, f));
  const tshark = new Map<string, TsharkRun>();
  const ours = new Set<string>();
  const fatal = new Set<string>();
  let packets = 0;

  before(async () => {
    for (const [i, file] of files.entries()) {
      const read = readCaptureSync(new Uint8Array(readFileSync(file)));
      if (read.errors.some((e) => e.fatal)) fatal.add(names[i] as string);
      for (const packet of read.packets) {
        packets++;
        for (const bad of decodeRecord(packet).badChecksums ?? []) {
          const prefix = bad.slice(0, bad.indexOf(":"));
          ours.add(`${names[i]}#${packet.index} ${OUR_NAMES[prefix] ?? prefix}`);
        }
      }
    }
    if (!HAVE_TSHARK) return;
    // tshark spends most of its time starting up, on one core; a few more than the cores keeps them busy.
    const runs = await pool(
      files.map((file, i) => () => runTshark(file, names[i] as string)),
      availableParallelism() + 2,
    );
    for (const [i, run] of runs.entries()) tshark.set(names[i] as string, run);
  });

  it("finds the fixture captures", () => {
    assert.ok(files.length >= 70, `only ${files.length} captures`);
  });

  it("TShark and openwfp flag the same checksums, but for the documented deviations", (t) => {
    if (!HAVE_TSHARK) {
      t.skip("tshark is not installed (.ci/run installs it)");
      return;
    }
    const theirs = new Set([...tshark.values()].flatMap((r) => r.bad));
    const documented = documentedDeviations();
    const onlyOurs = documented.get("checksum-only-openwfp");
    const onlyTheirs = documented.get("checksum-only-tshark");
    assert.ok(onlyOurs !== undefined && onlyTheirs !== undefined, "docs/deviations.md lists both checksum lists");
    assert.deepEqual(sortedKeys([...ours].filter((k) => !theirs.has(k))), sortedKeys(onlyOurs), "only openwfp");
    assert.deepEqual(sortedKeys([...theirs].filter((k) => !ours.has(k))), sortedKeys(onlyTheirs), "only TShark");
    const both = [...ours].filter((k) => theirs.has(k));
    const flaggedPackets = new Set([...ours].map((k) => k.slice(0, k.lastIndexOf(" "))));
    t.diagnostic(
      `${packets} packets of ${files.length} captures; TShark flags ${theirs.size} checksums, openwfp ` +
        `${ours.size} in ${flaggedPackets.size} packets; ${both.length} in common`,
    );
  });

  it("docs/deviations.md counts the bad checksums of each capture exactly", () => {
    // Independent of TShark: the document's per-file table is what openwfp reports.
    const counts = new Map<string, number>();
    for (const key of ours) {
      const file = key.slice(0, key.indexOf("#"));
      const protocol = key.slice(key.lastIndexOf(" ") + 1);
      counts.set(`${file} ${protocol}`, (counts.get(`${file} ${protocol}`) ?? 0) + 1);
    }
    const flaggedPackets = new Set([...ours].map((k) => k.slice(0, k.lastIndexOf(" "))));
    const total = `openwfp flags ${ours.size} checksums in ${flaggedPackets.size} packets`;
    assert.ok(readFileSync(DEVIATIONS_DOC, "utf8").includes(total), `docs/deviations.md should say "${total}"`);
    const documented = documentedCounts().get("checksum-bad");
    assert.ok(documented !== undefined, "docs/deviations.md has the checksum-bad counts");
    assert.deepEqual(
      sortedKeys(counts.keys()).map((k) => `${k} ${counts.get(k)}`),
      sortedKeys(documented.keys()).map((k) => `${k} ${documented.get(k)}`),
    );
  });

  it("TShark refuses exactly the files our reader stops on with a fatal fault", (t) => {
    if (!HAVE_TSHARK) {
      t.skip("tshark is not installed (.ci/run installs it)");
      return;
    }
    const refused = names.filter((n) => tshark.get(n)?.status !== 0);
    assert.deepEqual(refused, [...fatal].sort());
    for (const n of refused) assert.match(tshark.get(n)?.stderr ?? "", /tshark: /, n);
  });
});
