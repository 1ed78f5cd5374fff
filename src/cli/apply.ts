/**
 * `openwfp apply POLICY [--store DB] [--json]`: makes the store hold a policy document (docs/policy.md), in one
 * BFE transaction — all or nothing: any error aborts it and the store is left exactly as it was.
 *
 * The document is the desired state of its own objects (matched by key; keys minted from names are stable,
 * so applying the same document twice changes nothing) and of the providers it declares:
 * - an object absent from the store is **added** (persistent: it survives the process, wfp-semantics.md H14);
 * - an object whose stored form equals the document's is **unchanged** (it keeps its run-time id);
 * - an object whose stored form differs is **replaced** (deleted and added again; WFP has no update call, so a
 *   filter gets a new id). Filters of the document that reference a replaced sublayer, callout or provider are
 *   replaced too; any other object referencing it makes the delete fail with FWP_E_IN_USE (H19);
 * - an object owned by a provider the document declares but absent from the document is **removed**.
 * Objects of other providers, or of none, are left alone.
 * Callout behaviours (declarative classifyFns) are not stored: a stored callout is unregistered until a
 * program registers it (C14 applies to its filters meanwhile).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { describeError, type Guid } from "../base/index.ts";
import type { BfeSession } from "../bfe/index.ts";
import type { Callout, Filter, FilterSpec, PolicyFormat, Provider, Sublayer } from "../engine/index.ts";
import {
  type ParsedPolicy,
  type PolicyCallout,
  type PolicyFilter,
  type PolicyProvider,
  type PolicySublayer,
  parsePolicyDocument,
} from "../engine/index.ts";
import {
  FWPM_CALLOUT_FLAG,
  FWPM_FILTER_FLAG,
  FWPM_PROVIDER_FLAG,
  FWPM_SUBLAYER_FLAG,
  FwpError,
  type FwpValue,
  type FwpConditionValue,
} from "../fwp/index.ts";
import { DEFAULT_STORE_PATH, openHost } from "../host/index.ts";
import { enumAllFilters, formatTable, writeAll } from "./show.ts";

export type ApplyKind = "provider" | "sublayer" | "callout" | "filter";
export type ApplyStatus = "added" | "removed" | "replaced" | "unchanged";

/** One object of the report: the JSON contract of `apply --json` (docs/cli.md). */
export interface ApplyObjectRecord {
  kind: ApplyKind;
  key: string;
  name: string;
  status: ApplyStatus;
  /**
   * Run-time id after the apply: a filter's (a UINT64) as a decimal string, a callout's (a UINT32) as a number;
   * null when removed or for other kinds.
   */
  id: string | number | null;
}

export interface ApplyRecord {
  policy: string;
  store: string;
  added: number;
  removed: number;
  replaced: number;
  unchanged: number;
  objects: ApplyObjectRecord[];
}

const PERSISTENT_FILTER = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_PERSISTENT;
const BOOTTIME_FILTER = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_BOOTTIME;
const PERSISTENT_SUBLAYER = FWPM_SUBLAYER_FLAG.FWPM_SUBLAYER_FLAG_PERSISTENT;
const PERSISTENT_PROVIDER = FWPM_PROVIDER_FLAG.FWPM_PROVIDER_FLAG_PERSISTENT;
const PERSISTENT_CALLOUT = FWPM_CALLOUT_FLAG.FWPM_CALLOUT_FLAG_PERSISTENT;

// ---------------------------------------------------------------------------------------------
// Canonical forms: what "the same object" means
// ---------------------------------------------------------------------------------------------

/** JSON with sorted keys, bigints and byte arrays spelled out: equal text ⇔ equal content. */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString("hex")}`;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .filter((k) => o[k] !== undefined)
          .map((k) => [k, o[k]]),
      );
    }
    return v;
  });
}

const providerForm = (name: string, description: string | undefined, flags: number): string =>
  canonical({ name, description, flags: flags & ~PERSISTENT_PROVIDER });

const sublayerForm = (s: {
  name: string;
  description: string | undefined;
  weight: number;
  providerKey: Guid | undefined;
  flags: number;
}): string => canonical({ ...s, flags: s.flags & ~PERSISTENT_SUBLAYER });

const calloutForm = (c: {
  name: string;
  description: string | undefined;
  layer: string | null;
  providerKey: Guid | undefined;
  flags: number;
}): string => canonical({ ...c, flags: c.flags & ~PERSISTENT_CALLOUT });

interface FilterForm {
  name: string;
  description: string | undefined;
  layer: string | null;
  sublayer: Guid;
  weight: FwpValue;
  action: string;
  calloutKey: Guid | undefined;
  flags: number;
  providerKey: Guid | undefined;
  conditions: { fieldKey: Guid; matchType: string; value: FwpConditionValue }[];
}

const filterForm = (f: FilterForm): string => canonical({ ...f, flags: f.flags & ~PERSISTENT_FILTER });

function storedFilterForm(f: Filter): string {
  return filterForm({
    name: f.name,
    description: f.description,
    layer: f.layer.key,
    sublayer: f.sublayer.subLayerKey,
    weight: f.weight,
    action: f.action.type,
    calloutKey: f.action.calloutKey,
    flags: f.flags,
    providerKey: f.providerKey,
    conditions: f.conditions.map((c) => ({ fieldKey: c.fieldKey, matchType: c.matchType, value: c.value })),
  });
}

function documentFilterForm(f: PolicyFilter, defaultSublayer: Guid): string {
  return filterForm({
    name: f.name,
    description: f.description,
    layer: f.layer.key,
    sublayer: f.sublayerKey ?? defaultSublayer,
    weight: f.weight,
    action: f.action,
    calloutKey: f.calloutKey,
    flags: f.flags,
    providerKey: f.providerKey,
    conditions: f.conditions.map((c) => ({ fieldKey: c.fieldKey, matchType: c.matchType, value: c.value })),
  });
}

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

/** What the store holds now, as the plan needs it. */
export interface StoreView {
  readonly providers: readonly Provider[];
  readonly sublayers: readonly Sublayer[];
  readonly callouts: readonly Callout[];
  readonly filters: readonly Filter[];
  readonly defaultSublayer: Guid;
}

interface Planned<T> {
  readonly object: T;
  status: Exclude<ApplyStatus, "removed">;
}

export interface ApplyPlan {
  readonly providers: readonly Planned<PolicyProvider>[];
  readonly sublayers: readonly Planned<PolicySublayer>[];
  readonly callouts: readonly Planned<PolicyCallout>[];
  readonly filters: readonly Planned<PolicyFilter>[];
  /** Stored objects to remove (owned by a document provider, absent from the document). */
  readonly removed: {
    readonly filters: readonly Filter[];
    readonly callouts: readonly Callout[];
    readonly sublayers: readonly Sublayer[];
  };
}

/** Compares the document with the store: what to add, replace, keep and remove. */
export function planApply(policy: ParsedPolicy, view: StoreView): ApplyPlan {
  const providers = new Map(view.providers.map((p) => [p.providerKey, p]));
  const sublayers = new Map(view.sublayers.map((s) => [s.subLayerKey, s]));
  const callouts = new Map(view.callouts.map((c) => [c.calloutKey, c]));
  const filters = new Map(view.filters.map((f) => [f.filterKey, f]));

  const status = (existing: unknown, same: boolean): Exclude<ApplyStatus, "removed"> =>
    existing === undefined ? "added" : same ? "unchanged" : "replaced";

  const planProviders = policy.providers.map((p): Planned<PolicyProvider> => {
    const e = providers.get(p.key);
    const same =
      e !== undefined && providerForm(e.name, e.description, e.flags) === providerForm(p.name, p.description, p.flags);
    return { object: p, status: status(e, same) };
  });
  const replacedProviders = new Set(planProviders.filter((p) => p.status === "replaced").map((p) => p.object.key));
  const cascade = (providerKey: Guid | undefined): boolean =>
    providerKey !== undefined && replacedProviders.has(providerKey);

  const planSublayers = policy.sublayers.map((s): Planned<PolicySublayer> => {
    const e = sublayers.get(s.key);
    const same =
      e !== undefined &&
      sublayerForm({
        name: e.name,
        description: e.description,
        weight: e.weight,
        providerKey: e.providerKey,
        flags: e.flags,
      }) ===
        sublayerForm({
          name: s.name,
          description: s.description,
          weight: s.weight,
          providerKey: s.providerKey,
          flags: s.flags,
        });
    const st = status(e, same);
    return { object: s, status: st === "unchanged" && cascade(s.providerKey) ? "replaced" : st };
  });
  const planCallouts = policy.callouts.map((c): Planned<PolicyCallout> => {
    const e = callouts.get(c.key);
    const same =
      e !== undefined &&
      calloutForm({
        name: e.name,
        description: e.description,
        layer: e.applicableLayer?.key ?? null,
        providerKey: e.providerKey,
        flags: e.flags,
      }) ===
        calloutForm({
          name: c.name,
          description: c.description,
          layer: c.layer.key,
          providerKey: c.providerKey,
          flags: c.flags,
        });
    const st = status(e, same);
    return { object: c, status: st === "unchanged" && cascade(c.providerKey) ? "replaced" : st };
  });
  const replacedSublayers = new Set(planSublayers.filter((s) => s.status === "replaced").map((s) => s.object.key));
  const replacedCallouts = new Set(planCallouts.filter((c) => c.status === "replaced").map((c) => c.object.key));
  const planFilters = policy.filters.map((f): Planned<PolicyFilter> => {
    const e = filters.get(f.key);
    const same = e !== undefined && storedFilterForm(e) === documentFilterForm(f, view.defaultSublayer);
    const st = status(e, same);
    const dependsOnReplaced =
      cascade(f.providerKey) ||
      replacedSublayers.has(f.sublayerKey ?? view.defaultSublayer) ||
      (f.calloutKey !== undefined && replacedCallouts.has(f.calloutKey));
    return { object: f, status: st === "unchanged" && dependsOnReplaced ? "replaced" : st };
  });

  const owned = new Set(policy.providers.map((p) => p.key));
  const inDoc = {
    filters: new Set(policy.filters.map((f) => f.key)),
    callouts: new Set(policy.callouts.map((c) => c.key)),
    sublayers: new Set(policy.sublayers.map((s) => s.key)),
  };
  const isOwned = (k: Guid | undefined): boolean => k !== undefined && owned.has(k);
  return {
    providers: planProviders,
    sublayers: planSublayers,
    callouts: planCallouts,
    filters: planFilters,
    removed: {
      filters: view.filters.filter((f) => isOwned(f.providerKey) && !inDoc.filters.has(f.filterKey)),
      callouts: view.callouts.filter((c) => isOwned(c.providerKey) && !inDoc.callouts.has(c.calloutKey)),
      sublayers: view.sublayers.filter((s) => isOwned(s.providerKey) && !inDoc.sublayers.has(s.subLayerKey)),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Execution: one transaction
// ---------------------------------------------------------------------------------------------

/** Re-throws a BFE error about one document object with that object's path (`filters[3]`), code kept. */
function relocate(e: unknown, path: string): never {
  if (e instanceof FwpError) {
    const where = e.path === undefined || e.path === "" ? path : `${path}.${e.path}`;
    throw new FwpError(e.code, { path: where, ...(e.detail === undefined ? {} : { detail: e.detail }), cause: e });
  }
  throw e;
}

function filterSpec(f: PolicyFilter): FilterSpec {
  const persistent = (f.flags & BOOTTIME_FILTER) === 0 ? PERSISTENT_FILTER : 0;
  return {
    filterKey: f.key,
    name: f.name,
    ...(f.description === undefined ? {} : { description: f.description }),
    layer: f.layer,
    ...(f.sublayerKey === undefined ? {} : { sublayer: f.sublayerKey }),
    weight: f.weight,
    conditions: f.conditions.map((c) => ({ fieldKey: c.fieldKey, matchType: c.matchType, conditionValue: c.value })),
    action: { type: f.action, ...(f.calloutKey === undefined ? {} : { calloutKey: f.calloutKey }) },
    flags: f.flags | persistent,
    ...(f.providerKey === undefined ? {} : { providerKey: f.providerKey }),
  };
}

/**
 * Carries out a plan inside the session's open transaction: deletes (filters, callouts, sublayers,
 * providers — dependants first), then adds (providers, sublayers, callouts, filters). Returns the report.
 */
export function executePlan(session: BfeSession, plan: ApplyPlan): ApplyObjectRecord[] {
  const report: ApplyObjectRecord[] = [];
  const replaced = <T>(list: readonly Planned<T>[]): T[] =>
    list.filter((p) => p.status === "replaced").map((p) => p.object);

  for (const f of plan.removed.filters) session.deleteFilterByKey(f.filterKey);
  for (const f of replaced(plan.filters)) {
    try {
      session.deleteFilterByKey(f.key);
    } catch (e) {
      relocate(e, f.path);
    }
  }
  for (const c of plan.removed.callouts) session.deleteCalloutByKey(c.calloutKey);
  for (const c of replaced(plan.callouts)) {
    try {
      session.deleteCalloutByKey(c.key);
    } catch (e) {
      relocate(e, c.path);
    }
  }
  for (const s of plan.removed.sublayers) session.deleteSublayerByKey(s.subLayerKey);
  for (const s of replaced(plan.sublayers)) {
    try {
      session.deleteSublayerByKey(s.key);
    } catch (e) {
      relocate(e, s.path);
    }
  }
  for (const p of replaced(plan.providers)) {
    try {
      session.deleteProviderByKey(p.key);
    } catch (e) {
      relocate(e, p.path);
    }
  }

  for (const { object: p, status } of plan.providers) {
    if (status !== "unchanged") {
      try {
        session.addProvider({
          providerKey: p.key,
          name: p.name,
          flags: p.flags | PERSISTENT_PROVIDER,
          ...(p.description === undefined ? {} : { description: p.description }),
        });
      } catch (e) {
        relocate(e, p.path);
      }
    }
    report.push({ kind: "provider", key: p.key, name: p.name, status, id: null });
  }
  for (const { object: s, status } of plan.sublayers) {
    if (status !== "unchanged") {
      try {
        session.addSublayer({
          subLayerKey: s.key,
          name: s.name,
          weight: s.weight,
          flags: s.flags | PERSISTENT_SUBLAYER,
          ...(s.description === undefined ? {} : { description: s.description }),
          ...(s.providerKey === undefined ? {} : { providerKey: s.providerKey }),
        });
      } catch (e) {
        relocate(e, s.path);
      }
    }
    report.push({ kind: "sublayer", key: s.key, name: s.name, status, id: null });
  }
  for (const { object: c, status } of plan.callouts) {
    let id: number | null = null;
    try {
      if (status !== "unchanged") {
        id = session.addCallout({
          calloutKey: c.key,
          name: c.name,
          applicableLayer: c.layer,
          flags: c.flags | PERSISTENT_CALLOUT,
          ...(c.description === undefined ? {} : { description: c.description }),
          ...(c.providerKey === undefined ? {} : { providerKey: c.providerKey }),
        }).calloutId;
      } else id = session.getCalloutByKey(c.key).calloutId;
    } catch (e) {
      relocate(e, c.path);
    }
    report.push({ kind: "callout", key: c.key, name: c.name, status, id });
  }
  for (const { object: f, status } of plan.filters) {
    let id: string | null = null;
    try {
      const filter = status === "unchanged" ? session.getFilterByKey(f.key) : session.addFilter(filterSpec(f));
      id = filter.filterId.toString();
    } catch (e) {
      relocate(e, f.path);
    }
    report.push({ kind: "filter", key: f.key, name: f.name, status, id });
  }
  for (const f of plan.removed.filters) {
    report.push({ kind: "filter", key: f.filterKey, name: f.name, status: "removed", id: null });
  }
  for (const c of plan.removed.callouts) {
    report.push({ kind: "callout", key: c.calloutKey, name: c.name, status: "removed", id: null });
  }
  for (const s of plan.removed.sublayers) {
    report.push({ kind: "sublayer", key: s.subLayerKey, name: s.name, status: "removed", id: null });
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

export interface ApplyOptions {
  readonly store?: string;
  readonly format?: string;
  readonly json?: boolean;
}

function formatOf(file: string, explicit: string | undefined): PolicyFormat | undefined {
  if (explicit === "json" || explicit === "yaml") return explicit;
  if (explicit !== undefined) throw new Error(`--format must be json or yaml, got ${JSON.stringify(explicit)}`);
  if (/\.ya?ml$/i.test(file)) return "yaml";
  if (/\.json$/i.test(file)) return "json";
  return undefined;
}

/** Applies the policy file to the store in one transaction and returns the report. */
export async function applyPolicyFile(file: string, options: ApplyOptions = {}): Promise<ApplyRecord> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${describeError(e)}`);
  }
  const format = formatOf(file, options.format);
  let policy: ParsedPolicy;
  try {
    policy = parsePolicyDocument(text, format === undefined ? {} : { format });
  } catch (e) {
    throw new Error(`${file}: ${describeError(e)}`, { cause: e });
  }
  const host = await openHost(options.store === undefined ? {} : { store: options.store });
  try {
    const session = host.session;
    await session.beginTransaction();
    let objects: ApplyObjectRecord[];
    try {
      const view: StoreView = {
        providers: session.enumProviders(),
        sublayers: session.enumSublayers(),
        callouts: session.enumCallouts(),
        filters: enumAllFilters(session),
        defaultSublayer: host.bfe.engine.defaultSublayer.subLayerKey,
      };
      objects = executePlan(session, planApply(policy, view));
      session.commit();
    } catch (e) {
      if (session.inTransaction) session.abort();
      throw new Error(`${file}: ${describeError(e)}`, { cause: e });
    }
    const count = (s: ApplyStatus): number => objects.filter((o) => o.status === s).length;
    return {
      policy: file,
      store: host.source,
      added: count("added"),
      removed: count("removed"),
      replaced: count("replaced"),
      unchanged: count("unchanged"),
      objects,
    };
  } finally {
    host.close();
  }
}

export function formatApplyText(r: ApplyRecord): string {
  const rows = r.objects.map((o) => [
    o.status,
    o.kind,
    `{${o.key}}`,
    JSON.stringify(o.name),
    o.id === null ? "" : `id ${o.id}`,
  ]);
  return `${formatTable(rows)}applied ${r.policy} to ${r.store}: ${r.added} added, ${r.removed} removed, ${r.replaced} replaced, ${r.unchanged} unchanged\n`;
}

export function registerApply(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command("apply")
    .description("make the store hold a policy document, all or nothing, and report what changed")
    .argument("<policy>", "policy document (JSON or YAML, docs/policy.md)")
    .option("--store <db>", `the SQLite store (default ${DEFAULT_STORE_PATH})`)
    .option("--format <format>", "json or yaml (default: from the file name, else sniffed)")
    .option("--json", "print the report as JSON (keys in docs/cli.md)")
    .action(async (file: string, opts: ApplyOptions) => {
      const report = await applyPolicyFile(file, opts);
      await writeAll(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatApplyText(report));
    });
}
