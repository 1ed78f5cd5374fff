/**
 * Replay benchmark (issue: replay and explain). Replays the 2,000,000-packet benchmark capture
 * (capture-gen.ts) as the host owning its 256 client addresses, under
 *   (a) one filter blocking outbound TCP to port 80 (OUTBOUND_TRANSPORT_V4), against
 *       `tcpdump -r FILE -w /dev/null 'tcp and dst port 80'`;
 *   (b) a 100,000-address blocklist at ALE_AUTH_CONNECT_V4 (one filter per address, as real firewalls
 *       create them; 8 of the capture's 64 servers are on it), against tcpdump with the equivalent filter:
 *       `dst host S1 or … or dst host S8` — the blocklisted addresses that occur in the traffic, since a BPF
 *       program cannot hold 100,000 addresses.
 * openwfp runs bundled to plain JavaScript in a child process (as a published package would), whole process
 * timed, median of 3 interleaved runs; the drop counts are checked against tcpdump's selections.
 *
 * Two more measurements in the same runs say where the time goes: the fixed cost (the same replay of the
 * capture's first packets only: Node's start, loading the bundle, loading the policy) and the floor (the
 * capture benchmark's scan-count: openwfp's capture scanner and views finding TCP to port 80, no layers).
 * What a packet costs through the layers is the difference per packet; the goals leave the layers what
 * tcpdump's whole run leaves after the fixed cost and the floor.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SeededRng } from "../src/base/index.ts";
import { bundleScanner } from "./capture.bench.ts";
import { benchAddresses, generateBenchCapture } from "./capture-gen.ts";

const OUT = join(import.meta.dirname, "out");

interface RunResult {
  readonly packets: number;
  readonly dropped: number;
  /** Later packets of flows already blocked at ALE, either direction. */
  readonly droppedByFlow: number;
  readonly seconds: number;
  readonly peakRssBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function timed(
  command: string,
  args: string[],
): { seconds: number; stdout: string; stderr: string; status: number | null } {
  const t = process.hrtime.bigint();
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function bundle(): string {
  const out = join(OUT, "replay-run.mjs");
  const esbuild = join(import.meta.dirname, "../node_modules/.bin/esbuild");
  const r = spawnSync(
    esbuild,
    [
      join(import.meta.dirname, "replay-run.ts"),
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--target=node20",
      "--packages=external",
      `--outfile=${out}`,
      "--log-level=warning",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`esbuild failed: ${r.stderr}`);
  return out;
}

/** The capture's first `packets` records, pcap header and records copied as they are. */
function head(capture: string, packets: number): string {
  const path = join(OUT, `replay-head-${packets}.pcap`);
  const fd = openSync(capture, "r");
  const buf = new Uint8Array(64 * 1024 * 1024);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const view = new DataView(buf.buffer, 0, n);
  let at = 24;
  for (let i = 0; i < packets && at + 16 <= n; i++) at += 16 + view.getUint32(at + 8, true);
  writeFileSync(path, buf.subarray(0, Math.min(at, n)));
  return path;
}

function tcpdumpSelected(capture: string, filter: string): number {
  const path = join(OUT, "replay-tcpdump-selected.pcap");
  const r = spawnSync("tcpdump", ["-r", capture, "-w", path, filter], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`tcpdump failed: ${r.stderr}`);
  const c = spawnSync("tcpdump", ["-r", path], { encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 });
  return c.stdout.split("\n").filter((l) => l !== "").length;
}

export async function runReplayBench(report: (line: string) => void): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const hasTcpdump = spawnSync("tcpdump", ["--version"]).status === 0;
  report("## Replay: classify every packet of a capture through the shims (openwfp replay vs tcpdump)");
  const capture = join(OUT, "bench-v1-2000000.pcap");
  if (!existsSync(capture) || statSync(capture).size === 0) generateBenchCapture(capture, 2_000_000);
  const { clients, servers } = benchAddresses();
  const local = clients.map((a) => a.toString()).join(",");
  const runner = bundle();
  const scanner = bundleScanner();
  const headPackets = 10_000;
  const short = head(capture, headPackets);

  const port80 = join(OUT, "replay-port80.json");
  writeFileSync(
    port80,
    JSON.stringify({
      filters: [
        {
          name: "block outbound TCP 80",
          layer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
          action: "block",
          conditions: [
            { field: "protocol", value: "tcp" },
            { field: "remotePort", value: "80" },
          ],
        },
      ],
    }),
  );
  const blocked = servers.slice(0, 8);
  const rng = new SeededRng(99);
  const taken = new Set(servers.map((s) => s.value));
  const addresses: string[] = blocked.map((s) => s.toString());
  while (addresses.length < 100_000) {
    const a = rng.nextU32() >>> 0;
    if (taken.has(a)) continue;
    taken.add(a);
    addresses.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
  }
  const blocklist = join(OUT, "replay-blocklist.json");
  writeFileSync(
    blocklist,
    JSON.stringify({
      filters: addresses.map((a, i) => ({
        name: `blocklist ${i}`,
        layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
        action: "block",
        conditions: [{ field: "remoteAddress", value: a }],
      })),
    }),
  );
  const workloads = [
    { name: "(a) one filter: outbound TCP to port 80", policy: port80, bpf: "tcp and dst port 80" },
    {
      name: "(b) 100,000-address blocklist at ALE_AUTH_CONNECT",
      policy: blocklist,
      bpf: blocked.map((s) => `dst host ${s}`).join(" or "),
    },
  ];
  for (const w of workloads) {
    const ours: number[] = [];
    const theirs: number[] = [];
    const fixed: number[] = [];
    const floor: number[] = [];
    const floorFixed: number[] = [];
    let result: RunResult | undefined;
    for (let i = 0; i < 3; i++) {
      const r = timed(process.execPath, [runner, capture, w.policy, local]);
      if (r.status !== 0) throw new Error(`replay failed: ${r.stderr}`);
      ours.push(r.seconds);
      result = JSON.parse(r.stdout) as RunResult;
      const f = timed(process.execPath, [runner, short, w.policy, local]);
      if (f.status !== 0) throw new Error(`replay failed: ${f.stderr}`);
      fixed.push(f.seconds);
      const s = timed(process.execPath, [scanner, capture]);
      if (s.status !== 0) throw new Error(`scan-count failed: ${s.stderr}`);
      floor.push(s.seconds);
      const sf = timed(process.execPath, [scanner, short]);
      if (sf.status !== 0) throw new Error(`scan-count failed: ${sf.stderr}`);
      floorFixed.push(sf.seconds);
      if (hasTcpdump) {
        const t = timed("tcpdump", ["-r", capture, "-w", "/dev/null", w.bpf]);
        if (t.status !== 0) throw new Error(`tcpdump failed: ${t.stderr}`);
        theirs.push(t.seconds);
      }
    }
    if (result === undefined) throw new Error("no run");
    const oursWall = median(ours);
    const fixedWall = median(fixed);
    // The scan's own share: its whole run less its own start on the short file.
    const scanWall = median(floor) - median(floorFixed);
    const perPacketNs = (s: number): string => ((s * 1e9) / result.packets).toFixed(0);
    report(`${w.name}`);
    report(
      `  openwfp replay: ${(result.packets / oursWall / 1e6).toFixed(2)} M packets/s (median of 3, whole process ${oursWall.toFixed(2)} s), dropped ${result.dropped}, peak RSS ${(result.peakRssBytes / 1e6).toFixed(0)} MB`,
    );
    report(
      `  of which fixed (start, bundle, policy; replay of the first ${headPackets} packets): ${fixedWall.toFixed(2)} s; per packet ${perPacketNs(oursWall - fixedWall)} ns, of which the capture scan alone (scan-count) ${perPacketNs(scanWall)} ns`,
    );
    if (!hasTcpdump) {
      report("  tcpdump not installed: no peer measured");
      continue;
    }
    const theirWall = median(theirs);
    const selected = tcpdumpSelected(capture, w.bpf);
    report(
      `  tcpdump -w /dev/null '${w.bpf.length > 60 ? `${w.bpf.slice(0, 60)}…` : w.bpf}': ${(result.packets / theirWall / 1e6).toFixed(2)} M packets/s (${theirWall.toFixed(3)} s), selects ${selected}`,
    );
    const ratio = theirWall / oursWall;
    const goal = w.policy === port80 ? 1.0 : 0.5;
    report(
      `  ratio openwfp/tcpdump: ${ratio.toFixed(2)}x (goal >= ${goal.toFixed(1)}x) ${ratio >= goal ? "MET" : "NOT MET"}; memory goal < 300 MB ${result.peakRssBytes < 300e6 ? "MET" : "NOT MET"}`,
    );
    // What the goal leaves the layers: the whole allowed run, less the fixed cost and the scan.
    const allowed = theirWall / goal;
    report(
      `  the goal allows ${allowed.toFixed(2)} s in all: after the fixed cost and the scan, ${perPacketNs(Math.max(0, allowed - fixedWall - scanWall))} ns per packet for the layers (they take ${perPacketNs(Math.max(0, oursWall - fixedWall - scanWall))} ns)`,
    );
    if (w.policy === port80 && selected !== result.dropped)
      throw new Error(`tcpdump selected ${selected}, openwfp dropped ${result.dropped}`);
    if (w.policy !== port80) {
      // At ALE, a blocked flow's later packets go too — the replies as well, which `dst host` cannot select.
      const extra = result.dropped - selected;
      report(
        `  drops: ${result.dropped} = tcpdump's ${selected} outbound + ${extra} inbound packet(s) of flows already blocked at ALE (${result.droppedByFlow} later packets of blocked flows in all)`,
      );
      if (extra < 0 || extra > result.droppedByFlow)
        throw new Error(
          `tcpdump selected ${selected}, openwfp dropped ${result.dropped} (${result.droppedByFlow} by flow)`,
        );
    }
  }
}
