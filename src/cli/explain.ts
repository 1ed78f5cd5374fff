/**
 * `openwfp explain (--policy P | --state DUMP.xml | --store DB) PROTO LOCAL_ADDR:PORT REMOTE_ADDR:PORT
 *  [--inbound] [--closed] [--app PATH] [--user SID] [--interface N] [--interface-luid L] [--quarantine-epoch E]
 *  [--socket-properties LIST]
 *  [--callout KEY=B]... [--all] [--json]`:
 * walks one connection through every layer it crosses (flows.json order) and prints, per layer, the
 * decision and the filters that took part, then one sentence: which filter decided and what it overrode.
 * The JSON object (docs/cli.md) carries each layer's full trace, as `eval --json` does.
 */
import type { Command } from "commander";
import { OpenWfpError } from "../base/index.ts";
import {
  type ExplainProtocol,
  type ExplainReport,
  explain,
  type LoadedPolicySource,
  parseCalloutOptions,
  parseHostPort,
  SOCKET_PROPERTY_NAMES,
  socketPropertyBit,
  walk,
} from "../host/index.ts";
import { type EvalRecord, evalRecord } from "./eval.ts";
import { addPolicyOptions, type PolicyOptions, policySourceOf } from "./policy-options.ts";

export interface ExplainOptions extends PolicyOptions {
  readonly inbound?: boolean;
  readonly closed?: boolean;
  readonly app?: string;
  readonly user?: string;
  readonly interface?: string;
  readonly interfaceLuid?: string;
  readonly quarantineEpoch?: string;
  readonly socketProperties?: string;
  readonly all?: boolean;
  readonly json?: boolean;
}

/** One layer of the walk in the public JSON contract. */
export interface ExplainLayerRecord extends EvalRecord {
  readonly time: string;
  readonly direction: string;
  readonly packet: string;
  readonly flags: number;
}

export interface ExplainRecord {
  readonly connection: string;
  readonly policy: string;
  readonly verdict: "permitted" | "blocked";
  readonly sentence: string;
  readonly outcome: string;
  readonly blockedAt: { readonly layer: string; readonly index: number } | null;
  readonly layers: ExplainLayerRecord[];
  /** Callouts given an assumed behaviour; `invoked` when a filter of the walk called one. */
  readonly assumptions: readonly {
    calloutKey: string;
    calloutName: string;
    behaviour: string;
    explicit: boolean;
    filters: number;
    invoked: boolean;
  }[];
  /** Hints about what decided the walk (e.g. the interface is quarantined). */
  readonly notes: readonly string[];
}

export function explainRecord(r: ExplainReport): ExplainRecord {
  const layers = r.steps.map((s) => ({
    ...evalRecord(s.result),
    time: s.record.time.toString(),
    direction: s.record.direction,
    packet: s.record.packet,
    flags: s.record.flags,
  }));
  const index = r.blockedAt === undefined ? -1 : r.steps.indexOf(r.blockedAt);
  const invoked = new Set<string>();
  for (const s of r.steps) {
    for (const sub of s.result.trace?.sublayers ?? []) {
      for (const f of sub.filters)
        if (f.calloutInvoked && f.filter.action.calloutKey !== undefined) invoked.add(f.filter.action.calloutKey);
    }
  }
  return {
    connection: r.connection,
    policy: r.policy,
    verdict: r.verdict,
    sentence: r.sentence,
    outcome: r.outcome,
    blockedAt: index < 0 ? null : { layer: layers[index]?.layer ?? "", index },
    layers,
    assumptions: r.assumptions.map((a) => ({ ...a, invoked: invoked.has(a.calloutKey) })),
    notes: r.notes,
  };
}

const short = (s: string | null): string => (s === null ? "-" : s.replace(/^FWP_ACTION_/, ""));

export function formatExplainText(rec: ExplainRecord, all: boolean): string {
  const lines: string[] = [`${rec.connection}`, `policy: ${rec.policy}`, ""];
  rec.layers.forEach((l, i) => {
    const d = l.decidingFilter;
    const marker = rec.blockedAt?.index === i ? "  ← blocked here" : "";
    lines.push(
      `${String(i + 1).padStart(3)}. ${l.layer.replace(/^FWPM_LAYER_/, "").padEnd(34)} ${l.direction.padEnd(8)} ${l.packet.padEnd(14)} ${short(l.action)}${
        d === null ? "" : ` by filter ${d.id} "${d.name}" (${d.sublayer})`
      }${marker}`,
    );
    for (const s of l.trace) {
      const shown = s.filters.filter((f) => all || f.matched);
      if (shown.length === 0 && s.outcome === null) continue;
      lines.push(
        `       sublayer "${s.sublayer.name}" (weight ${s.sublayer.weight}): ${s.outcome === null ? "no outcome" : `${short(s.outcome.action)} ${s.outcome.hard ? "hard" : "soft"}`}, ${s.apply}`,
      );
      for (const f of shown) {
        lines.push(
          `         ${f.matched ? "✓" : "✗"} ${String(f.id).padStart(6)} ${f.name} → ${f.status}${f.returned !== null ? ` ${short(f.returned)}` : ""}${f.calloutUnregistered ? " (callout unregistered)" : ""}${f.terminating ? " [terminating]" : ""}`,
        );
      }
    }
  });
  lines.push("", rec.sentence, `outcome: ${rec.outcome}`);
  for (const n of rec.notes) lines.push(`note: ${n}`);
  const used = rec.assumptions.filter((a) => a.invoked);
  if (used.length > 0) {
    lines.push(
      "callouts whose behaviour was assumed (openwfp has not their code; --callout KEY=block|permit|continue to change):",
    );
    for (const a of used)
      lines.push(`  ${a.calloutKey} "${a.calloutName}": ${a.behaviour}${a.explicit ? "" : " (default)"}`);
  }
  const unused = rec.assumptions.length - used.length;
  if (unused > 0) lines.push(`(${unused} other callouts of this policy were assumed too but not called on this walk)`);
  return `${lines.join("\n")}\n`;
}

/** A UINT64 option: decimal or 0x hex. */
function uint64Option(text: string | undefined, option: string): bigint | undefined {
  if (text === undefined) return undefined;
  if (/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(text)) {
    const v = BigInt(text);
    if (v <= 0xffff_ffff_ffff_ffffn) return v;
  }
  throw new OpenWfpError("E_USAGE", `${option} must be a UINT64 in decimal or 0x hex, got ${JSON.stringify(text)}`, {
    path: option,
  });
}

function protocolOf(text: string): ExplainProtocol {
  const p = text.toLowerCase();
  if (p === "tcp" || p === "udp" || p === "icmp") return p;
  if (p === "icmpv6" || p === "icmp6") return "icmp";
  throw new OpenWfpError("E_USAGE", `PROTO must be tcp, udp or icmp, got ${JSON.stringify(text)}`, { path: "PROTO" });
}

/**
 * Runs `explain`. `loaded`: a policy source already opened (loadPolicySource), walked instead of opening
 * the one the options name — for callers that explain many connections under one large dump; its callout
 * assumptions were fixed when it was loaded, so `--callout` cannot be given with it.
 */
export async function runExplain(
  proto: string,
  local: string,
  remote: string,
  o: ExplainOptions,
  loaded?: LoadedPolicySource,
): Promise<{ text: string; record: ExplainRecord }> {
  const protocol = protocolOf(proto);
  const ports = protocol !== "icmp";
  let interfaceIndex: number | undefined;
  if (o.interface !== undefined) {
    interfaceIndex = Number(o.interface);
    if (!Number.isInteger(interfaceIndex) || interfaceIndex < 2 || interfaceIndex > 0xffffffff) {
      throw new OpenWfpError(
        "E_USAGE",
        `--interface must be an interface index of 2 or more, got ${JSON.stringify(o.interface)}`,
        { path: "--interface" },
      );
    }
  }
  const interfaceLuid = uint64Option(o.interfaceLuid, "--interface-luid");
  const quarantineEpoch = uint64Option(o.quarantineEpoch, "--quarantine-epoch");
  const socketProperties = socketPropertiesOption(o.socketProperties);
  if (loaded !== undefined && (o.callout?.length ?? 0) > 0) {
    throw new OpenWfpError("E_USAGE", "--callout cannot change a policy source that is already loaded", {
      path: "--callout",
    });
  }
  const connection: Parameters<typeof walk>[0] = {
    protocol,
    local: parseHostPort(local, "LOCAL_ADDR:PORT", ports && o.inbound === true),
    remote: parseHostPort(remote, "REMOTE_ADDR:PORT", ports && o.inbound !== true),
    ...(o.inbound === true ? { inbound: true } : {}),
    ...(o.closed === true ? { closed: true } : {}),
    ...(o.app !== undefined ? { app: o.app } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(interfaceIndex !== undefined ? { interfaceIndex } : {}),
    ...(interfaceLuid !== undefined ? { interfaceLuid } : {}),
    ...(quarantineEpoch !== undefined ? { quarantineEpoch } : {}),
    ...(socketProperties !== undefined ? { socketProperties } : {}),
  };
  const report =
    loaded === undefined
      ? await explain({ source: policySourceOf(o), callouts: parseCalloutOptions(o.callout), ...connection })
      : walk(connection, loaded.engine, loaded.description, loaded.assumptions);
  const record = explainRecord(report);
  const text = o.json === true ? `${JSON.stringify(record)}\n` : formatExplainText(record, o.all === true);
  return { text, record };
}

/** `--socket-properties A,B`: FWP_CONDITION_SOCKET_PROPERTY_FLAG_* names (with or without the prefix). */
function socketPropertiesOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let bits = 0;
  for (const name of text.split(",").map((n) => n.trim())) {
    const bit = name === "" ? undefined : socketPropertyBit(name);
    if (bit === undefined) {
      throw new OpenWfpError(
        "E_USAGE",
        `--socket-properties: unknown socket property ${JSON.stringify(name)} (one of ${SOCKET_PROPERTY_NAMES.join(", ")})`,
        { path: "--socket-properties" },
      );
    }
    bits |= bit;
  }
  return bits;
}

export function registerExplain(program: Command): void {
  addPolicyOptions(
    program
      .command("explain")
      .description("walk one connection through every layer it crosses and say which filter decides")
      .argument("<proto>", "tcp, udp or icmp")
      .argument("<local>", "LOCAL_ADDR:PORT (port 0 or none: ephemeral)")
      .argument("<remote>", "REMOTE_ADDR:PORT"),
  )
    .option("--inbound", "the remote end connects to the local one")
    .option("--closed", "with --inbound: no socket listens on the local port")
    .option("--app <path>", "the local app's image path (ALE_APP_ID), e.g. C:\\Windows\\System32\\svchost.exe")
    .option("--user <sid>", "the local app's user (ALE_USER_ID), e.g. S-1-5-21-…-1001")
    .option("--interface <index>", "IF_INDEX of the local interface (default 2)")
    .option("--interface-luid <luid>", "NET_LUID of the local interface, decimal or 0x hex (a real machine's NIC)")
    .option("--quarantine-epoch <n>", "INTERFACE_QUARANTINE_EPOCH of the local interface (default 0: quarantined)")
    .option(
      "--socket-properties <list>",
      `the local socket's ALE_SIO_FIREWALL_SYSTEM_PORT bits: ${SOCKET_PROPERTY_NAMES.join(", ")} (comma-separated; default none)`,
    )
    .option("--all", "list every filter of each sublayer, not only those that matched")
    .option("--json", "print one JSON object (keys in docs/cli.md)")
    .action(async (proto: string, local: string, remote: string, o: ExplainOptions) => {
      process.stdout.write((await runExplain(proto, local, remote, o)).text);
    });
}
