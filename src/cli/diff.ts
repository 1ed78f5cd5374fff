/**
 * `openwfp diff A B [--connections FILE | --capture CAPTURE --local ADDR[,ADDR...]] [--callout KEY=B]... [--json]`:
 * what changed between two policies or dumps (each a policy document, a netsh XML dump or a store, told
 * apart by content): filters added, removed and changed (by key, with the members that changed),
 * sublayers, callouts and providers added and removed; with `--connections`, the connections whose
 * verdict or deciding filter changes; with `--capture`, the packets whose verdict changes.
 */
import type { Command } from "commander";
import { OpenWfpError } from "../base/index.ts";
import { type DiffReport, diff, parseCalloutOptions } from "../host/index.ts";
import { collect } from "./policy-options.ts";

export interface DiffOptions {
  readonly connections?: string;
  readonly capture?: string;
  readonly local?: string;
  readonly callout?: readonly string[];
  readonly json?: boolean;
}

export function formatDiffText(r: DiffReport): string {
  const lines = [`A: ${r.a}`, `B: ${r.b}`];
  const f = r.filters;
  lines.push(`filters: ${f.added.length} added, ${f.removed.length} removed, ${f.changed.length} changed`);
  for (const x of f.added) lines.push(`  + ${x.key} "${x.name}" at ${x.layer}`);
  for (const x of f.removed) lines.push(`  - ${x.key} "${x.name}" at ${x.layer}`);
  for (const x of f.changed) {
    lines.push(`  ~ ${x.key} "${x.name}" at ${x.layer}`);
    for (const [m, [before, after]] of Object.entries(x.changes ?? {})) lines.push(`      ${m}: ${before} → ${after}`);
  }
  for (const [what, d] of [
    ["sublayers", r.sublayers],
    ["callouts", r.callouts],
    ["providers", r.providers],
  ] as const) {
    if (d.added.length === 0 && d.removed.length === 0) continue;
    lines.push(`${what}: ${d.added.length} added, ${d.removed.length} removed`);
    for (const x of d.added) lines.push(`  + ${x.key} "${x.name}"`);
    for (const x of d.removed) lines.push(`  - ${x.key} "${x.name}"`);
  }
  if (r.connections !== undefined) {
    lines.push(`connections: ${r.connections.changed.length} of ${r.connections.compared} change`);
    for (const c of r.connections.changed) {
      const side = (s: typeof c.before) =>
        `${s.verdict}${s.layer !== null ? ` at ${s.layer}` : ""}${s.filter !== null ? ` by filter ${s.filter}` : ""}`;
      lines.push(`  ${c.connection}`, `      A: ${side(c.before)}`, `      B: ${side(c.after)}`);
    }
  }
  if (r.capture !== undefined) {
    const c = r.capture;
    lines.push(
      `capture: ${c.changed} of ${c.packets} packets change verdict (${c.nowDropped} now dropped, ${c.nowPermitted} now permitted)`,
    );
    for (const e of c.examples.slice(0, 20))
      lines.push(`  packet ${e.packet} (${e.direction}): ${e.before} → ${e.after}`);
  }
  return `${lines.join("\n")}\n`;
}

export async function runDiff(a: string, b: string, o: DiffOptions): Promise<{ text: string; report: DiffReport }> {
  if (o.connections !== undefined && o.capture !== undefined) {
    throw new OpenWfpError("E_USAGE", "give --connections or --capture, not both");
  }
  if (o.capture !== undefined && o.local === undefined)
    throw new OpenWfpError("E_USAGE", "--capture needs --local ADDR");
  const report = await diff({
    a,
    b,
    callouts: parseCalloutOptions(o.callout),
    ...(o.connections !== undefined ? { connectionsPath: o.connections } : {}),
    ...(o.capture !== undefined ? { capturePath: o.capture, local: [o.local as string] } : {}),
  });
  const text = o.json === true ? `${JSON.stringify(report)}\n` : formatDiffText(report);
  return { text, report };
}

export function registerDiff(program: Command): void {
  program
    .command("diff")
    .description("what changed between two policies or dumps, and which connections or packets change verdict")
    .argument("<a>", "policy document, netsh XML dump or store (before)")
    .argument("<b>", "policy document, netsh XML dump or store (after)")
    .option(
      "--connections <file>",
      'connections to compare: JSON array or lines of {"protocol","local","remote","inbound?","closed?","app?","user?"}',
    )
    .option("--capture <file>", "a capture to replay under both")
    .option("--local <addresses>", "with --capture: the host's own addresses")
    .option("--callout <key=behaviour>", "assumed behaviour of an unregistered callout; repeatable", collect, [])
    .option("--json", "print one JSON object (keys in docs/cli.md)")
    .action(async (a: string, b: string, o: DiffOptions) => {
      process.stdout.write((await runDiff(a, b, o)).text);
    });
}
