/**
 * From a classification to its net event (H34–H36): a BLOCK that was not absorbed, at a layer that is not
 * a discard layer, gives one CLASSIFY_DROP naming the filter whose action became the final BLOCK (the
 * vetoing callout filter after a veto, C7); a PERMIT at an ALE authorization layer gives a CLASSIFY_ALLOW
 * naming the highest-priority sublayer's PERMIT filter (H36; observed at ALE_AUTH_CONNECT, extended to the
 * other ALE authorization layers by inference, §I H34). Whether the event is kept is the log's business
 * (keywords, H32). Both carry `internalFields.terminatingFiltersInfo`: per sublayer that reached a
 * terminating decision, its filter, sublayer and action, in evaluation order (H36).
 * Sources: https://learn.microsoft.com/windows/win32/fwp/logging,
 * https://learn.microsoft.com/windows/win32/fwp/filter-arbitration
 */
import type { ClassifyResult, Filter } from "../../engine/index.ts";
import { FWPM_NET_EVENT_FLAG, type Layer, type LayerSubFamily } from "../../fwp/index.ts";
import { filetimeFromEpochNs } from "./filetime.ts";
import type {
  ClassifyAllowEvent,
  ClassifyDropEvent,
  NetEventCast,
  NetEventHeader,
  NetEventHeaderInput,
  NetEventIpVersion,
  TerminatingFilterInfo,
} from "./types.ts";

/** ALE layers whose permits raise CLASSIFY_ALLOW (H34, inferred beyond AUTH_CONNECT). */
export const CLASSIFY_ALLOW_SUBFAMILIES: ReadonlySet<LayerSubFamily> = new Set<LayerSubFamily>([
  "auth-connect",
  "auth-recv-accept",
  "auth-listen",
  "resource-assignment",
]);

const F = FWPM_NET_EVENT_FLAG;

/**
 * The event header for traffic described by `input`, stamped `nowNs` (the injected clock's nanoseconds
 * since the Unix epoch, stored as FILETIME). `ipVersionHint` is used when no address is given.
 */
export function netEventHeader(
  input: NetEventHeaderInput,
  nowNs: bigint,
  ipVersionHint: "V4" | "V6" | null = null,
): NetEventHeader {
  let flags = 0;
  const set = <T>(v: T | undefined, bit: number): T | undefined => {
    if (v !== undefined) flags |= bit;
    return v;
  };
  const addrVersion = input.localAddr?.version ?? input.remoteAddr?.version;
  const ipVersion: NetEventIpVersion =
    addrVersion === 4 || (addrVersion === undefined && ipVersionHint === "V4")
      ? "FWP_IP_VERSION_V4"
      : addrVersion === 6 || ipVersionHint === "V6"
        ? "FWP_IP_VERSION_V6"
        : "FWP_IP_VERSION_NONE";
  if (ipVersion !== "FWP_IP_VERSION_NONE") flags |= F.FWPM_NET_EVENT_FLAG_IP_VERSION_SET;
  const header: NetEventHeader = {
    timeStamp: filetimeFromEpochNs(nowNs),
    flags: 0,
    ipVersion,
    ipProtocol: set(input.ipProtocol, F.FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET),
    localAddr: set(input.localAddr, F.FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET),
    remoteAddr: set(input.remoteAddr, F.FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET),
    localPort: set(input.localPort, F.FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET),
    remotePort: set(input.remotePort, F.FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET),
    scopeId: set(input.scopeId, F.FWPM_NET_EVENT_FLAG_SCOPE_ID_SET),
    appId: set(input.appId, F.FWPM_NET_EVENT_FLAG_APP_ID_SET),
    userId: set(input.userId, F.FWPM_NET_EVENT_FLAG_USER_ID_SET),
    packageSid: set(input.packageSid, F.FWPM_NET_EVENT_FLAG_PACKAGE_ID_SET),
    enterpriseId: set(input.enterpriseId, F.FWPM_NET_EVENT_FLAG_ENTERPRISE_ID_SET),
    policyFlags: set(input.policyFlags, F.FWPM_NET_EVENT_FLAG_POLICY_FLAGS_SET),
    effectiveName: set(input.effectiveName, F.FWPM_NET_EVENT_FLAG_EFFECTIVE_NAME_SET),
  };
  set(input.reauthReason, F.FWPM_NET_EVENT_FLAG_REAUTH_REASON_SET);
  return { ...header, flags };
}

/** How inbound traffic was addressed: as given, else from the local (destination) address. */
export function inboundCast(input: NetEventHeaderInput): NetEventCast | undefined {
  if (input.direction !== "inbound") return undefined;
  if (input.cast !== undefined) return input.cast;
  const a = input.localAddr;
  if (a === undefined) return "unicast";
  if (a.version === 4 && a.value === 0xffffffff) return "broadcast";
  return a.isMulticast() ? "multicast" : "unicast";
}

function isStatic(f: Filter): boolean {
  return f.action.type === "FWP_ACTION_BLOCK" || f.action.type === "FWP_ACTION_PERMIT";
}

/** H36: the terminating filter of each sublayer with an outcome, with the action it returned. */
export function terminatingFiltersInfo(result: ClassifyResult): TerminatingFilterInfo[] {
  const outcomes = new Map<Filter, string>();
  if (result.trace !== undefined) {
    for (const s of result.trace.sublayers) {
      if (s.terminatingFilter !== null && s.outcome !== null) outcomes.set(s.terminatingFilter, s.outcome.action);
    }
  }
  return result.terminatingFilters.map((f) => ({
    filterId: f.filterId,
    subLayer: f.sublayer.subLayerKey,
    actionType: isStatic(f)
      ? f.action.type
      : (outcomes.get(f) ?? (f === result.decidingFilter ? result.action : f.action.type)),
  }));
}

/**
 * The net event a classification raises (H34), or null when it raises none: a PERMIT outside the ALE
 * authorization layers, an absorbed BLOCK (C16), or any decision at a discard layer.
 * `nowNs` is the injected clock's reading (nanoseconds since the Unix epoch).
 */
export function netEventFromClassify(
  result: ClassifyResult,
  input: NetEventHeaderInput,
  nowNs: bigint,
): ClassifyDropEvent | ClassifyAllowEvent | null {
  const layer: Layer = result.layer;
  if (layer.isDiscard) return null;
  const direction = input.direction;
  const msFwpDirection = direction === "inbound" ? "MS_FWP_DIRECTION_IN" : "MS_FWP_DIRECTION_OUT";
  const common = {
    header: netEventHeader(input, nowNs, layer.ipVersion),
    direction,
    cast: inboundCast(input),
  } as const;
  const infos = terminatingFiltersInfo(result);
  if (result.action === "FWP_ACTION_BLOCK") {
    if (result.absorbed) return null;
    return {
      ...common,
      type: "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP",
      classifyDrop: {
        filterId: result.decidingFilter?.filterId ?? 0n,
        layerId: layer.runtimeId,
        reauthReason: input.reauthReason ?? 0,
        originalProfile: input.originalProfile ?? 0,
        currentProfile: input.currentProfile ?? 0,
        msFwpDirection,
        isLoopback: input.isLoopback ?? false,
        vSwitchId: input.vSwitchId,
        vSwitchSourcePort: input.vSwitchSourcePort ?? 0,
        vSwitchDestinationPort: input.vSwitchDestinationPort ?? 0,
        vetoed: result.vetoed,
      },
      internalFields: { terminatingFiltersInfo: infos },
    };
  }
  if (layer.family !== "ale" || !CLASSIFY_ALLOW_SUBFAMILIES.has(layer.subFamily)) return null;
  const firstPermit = infos.find((i) => i.actionType === "FWP_ACTION_PERMIT");
  return {
    ...common,
    type: "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW",
    classifyAllow: {
      filterId: firstPermit?.filterId ?? result.decidingFilter?.filterId ?? 0n,
      layerId: layer.runtimeId,
      reauthReason: input.reauthReason ?? 0,
      originalProfile: input.originalProfile ?? 0,
      currentProfile: input.currentProfile ?? 0,
      msFwpDirection,
      isLoopback: input.isLoopback ?? false,
    },
    internalFields: { terminatingFiltersInfo: infos },
  };
}
