/**
 * The composition root of the management commands: a Bfe with real time, real randomness and real timers,
 * on the durable store (`.openwfp/bfe.db` by default) or, read-only, on a netsh XML dump loaded into memory.
 * One session is opened as the principal (an administrator by default) for the caller to use.
 */
import { readFileSync } from "node:fs";
import { type Clock, describeError, type Guid } from "../base/index.ts";
import {
  ADMINISTRATOR,
  Bfe,
  type BfeSession,
  BfeStore,
  ENUM_FLAG_INCLUDE_BOOTTIME,
  ENUM_FLAG_INCLUDE_DISABLED,
  MemoryStore,
  type ObjectStore,
  type Principal,
} from "../bfe/index.ts";
import {
  exportNetsh,
  formatNetshXml,
  importNetsh,
  type NetshDocument,
  type NetshFilter,
  type NetshImportReport,
  netshCallouts,
  parseNetshXml,
} from "../bfe/netsh/index.ts";
import { builtinCalloutByKey, builtinProviderContextByKey, builtinSublayerByKey, LAYERS } from "../fwp/index.ts";
import { SystemClock, systemRandomBytes, systemTimer } from "./clock.ts";

/** The store file commands use when none is given, relative to the working directory. */
export const DEFAULT_STORE_PATH = ".openwfp/bfe.db";

export interface HostOptions {
  /** SQLite store file (default DEFAULT_STORE_PATH); excludes `state`. */
  readonly store?: string;
  /** A `netsh wfp show state` / `show filters` file: the BFE is built from it in memory, read-only. */
  readonly state?: string;
  /** Who the session runs as (default ADMINISTRATOR). */
  readonly principal?: Principal;
  /**
   * With `state`: a filter whose SDDL condition cannot be encoded without the machine it came from (the LA
   * alias, conditional ACEs, SACLs) fails the load ("error") or is left out and listed in `skipped` ("skip",
   * the default: a read-only view shows what it can).
   */
  readonly unsupportedSddl?: "error" | "skip";
  /**
   * H15: whether boot-time filters classify once the BFE has started — on a store as in a netsh dump (a dump
   * is taken from a running machine, whose BFE had removed them). Default "removed": they are listed,
   * enumerated and exported, but the persistent filters decide (BfeOpenInit.bootTimeFiltersAfterStart).
   */
  readonly bootTimeFiltersAfterStart?: "removed" | "enforced";
}

/** A filter of a netsh file that was not loaded, and why. */
export interface SkippedFilter {
  readonly filterKey: string;
  readonly path: string;
  readonly reason: string;
}

export interface Host {
  readonly bfe: Bfe;
  readonly clock: Clock;
  /** A session of `principal`, open until `close`. */
  readonly session: BfeSession;
  /** True for a BFE built from a netsh file: commands that write refuse it. */
  readonly readOnly: boolean;
  /** The store file or the netsh file, as given. */
  readonly source: string;
  /** The parsed netsh file (state mode only). */
  readonly document: NetshDocument | undefined;
  /** Filters of the netsh file left out (state mode with unsupportedSddl "skip"). */
  readonly skipped: readonly SkippedFilter[];
  /** Closes the session, stops the BFE and closes the store. */
  close(): void;
}

/** Reads a netsh XML file as text (UTF-8; a byte-order mark is left for the parser to see). */
export function readNetshFile(path: string): NetshDocument {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${describeError(e)}`);
  }
  try {
    return parseNetshXml(text);
  } catch (e) {
    throw new Error(`${path}: ${describeError(e)}`, { cause: e });
  }
}

function start(
  store: ObjectStore,
  principal: Principal,
  bootTimeFiltersAfterStart: "removed" | "enforced" = "removed",
): { bfe: Bfe; session: BfeSession; clock: Clock } {
  const clock = new SystemClock();
  const bfe = Bfe.open({ store, clock, randomBytes: systemRandomBytes, timer: systemTimer, bootTimeFiltersAfterStart });
  try {
    return { bfe, clock, session: bfe.openSession(principal, { displayName: "openwfp" }) };
  } catch (e) {
    bfe.close();
    throw e;
  }
}

/**
 * Opens the BFE the options describe. On a store: `BfeStore.open` (creating the file and its folder), then
 * `Bfe.open`, which loads its persistent objects. On a netsh file: a MemoryStore-backed Bfe into which the
 * file's objects are imported in one transaction. Either way the BFE has started, so boot-time filters are
 * objects that no longer classify unless `bootTimeFiltersAfterStart` is "enforced" (H15).
 */
export async function openHost(options: HostOptions = {}): Promise<Host> {
  if (options.store !== undefined && options.state !== undefined) {
    throw new Error("--store and --state exclude each other");
  }
  const principal = options.principal ?? ADMINISTRATOR;
  if (options.state !== undefined) {
    const document = readNetshFile(options.state);
    const { bfe, session, clock } = start(new MemoryStore(), principal, options.bootTimeFiltersAfterStart);
    let report: NetshImportReport;
    try {
      report = await importNetsh(document, session, { unsupportedSddl: options.unsupportedSddl ?? "skip" });
    } catch (e) {
      bfe.close();
      throw new Error(`${options.state}: ${describeError(e)}`, { cause: e });
    }
    return {
      bfe,
      clock,
      session,
      readOnly: true,
      source: options.state,
      document,
      skipped: report.skipped,
      close: () => bfe.close(),
    };
  }
  const path = options.store ?? DEFAULT_STORE_PATH;
  const store = BfeStore.open(path);
  let started: { bfe: Bfe; session: BfeSession; clock: Clock };
  try {
    started = start(store, principal, options.bootTimeFiltersAfterStart);
  } catch (e) {
    store.close();
    throw e;
  }
  return {
    ...started,
    readOnly: false,
    source: path,
    document: undefined,
    skipped: [],
    close: () => {
      started.bfe.close();
      store.close();
    },
  };
}

const PERSISTENT = 0x1;
const FILTER_BOOTTIME = 0x2;
const CALLOUT_PERSISTENT = 0x10000;

/**
 * The document with its objects marked persistent (FWPM_*_FLAG_PERSISTENT; boot-time filters stay boot-time,
 * which the store keeps too, H15): what a store import adds must outlive the command that added it (H14).
 * A filter that references a sublayer, callout or provider context of another provider cannot be persistent
 * (H17; Windows holds such filters as static objects): it keeps its flags and is listed in `keptStatic`.
 */
export function persistentDocument(doc: NetshDocument): { document: NetshDocument; keptStatic: Guid[] } {
  const owner = new Map<string, Guid | null>();
  for (const s of doc.subLayers ?? []) {
    if (builtinSublayerByKey(s.subLayerKey) === undefined) owner.set(`s ${s.subLayerKey}`, s.providerKey);
  }
  for (const c of netshCallouts(doc)) {
    if (builtinCalloutByKey(c.calloutKey) === undefined) owner.set(`c ${c.calloutKey}`, c.providerKey);
  }
  for (const c of doc.providerContexts ?? []) {
    if (builtinProviderContextByKey(c.providerContextKey) === undefined) {
      owner.set(`p ${c.providerContextKey}`, c.providerKey);
    }
  }
  const keptStatic: Guid[] = [];
  const foreign = (f: NetshFilter, ref: string): boolean => {
    const theirs = owner.get(ref);
    return f.providerKey !== null && theirs !== undefined && theirs !== null && theirs !== f.providerKey;
  };
  const filter = (f: NetshFilter): NetshFilter => {
    if ((f.flags & FILTER_BOOTTIME) !== 0) return f;
    const refs = [`s ${f.subLayerKey}`];
    if (f.action.key !== null) refs.push(`c ${f.action.key}`);
    if ("providerContextKey" in f.context) refs.push(`p ${f.context.providerContextKey}`);
    if (refs.some((r) => foreign(f, r))) {
      if ((f.flags & PERSISTENT) === 0) keptStatic.push(f.filterKey);
      return f;
    }
    return { ...f, flags: (f.flags | PERSISTENT) >>> 0 };
  };
  const document: NetshDocument = {
    ...doc,
    providers: doc.providers?.map((p) => ({ ...p, flags: (p.flags | PERSISTENT) >>> 0 })) ?? null,
    subLayers: doc.subLayers?.map((s) => ({ ...s, flags: (s.flags | PERSISTENT) >>> 0 })) ?? null,
    providerContexts: doc.providerContexts?.map((c) => ({ ...c, flags: (c.flags | PERSISTENT) >>> 0 })) ?? null,
    filters: doc.filters?.map(filter) ?? null,
    layers:
      doc.layers?.map((l) => ({
        ...l,
        callouts: l.callouts.map((c) => ({ ...c, flags: (c.flags | CALLOUT_PERSISTENT) >>> 0 })),
        filters: l.filters.map(filter),
      })) ?? null,
  };
  return { document, keptStatic };
}

/** How many objects of each kind (the counts `openwfp import` reports). */
export interface ObjectCounts {
  providers: number;
  providerContexts: number;
  sublayers: number;
  callouts: number;
  filters: number;
}

const EVERY_FILTER = ENUM_FLAG_INCLUDE_BOOTTIME | ENUM_FLAG_INCLUDE_DISABLED;

/** How many objects of each kind the session can read (boot-time and disabled filters included). */
export function countObjects(session: BfeSession): ObjectCounts {
  let filters = 0;
  for (const layer of LAYERS) {
    if (layer.key !== null) filters += session.enumFilters({ layer, flags: EVERY_FILTER }).length;
  }
  return {
    providers: session.enumProviders().length,
    providerContexts: session.enumProviderContexts().length,
    sublayers: session.enumSublayers().length,
    callouts: session.enumCallouts().length,
    filters,
  };
}

export interface NetshFileImport {
  /** Objects added, by kind (stand-ins included). */
  readonly added: ObjectCounts;
  /** Objects a `show filters` file references without defining them, added as stand-ins. */
  readonly standIns: { readonly sublayers: number; readonly callouts: number; readonly providerContexts: number };
  /** Filters left out (unsupportedSddl "skip"). */
  readonly skipped: readonly SkippedFilter[];
  /**
   * Filters added as static objects (they reference another provider's object, H17): in the BFE for the
   * command's lifetime, not in the store.
   */
  readonly keptStatic: readonly Guid[];
}

/**
 * Imports a netsh file into the host's store, every object persistent (persistentDocument), in one
 * transaction: all or nothing. A filter with SDDL that cannot be encoded fails the import unless
 * `unsupportedSddl` is "skip". Returns how many objects of each kind were added.
 */
export async function importNetshFile(
  host: Host,
  path: string,
  options: { readonly unsupportedSddl?: "error" | "skip" } = {},
): Promise<NetshFileImport> {
  if (host.readOnly) throw new Error(`${host.source} is a netsh file, read-only: import into a --store`);
  const document = readNetshFile(path);
  const before = countObjects(host.session);
  const persistent = persistentDocument(document);
  let report: NetshImportReport;
  try {
    report = await importNetsh(persistent.document, host.session, {
      unsupportedSddl: options.unsupportedSddl ?? "error",
    });
  } catch (e) {
    throw new Error(`${path}: ${describeError(e)}`, { cause: e });
  }
  const after = countObjects(host.session);
  return {
    added: {
      providers: after.providers - before.providers,
      providerContexts: after.providerContexts - before.providerContexts,
      sublayers: after.sublayers - before.sublayers,
      callouts: after.callouts - before.callouts,
      filters: after.filters - before.filters,
    },
    standIns: {
      sublayers: report.standIns.sublayers.length,
      callouts: report.standIns.callouts.length,
      providerContexts: report.standIns.providerContexts.length,
    },
    skipped: report.skipped,
    keptStatic: persistent.keptStatic.filter((k) => !report.skipped.some((x) => x.filterKey === k)),
  };
}

/** The host's BFE as netsh XML: the `show state` (`<wfpstate>`) or `show filters` (`<wfpdiag>`) format. */
export function exportNetshText(host: Host, kind: "state" | "filters"): string {
  return formatNetshXml(exportNetsh(host.bfe, kind, { nowNs: host.clock.nowNs() }));
}
