/**
 * `openwfp show state|filters|sublayers|providers|callouts|layers|netevents [--layer L] [--provider P] [--json]
 * [--store DB | --state FILE.xml]`: what a BFE holds, read through a session of the store's BFE (or of a BFE
 * built read-only from a netsh dump). Text output is one aligned table per object type; `--json` prints the
 * records below, whose keys are a public contract (docs/cli.md). `show state` prints a summary (counts and
 * filters per layer) as text, and every object type as one JSON object with `--json`; the netsh XML form of
 * the same state is `openwfp export`. `show filters` takes netsh's traffic selection (H47: `--protocol`,
 * `--local-addr`, `--remote-addr`, `--local-port`, `--remote-port`, `--app`, `--user`, `--dir`);
 * `show netevents --xml` prints the netsh netevents.xml format (H50).
 */
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { describeError, type Guid, OpenWfpError, tryParseGuid } from "../base/index.ts";
import {
  type BfeSession,
  type CompiledTrafficSelection,
  compileTrafficSelection,
  ENUM_FLAG_INCLUDE_BOOTTIME,
  ENUM_FLAG_INCLUDE_DISABLED,
  ENUM_FLAG_SORTED,
  epochNsFromFiletime,
  formatNetEventsXml,
  type NetEvent,
  type NetEventRecord as NetshNetEventRecord,
  parseNetEventsXml,
  type TrafficSelection,
} from "../bfe/index.ts";
import type { Callout, Filter, Provider, Sublayer } from "../engine/index.ts";
import { parseLayerRef } from "../engine/index.ts";
import {
  type EnumGroupName,
  FWPM_PROVIDER,
  FwpError,
  type FwpValue,
  flagNames,
  formatConditionValue,
  formatSid,
  LAYERS,
  type Layer,
  utf16leNulTerminatedToString,
} from "../fwp/index.ts";
import { DEFAULT_STORE_PATH, type Host, openHost } from "../host/index.ts";
import { LineWriter } from "./output.ts";

// ---------------------------------------------------------------------------------------------
// Records (the JSON contract)
// ---------------------------------------------------------------------------------------------

/** One condition of a filter: FWPM_CONDITION_* name, FWP_MATCH_* name, value type and value text. */
export interface ConditionRecord {
  field: string;
  fieldKey: string;
  match: string;
  type: string;
  value: string;
}

/** A weight as given (FWP_EMPTY: value null; FWP_UINT8: a number; FWP_UINT64: a decimal string). */
export interface WeightRecord {
  type: string;
  value: number | string | null;
}

export interface FilterRecord {
  key: string;
  /** The run-time filter id (a UINT64) in decimal. */
  id: string;
  name: string;
  description: string | null;
  layer: string;
  layerId: number;
  sublayer: string;
  sublayerName: string;
  provider: string | null;
  weight: WeightRecord;
  effectiveWeight: string;
  action: string;
  callout: string | null;
  flags: string[];
  providerContext: string | null;
  conditions: ConditionRecord[];
}

export interface SublayerRecord {
  key: string;
  name: string;
  description: string | null;
  weight: number;
  provider: string | null;
  flags: string[];
  builtin: boolean;
  filters: number;
}

export interface ProviderRecord {
  key: string;
  name: string;
  description: string | null;
  flags: string[];
  builtin: boolean;
}

export interface CalloutRecord {
  key: string;
  id: number;
  name: string;
  description: string | null;
  layer: string | null;
  provider: string | null;
  flags: string[];
  builtin: boolean;
  filters: number;
}

export interface LayerFieldRecord {
  index: number;
  condition: string;
  fieldKey: string;
  dataType: string | null;
  fieldType: string | null;
}

export interface LayerRecord {
  key: string | null;
  name: string;
  id: number;
  filters: number;
  callouts: number;
  fields: LayerFieldRecord[];
}

/** A layer's FWPM_LAYER_* name (FWPS_LAYER_* for the two reserved layers without one). */
export function layerName(layer: Layer): string {
  return layer.fwpmName ?? layer.fwpsName;
}

function flagList(group: EnumGroupName, flags: number): string[] {
  const { names, rest } = flagNames(group, flags);
  return rest === 0n ? names : [...names, `0x${rest.toString(16)}`];
}

export function weightRecord(w: FwpValue): WeightRecord {
  switch (w.type) {
    case "FWP_EMPTY":
      return { type: w.type, value: null };
    case "FWP_UINT64":
    case "FWP_INT64":
      return { type: w.type, value: w.value.toString() };
    case "FWP_UINT8":
    case "FWP_UINT16":
    case "FWP_UINT32":
      return { type: w.type, value: w.value };
    default:
      return { type: w.type, value: formatConditionValue(w) };
  }
}

function conditionRecord(f: Filter, i: number): ConditionRecord {
  const c = f.conditions[i] as Filter["conditions"][number];
  const field = f.layer.fields[c.fieldIndex];
  const ipv4 = field?.fieldType === "FWPM_FIELD_IP_ADDRESS" && field.dataType === "FWP_UINT32";
  return {
    field: c.conditionName,
    fieldKey: c.fieldKey,
    match: c.matchType,
    type: c.value.type,
    value: formatConditionValue(c.value, { ipv4 }),
  };
}

export function filterRecord(f: Filter): FilterRecord {
  return {
    key: f.filterKey,
    id: f.filterId.toString(),
    name: f.name,
    description: f.description ?? null,
    layer: layerName(f.layer),
    layerId: f.layer.runtimeId,
    sublayer: f.sublayer.subLayerKey,
    sublayerName: f.sublayer.name,
    provider: f.providerKey ?? null,
    weight: weightRecord(f.weight),
    effectiveWeight: f.effectiveWeight.toString(),
    action: f.action.type,
    callout: f.action.calloutKey ?? null,
    flags: flagList("FWPM_FILTER_FLAG", f.flags),
    providerContext: f.providerContextKey ?? null,
    conditions: f.conditions.map((_, i) => conditionRecord(f, i)),
  };
}

export function sublayerRecord(s: Sublayer, filters: number): SublayerRecord {
  return {
    key: s.subLayerKey,
    name: s.name,
    description: s.description ?? null,
    weight: s.weight,
    provider: s.providerKey ?? null,
    flags: flagList("FWPM_SUBLAYER_FLAG", s.flags),
    builtin: s.builtin,
    filters,
  };
}

export function providerRecord(p: Provider): ProviderRecord {
  return {
    key: p.providerKey,
    name: p.name,
    description: p.description ?? null,
    flags: flagList("FWPM_PROVIDER_FLAG", p.flags),
    builtin: p.builtin,
  };
}

export function calloutRecord(c: Callout, filters: number): CalloutRecord {
  return {
    key: c.calloutKey,
    id: c.calloutId,
    name: c.name,
    description: c.description ?? null,
    layer: c.applicableLayer === null ? null : layerName(c.applicableLayer),
    provider: c.providerKey ?? null,
    flags: flagList("FWPM_CALLOUT_FLAG", c.flags),
    builtin: c.builtin,
    filters,
  };
}

export function layerRecord(l: Layer, filters: number, callouts: number): LayerRecord {
  return {
    key: l.key,
    name: layerName(l),
    id: l.runtimeId,
    filters,
    callouts,
    fields: l.fields.map((f) => ({
      index: f.index,
      condition: f.condition,
      fieldKey: f.conditionKey,
      dataType: f.dataType,
      fieldType: f.fieldType,
    })),
  };
}

/**
 * A net event: time (ISO 8601, UTC), type, direction, addresses, ports, the deciding filter (with its name
 * when the BFE holds a filter of that id) and each sublayer's terminating filter. Events openwfp raised and
 * events read from Windows' netevents.xml (`--file`) have the same shape.
 */
export interface NetEventRecord extends NetshNetEventRecord {
  filterName: string | null;
}

function isoFromFiletime(filetime: bigint): string {
  const ms = epochNsFromFiletime(filetime) / 1_000_000n;
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? filetime.toString() : d.toISOString();
}

export function netEventRecord(e: NetEvent, names: ReadonlyMap<string, string> = new Map()): NetEventRecord {
  const h = e.header;
  const body =
    e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP"
      ? e.classifyDrop
      : e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW"
        ? e.classifyAllow
        : undefined;
  const layer = body === undefined ? undefined : LAYERS[body.layerId];
  const appId = h.appId === undefined ? undefined : utf16leNulTerminatedToString(h.appId);
  return {
    time: isoFromFiletime(h.timeStamp),
    type: e.type,
    direction: e.direction,
    ipProtocol: h.ipProtocol ?? null,
    localAddr: h.localAddr?.toString() ?? null,
    remoteAddr: h.remoteAddr?.toString() ?? null,
    localPort: h.localPort ?? null,
    remotePort: h.remotePort ?? null,
    filterId: body === undefined ? null : body.filterId.toString(),
    layerId: body?.layerId ?? null,
    layer: layer === undefined ? null : layerName(layer),
    appId: appId ?? null,
    userId: h.userId === undefined ? null : formatSid(h.userId),
    terminatingFilters:
      "internalFields" in e
        ? e.internalFields.terminatingFiltersInfo.map((t) => ({
            filterId: t.filterId.toString(),
            sublayer: t.subLayer,
            action: t.actionType,
          }))
        : [],
    filterName: body === undefined ? null : (names.get(body.filterId.toString()) ?? null),
  };
}

// ---------------------------------------------------------------------------------------------
// Text tables
// ---------------------------------------------------------------------------------------------

/** Rows as aligned columns (two spaces apart, the last column unpadded), header first. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

const shortLayer = (name: string | null): string => (name === null ? "-" : name.replace(/^FWPM_LAYER_/, ""));
const shortAction = (a: string): string =>
  a
    .replace(/^FWP_ACTION_/, "")
    .toLowerCase()
    .replace(/_/g, "-");
const hex64 = (decimal: string): string => `0x${BigInt(decimal).toString(16).padStart(16, "0")}`;
const orDash = (s: string | null): string => (s === null || s === "" ? "-" : s);

export function formatFilterTable(records: readonly FilterRecord[]): string {
  const rows: string[][] = [["id", "layer", "sublayer", "effective weight", "action", "conds", "name"]];
  for (const r of records) {
    rows.push([
      String(r.id),
      shortLayer(r.layer),
      r.sublayerName,
      hex64(r.effectiveWeight),
      shortAction(r.action),
      String(r.conditions.length),
      r.name,
    ]);
  }
  return formatTable(rows);
}

export function formatSublayerTable(records: readonly SublayerRecord[]): string {
  const rows: string[][] = [["weight", "key", "filters", "provider", "name"]];
  for (const r of records) {
    rows.push([String(r.weight), r.key, String(r.filters), orDash(r.provider), r.name]);
  }
  return formatTable(rows);
}

export function formatProviderTable(records: readonly ProviderRecord[]): string {
  const rows: string[][] = [["key", "flags", "name"]];
  for (const r of records) {
    rows.push([r.key, r.flags.map((f) => f.replace(/^FWPM_PROVIDER_FLAG_/, "")).join(",") || "-", r.name]);
  }
  return formatTable(rows);
}

export function formatCalloutTable(records: readonly CalloutRecord[]): string {
  const rows: string[][] = [["id", "key", "layer", "filters", "name"]];
  for (const r of records) {
    rows.push([String(r.id), r.key, shortLayer(r.layer), String(r.filters), r.name]);
  }
  return formatTable(rows);
}

export function formatNetEventTable(records: readonly NetEventRecord[]): string {
  const rows: string[][] = [["time", "type", "dir", "proto", "local", "remote", "filter", "layer", "name"]];
  const endpoint = (a: string | null, p: number | null): string =>
    a === null ? "-" : p === null ? a : a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`;
  for (const r of records) {
    rows.push([
      r.time,
      r.type.replace(/^FWPM_NET_EVENT_TYPE_/, ""),
      r.direction === "inbound" ? "in" : r.direction === "outbound" ? "out" : "-",
      r.ipProtocol === null ? "-" : String(r.ipProtocol),
      endpoint(r.localAddr, r.localPort),
      endpoint(r.remoteAddr, r.remotePort),
      orDash(r.filterId),
      shortLayer(r.layer),
      orDash(r.filterName),
    ]);
  }
  return formatTable(rows);
}

export function formatLayerTable(records: readonly LayerRecord[]): string {
  const rows: string[][] = [["id", "layer", "fields", "callouts", "filters"]];
  for (const r of records) {
    rows.push([String(r.id), r.name, String(r.fields.length), String(r.callouts), String(r.filters)]);
  }
  return formatTable(rows);
}

/** One layer in detail: its fields, in incomingValue[] order. */
export function formatLayerFields(r: LayerRecord): string {
  const rows: string[][] = [["index", "condition", "data type", "field type"]];
  for (const f of r.fields) rows.push([String(f.index), f.condition, orDash(f.dataType), orDash(f.fieldType)]);
  return `${r.name} (id ${r.id}, key ${r.key ?? "-"}): ${r.filters} filters, ${r.callouts} callouts\n${formatTable(rows)}`;
}

// ---------------------------------------------------------------------------------------------
// Reading the BFE
// ---------------------------------------------------------------------------------------------

export interface ShowSelection {
  /** Only this layer's filters and callouts. */
  readonly layer?: Layer;
  /** Only this provider's objects. */
  readonly provider?: Guid;
  /** Only filters that could match this traffic (netsh show filters, H47). */
  readonly traffic?: CompiledTrafficSelection;
}

/** A provider given on the command line: a GUID or a built-in FWPM_PROVIDER_* name. */
export function parseProviderRef(text: string): Guid {
  const guid = tryParseGuid(text);
  if (guid !== undefined) return guid;
  const builtin =
    (FWPM_PROVIDER as Readonly<Record<string, Guid>>)[text] ??
    (FWPM_PROVIDER as Readonly<Record<string, Guid>>)[`FWPM_PROVIDER_${text}`];
  if (builtin !== undefined) return builtin;
  throw new FwpError("FWP_E_PROVIDER_NOT_FOUND", {
    path: "--provider",
    detail: `${JSON.stringify(text)} is neither a GUID nor a built-in FWPM_PROVIDER_* name.`,
  });
}

const ALL_FILTERS = ENUM_FLAG_INCLUDE_BOOTTIME | ENUM_FLAG_INCLUDE_DISABLED | ENUM_FLAG_SORTED;

/**
 * Every filter the session may read (boot-time and disabled ones included), layer by layer in run-time id
 * order, each layer in evaluation order (sublayer weight, then effective weight, descending).
 */
export function enumAllFilters(session: BfeSession, sel: ShowSelection = {}): Filter[] {
  const layers = sel.layer === undefined ? LAYERS.filter((l) => l.key !== null) : [sel.layer];
  const traffic = sel.traffic !== undefined && !sel.traffic.empty ? sel.traffic : undefined;
  const out: Filter[] = [];
  for (const layer of layers) {
    if (traffic !== undefined && traffic.valuesAt(layer) === null) continue;
    const filters = session.enumFilters({
      layer,
      flags: ALL_FILTERS,
      ...(sel.provider === undefined ? {} : { providerKey: sel.provider }),
    });
    for (const f of filters) if (traffic === undefined || traffic.selects(f)) out.push(f);
  }
  return out;
}

function countBy<T>(items: readonly T[], keyOf: (t: T) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) {
    const k = keyOf(t);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

export interface StateRecord {
  providers: ProviderRecord[];
  sublayers: SublayerRecord[];
  callouts: CalloutRecord[];
  filters: FilterRecord[];
}

/** What `show state --json` prints: every object the session may read, selection applied. */
export function stateRecord(session: BfeSession, sel: ShowSelection = {}): StateRecord {
  const filters = enumAllFilters(session, sel);
  // Reference counts are over every filter, not just the selected ones.
  const every = sel.layer === undefined && sel.provider === undefined ? filters : enumAllFilters(session);
  const bySublayer = countBy(every, (f) => f.sublayer.subLayerKey);
  const byCallout = countBy(every, (f) => f.action.calloutKey);
  const providerTemplate = sel.provider === undefined ? {} : { providerKey: sel.provider };
  return {
    providers: session
      .enumProviders()
      .filter((p) => sel.provider === undefined || p.providerKey === sel.provider)
      .map(providerRecord),
    sublayers: session
      .enumSublayers(providerTemplate)
      .map((s) => sublayerRecord(s, bySublayer.get(s.subLayerKey) ?? 0)),
    callouts: session
      .enumCallouts({ ...providerTemplate, ...(sel.layer === undefined ? {} : { layer: sel.layer }) })
      .map((c) => calloutRecord(c, byCallout.get(c.calloutKey) ?? 0)),
    filters: filters.map(filterRecord),
  };
}

/** The `show state` summary: counts, then one row per layer that has filters or callouts. */
export function formatStateSummary(state: StateRecord, source: string): string {
  const byLayer = countBy(state.filters, (f) => f.layer);
  const calloutsByLayer = countBy(state.callouts, (c) => c.layer ?? undefined);
  const lines = [
    `source     ${source}`,
    `providers  ${state.providers.length} (${state.providers.filter((p) => p.builtin).length} built in)`,
    `sublayers  ${state.sublayers.length} (${state.sublayers.filter((s) => s.builtin).length} built in)`,
    `callouts   ${state.callouts.length} (${state.callouts.filter((c) => c.builtin).length} built in)`,
    `filters    ${state.filters.length}`,
    "",
  ];
  const rows: string[][] = [["id", "layer", "callouts", "filters"]];
  for (const l of LAYERS) {
    const name = layerName(l);
    const f = byLayer.get(name) ?? 0;
    const c = calloutsByLayer.get(name) ?? 0;
    if (f > 0 || c > 0) rows.push([String(l.runtimeId), name, String(c), String(f)]);
  }
  return `${lines.join("\n")}\n${formatTable(rows)}`;
}

export const SHOW_WHAT = ["state", "filters", "sublayers", "providers", "callouts", "layers", "netevents"] as const;
export type ShowWhat = (typeof SHOW_WHAT)[number];

export interface ShowOptions {
  readonly layer?: string;
  readonly provider?: string;
  readonly json?: boolean;
  /** `show netevents`: the netsh netevents.xml format (H50). */
  readonly xml?: boolean;
  /** `show netevents`: read Windows' events from this netevents.xml / wfpdiag.xml instead of the BFE's. */
  readonly file?: string;
  readonly store?: string;
  readonly state?: string;
  /** `show filters`: netsh's traffic selection (H47). */
  readonly protocol?: string;
  readonly localAddr?: string;
  readonly remoteAddr?: string;
  readonly localPort?: string;
  readonly remotePort?: string;
  readonly app?: string;
  readonly user?: string;
  readonly dir?: string;
}

/** The traffic selection the options give, or undefined when they give none. */
export function trafficSelectionOf(options: ShowOptions): TrafficSelection | undefined {
  const t: Record<string, string> = {};
  const put = (k: keyof TrafficSelection, v: string | undefined): void => {
    if (v !== undefined) t[k] = v;
  };
  put("protocol", options.protocol);
  put("localAddr", options.localAddr);
  put("remoteAddr", options.remoteAddr);
  put("localPort", options.localPort);
  put("remotePort", options.remotePort);
  put("appId", options.app);
  put("userId", options.user);
  put("direction", options.dir);
  return Object.keys(t).length === 0 ? undefined : (t as TrafficSelection);
}

const json = (x: unknown): string => `${JSON.stringify(x, null, 2)}\n`;

/** Runs one `show` against an open session and returns the text to print. */
export function showText(what: ShowWhat, session: BfeSession, options: ShowOptions, source: string): string {
  const sel: { layer?: Layer; provider?: Guid } = {};
  if (options.layer !== undefined) sel.layer = parseLayerRef(options.layer, "--layer");
  if (options.provider !== undefined) sel.provider = parseProviderRef(options.provider);
  const traffic = trafficSelectionOf(options);
  if (traffic !== undefined && what !== "filters") {
    throw new FwpError("FWP_E_INVALID_PARAMETER", {
      path: "show",
      detail:
        "--protocol, --local-addr, --remote-addr, --local-port, --remote-port, --app, --user and --dir select filters: use them with show filters.",
    });
  }
  if (options.xml === true && what !== "netevents") {
    throw new FwpError("FWP_E_INVALID_PARAMETER", {
      path: "--xml",
      detail: "--xml is for show netevents; the netsh XML of the state or the filters is openwfp export [--filters].",
    });
  }
  if (options.xml === true && options.json === true) {
    throw new FwpError("FWP_E_INVALID_PARAMETER", { path: "--xml", detail: "--xml and --json exclude each other." });
  }
  const asJson = options.json === true;
  switch (what) {
    case "state": {
      const state = stateRecord(session, sel);
      return asJson ? json(state) : formatStateSummary(state, source);
    }
    case "filters": {
      const records = enumAllFilters(session, {
        ...sel,
        ...(traffic === undefined ? {} : { traffic: compileTrafficSelection(traffic, LAYERS) }),
      }).map(filterRecord);
      return asJson ? json(records) : formatFilterTable(records);
    }
    case "sublayers": {
      const records = stateRecord(session, {
        ...(sel.provider === undefined ? {} : { provider: sel.provider }),
      }).sublayers;
      return asJson ? json(records) : formatSublayerTable(records);
    }
    case "providers": {
      const records = session
        .enumProviders()
        .filter((p) => sel.provider === undefined || p.providerKey === sel.provider)
        .map(providerRecord);
      return asJson ? json(records) : formatProviderTable(records);
    }
    case "callouts": {
      const records = stateRecord(session, sel).callouts;
      return asJson ? json(records) : formatCalloutTable(records);
    }
    case "layers": {
      const filters = enumAllFilters(session, sel.provider === undefined ? {} : { provider: sel.provider });
      const byLayer = countBy(filters, (f) => layerName(f.layer));
      const callouts = countBy(session.enumCallouts(), (c) =>
        c.applicableLayer === null ? undefined : layerName(c.applicableLayer),
      );
      const layers = sel.layer === undefined ? [...LAYERS] : [sel.layer];
      const records = layers.map((l) =>
        layerRecord(l, byLayer.get(layerName(l)) ?? 0, callouts.get(layerName(l)) ?? 0),
      );
      if (asJson) return json(records);
      const one = records[0];
      return sel.layer !== undefined && one !== undefined ? formatLayerFields(one) : formatLayerTable(records);
    }
    case "netevents": {
      if (options.file !== undefined) {
        if (options.xml === true) {
          throw new FwpError("FWP_E_INVALID_PARAMETER", {
            path: "--xml",
            detail: "--xml prints the BFE's own events as netsh would; --file reads events Windows wrote.",
          });
        }
        const read = readNetEventsFile(options.file);
        const names = read.length > 0 ? filterNames(session) : new Map<string, string>();
        const records = read.map(
          (r): NetEventRecord => ({ ...r, filterName: r.filterId === null ? null : (names.get(r.filterId) ?? null) }),
        );
        return asJson ? json(records) : formatNetEventTable(records);
      }
      if (options.xml === true) return formatNetEventsXml(session.enumNetEvents());
      const events = session.enumNetEvents();
      const names = events.length > 0 ? filterNames(session) : new Map<string, string>();
      const records = events.map((e) => netEventRecord(e, names));
      return asJson ? json(records) : formatNetEventTable(records);
    }
  }
}

/** Display names of the BFE's filters by run-time id (decimal). */
function filterNames(session: BfeSession): Map<string, string> {
  const names = new Map<string, string>();
  for (const f of enumAllFilters(session)) names.set(f.filterId.toString(), f.name);
  return names;
}

/** The net events of a file Windows wrote (netsh wfp show netevents, or a capture's wfpdiag.xml). */
function readNetEventsFile(path: string): NetshNetEventRecord[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new OpenWfpError("E_FILE", `cannot read net events ${path}: ${describeError(e)}`, { path });
  }
  try {
    return parseNetEventsXml(text);
  } catch (e) {
    throw new Error(`${path}: ${describeError(e)}`, { cause: e });
  }
}

/** `show WHAT`: opens the host, reads, closes. */
export async function runShow(what: string, options: ShowOptions): Promise<string> {
  if (!(SHOW_WHAT as readonly string[]).includes(what)) {
    throw new Error(`show what? ${JSON.stringify(what)} is not one of ${SHOW_WHAT.join(", ")}`);
  }
  if (options.file !== undefined && what !== "netevents") {
    throw new FwpError("FWP_E_INVALID_PARAMETER", { path: "--file", detail: "--file is for show netevents." });
  }
  const host = await openHost({
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.state === undefined ? {} : { state: options.state }),
  });
  try {
    noteSkipped(host);
    return showText(what as ShowWhat, host.session, options, host.source);
  } finally {
    host.close();
  }
}

export function registerShow(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command("show")
    .description("list what the BFE holds: state, filters, sublayers, providers, callouts, layers or netevents")
    .argument("<what>", SHOW_WHAT.join("|"))
    .option("--layer <layer>", "only this layer (FWPM_LAYER_* name, short name, run-time id or GUID)")
    .option("--provider <provider>", "only this provider's objects (GUID or FWPM_PROVIDER_* name)")
    .option("--json", "print JSON (keys in docs/cli.md)")
    .option("--xml", "show netevents: print netsh's netevents.xml format")
    .option(
      "--file <xml>",
      "show netevents: read the events Windows wrote (netsh wfp show netevents, or a capture's wfpdiag.xml); filters are named from --state or --store",
    )
    .option("--protocol <p>", "show filters: only those that could match this IP protocol (tcp, udp, icmp, a number)")
    .option("--local-addr <addr>", "show filters: … this local IPv4 or IPv6 address")
    .option("--remote-addr <addr>", "show filters: … this remote address")
    .option("--local-port <port>", "show filters: … this local port")
    .option("--remote-port <port>", "show filters: … this remote port")
    .option("--app <path>", "show filters: … this application (Win32 or NT path)")
    .option("--user <sid>", "show filters: … this user (SID)")
    .option("--dir <in|out>", "show filters: … traffic in this direction")
    .option("--store <db>", `the SQLite store (default ${DEFAULT_STORE_PATH})`)
    .option("--state <file>", "read a netsh wfp show state/filters XML file instead of the store (read-only)")
    .action(async (what: string, opts: ShowOptions) => {
      await writeAll(await runShow(what, opts));
    });
}

/** On standard error: filters of a netsh file the read-only BFE could not load (their SDDL). */
export function noteSkipped(host: Host): void {
  if (host.skipped.length === 0) return;
  process.stderr.write(
    `openwfp: note: ${host.skipped.length} filters of ${host.source} are not shown: their SDDL cannot be encoded here (first at ${host.skipped[0]?.path})\n`,
  );
}

let stdoutWriter: LineWriter | undefined;

/** Writes text to standard output, waiting for the pipe (large JSON must not be cut off at exit). */
export async function writeAll(text: string): Promise<void> {
  stdoutWriter ??= new LineWriter(process.stdout);
  const out = stdoutWriter;
  await out.write(text);
  await out.flush();
}
