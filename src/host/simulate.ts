/**
 * The composition root of `openwfp simulate`: reads a scenario (docs/scenarios.md), builds each host's
 * filter engine from its policy document (the scenario's, the host's own, or the one given on the command
 * line), registers callouts from TypeScript modules, gives each host a shim whose classifications also
 * raise net events (CLASSIFY_DROP / CLASSIFY_ALLOW, H34) in a per-host NetEventLog, runs the scenario on
 * the simulated clock, and returns the classify log, the apps' outcomes, the net events and the counters.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Clock, describeError, formatEpochNs, OpenWfpError } from "../base/index.ts";
import { type NetEvent, NetEventLog, netEventFromClassify } from "../bfe/index.ts";
import type { NetEventHeaderInput } from "../bfe/netevents/types.ts";
import { FileSink } from "../capture/index.ts";
import { createIndexedClassifier, FilterEngine, loadPolicyDocument } from "../engine/index.ts";
import { type ClassifyRecord, type Fwps, Shim } from "../shim/index.ts";
import {
  type AppOutcome,
  type Host,
  parseScenario,
  runScenario,
  type Scenario,
  type ScenarioHost,
} from "../stack/index.ts";

/**
 * What a callout module gets besides the engine: the host's name and its callout services (`fwps`, the
 * Fwps* functions: flow contexts, pending, redirection, injection, stream editing), live once the
 * scenario runs.
 */
export interface CalloutModuleContext {
  readonly host: string;
  readonly fwps: Fwps;
}

/** A TypeScript callout module's default export: registers callouts (and may add objects) on a host's engine. */
export type CalloutModule = (engine: FilterEngine, context: CalloutModuleContext) => void | Promise<void>;

export interface SimulateRequest {
  /** The scenario file (JSON). */
  readonly scenarioPath: string;
  /** A policy document replacing the scenario's default policy (hosts with their own keep theirs). */
  readonly policyPath?: string;
  /** Write every NIC's frames to this pcapng file. */
  readonly pcapPath?: string;
  /** Ring size of each host's net event log (default 4096). */
  readonly netEventCapacity?: number;
}

/** One classification in the public JSON contract (docs/cli.md). */
export interface ClassifyLogEntry {
  readonly time: string;
  readonly host: string;
  readonly layer: string;
  readonly direction: "inbound" | "outbound" | "none";
  readonly packet: string;
  readonly action: "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK";
  readonly decidingFilter: {
    readonly key: string;
    readonly id: string;
    readonly name: string;
    readonly sublayer: string;
  } | null;
}

export interface HostReport {
  readonly name: string;
  readonly counters: Record<string, unknown>;
  readonly netEvents: NetEvent[];
  readonly netEventsOverflow: number;
}

export interface SimulationReport {
  readonly scenario: string;
  readonly classifications: ClassifyLogEntry[];
  readonly apps: AppOutcome[];
  readonly hosts: HostReport[];
  /** The raw records, for callers that need facts and results. */
  readonly records: readonly ClassifyRecord[];
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new OpenWfpError("E_FILE", `cannot read ${what} ${path}: ${describeError(e)}`, { path });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new OpenWfpError("E_SCENARIO", `${what} ${path} is not JSON: ${describeError(e)}`, { path });
  }
}

/** A policy value: an inline document, or a file name relative to `baseDir` (JSON or YAML text). */
function policyText(value: unknown, baseDir: string): unknown {
  if (typeof value !== "string") return value;
  const path = isAbsolute(value) ? value : resolve(baseDir, value);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new OpenWfpError("E_FILE", `cannot read policy ${path}: ${describeError(e)}`, { path });
  }
}

function engineFor(policy: unknown, baseDir: string, where: string): FilterEngine {
  const engineInit = { classifier: createIndexedClassifier() };
  if (policy === undefined) return new FilterEngine(engineInit);
  try {
    return loadPolicyDocument(policyText(policy, baseDir), { engineInit }).engine;
  } catch (e) {
    // The message already names the path inside the document; say which document.
    if (e instanceof OpenWfpError && e.code !== "E_FILE")
      throw new OpenWfpError(e.code, `${where}: ${e.message}`, {}, { cause: e });
    throw e;
  }
}

interface CalloutModuleSpec {
  readonly module: string;
  readonly hosts?: readonly string[];
}

function calloutModules(value: unknown): CalloutModuleSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new OpenWfpError("E_SCENARIO", "expected an array", { path: "callouts" });
  return value.map((v, i) => {
    const o = v as { module?: unknown; hosts?: unknown };
    if (typeof o !== "object" || o === null || typeof o.module !== "string") {
      throw new OpenWfpError("E_SCENARIO", 'expected { "module": "./file.ts", "hosts": [...] }', {
        path: `callouts[${i}]`,
      });
    }
    if (o.hosts !== undefined && !(Array.isArray(o.hosts) && o.hosts.every((h) => typeof h === "string"))) {
      throw new OpenWfpError("E_SCENARIO", "expected an array of host names", { path: `callouts[${i}].hosts` });
    }
    return { module: o.module, ...(o.hosts !== undefined ? { hosts: o.hosts as string[] } : {}) };
  });
}

/** The net event header of a classification, from its facts. */
function netEventInput(r: ClassifyRecord): NetEventHeaderInput {
  const f = r.facts;
  return {
    direction: f.direction ?? (r.direction === "inbound" ? "inbound" : "outbound"),
    ...(f.protocol !== undefined ? { ipProtocol: f.protocol } : {}),
    ...((f.localAddress ?? f.sourceAddress) !== undefined ? { localAddr: f.localAddress ?? f.sourceAddress } : {}),
    ...((f.remoteAddress ?? f.destinationAddress) !== undefined
      ? { remoteAddr: f.remoteAddress ?? f.destinationAddress }
      : {}),
    ...(f.localPort !== undefined ? { localPort: f.localPort } : {}),
    ...(f.remotePort !== undefined ? { remotePort: f.remotePort } : {}),
    ...(f.process !== undefined ? { appId: f.process.appId, userId: f.process.token.sids[0]?.sid } : {}),
    ...(f.reauthorizeReason !== undefined && f.reauthorizeReason !== 0 ? { reauthReason: f.reauthorizeReason } : {}),
    isLoopback: ((f.flags ?? 0) & 1) !== 0,
  } as NetEventHeaderInput;
}

export function logEntry(r: ClassifyRecord): ClassifyLogEntry {
  const d = r.decidingFilter;
  return {
    time: formatEpochNs(r.time),
    host: r.host,
    layer: r.layer.fwpmName ?? r.layer.fwpsName,
    direction: r.direction,
    packet: r.packet,
    action: r.action,
    decidingFilter:
      d === null ? null : { key: d.filterKey, id: d.filterId.toString(), name: d.name, sublayer: d.sublayer.name },
  };
}

function hostCounters(h: Host): Record<string, unknown> {
  return {
    ip: h.ip.counters,
    reassembly: h.ip.reassembler.counters,
    forwarding: h.forwarder.counters,
    tcp: h.tcp.counters,
    udp: h.udp.counters,
    icmp: h.icmp.counters,
    shim: h.shim.counters,
    aleFlows: { ...h.shim.flows.counters, live: h.shim.flows.size },
    interfaces: h.interfaces.map((n) => ({ name: n.name, ...n.counters })),
  };
}

/** Runs a scenario file. Errors (bad scenario, bad policy, missing files) throw OpenWfpError with a path. */
export async function simulate(request: SimulateRequest): Promise<SimulationReport> {
  const baseDir = dirname(resolve(request.scenarioPath));
  const scenario: Scenario = parseScenario(readJson(request.scenarioPath, "scenario"));
  const defaultPolicy = request.policyPath !== undefined ? resolve(request.policyPath) : scenario.policy;
  const defaultWhere = request.policyPath !== undefined ? `--policy ${request.policyPath}` : "policy";
  // The default policy is checked even when every host has its own.
  engineFor(defaultPolicy, baseDir, defaultWhere);
  const engines = new Map<string, FilterEngine>();
  scenario.hosts.forEach((h, i) => {
    engines.set(
      h.name,
      engineFor(h.policy ?? defaultPolicy, baseDir, h.policy !== undefined ? `hosts[${i}].policy` : defaultWhere),
    );
  });
  // The shims exist before the callout modules run, so that a module can keep its host's Fwps services.
  // Their clock is the scenario's scheduler, which runScenario creates: read through `clockRef`.
  const clockRef: { current: Clock | undefined } = { current: undefined };
  const clock: Clock = { nowNs: () => clockRef.current?.nowNs() ?? 0n };
  const netEvents = new Map<string, NetEventLog>();
  const shims = new Map<string, Shim>();
  for (const h of scenario.hosts) {
    const events = new NetEventLog({ capacity: request.netEventCapacity ?? 4096 });
    netEvents.set(h.name, events);
    shims.set(
      h.name,
      new Shim({
        engine: engines.get(h.name) as FilterEngine,
        clock,
        host: h.name,
        log: (r) => {
          const e = netEventFromClassify(r.result, netEventInput(r), r.time);
          if (e !== null) events.record(e);
        },
      }),
    );
  }
  for (const [i, spec] of calloutModules(scenario.callouts).entries()) {
    const path = isAbsolute(spec.module) ? spec.module : resolve(baseDir, spec.module);
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (e) {
      throw new OpenWfpError("E_SCENARIO", `cannot load callout module ${path}: ${describeError(e)}`, {
        path: `callouts[${i}].module`,
      });
    }
    if (typeof mod.default !== "function") {
      throw new OpenWfpError("E_SCENARIO", `${path} has no default export function (engine, { host, fwps }) => void`, {
        path: `callouts[${i}].module`,
      });
    }
    for (const h of scenario.hosts) {
      if (spec.hosts !== undefined && !spec.hosts.includes(h.name)) continue;
      const shim = shims.get(h.name) as Shim;
      await (mod.default as CalloutModule)(engines.get(h.name) as FilterEngine, { host: h.name, fwps: shim.fwps });
    }
  }
  const sink = request.pcapPath !== undefined ? new FileSink(request.pcapPath) : undefined;
  const result = runScenario(scenario, {
    shimFor: (h: ScenarioHost, scheduler: Clock) => {
      clockRef.current = scheduler;
      return shims.get(h.name) as Shim;
    },
    ...(sink !== undefined ? { capture: sink } : {}),
  });
  return {
    scenario: scenario.name,
    classifications: result.log.map(logEntry),
    apps: result.apps,
    hosts: result.network.hosts.map((h) => {
      const events = netEvents.get(h.name) as NetEventLog;
      return {
        name: h.name,
        counters: hostCounters(h),
        netEvents: events.enumerate(),
        netEventsOverflow: events.overflowCount,
      };
    }),
    records: result.log,
  };
}
