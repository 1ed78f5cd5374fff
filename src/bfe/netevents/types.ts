/**
 * Net events as the BFE records them (wfp-semantics.md §H.6, H31–H36): a header shared by every
 * type (FWPM_NET_EVENT_HEADER3) and a per-type body. CLASSIFY_DROP carries FWPM_NET_EVENT_CLASSIFY_DROP2,
 * CLASSIFY_ALLOW FWPM_NET_EVENT_CLASSIFY_ALLOW0; both carry netsh's `internalFields.terminatingFiltersInfo`
 * (H36). The other types (IKEEXT failures, IPsec drops, capability events, MAC drops) keep their body as
 * opaque data supplied by whoever raises them.
 * Sources: https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_net_event_header3,
 * https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_net_event_classify_drop2,
 * https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_net_event_classify_allow0
 */
import type { Guid } from "../../base/guid.ts";
import type { IpAddress } from "../../base/ip.ts";
import type { FWPM_NET_EVENT_TYPE } from "../../fwp/index.ts";

/** FWPM_NET_EVENT_TYPE names (H31). */
export type NetEventTypeName = Exclude<keyof typeof FWPM_NET_EVENT_TYPE, "FWPM_NET_EVENT_TYPE_MAX">;

/** FWP_IP_VERSION names as the header's ipVersion prints them. */
export type NetEventIpVersion = "FWP_IP_VERSION_V4" | "FWP_IP_VERSION_V6" | "FWP_IP_VERSION_NONE";

/** netsh's msFwpDirection values (H35). */
export type MsFwpDirection = "MS_FWP_DIRECTION_IN" | "MS_FWP_DIRECTION_OUT";

/** How an inbound packet was addressed; only inbound multicast/broadcast drops need a keyword (H32). */
export type NetEventCast = "unicast" | "multicast" | "broadcast";

/** FWPM_NET_EVENT_HEADER3 (H35). Members whose FWPM_NET_EVENT_FLAG_*_SET bit is clear are undefined. */
export interface NetEventHeader {
  /** FILETIME: 100-ns intervals since 1601-01-01T00:00:00Z, from the injected clock. */
  readonly timeStamp: bigint;
  /** FWPM_NET_EVENT_FLAG_*_SET bits: which of the members below are set. */
  readonly flags: number;
  readonly ipVersion: NetEventIpVersion;
  readonly ipProtocol: number | undefined;
  readonly localAddr: IpAddress | undefined;
  readonly remoteAddr: IpAddress | undefined;
  /** Local port, or the ICMP type. */
  readonly localPort: number | undefined;
  /** Remote port, or the ICMP code. */
  readonly remotePort: number | undefined;
  readonly scopeId: number | undefined;
  /** App id blob (UTF-16LE NT path, NUL-terminated). */
  readonly appId: Uint8Array | undefined;
  /** Binary SID of the user. */
  readonly userId: Uint8Array | undefined;
  /** Binary package SID (PACKAGE_ID_SET). */
  readonly packageSid: Uint8Array | undefined;
  readonly enterpriseId: string | undefined;
  readonly policyFlags: bigint | undefined;
  readonly effectiveName: string | undefined;
}

/** One entry of `internalFields.terminatingFiltersInfo` (H36): the filter that ended a sublayer. */
export interface TerminatingFilterInfo {
  readonly filterId: bigint;
  readonly subLayer: Guid;
  /** What the filter returned: FWP_ACTION_PERMIT / FWP_ACTION_BLOCK (or the callout action type when unknown). */
  readonly actionType: string;
}

export interface NetEventInternalFields {
  /** Per sublayer that reached a terminating decision, in sublayer evaluation order (H36). */
  readonly terminatingFiltersInfo: readonly TerminatingFilterInfo[];
}

/** FWPM_NET_EVENT_CLASSIFY_DROP2 (H35). */
export interface ClassifyDropInfo {
  /** The filter whose action became the final BLOCK; 0 when none. */
  readonly filterId: bigint;
  /** Run-time layer id (FWPS_LAYER_*). */
  readonly layerId: number;
  readonly reauthReason: number;
  readonly originalProfile: number;
  readonly currentProfile: number;
  readonly msFwpDirection: MsFwpDirection;
  readonly isLoopback: boolean;
  /** Hyper-V vSwitch id (bytes), undefined outside a vSwitch. */
  readonly vSwitchId: Uint8Array | undefined;
  readonly vSwitchSourcePort: number;
  readonly vSwitchDestinationPort: number;
  /** A callout vetoed a hard permit (C7): reported as a drop by the vetoing filter. */
  readonly vetoed: boolean;
}

/** FWPM_NET_EVENT_CLASSIFY_ALLOW0 (H35). */
export interface ClassifyAllowInfo {
  readonly filterId: bigint;
  readonly layerId: number;
  readonly reauthReason: number;
  readonly originalProfile: number;
  readonly currentProfile: number;
  readonly msFwpDirection: MsFwpDirection;
  readonly isLoopback: boolean;
}

interface NetEventBase {
  readonly header: NetEventHeader;
  /**
   * Inbound or outbound, and for inbound traffic how it was addressed: not a Windows field, but what the
   * keyword filter (H32) decides on. Outbound events have cast undefined.
   */
  readonly direction: "inbound" | "outbound";
  readonly cast: NetEventCast | undefined;
}

export interface ClassifyDropEvent extends NetEventBase {
  readonly type: "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP";
  readonly classifyDrop: ClassifyDropInfo;
  readonly internalFields: NetEventInternalFields;
}

export interface ClassifyAllowEvent extends NetEventBase {
  readonly type: "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW";
  readonly classifyAllow: ClassifyAllowInfo;
  readonly internalFields: NetEventInternalFields;
}

/** Any other type (IKEEXT, IPsec, capability, MAC drops): the body is what the raiser supplied. */
export interface OtherNetEvent extends NetEventBase {
  readonly type: Exclude<NetEventTypeName, "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP" | "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW">;
  readonly body: Readonly<Record<string, unknown>>;
}

export type NetEvent = ClassifyDropEvent | ClassifyAllowEvent | OtherNetEvent;

/** What a shim knows about the traffic of one classification (input of netEventFromClassify). */
export interface NetEventHeaderInput {
  readonly direction: "inbound" | "outbound";
  /** For inbound traffic; derived from the local address when absent (multicast / 255.255.255.255). */
  readonly cast?: NetEventCast;
  readonly ipProtocol?: number;
  readonly localAddr?: IpAddress;
  readonly remoteAddr?: IpAddress;
  readonly localPort?: number;
  readonly remotePort?: number;
  readonly scopeId?: number;
  readonly appId?: Uint8Array;
  readonly userId?: Uint8Array;
  readonly packageSid?: Uint8Array;
  readonly enterpriseId?: string;
  readonly policyFlags?: bigint;
  readonly effectiveName?: string;
  readonly reauthReason?: number;
  readonly originalProfile?: number;
  readonly currentProfile?: number;
  readonly isLoopback?: boolean;
  readonly vSwitchId?: Uint8Array;
  readonly vSwitchSourcePort?: number;
  readonly vSwitchDestinationPort?: number;
}
