/**
 * `openwfp eval --policy FILE --layer LAYER [--value FIELD=VALUE]... [--meta KEY=VALUE]... [--trace] [--json]`:
 * loads a policy document (docs/policy.md) into a fresh engine, classifies once at LAYER with the given
 * incoming values (fields not given are FWP_EMPTY) and metadata, and prints the decision, the deciding
 * filter, rights, absorbed/vetoed and the trace: one table per sublayer (with each condition's result
 * under --trace), or one JSON object whose keys are a public contract (docs/cli.md). A bad policy, an
 * unknown layer or a field the layer lacks is an explained error (exit 1).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { describeError } from "../base/index.ts";
import type { ClassifyResult, Filter, TraceFilter, TraceSublayer } from "../engine/index.ts";
import {
  incomingValuesFromText,
  loadPolicyDocument,
  matchWord,
  metadataFromText,
  type PolicyFormat,
  parseLayerRef,
  shortAlias,
} from "../engine/index.ts";
import { formatConditionValue, type Layer } from "../fwp/index.ts";

export interface EvalOptions {
  readonly policy: string;
  readonly layer: string;
  readonly value?: readonly string[];
  readonly meta?: readonly string[];
  readonly format?: PolicyFormat;
  readonly trace?: boolean;
  readonly json?: boolean;
}

interface FilterRef {
  key: string;
  /** The run-time filter id (a UINT64) in decimal. */
  id: string;
  name: string;
}

/** The JSON object `eval --json` prints: the public contract of docs/cli.md. */
export interface EvalRecord {
  layer: string;
  action: "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK";
  decidingFilter: (FilterRef & { sublayer: string }) | null;
  rights: number;
  absorbed: boolean;
  vetoed: boolean;
  trace: EvalTraceSublayer[];
}

export interface EvalTraceSublayer {
  sublayer: { key: string; name: string; weight: number };
  filters: EvalTraceFilter[];
  terminatingFilter: FilterRef | null;
  outcome: { action: string; hard: boolean; absorb: boolean } | null;
  apply: string;
  decisionBefore: string | null;
  decisionAfter: string | null;
  rightsBefore: number;
  rightsAfter: number;
}

export interface EvalTraceFilter extends FilterRef {
  effectiveWeight: string;
  action: string;
  callout?: string;
  status: string;
  matched: boolean;
  conditions: { field: string; match: string; value: string; result: boolean }[];
  returned: string | null;
  calloutInvoked: boolean;
  calloutUnregistered: boolean;
  rightsBefore: number | null;
  rightsAfter: number | null;
  flags: number | null;
  terminating: boolean;
}

function filterRef(f: Filter): FilterRef {
  return { key: f.filterKey, id: f.filterId.toString(), name: f.name };
}

function hex64(n: bigint): string {
  return `0x${n.toString(16).padStart(16, "0")}`;
}

function conditionText(f: Filter, i: number): { field: string; match: string; value: string } {
  const c = f.conditions[i];
  if (c === undefined) return { field: "?", match: "?", value: "?" };
  const field = f.layer.fields[c.fieldIndex];
  const ipv4 = field?.fieldType === "FWPM_FIELD_IP_ADDRESS" && field.dataType === "FWP_UINT32";
  return { field: c.conditionName, match: matchWord(c.matchType), value: formatConditionValue(c.value, { ipv4 }) };
}

function traceFilterRecord(t: TraceFilter): EvalTraceFilter {
  const f = t.filter;
  return {
    ...filterRef(f),
    effectiveWeight: hex64(f.effectiveWeight),
    action: f.action.type,
    ...(f.action.calloutKey === undefined ? {} : { callout: f.action.calloutKey }),
    status: t.status,
    matched: t.matched,
    conditions: t.conditions.map((c, i) => ({ ...conditionText(f, i), result: c.result })),
    returned: t.action,
    calloutInvoked: t.calloutInvoked,
    calloutUnregistered: t.calloutUnregistered,
    rightsBefore: t.rightsBefore,
    rightsAfter: t.rightsAfter,
    flags: t.flags,
    terminating: t.terminating,
  };
}

function traceSublayerRecord(s: TraceSublayer): EvalTraceSublayer {
  return {
    sublayer: { key: s.sublayer.subLayerKey, name: s.sublayer.name, weight: s.sublayer.weight },
    filters: s.filters.map(traceFilterRecord),
    terminatingFilter: s.terminatingFilter === null ? null : filterRef(s.terminatingFilter),
    outcome: s.outcome === null ? null : { ...s.outcome },
    apply: s.apply,
    decisionBefore: s.decisionBefore,
    decisionAfter: s.decisionAfter,
    rightsBefore: s.rightsBefore,
    rightsAfter: s.rightsAfter,
  };
}

function layerName(layer: Layer): string {
  return layer.fwpmName ?? layer.fwpsName;
}

/** The contract object of one classification. */
export function evalRecord(result: ClassifyResult): EvalRecord {
  const d = result.decidingFilter;
  return {
    layer: layerName(result.layer),
    action: result.action,
    decidingFilter: d === null ? null : { ...filterRef(d), sublayer: d.sublayer.name },
    rights: result.rights,
    absorbed: result.absorbed,
    vetoed: result.vetoed,
    trace: (result.trace?.sublayers ?? []).map(traceSublayerRecord),
  };
}

const short = (action: string | null): string => (action === null ? "-" : action.replace(/^FWP_ACTION_/, ""));
const rightsText = (r: number | null): string => (r === null ? "-" : String(r));

function pad(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** The human-readable report: decision first, then one table per sublayer. */
export function formatEvalText(record: EvalRecord, withConditions: boolean): string {
  const lines: string[] = [];
  const d = record.decidingFilter;
  lines.push(`layer     ${record.layer}`);
  lines.push(`decision  ${short(record.action)}${record.rights === 0 ? " (hard)" : " (soft)"}`);
  lines.push(
    d === null
      ? "deciding  none (no filter returned PERMIT or BLOCK)"
      : `deciding  filter ${d.id} "${d.name}" {${d.key}} in sublayer "${d.sublayer}"`,
  );
  lines.push(`rights    ${record.rights}${record.rights === 0 ? "" : " (FWPS_RIGHT_ACTION_WRITE)"}`);
  lines.push(`absorbed  ${record.absorbed ? "yes" : "no"}`);
  lines.push(`vetoed    ${record.vetoed ? "yes" : "no"}`);
  lines.push("");
  lines.push(record.trace.length === 0 ? "trace: no filters at this layer" : "trace:");
  for (const s of record.trace) {
    const outcome =
      s.outcome === null
        ? "no outcome"
        : `${short(s.outcome.action)} ${s.outcome.hard ? "hard" : "soft"}${s.outcome.absorb ? " absorb" : ""}`;
    lines.push(
      `  sublayer "${s.sublayer.name}" weight ${s.sublayer.weight} {${s.sublayer.key}}: ${outcome}, ${s.apply} → ${short(s.decisionAfter)} rights ${s.rightsBefore}→${s.rightsAfter}`,
    );
    const rows: string[][] = [["id", "weight", "action", "status", "returned", "rights", "filter"]];
    const conditionLines = new Map<number, string[]>();
    s.filters.forEach((f, i) => {
      rows.push([
        String(f.id),
        f.effectiveWeight,
        short(f.action).toLowerCase().replace(/_/g, "-"),
        f.status,
        f.calloutUnregistered ? `${short(f.returned)} (unregistered)` : short(f.returned),
        f.rightsBefore === null ? "-" : `${rightsText(f.rightsBefore)}→${rightsText(f.rightsAfter)}`,
        `${f.name}${f.terminating ? "  [terminating]" : ""}`,
      ]);
      if (withConditions) {
        conditionLines.set(
          i,
          f.conditions.map((c) => {
            const alias = shortAlias(c.field) ?? c.field;
            return `          ${c.result ? "✓" : "✗"} ${alias} ${c.match} ${c.value}`;
          }),
        );
      }
    });
    pad(rows).forEach((row, r) => {
      lines.push(`      ${row}`);
      if (r > 0) lines.push(...(conditionLines.get(r - 1) ?? []));
    });
  }
  return `${lines.join("\n")}\n`;
}

function formatOf(file: string, explicit: string | undefined): PolicyFormat | undefined {
  if (explicit === "json" || explicit === "yaml") return explicit;
  if (explicit !== undefined) throw new Error(`--format must be json or yaml, got ${JSON.stringify(explicit)}`);
  if (/\.ya?ml$/i.test(file)) return "yaml";
  if (/\.json$/i.test(file)) return "json";
  return undefined;
}

/** Runs one evaluation and returns the text to print. Throws on any error (the caller exits 1). */
export function runEval(options: EvalOptions): string {
  let text: string;
  try {
    text = readFileSync(options.policy, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${options.policy}: ${describeError(e)}`);
  }
  const format = formatOf(options.policy, options.format);
  let loaded: ReturnType<typeof loadPolicyDocument>;
  try {
    loaded = loadPolicyDocument(text, format === undefined ? {} : { format });
  } catch (e) {
    throw new Error(`${options.policy}: ${describeError(e)}`);
  }
  const layer = parseLayerRef(options.layer, "--layer");
  const result = loaded.engine.classify({
    layer,
    incomingValues: incomingValuesFromText(layer, options.value ?? []),
    metadata: metadataFromText(options.meta ?? []),
    trace: true,
  });
  const record = evalRecord(result);
  return options.json === true ? `${JSON.stringify(record)}\n` : formatEvalText(record, options.trace === true);
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function registerEval(program: Command): void {
  program
    .command("eval")
    .description("load a policy document, classify once at a layer and print the decision and the trace")
    .requiredOption("--policy <file>", "policy document (JSON or YAML, docs/policy.md)")
    .requiredOption("--layer <layer>", "FWPM_LAYER_* or FWPS_LAYER_* name, run-time id or layer GUID")
    .option("--value <field=value>", "incoming value (condition name or alias); repeatable", collect, [])
    .option("--meta <key=value>", "metadata passed to callouts (processId, processPath, ...); repeatable", collect, [])
    .option("--format <format>", "json or yaml (default: from the file name, else sniffed)")
    .option("--trace", "show each condition's result under its filter")
    .option("--json", "print one JSON object (keys in docs/cli.md); always includes the trace")
    .action((opts: EvalOptions) => {
      process.stdout.write(runEval(opts));
    });
}
