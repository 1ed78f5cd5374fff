/**
 * Capture-reading benchmark (issue: foundation). Generates a deterministic 2,000,000-packet Ethernet/IPv4
 * TCP+UDP pcap, then counts TCP packets to destination port 80 two ways in the same run:
 *   - openwfp: bench/scan-count.ts (streaming scanner + zero-copy views), bundled to one plain JavaScript file
 *     the way a published package runs, in a child process so its peak memory can be read. The bundle is
 *     CommonJS: an ESM bundle from esbuild turns every module-level `const` into a mutable module `var`,
 *     which V8 then reloads and type-checks at each use in the per-packet code; inside the module function of
 *     a CommonJS bundle V8 folds the same constants into the machine code (about 10% less scan time);
 *   - tcpdump: `tcpdump -r FILE -w /dev/null 'tcp and dst port 80'`.
 * Each is run several times and the median wall time (whole process, start-up included) is used. The counts
 * must agree (tcpdump's selection is written to a pcap and counted by openwfp's reader). Memory is shown for two file
 * sizes, to show it does not grow with the file.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { generateBenchCapture } from "./capture-gen.ts";

const OUT = join(import.meta.dirname, "out");
const GENERATOR_VERSION = 1;

interface ScanResult {
  readonly packets: number;
  readonly matches: number;
  readonly seconds: number;
  readonly peakRssBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function timed(command: string, args: string[]): { seconds: number; stdout: string; status: number | null } {
  const t = process.hrtime.bigint();
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, stdout: r.stdout, status: r.status };
}

/** bench/scan-count.ts bundled (CommonJS, see above); the replay benchmark runs it too, as its floor. */
export function bundleScanner(): string {
  const out = join(OUT, "scan-count.cjs");
  const esbuild = join(import.meta.dirname, "../node_modules/.bin/esbuild");
  const r = spawnSync(
    esbuild,
    [
      join(import.meta.dirname, "scan-count.ts"),
      "--bundle",
      "--platform=node",
      "--format=cjs",
      "--target=node20",
      `--outfile=${out}`,
      "--log-level=warning",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`esbuild failed: ${r.stderr}`);
  return out;
}

function capture(packets: number): { path: string; tcpToPort80: number | undefined } {
  const path = join(OUT, `bench-v${GENERATOR_VERSION}-${packets}.pcap`);
  if (existsSync(path) && statSync(path).size > 0) return { path, tcpToPort80: undefined };
  const g = generateBenchCapture(path, packets);
  return { path, tcpToPort80: g.tcpToPort80 };
}

function runOpenwfp(scanner: string, path: string): { wall: number; result: ScanResult } {
  const r = timed(process.execPath, [scanner, path]);
  if (r.status !== 0) throw new Error(`scan-count failed on ${path}`);
  return { wall: r.seconds, result: JSON.parse(r.stdout) as ScanResult };
}

function tcpdumpCount(scanner: string, path: string): number {
  // tcpdump writes the packets it selects to a pcap; openwfp's reader counts them.
  const filtered = join(OUT, "tcpdump-selected.pcap");
  const r = spawnSync("tcpdump", ["-r", path, "-w", filtered, "tcp and dst port 80"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tcpdump failed: ${r.stderr}`);
  return runOpenwfp(scanner, filtered).result.packets;
}

export async function runCaptureBench(report: (line: string) => void): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const hasTcpdump = spawnSync("tcpdump", ["--version"]).status === 0;
  report("## Capture reading: count TCP packets to port 80 (openwfp reader + views vs tcpdump)");
  const big = capture(2_000_000);
  const small = capture(200_000);
  const scanner = bundleScanner();
  const runs = 7;
  const ours: number[] = [];
  const theirs: number[] = [];
  let result: ScanResult | undefined;
  // Interleaved, so that both see the same machine load and the same page cache.
  for (let i = 0; i < runs; i++) {
    const r = runOpenwfp(scanner, big.path);
    ours.push(r.wall);
    result = r.result;
    if (hasTcpdump) {
      const t = timed("tcpdump", ["-r", big.path, "-w", "/dev/null", "tcp and dst port 80"]);
      if (t.status !== 0) throw new Error("tcpdump failed");
      theirs.push(t.seconds);
    }
  }
  if (result === undefined) throw new Error("no run");
  const smallResult = runOpenwfp(scanner, small.path).result;
  const fileMb = statSync(big.path).size / 1e6;
  report(`file: ${big.path} (${result.packets} packets, ${fileMb.toFixed(0)} MB); matches: ${result.matches}`);
  if (big.tcpToPort80 !== undefined && big.tcpToPort80 !== result.matches) {
    throw new Error(`openwfp counted ${result.matches}, the generator wrote ${big.tcpToPort80}`);
  }
  const oursWall = median(ours);
  report(
    `openwfp : ${(result.packets / oursWall / 1e6).toFixed(2)} M packets/s (median of ${runs}, whole process ${oursWall.toFixed(3)} s; scan alone ${(result.packets / result.seconds / 1e6).toFixed(2)} M packets/s)`,
  );
  report(
    `openwfp peak RSS: ${(result.peakRssBytes / 1e6).toFixed(0)} MB for ${result.packets} packets, ${(smallResult.peakRssBytes / 1e6).toFixed(0)} MB for ${smallResult.packets} packets (goal < 200 MB whatever the size)`,
  );
  if (!hasTcpdump) {
    report("tcpdump not installed: no peer measured (apt-get install tcpdump)");
    return;
  }
  const theirWall = median(theirs);
  const theirMatches = tcpdumpCount(scanner, big.path);
  report(
    `tcpdump : ${(result.packets / theirWall / 1e6).toFixed(2)} M packets/s (median of ${runs}, whole process ${theirWall.toFixed(3)} s); matches: ${theirMatches}`,
  );
  if (theirMatches !== result.matches) throw new Error(`tcpdump selected ${theirMatches}, openwfp ${result.matches}`);
  const ratio = theirWall / oursWall;
  report(`ratio openwfp/tcpdump: ${ratio.toFixed(2)}x (goal >= 1.0x) ${ratio >= 1 ? "MET" : "NOT MET"}`);
}
