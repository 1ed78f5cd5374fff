/**
 * `openwfp simulate SCENARIO.json [--policy P] [--pcap OUT.pcapng] [--json]`: runs a scenario
 * (docs/scenarios.md) on simulated hosts whose every classify point calls the filter engine, and prints
 * the ordered classify log — one line per classification — and each app's outcome. With `--json`, one
 * object: `{ scenario, classifications: [{time, host, layer, direction, packet, action, decidingFilter}],
 * apps: [...], hosts: [{name, counters, netEvents}] }` (a public contract, docs/cli.md). `--pcap` writes
 * every frame of every NIC to a pcapng file (one capture interface per NIC).
 */
import type { Command } from "commander";
import { type SimulationReport, simulate } from "../host/index.ts";

export interface SimulateOptions {
  readonly policy?: string;
  readonly pcap?: string;
  readonly json?: boolean;
}

const short = (layer: string): string => layer.replace(/^FWPM_LAYER_/, "");

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  return value;
}

/** The human-readable report. */
export function formatSimulationText(r: SimulationReport): string {
  const lines: string[] = [`scenario ${r.scenario}: ${r.classifications.length} classifications`];
  const hostWidth = Math.max(4, ...r.classifications.map((c) => c.host.length));
  for (const c of r.classifications) {
    const d = c.decidingFilter;
    lines.push(
      [
        c.time,
        c.host.padEnd(hostWidth),
        short(c.layer).padEnd(34),
        c.direction.padEnd(8),
        c.packet.padEnd(14),
        c.action === "FWP_ACTION_PERMIT" ? "PERMIT" : "BLOCK ",
        d === null ? "" : `filter ${d.id} "${d.name}"`,
      ]
        .join("  ")
        .trimEnd(),
    );
  }
  lines.push("", "apps:");
  for (const a of r.apps) {
    for (const s of a.sockets) {
      const extra = [
        s.error !== undefined ? `error ${s.error}` : "",
        s.accepted !== undefined ? `accepted ${s.accepted}` : "",
        s.datagramsSent !== undefined ? `sent ${s.datagramsSent} / received ${s.datagramsReceived ?? 0} datagrams` : "",
        s.read !== undefined ? `read ${s.read}${s.protocol === "udp" ? " datagrams" : " bytes"}` : "",
      ]
        .filter((x) => x !== "")
        .join(", ");
      lines.push(
        `  ${a.app}@${a.host} ${s.protocol} ${s.socket}: ${s.outcome}, ${s.bytesSent} bytes sent, ${s.bytesReceived} received${extra === "" ? "" : `, ${extra}`}`,
      );
    }
    for (const e of a.errors) lines.push(`  ${a.app}@${a.host}: ${e}`);
  }
  const drops = r.hosts.map(
    (h) => `${h.name} ${h.netEvents.filter((e) => e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP").length}`,
  );
  lines.push("", `net events (CLASSIFY_DROP): ${drops.join(", ")}`);
  return `${lines.join("\n")}\n`;
}

export async function runSimulate(scenario: string, opts: SimulateOptions): Promise<string> {
  const report = await simulate({
    scenarioPath: scenario,
    ...(opts.policy !== undefined ? { policyPath: opts.policy } : {}),
    ...(opts.pcap !== undefined ? { pcapPath: opts.pcap } : {}),
  });
  if (opts.json === true) {
    const { records: _records, ...contract } = report;
    return `${JSON.stringify(contract, jsonReplacer)}\n`;
  }
  return formatSimulationText(report);
}

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description("run a scenario on simulated hosts and print every classification and each app's outcome")
    .argument("<scenario>", "scenario file (JSON, docs/scenarios.md)")
    .option("--policy <file>", "policy document for every host without its own (replaces the scenario's)")
    .option("--pcap <file>", "write every frame of every NIC to this pcapng file")
    .option("--json", "print one JSON object (keys in docs/cli.md)")
    .action(async (scenario: string, opts: SimulateOptions) => {
      process.stdout.write(await runSimulate(scenario, opts));
    });
}
