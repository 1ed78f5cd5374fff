/**
 * From ClassifyFacts to a layer's incomingValue[]: one table maps each FWPM_CONDITION_* the stack can know
 * to the fact it comes from, and each layer's field list (generated from fields.json) picks its entries.
 * A field whose fact is absent, or that no fact feeds (IPsec realm, package family name, bitmaps), stays
 * FWP_EMPTY (A6). The per-layer pick is compiled once.
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/network/data-field-identifiers,
 * https://learn.microsoft.com/windows/win32/fwp/filtering-condition-identifiers-,
 * wfp-semantics.md F16 (ICMP type/code in the port slots), G14 (identity fields)
 */
import type { IpAddress } from "../base/index.ts";
import {
  type ConditionName,
  FWP_CONDITION_FLAG,
  FWP_CONDITION_SOCKET_PROPERTY_FLAG,
  FWP_DIRECTION,
  FWP_EMPTY_VALUE,
  type FwpValue,
  type Layer,
  NL_ADDRESS_TYPE,
} from "../fwp/index.ts";
import type { ClassifyFacts, InterfaceFacts } from "./facts.ts";

type Getter = (f: ClassifyFacts) => FwpValue | undefined;

/**
 * Values are immutable (FwpValue's members are readonly, and these are frozen), so one object per small
 * integer serves every classification: UINT8 (protocols, address types) and UINT16 (ports, ICMP type and
 * code) values are made once each, on first use, and UINT32 values below 256 (directions, interface
 * indexes and types, profile and compartment ids, most flag words).
 */
const UINT8_VALUES: (FwpValue | undefined)[] = new Array(256).fill(undefined);
const UINT16_VALUES: (FwpValue | undefined)[] = new Array(65536).fill(undefined);
const UINT32_SMALL_VALUES: (FwpValue | undefined)[] = new Array(256).fill(undefined);

/** The shared FWP_UINT8 value of `n & 0xff`. */
export function uint8Value(n: number): FwpValue {
  const v = n & 0xff;
  return (UINT8_VALUES[v] ??= Object.freeze<FwpValue>({ type: "FWP_UINT8", value: v }));
}

/** The shared FWP_UINT16 value of `n & 0xffff`. */
export function uint16Value(n: number): FwpValue {
  const v = n & 0xffff;
  return (UINT16_VALUES[v] ??= Object.freeze<FwpValue>({ type: "FWP_UINT16", value: v }));
}

/** An FWP_UINT32 value of `n >>> 0` (shared below 256). */
export function uint32Value(n: number): FwpValue {
  const v = n >>> 0;
  if (v >= 256) return { type: "FWP_UINT32", value: v };
  return (UINT32_SMALL_VALUES[v] ??= Object.freeze<FwpValue>({ type: "FWP_UINT32", value: v }));
}

const u8 = (n: number | undefined): FwpValue | undefined => (n === undefined ? undefined : uint8Value(n));
const u16 = (n: number | undefined): FwpValue | undefined => (n === undefined ? undefined : uint16Value(n));
const u32 = (n: number | undefined): FwpValue | undefined => (n === undefined ? undefined : uint32Value(n));
const u64 = (n: bigint | undefined): FwpValue | undefined =>
  n === undefined ? undefined : { type: "FWP_UINT64", value: BigInt.asUintN(64, n) };
const blob = (b: Uint8Array | undefined): FwpValue | undefined =>
  b === undefined ? undefined : { type: "FWP_BYTE_BLOB_TYPE", value: b };

/** An address as the layer's family carries it: UINT32 (host order) for V4, BYTE_ARRAY16 for V6. */
function address(a: IpAddress | undefined): FwpValue | undefined {
  if (a === undefined) return undefined;
  return a.version === 4
    ? { type: "FWP_UINT32", value: a.value >>> 0 }
    : { type: "FWP_BYTE_ARRAY16_TYPE", value: a.bytes };
}

/**
 * NL_ADDRESS_TYPE of an address as the stack classifies it without interface knowledge: unspecified,
 * multicast, limited broadcast, else unicast. A subnet-directed broadcast needs the interface prefix; the
 * stack passes `localAddressType` / `destinationAddressType` for it.
 */
export function addressTypeOf(a: IpAddress): number {
  if (a.isUnspecified()) return NL_ADDRESS_TYPE.NlatUnspecified;
  if (a.isMulticast()) return NL_ADDRESS_TYPE.NlatMulticast;
  if (a.version === 4 && a.value >>> 0 === 0xffffffff) return NL_ADDRESS_TYPE.NlatBroadcast;
  return NL_ADDRESS_TYPE.NlatUnicast;
}

const localType: Getter = (f) =>
  u8(f.localAddressType ?? (f.localAddress === undefined ? undefined : addressTypeOf(f.localAddress)));

const destinationType: Getter = (f) => {
  if (f.destinationAddressType !== undefined) return u8(f.destinationAddressType);
  const dst = f.destinationAddress ?? (f.direction === "inbound" ? f.localAddress : f.remoteAddress);
  return dst === undefined ? undefined : u8(addressTypeOf(dst));
};

const IS_LOOPBACK = FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK;
const APPCONTAINER_LOOPBACK = FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_APPCONTAINER_LOOPBACK;
const NON_APPCONTAINER_LOOPBACK = FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_NON_APPCONTAINER_LOOPBACK;

/** The null SID (S-1-0-0): the package id of a desktop (non-AppContainer) process. */
function isNullSid(sid: Uint8Array): boolean {
  return sid.length === 12 && sid[1] === 1 && sid.every((b, i) => i === 0 || i === 1 || b === 0);
}

/**
 * FLAGS as the facts give them, plus the loopback kind where a process is known (the ALE layers): loopback
 * traffic of a desktop app carries IS_NON_APPCONTAINER_LOOPBACK, of an AppContainer app
 * IS_APPCONTAINER_LOOPBACK (F14, W-FLAGS; a real dump's loopback permits test them).
 */
export function conditionFlags(f: ClassifyFacts): number {
  const flags = f.flags ?? 0;
  if ((flags & IS_LOOPBACK) === 0 || f.process === undefined) return flags;
  if ((flags & (APPCONTAINER_LOOPBACK | NON_APPCONTAINER_LOOPBACK)) !== 0) return flags;
  return (flags | (isNullSid(f.process.packageSid) ? NON_APPCONTAINER_LOOPBACK : APPCONTAINER_LOOPBACK)) >>> 0;
}

const ifIndex = (i: InterfaceFacts | undefined): FwpValue | undefined => u32(i?.index);
const ifLuid = (i: InterfaceFacts | undefined): FwpValue | undefined => u64(i?.luid);
const ifType = (i: InterfaceFacts | undefined): FwpValue | undefined => u32(i?.type);
const ifTunnel = (i: InterfaceFacts | undefined): FwpValue | undefined => u32(i?.tunnelType);
const ifSub = (i: InterfaceFacts | undefined): FwpValue | undefined => u32(i?.subInterfaceIndex);
const ifProfile = (i: InterfaceFacts | undefined): FwpValue | undefined => u32(i?.profileId);

/** FWPM_CONDITION_* → the fact that feeds it. Conditions not listed stay FWP_EMPTY. */
const GETTERS: Partial<Record<ConditionName, Getter>> = {
  FWPM_CONDITION_IP_PROTOCOL: (f) => u8(f.protocol),
  FWPM_CONDITION_IP_LOCAL_ADDRESS: (f) => address(f.localAddress),
  FWPM_CONDITION_IP_REMOTE_ADDRESS: (f) => address(f.remoteAddress),
  FWPM_CONDITION_IP_LOCAL_ADDRESS_TYPE: localType,
  FWPM_CONDITION_IP_DESTINATION_ADDRESS_TYPE: destinationType,
  FWPM_CONDITION_IP_SOURCE_ADDRESS: (f) => address(f.sourceAddress),
  FWPM_CONDITION_IP_DESTINATION_ADDRESS: (f) => address(f.destinationAddress),
  FWPM_CONDITION_IP_LOCAL_PORT: (f) => u16(f.localPort),
  FWPM_CONDITION_IP_REMOTE_PORT: (f) => u16(f.remotePort),
  FWPM_CONDITION_DIRECTION: (f) =>
    f.direction === undefined
      ? undefined
      : u32(f.direction === "inbound" ? FWP_DIRECTION.FWP_DIRECTION_INBOUND : FWP_DIRECTION.FWP_DIRECTION_OUTBOUND),
  FWPM_CONDITION_FLAGS: (f) => u32(conditionFlags(f)),
  FWPM_CONDITION_COMPARTMENT_ID: (f) => u32(f.compartmentId ?? 1),
  // The local interface.
  FWPM_CONDITION_IP_LOCAL_INTERFACE: (f) => ifLuid(f.iface),
  FWPM_CONDITION_INTERFACE_INDEX: (f) => ifIndex(f.iface),
  FWPM_CONDITION_SUB_INTERFACE_INDEX: (f) => ifSub(f.iface),
  FWPM_CONDITION_INTERFACE_TYPE: (f) => ifType(f.iface),
  FWPM_CONDITION_TUNNEL_TYPE: (f) => ifTunnel(f.iface),
  FWPM_CONDITION_CURRENT_PROFILE_ID: (f) => ifProfile(f.iface),
  FWPM_CONDITION_LOCAL_INTERFACE_PROFILE_ID: (f) => ifProfile(f.iface),
  FWPM_CONDITION_ORIGINAL_PROFILE_ID: (f) => ifProfile(f.iface),
  FWPM_CONDITION_INTERFACE_QUARANTINE_EPOCH: (f) =>
    f.iface === undefined ? undefined : u64(f.iface.quarantineEpoch ?? 0n),
  // The arrival interface (IPFORWARD: source interface).
  FWPM_CONDITION_IP_ARRIVAL_INTERFACE: (f) => ifLuid(f.arrivalInterface),
  FWPM_CONDITION_ARRIVAL_INTERFACE_INDEX: (f) => ifIndex(f.arrivalInterface),
  FWPM_CONDITION_ARRIVAL_INTERFACE_TYPE: (f) => ifType(f.arrivalInterface),
  FWPM_CONDITION_ARRIVAL_TUNNEL_TYPE: (f) => ifTunnel(f.arrivalInterface),
  FWPM_CONDITION_ARRIVAL_INTERFACE_PROFILE_ID: (f) => ifProfile(f.arrivalInterface),
  FWPM_CONDITION_IP_PHYSICAL_ARRIVAL_INTERFACE: (f) => ifLuid(f.arrivalInterface),
  FWPM_CONDITION_SOURCE_INTERFACE_INDEX: (f) => ifIndex(f.arrivalInterface),
  FWPM_CONDITION_SOURCE_SUB_INTERFACE_INDEX: (f) => ifSub(f.arrivalInterface),
  // The next-hop interface (IPFORWARD: destination interface).
  FWPM_CONDITION_IP_NEXTHOP_INTERFACE: (f) => ifLuid(f.nextHopInterface),
  FWPM_CONDITION_NEXTHOP_INTERFACE_INDEX: (f) => ifIndex(f.nextHopInterface),
  FWPM_CONDITION_NEXTHOP_SUB_INTERFACE_INDEX: (f) => ifSub(f.nextHopInterface),
  FWPM_CONDITION_NEXTHOP_INTERFACE_TYPE: (f) => ifType(f.nextHopInterface),
  FWPM_CONDITION_NEXTHOP_TUNNEL_TYPE: (f) => ifTunnel(f.nextHopInterface),
  FWPM_CONDITION_NEXTHOP_INTERFACE_PROFILE_ID: (f) => ifProfile(f.nextHopInterface),
  FWPM_CONDITION_IP_PHYSICAL_NEXTHOP_INTERFACE: (f) => ifLuid(f.nextHopInterface),
  FWPM_CONDITION_IP_FORWARD_INTERFACE: (f) => ifLuid(f.nextHopInterface),
  FWPM_CONDITION_DESTINATION_INTERFACE_INDEX: (f) => ifIndex(f.nextHopInterface),
  FWPM_CONDITION_DESTINATION_SUB_INTERFACE_INDEX: (f) => ifSub(f.nextHopInterface),
  // ALE identity (G14).
  FWPM_CONDITION_ALE_APP_ID: (f) => blob(f.process?.appId),
  FWPM_CONDITION_ALE_USER_ID: (f) =>
    f.process === undefined ? undefined : { type: "FWP_TOKEN_ACCESS_INFORMATION_TYPE", value: f.process.token },
  FWPM_CONDITION_ALE_PACKAGE_ID: (f) =>
    f.process === undefined ? undefined : { type: "FWP_SID", value: f.process.packageSid },
  FWPM_CONDITION_ALE_ORIGINAL_APP_ID: (f) => blob(f.originalAppId),
  FWPM_CONDITION_ALE_PROMISCUOUS_MODE: (f) => u32(f.promiscuousMode),
  // Every socket has its property bits, 0 unless set (Windows Firewall's ordinary rules require
  // FLAGS_NONE_SET ALLOW_EDGE_TRAFFIC: were the field empty for ordinary sockets, none of them would match).
  FWPM_CONDITION_ALE_SIO_FIREWALL_SYSTEM_PORT: (f) => u32(f.socketProperties ?? 0),
  FWPM_CONDITION_ALE_SIO_FIREWALL_SOCKET_PROPERTY: (f) => u32(f.socketProperties ?? 0),
  FWPM_CONDITION_REAUTHORIZE_REASON: (f) => u32(f.reauthorizeReason ?? 0),
  FWPM_CONDITION_ORIGINAL_ICMP_TYPE: (f) => u16(f.originalIcmpType),
  // ICMP errors.
  FWPM_CONDITION_ICMP_TYPE: (f) => u16(f.icmpType),
  FWPM_CONDITION_ICMP_CODE: (f) => u16(f.icmpCode),
  FWPM_CONDITION_EMBEDDED_PROTOCOL: (f) => u8(f.embedded?.protocol),
  FWPM_CONDITION_EMBEDDED_LOCAL_ADDRESS_TYPE: (f) =>
    f.embedded === undefined ? undefined : u8(addressTypeOf(f.embedded.localAddress)),
  FWPM_CONDITION_EMBEDDED_REMOTE_ADDRESS: (f) => address(f.embedded?.remoteAddress),
  FWPM_CONDITION_EMBEDDED_LOCAL_PORT: (f) => u16(f.embedded?.localPort),
  FWPM_CONDITION_EMBEDDED_REMOTE_PORT: (f) => u16(f.embedded?.remotePort),
};

/**
 * The compiled pick of one layer: for each field the facts can feed, its index and getter. A writer may be
 * restricted to some fields (`incomingValueWriter`): the others stay FWP_EMPTY.
 */
export interface IncomingValueWriter {
  readonly size: number;
  readonly indexes: readonly number[];
  readonly getters: readonly Getter[];
}

const WRITERS = new Map<number, IncomingValueWriter>();

function writerOf(layer: Layer): IncomingValueWriter {
  let w = WRITERS.get(layer.runtimeId);
  if (w === undefined) {
    const indexes: number[] = [];
    const getters: Getter[] = [];
    for (const field of layer.fields) {
      // ICMP_TYPE / ICMP_CODE share their GUIDs with IP_LOCAL_PORT / IP_REMOTE_PORT (F16); the field
      // names the condition a layer documents, and the getter follows the layer's family.
      const g = GETTERS[field.condition];
      if (g === undefined) continue;
      indexes.push(field.index);
      getters.push(g);
    }
    w = { size: layer.fields.length, indexes, getters };
    WRITERS.set(layer.runtimeId, w);
  }
  return w;
}

/**
 * The writer of `layer`'s incoming values: every field the facts can feed, or, given `fieldIndexes`, only
 * those of them (a field no condition reads cannot change a static filter's result, so the shim feeds
 * only what a layer's filters read when no callout sees the values).
 */
export function incomingValueWriter(layer: Layer, fieldIndexes?: ReadonlySet<number>): IncomingValueWriter {
  const all = writerOf(layer);
  if (fieldIndexes === undefined) return all;
  const indexes: number[] = [];
  const getters: Getter[] = [];
  for (let i = 0; i < all.indexes.length; i++) {
    const index = all.indexes[i] as number;
    if (!fieldIndexes.has(index)) continue;
    indexes.push(index);
    getters.push(all.getters[i] as Getter);
  }
  return { size: all.size, indexes, getters };
}

/**
 * Writes the writer's fields of `facts` into `out` (FWP_EMPTY where a fact is absent) and returns it; the
 * other entries of `out` are left as they are (a reused array keeps FWP_EMPTY there).
 */
export function writeIncomingValues(w: IncomingValueWriter, facts: ClassifyFacts, out: FwpValue[]): FwpValue[] {
  const indexes = w.indexes;
  const getters = w.getters;
  for (let i = 0; i < indexes.length; i++) {
    out[indexes[i] as number] = (getters[i] as Getter)(facts) ?? FWP_EMPTY_VALUE;
  }
  return out;
}

/** incomingValue[] of `layer` for `facts`: every field the facts can feed, FWP_EMPTY elsewhere. */
export function incomingValuesFor(layer: Layer, facts: ClassifyFacts): FwpValue[] {
  const w = writerOf(layer);
  return writeIncomingValues(w, facts, new Array<FwpValue>(w.size).fill(FWP_EMPTY_VALUE));
}

/** The conditions this module can feed (for docs and tests). */
export function knownConditions(): readonly ConditionName[] {
  return Object.keys(GETTERS) as ConditionName[];
}

const SOCKET_PROPERTY_PREFIX = "FWP_CONDITION_SOCKET_PROPERTY_FLAG_";

/** The short names of the FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits (IS_SYSTEM_PORT_RPC, ALLOW_EDGE_TRAFFIC, ...). */
export const SOCKET_PROPERTY_NAMES: readonly string[] = Object.keys(FWP_CONDITION_SOCKET_PROPERTY_FLAG).map((k) =>
  k.slice(SOCKET_PROPERTY_PREFIX.length),
);

/** The bit of a FWP_CONDITION_SOCKET_PROPERTY_FLAG_* name, with or without the prefix; undefined if unknown. */
export function socketPropertyBit(name: string): number | undefined {
  const full = name.startsWith(SOCKET_PROPERTY_PREFIX) ? name : `${SOCKET_PROPERTY_PREFIX}${name}`;
  return (FWP_CONDITION_SOCKET_PROPERTY_FLAG as Readonly<Record<string, number>>)[full];
}
