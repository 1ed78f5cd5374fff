/**
 * `openwfp replay CAPTURE (--policy P | --state DUMP.xml | --store DB) --local ADDR[,ADDR...]
 *  [--out permitted.pcapng] [--dropped dropped.pcapng] [--events events.ndjson] [--callout KEY=B]... [--json]`:
 * classifies every packet of a capture in order, as the host owning the --local addresses would, writes
 * the permitted and the dropped packets, the net events, and prints a summary (docs/cli.md). Streams with
 * constant memory; on a terminal a progress bar shows on standard error for long files.
 */
import type * as CliProgress from "cli-progress";
import type { Command } from "commander";
import { lazyPackage } from "../base/index.ts";
import { parseCalloutOptions, type ReplaySummary, replay } from "../host/index.ts";
import { addPolicyOptions, type PolicyOptions, policySourceOf } from "./policy-options.ts";

/** The progress bar package, loaded only when a bar is shown. */
const cliProgress = lazyPackage<typeof CliProgress>("cli-progress");

export interface ReplayOptions extends PolicyOptions {
  readonly local: string;
  readonly out?: string;
  readonly dropped?: string;
  readonly events?: string;
  readonly json?: boolean;
  readonly progress?: boolean;
  /** Keep flows even when the policy lets none matter (for the flow counts). */
  readonly trackFlows?: boolean;
}

/** The human-readable summary. */
export function formatReplayText(s: ReplaySummary): string {
  const lines = [
    `capture  ${s.capture}`,
    `policy   ${s.policy}`,
    `packets  ${s.packets}: ${s.permitted} permitted, ${s.dropped} dropped${s.droppedByFlow > 0 ? ` (${s.droppedByFlow} of them in flows blocked at ALE)` : ""}`,
    `         ${s.directions.outbound} outbound, ${s.directions.inbound} inbound, ${s.directions.loopback} loopback, ${s.directions.forward} forwarded; ${s.malformed} malformed, ${s.notIp} not IP`,
    s.flows.untracked > 0 && s.flows.created === 0
      ? `flows    not tracked: no filter at an ALE layer and no callout, so no verdict depends on a flow (${s.flows.untracked} packets passed without a flow lookup; --track-flows counts them)`
      : `flows    ${s.flows.created} seen, ${s.flows.blocked} blocked at ALE, ${s.flows.evicted} evicted, ${s.flows.expired} idle-expired${s.flows.untracked > 0 ? `; ${s.flows.untracked} packets untracked while no filter could use a flow` : ""}`,
  ];
  const layers = Object.entries(s.droppedByLayer).sort((a, b) => b[1] - a[1]);
  if (layers.length > 0) {
    lines.push("dropped by layer:");
    for (const [l, n] of layers) lines.push(`  ${String(n).padStart(8)}  ${l}`);
  }
  if (s.droppedByFilter.length > 0) {
    lines.push("dropped by filter:");
    for (const f of s.droppedByFilter)
      lines.push(
        `  ${String(f.packets).padStart(8)}  filter ${f.id} "${f.name}" at ${f.layer} (sublayer ${f.sublayer})`,
      );
  }
  if (s.assumptions.length > 0) {
    lines.push("callouts assumed (openwfp has not their code):");
    for (const a of s.assumptions)
      lines.push(
        `  ${a.calloutKey} "${a.calloutName}": ${a.behaviour}${a.explicit ? "" : " (default)"}, used by ${a.filters} filter(s)`,
      );
  }
  if (s.netEvents > 0) lines.push(`net events written: ${s.netEvents}`);
  for (const m of s.malformedExamples) lines.push(`malformed: ${m}`);
  for (const e of s.captureErrors) lines.push(`capture error: ${e}`);
  return `${lines.join("\n")}\n`;
}

export async function runReplay(capture: string, o: ReplayOptions): Promise<{ text: string; summary: ReplaySummary }> {
  const showBar = o.progress ?? (process.stderr.isTTY === true && o.json !== true);
  const bar = showBar
    ? new (cliProgress().SingleBar)({
        format: "replay [{bar}] {percentage}% | {value}/{total} MB",
        hideCursor: true,
        stream: process.stderr,
      })
    : undefined;
  let started = false;
  const summary = await replay({
    capturePath: capture,
    source: policySourceOf(o),
    local: [o.local],
    callouts: parseCalloutOptions(o.callout),
    ...(o.out !== undefined ? { permittedPath: o.out } : {}),
    ...(o.dropped !== undefined ? { droppedPath: o.dropped } : {}),
    ...(o.events !== undefined ? { eventsPath: o.events } : {}),
    ...(o.trackFlows === true ? { trackFlows: true } : {}),
    ...(bar !== undefined
      ? {
          onProgress: (done: number, total: number) => {
            const mb = (n: number) => Math.round(n / 1e6);
            if (!started) {
              bar.start(mb(total), 0);
              started = true;
            }
            bar.update(Math.min(mb(done), mb(total)));
          },
        }
      : {}),
  });
  if (started) bar?.stop();
  const text =
    o.json === true
      ? `${JSON.stringify(summary, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`
      : formatReplayText(summary);
  return { text, summary };
}

export function registerReplay(program: Command, setExitCode: (code: number) => void): void {
  addPolicyOptions(
    program
      .command("replay")
      .description(
        "classify every packet of a capture as a host with the --local addresses would, and write what passes and what drops",
      )
      .argument("<capture>", "pcap or pcapng file")
      .requiredOption(
        "--local <addresses>",
        "the host's own addresses, comma-separated (what makes a packet inbound or outbound)",
      ),
  )
    .option("--out <file>", "write the permitted packets to this pcapng file")
    .option("--dropped <file>", "write the dropped packets to this pcapng file")
    .option("--events <file>", "write net events (CLASSIFY_DROP, CLASSIFY_ALLOW) as NDJSON")
    .option("--json", "print the summary as one JSON object (keys in docs/cli.md)")
    .option("--no-progress", "never show the progress bar")
    .option(
      "--track-flows",
      "keep the flow table even when no ALE filter or callout could use it (slower; for the flow counts)",
    )
    .action(async (capture: string, o: ReplayOptions) => {
      const { text, summary } = await runReplay(capture, o);
      process.stdout.write(text);
      if (summary.captureErrors.length > 0) setExitCode(1);
    });
}
