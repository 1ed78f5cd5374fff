/**
 * exportNetsh: the committed policy of a BFE as a `netsh wfp show state` or `show filters` document
 * (H47–H49): filters with their filterId and effective weight, providers, sublayers with weights,
 * callouts, provider contexts (with the netsh type and body an import stored) and, for `state`, every
 * published layer with its fields and the open sessions. Format it with formatNetshXml.
 * Layer display data and flags come from the reference tables (name = FWPM constant, KERNEL for
 * kernel-mode layers, BUILTIN), not from a Windows machine.
 */
import type { Guid } from "../../base/guid.ts";
import type { Callout, Filter, ProviderContext } from "../../engine/index.ts";
import { FWPM_SUBLAYER, LAYERS, securityDescriptorToSddl } from "../../fwp/index.ts";
import type { Bfe } from "../bfe.ts";
import { parseHex } from "./codec.ts";
import type { NetshProviderContextData } from "./import.ts";
import type {
  NetshCallout,
  NetshConditionValue,
  NetshDocument,
  NetshFilter,
  NetshLayer,
  NetshProviderContext,
  NetshSectionName,
} from "./model.ts";
import type { XmlElement } from "./xml.ts";

const CALLOUT_REGISTERED = 0x40000;
const LAYER_KERNEL = 0x1;
const LAYER_BUILTIN = 0x2;

export interface NetshExportOptions {
  /** `<timeStamp>` of a state document, nanoseconds since the Unix epoch (default: 0). */
  readonly nowNs?: bigint;
  /** Line ends of the written file (default "\r\n", as Windows writes). */
  readonly eol?: "\r\n" | "\n";
}

function display(name: string, description: string | undefined): { name: string; description: string } {
  return { name, description: description ?? "" };
}

/** A filter as netsh prints it. */
export function netshFilterOf(f: Filter): NetshFilter {
  const a = f.action;
  return {
    filterKey: f.filterKey,
    displayData: display(f.name, f.description),
    flags: f.flags,
    extraFlags: [],
    providerKey: f.providerKey ?? null,
    providerData: null,
    layerKey: f.layer.key as Guid,
    subLayerKey: f.sublayer.subLayerKey,
    weight: f.weight,
    conditions: f.conditions.map((c) => ({
      fieldKey: c.fieldKey,
      matchType: c.matchType,
      conditionValue:
        c.value.type === "FWP_SECURITY_DESCRIPTOR_TYPE"
          ? { type: c.value.type, sddl: securityDescriptorToSddl(c.value.value, undefined, { aliases: true }) }
          : (c.value as NetshConditionValue),
    })),
    action: { type: a.type, key: a.calloutKey ?? a.filterType ?? null },
    context:
      f.providerContextKey !== undefined
        ? { providerContextKey: f.providerContextKey }
        : { rawContext: f.rawContext ?? 0n },
    filterId: f.filterId,
    effectiveWeight: f.effectiveWeight,
  };
}

function calloutOf(c: Callout, registered: boolean): NetshCallout {
  return {
    calloutKey: c.calloutKey,
    displayData: display(c.name, c.description),
    flags: (c.flags | (registered ? CALLOUT_REGISTERED : 0)) >>> 0,
    extraFlags: [],
    providerKey: c.providerKey ?? null,
    providerData: null,
    applicableLayer: c.applicableLayer?.key as Guid,
    calloutId: c.calloutId,
  };
}

function isNetshData(d: unknown): d is NetshProviderContextData {
  return typeof d === "object" && d !== null && typeof (d as { netshType?: unknown }).netshType === "string";
}

function providerContextOf(pc: ProviderContext): NetshProviderContext {
  const data = isNetshData(pc.data) ? pc.data : null;
  return {
    providerContextKey: pc.providerContextKey,
    displayData: display(pc.name, undefined),
    flags: pc.flags,
    extraFlags: [],
    providerKey: pc.providerKey ?? null,
    providerData: data?.providerData == null ? null : parseHex(data.providerData, "providerData"),
    type: data?.netshType ?? "FWPM_GENERAL_CONTEXT",
    body: (data?.body as XmlElement | null | undefined) ?? null,
    providerContextId: pc.providerContextId,
  };
}

function isoOf(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** The BFE's committed policy as a netsh document of the given kind. */
export function exportNetsh(bfe: Bfe, kind: "state" | "filters", options: NetshExportOptions = {}): NetshDocument {
  const engine = bfe.engine;
  const filters = engine.filters().map(netshFilterOf);
  const providers = engine.providers().map((p) => ({
    providerKey: p.providerKey,
    displayData: display(p.name, p.description),
    flags: p.flags,
    extraFlags: [],
    providerData: null,
    serviceName: p.serviceName ?? "",
  }));
  const layout = {
    bom: true,
    declaration: '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    eol: options.eol ?? "\r\n",
    finalNewline: true,
  } as const;
  if (kind === "filters") {
    return {
      kind,
      layout,
      timeStamp: null,
      sessions: null,
      layers: null,
      filters,
      providers,
      providerContexts: null,
      subLayers: null,
      sections: ["filters", "providers"],
      trailing: [],
    };
  }
  const callouts = engine
    .callouts()
    .filter((c) => c.applicableLayer?.key != null)
    .map((c) => calloutOf(c, engine.isCalloutRegistered(c.calloutKey)));
  const layers: NetshLayer[] = LAYERS.filter((l) => l.key !== null).map((l) => ({
    layerKey: l.key as Guid,
    displayData: display(l.fwpmName ?? l.fwpsName, l.description),
    flags: (l.mode === "kernel" ? LAYER_KERNEL : 0) | LAYER_BUILTIN,
    extraFlags: [],
    fields: l.fields.map((f) => ({
      fieldKey: f.conditionKey,
      type: f.fieldType ?? "FWPM_FIELD_RAW_DATA",
      dataType: f.dataType ?? "FWP_EMPTY",
    })),
    defaultSubLayerKey: FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL as Guid,
    layerId: l.runtimeId,
    callouts: callouts.filter((c) => c.applicableLayer === l.key),
    filters: filters.filter((f) => f.layerKey === l.key),
  }));
  const sections: NetshSectionName[] = [
    "timeStamp",
    "sessions",
    "layers",
    "providers",
    "providerContexts",
    "subLayers",
  ];
  return {
    kind,
    layout,
    timeStamp: isoOf(options.nowNs ?? 0n),
    sessions: bfe.sessions().map((s) => ({
      sessionKey: s.sessionKey,
      displayData: display(s.displayName, s.description),
      flags: s.flags,
      extraFlags: [],
      txnWaitTimeoutInMSec: s.txnWaitTimeoutInMSec,
      processId: s.processId,
      sid: s.sid,
      username: s.username,
      kernelMode: s.kernelMode,
    })),
    layers,
    filters: null,
    providers,
    providerContexts: engine.providerContexts().map(providerContextOf),
    subLayers: engine.sublayers().map((s) => ({
      subLayerKey: s.subLayerKey,
      displayData: display(s.name, s.description),
      flags: s.flags,
      extraFlags: [],
      providerKey: s.providerKey ?? null,
      providerData: null,
      weight: s.weight,
    })),
    sections,
    trailing: [],
  };
}
