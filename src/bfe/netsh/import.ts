/**
 * importNetsh: programs a BFE session with the objects of a netsh dump, in one transaction (all or
 * nothing, H9), in existence order (H18: providers, sublayers, callouts, provider contexts, filters),
 * keeping every key, filterId, calloutId, provider-context id, weight and effective weight exactly as
 * Windows had them. Objects the BFE already holds under the same key (built-in providers, sublayers and
 * callouts) are left as they are. Third-party callouts come in as callout objects without a registered
 * classifyFn (their filters then act per C14). A `show filters` dump lists neither sublayers nor callouts
 * nor provider contexts: the ones its filters reference are added as stand-ins (weight 0, named
 * "(not in dump)") and reported.
 * What the engine model cannot carry is reported, not invented: netsh-only flag names
 * (FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN), output-only bits (filter and provider DISABLED, callout
 * REGISTERED), providerData. A provider's serviceName is kept (it gates the provider at BFE start, H16). SDDL the fwp codec cannot encode (machine-relative aliases such as LA,
 * conditional XA aces, SACLs) makes the import fail with the element path, or with
 * `unsupportedSddl: "skip"` skips that filter and reports it.
 */
import type { Guid } from "../../base/guid.ts";
import type { FilterConditionSpec, FilterSpec } from "../../engine/index.ts";
import { FwpError, type FwpConditionValue, isFwpError, securityDescriptorFromSddl } from "../../fwp/index.ts";
import type { BfeSession } from "../session.ts";
import { formatHex } from "./codec.ts";
import type { NetshConditionValue, NetshDocument, NetshFilter } from "./model.ts";
import { netshCallouts, netshFilters } from "./model.ts";

/** FWPM_FILTER_FLAG_DISABLED: output-only (H16). */
const FILTER_DISABLED = 0x20;
/** FWPM_PROVIDER_FLAG_DISABLED: output-only (H16); the BFE sets it at start from the provider's serviceName. */
const PROVIDER_DISABLED = 0x10;
const FILTER_PERSISTENT = 0x1;
const FILTER_BOOTTIME = 0x2;
const CALLOUT_PERSISTENT = 0x10000;
/** FWPM_CALLOUT_FLAG_PERSISTENT | USES_PROVIDER_CONTEXT: what a caller may set. */
const CALLOUT_SETTABLE = 0x10000 | 0x20000;

export interface NetshImportOptions {
  /** What to do with a filter whose SDDL the fwp codec cannot encode: fail the import (default) or skip it. */
  readonly unsupportedSddl?: "error" | "skip";
}

export interface NetshImportCounts {
  /** Added by the import. */
  added: number;
  /** Already present under the same key (built-in objects), left unchanged. */
  existing: number;
}

/** Provider-context data as the import stores it, so an export can print the context again. */
export interface NetshProviderContextData {
  readonly netshType: string;
  readonly body: unknown;
  readonly providerData: string | null;
}

export interface NetshImportReport {
  readonly providers: NetshImportCounts;
  readonly sublayers: NetshImportCounts;
  readonly callouts: NetshImportCounts;
  readonly providerContexts: NetshImportCounts;
  readonly filters: NetshImportCounts;
  /** Objects a `show filters` dump references but does not define, added as stand-ins. */
  readonly standIns: { sublayers: Guid[]; callouts: Guid[]; providerContexts: Guid[] };
  /** Filters not imported (only with `unsupportedSddl: "skip"`). */
  readonly skipped: { filterKey: Guid; path: string; reason: string }[];
  /** Dump content the BFE object model has no place for (dropped), by kind. */
  readonly dropped: string[];
}

function exists(get: () => unknown): boolean {
  try {
    get();
    return true;
  } catch (e) {
    if (isFwpError(e)) return false;
    throw e;
  }
}

function describe(name: string, description: string): { name: string; description?: string } {
  return description === "" ? { name } : { name, description };
}

/** A netsh condition value as the engine takes it; SDDL is encoded to a self-relative descriptor. */
export function conditionValueOf(v: NetshConditionValue, path: string): FwpConditionValue {
  if (v.type === "FWP_SECURITY_DESCRIPTOR_TYPE") {
    return { type: v.type, value: securityDescriptorFromSddl(v.sddl, path) };
  }
  return v;
}

/** The FilterSpec that restores a netsh filter exactly (keys, filterId, weight, effective weight). */
export function filterSpecOf(f: NetshFilter, path: string): FilterSpec {
  const calloutAction = f.action.type.startsWith("FWP_ACTION_CALLOUT");
  const conditions: FilterConditionSpec[] = f.conditions.map((c, i) => ({
    fieldKey: c.fieldKey,
    matchType: c.matchType,
    conditionValue: conditionValueOf(c.conditionValue, `${path}/filterCondition/item[${i}]/conditionValue`),
  }));
  const action =
    f.action.key === null
      ? { type: f.action.type as FilterSpec["action"]["type"] }
      : calloutAction
        ? { type: f.action.type as FilterSpec["action"]["type"], calloutKey: f.action.key }
        : { type: f.action.type as FilterSpec["action"]["type"], filterType: f.action.key };
  return {
    filterKey: f.filterKey,
    ...describe(f.displayData.name, f.displayData.description),
    layer: f.layerKey,
    sublayer: f.subLayerKey,
    weight: f.weight,
    conditions,
    action,
    flags: (f.flags & ~FILTER_DISABLED) >>> 0,
    ...(f.providerKey === null ? {} : { providerKey: f.providerKey }),
    ...("rawContext" in f.context
      ? { rawContext: f.context.rawContext }
      : { providerContextKey: f.context.providerContextKey }),
    filterId: f.filterId,
    effectiveWeight: f.effectiveWeight,
  };
}

/** Imports a netsh document into the session's BFE in one transaction; returns what was done. */
export async function importNetsh(
  doc: NetshDocument,
  session: BfeSession,
  options: NetshImportOptions = {},
): Promise<NetshImportReport> {
  const report: NetshImportReport = {
    providers: { added: 0, existing: 0 },
    sublayers: { added: 0, existing: 0 },
    callouts: { added: 0, existing: 0 },
    providerContexts: { added: 0, existing: 0 },
    filters: { added: 0, existing: 0 },
    standIns: { sublayers: [], callouts: [], providerContexts: [] },
    skipped: [],
    dropped: [],
  };
  const root = doc.kind === "state" ? "wfpstate" : "wfpdiag";
  const drop = (what: string): void => {
    if (!report.dropped.includes(what)) report.dropped.push(what);
  };
  // Filters first as specs, so SDDL problems surface before anything is added.
  const filters: { spec: FilterSpec; netsh: NetshFilter }[] = [];
  const paths = filterPaths(doc);
  netshFilters(doc).forEach((f, i) => {
    const path = paths[i] as string;
    try {
      filters.push({ spec: filterSpecOf(f, path), netsh: f });
    } catch (e) {
      if (options.unsupportedSddl === "skip" && isFwpError(e) && e.path?.includes("/conditionValue") === true) {
        report.skipped.push({ filterKey: f.filterKey, path: e.path, reason: e.message });
        return;
      }
      throw e;
    }
    if (f.extraFlags.length > 0) drop(`filter flags ${f.extraFlags.join(", ")}`);
    if ((f.flags & FILTER_DISABLED) !== 0) drop("filter flag FWPM_FILTER_FLAG_DISABLED (output-only)");
    if (f.providerData !== null) drop("filter providerData");
  });

  await session.transact(() => {
    for (const p of doc.providers ?? []) {
      if (exists(() => session.getProviderByKey(p.providerKey))) {
        report.providers.existing++;
        continue;
      }
      session.addProvider({
        providerKey: p.providerKey,
        ...describe(p.displayData.name, p.displayData.description),
        flags: (p.flags & ~PROVIDER_DISABLED) >>> 0,
        ...(p.serviceName === "" ? {} : { serviceName: p.serviceName }),
      });
      report.providers.added++;
      if ((p.flags & PROVIDER_DISABLED) !== 0) drop("provider flag FWPM_PROVIDER_FLAG_DISABLED (output-only)");
      if (p.providerData !== null) drop("provider providerData");
    }
    for (const s of doc.subLayers ?? []) {
      if (exists(() => session.getSublayerByKey(s.subLayerKey))) {
        report.sublayers.existing++;
        continue;
      }
      session.addSublayer({
        subLayerKey: s.subLayerKey,
        ...describe(s.displayData.name, s.displayData.description),
        weight: s.weight,
        flags: s.flags,
        ...(s.providerKey === null ? {} : { providerKey: s.providerKey }),
      });
      report.sublayers.added++;
    }
    for (const c of netshCallouts(doc)) {
      if (exists(() => session.getCalloutByKey(c.calloutKey))) {
        report.callouts.existing++;
        continue;
      }
      if ((c.flags & ~CALLOUT_SETTABLE) !== 0) drop("callout flags other than PERSISTENT / USES_PROVIDER_CONTEXT");
      session.addCallout({
        calloutKey: c.calloutKey,
        ...describe(c.displayData.name, c.displayData.description),
        applicableLayer: c.applicableLayer,
        flags: (c.flags & CALLOUT_SETTABLE) >>> 0,
        ...(c.providerKey === null ? {} : { providerKey: c.providerKey }),
        calloutId: c.calloutId,
      });
      report.callouts.added++;
    }
    for (const pc of doc.providerContexts ?? []) {
      if (exists(() => session.getProviderContextByKey(pc.providerContextKey))) {
        report.providerContexts.existing++;
        continue;
      }
      const data: NetshProviderContextData = {
        netshType: pc.type,
        body: pc.body,
        providerData: pc.providerData === null ? null : formatHex(pc.providerData),
      };
      session.addProviderContext({
        providerContextKey: pc.providerContextKey,
        name: pc.displayData.name,
        flags: pc.flags,
        ...(pc.providerKey === null ? {} : { providerKey: pc.providerKey }),
        data,
        providerContextId: pc.providerContextId,
      });
      report.providerContexts.added++;
    }
    // Stand-ins for what a show-filters dump references but does not define; persistent when a
    // persistent or boot-time filter references them (H17: those may not reference static objects).
    const durable = new Set<Guid>();
    for (const { netsh } of filters) {
      if ((netsh.flags & (FILTER_PERSISTENT | FILTER_BOOTTIME)) === 0) continue;
      durable.add(netsh.subLayerKey);
      if (netsh.action.key !== null) durable.add(netsh.action.key);
      if ("providerContextKey" in netsh.context) durable.add(netsh.context.providerContextKey);
    }
    for (const { spec, netsh } of filters) {
      const sub = netsh.subLayerKey;
      if (!exists(() => session.getSublayerByKey(sub))) {
        session.addSublayer({ subLayerKey: sub, name: "(not in dump)", weight: 0, flags: durable.has(sub) ? 1 : 0 });
        report.standIns.sublayers.push(sub);
      }
      const callout = netsh.action.type.startsWith("FWP_ACTION_CALLOUT") ? netsh.action.key : null;
      if (callout !== null && !exists(() => session.getCalloutByKey(callout))) {
        session.addCallout({
          calloutKey: callout,
          name: "(not in dump)",
          applicableLayer: netsh.layerKey,
          flags: durable.has(callout) ? CALLOUT_PERSISTENT : 0,
        });
        report.standIns.callouts.push(callout);
      }
      const pck = "providerContextKey" in netsh.context ? netsh.context.providerContextKey : null;
      if (pck !== null && !exists(() => session.getProviderContextByKey(pck))) {
        session.addProviderContext({ providerContextKey: pck, name: "(not in dump)", flags: durable.has(pck) ? 1 : 0 });
        report.standIns.providerContexts.push(pck);
      }
      if (exists(() => session.getFilterByKey(netsh.filterKey))) {
        throw new FwpError("FWP_E_ALREADY_EXISTS", {
          path: `${root}: filter {${netsh.filterKey}}`,
          detail: "The filter key is already in use.",
        });
      }
      session.addFilter(spec);
      report.filters.added++;
    }
  });
  return report;
}

/** Element paths of the document's filters, in netshFilters order. */
function filterPaths(doc: NetshDocument): string[] {
  if (doc.filters !== null) return doc.filters.map((_, i) => `wfpdiag/filters/item[${i}]`);
  return (doc.layers ?? []).flatMap((l, li) =>
    l.filters.map((_, fi) => `wfpstate/layers/item[${li}]/filters/item[${fi}]`),
  );
}
