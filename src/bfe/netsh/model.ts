/**
 * NetshDocument: a `netsh wfp show state` (`<wfpstate>`) or `netsh wfp show filters` (`<wfpdiag>`) file
 * as typed data (wfp-semantics.md H47–H49). The management objects — layers with their fields,
 * callouts, filters (conditions, flags, weight and effective weight exactly as Windows computed them),
 * providers, provider contexts, sublayers and sessions — are typed; sections openwfp does not model
 * (subscriptions, IPsec SA contexts and statistics, ALE endpoints, IKE SAs, provider-context policy
 * bodies, the trailing `<firewallState>`) are kept as XML elements, in document order, so a file is
 * written back as it was read.
 * Keys are canonical GUIDs; netsh prints built-in objects by constant name and the writer does the same.
 */
import type { Guid } from "../../base/guid.ts";
import type { MatchTypeName } from "../../engine/index.ts";
import type { FwpConditionValue, FwpValue } from "../../fwp/index.ts";
import type { XmlElement, XmlLayout } from "./xml.ts";

export type NetshKind = "state" | "filters";

/** displayData: `<name/>` and `<description/>` read as "". */
export interface NetshDisplayData {
  readonly name: string;
  readonly description: string;
}

/** An SD condition value as netsh prints it (SDDL text, which may use machine-relative aliases like LA). */
export interface NetshSddlValue {
  readonly type: "FWP_SECURITY_DESCRIPTOR_TYPE";
  readonly sddl: string;
}

/** A condition value: the fwp value model, except security descriptors, which stay SDDL text. */
export type NetshConditionValue =
  | Exclude<FwpConditionValue, { readonly type: "FWP_SECURITY_DESCRIPTOR_TYPE" } | { readonly type: "FWP_RANGE_TYPE" }>
  | NetshSddlValue
  | { readonly type: "FWP_RANGE_TYPE"; readonly valueLow: FwpValue; readonly valueHigh: FwpValue };

export interface NetshFilterCondition {
  readonly fieldKey: Guid;
  readonly matchType: MatchTypeName;
  readonly conditionValue: NetshConditionValue;
}

/** FWPM_ACTION0: `type` and the union member netsh prints as `<filterType>` (callout key for callout actions). */
export interface NetshAction {
  readonly type: string;
  /** Callout key (callout actions) or filter type (static actions); null when printed empty. */
  readonly key: Guid | null;
}

export interface NetshFilter {
  readonly filterKey: Guid;
  readonly displayData: NetshDisplayData;
  /** FWPM_FILTER_FLAG_* bits. */
  readonly flags: number;
  /** Flags netsh prints by a name whose bit is unpublished (e.g. FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN). */
  readonly extraFlags: readonly string[];
  readonly providerKey: Guid | null;
  readonly providerData: Uint8Array | null;
  readonly layerKey: Guid;
  readonly subLayerKey: Guid;
  /** As given: FWP_EMPTY, FWP_UINT8 or FWP_UINT64. */
  readonly weight: FwpValue;
  readonly conditions: readonly NetshFilterCondition[];
  readonly action: NetshAction;
  /** The FWPM_FILTER0 union: a raw 64-bit context, or a provider context key (HAS_PROVIDER_CONTEXT). */
  readonly context: { readonly rawContext: bigint } | { readonly providerContextKey: Guid };
  readonly filterId: bigint;
  /** What the engine computed (B1–B5), kept exactly. */
  readonly effectiveWeight: bigint;
}

export interface NetshCallout {
  readonly calloutKey: Guid;
  readonly displayData: NetshDisplayData;
  /** FWPM_CALLOUT_FLAG_* bits (REGISTERED is output-only; unknown bits are kept). */
  readonly flags: number;
  /** Flags netsh prints by a name whose bit is unpublished (e.g. FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN). */
  readonly extraFlags: readonly string[];
  readonly providerKey: Guid | null;
  readonly providerData: Uint8Array | null;
  readonly applicableLayer: Guid;
  readonly calloutId: number;
}

export interface NetshLayerField {
  readonly fieldKey: Guid;
  /** FWPM_FIELD_TYPE name. */
  readonly type: string;
  /** FWP_DATA_TYPE name. */
  readonly dataType: string;
}

export interface NetshLayer {
  readonly layerKey: Guid;
  readonly displayData: NetshDisplayData;
  /** FWPM_LAYER_FLAG_* bits. */
  readonly flags: number;
  /** Flags netsh prints by a name whose bit is unpublished (e.g. FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN). */
  readonly extraFlags: readonly string[];
  readonly fields: readonly NetshLayerField[];
  readonly defaultSubLayerKey: Guid;
  readonly layerId: number;
  readonly callouts: readonly NetshCallout[];
  readonly filters: readonly NetshFilter[];
}

export interface NetshProvider {
  readonly providerKey: Guid;
  readonly displayData: NetshDisplayData;
  /** FWPM_PROVIDER_FLAG_* bits. */
  readonly flags: number;
  /** Flags netsh prints by a name whose bit is unpublished (e.g. FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN). */
  readonly extraFlags: readonly string[];
  readonly providerData: Uint8Array | null;
  readonly serviceName: string;
}

export interface NetshSublayer {
  readonly subLayerKey: Guid;
  readonly displayData: NetshDisplayData;
  /** FWPM_SUBLAYER_FLAG_* bits. */
  readonly flags: number;
  /** Flags netsh prints by a name whose bit is unpublished (e.g. FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN). */
  readonly extraFlags: readonly string[];
  readonly providerKey: Guid | null;
  readonly providerData: Uint8Array | null;
  readonly weight: number;
}

export interface NetshProviderContext {
  readonly providerContextKey: Guid;
  readonly displayData: NetshDisplayData;
  /** FWPM_PROVIDER_CONTEXT_FLAG_* bits. */
  readonly flags: number;
  /** Flags netsh prints by a name whose bit is unpublished (e.g. FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN). */
  readonly extraFlags: readonly string[];
  readonly providerKey: Guid | null;
  readonly providerData: Uint8Array | null;
  /** FWPM_PROVIDER_CONTEXT_TYPE name. */
  readonly type: string;
  /** The type-specific body (dataBuffer, classifyOptions, an IPsec policy…), kept as XML; null if absent. */
  readonly body: XmlElement | null;
  readonly providerContextId: bigint;
}

export interface NetshSession {
  readonly sessionKey: Guid;
  readonly displayData: NetshDisplayData;
  /** FWPM_SESSION_FLAG_* bits. */
  readonly flags: number;
  /** Flags netsh prints by a name whose bit is unpublished (e.g. FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN). */
  readonly extraFlags: readonly string[];
  readonly txnWaitTimeoutInMSec: number;
  readonly processId: number;
  readonly sid: string;
  readonly username: string;
  readonly kernelMode: boolean;
}

/** The typed sections of the root element. */
export type NetshSectionName =
  | "timeStamp"
  | "sessions"
  | "layers"
  | "filters"
  | "providers"
  | "providerContexts"
  | "subLayers";

export interface NetshDocument {
  readonly kind: NetshKind;
  /** BOM, declaration, line ends of the file (the writer reproduces them). */
  readonly layout: XmlLayout;
  readonly timeStamp: string | null;
  readonly sessions: readonly NetshSession[] | null;
  /** `show state`: every layer with its fields, callouts and filters. */
  readonly layers: readonly NetshLayer[] | null;
  /** `show filters`: the filter list. */
  readonly filters: readonly NetshFilter[] | null;
  readonly providers: readonly NetshProvider[] | null;
  readonly providerContexts: readonly NetshProviderContext[] | null;
  readonly subLayers: readonly NetshSublayer[] | null;
  /** The root's children in order: a typed section by name, anything else verbatim. */
  readonly sections: readonly (NetshSectionName | XmlElement)[];
  /** Top-level elements after the root (`<firewallState>` in `show state` files). */
  readonly trailing: readonly XmlElement[];
}

/** Every filter of a document (a state dump's filters are under their layers). */
export function netshFilters(doc: NetshDocument): NetshFilter[] {
  if (doc.filters !== null) return [...doc.filters];
  return (doc.layers ?? []).flatMap((l) => l.filters);
}

/** Every callout of a document (state dumps only). */
export function netshCallouts(doc: NetshDocument): NetshCallout[] {
  return (doc.layers ?? []).flatMap((l) => l.callouts);
}
