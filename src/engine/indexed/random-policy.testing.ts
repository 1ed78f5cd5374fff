/**
 * Test support (not part of the engine): seeded random filter policies and incoming values for
 * comparing classifiers. Values come from small per-field pools so that random incoming values hit
 * filter values often; conditions cover every match type over the data types real layers carry
 * (integers, IPv4/IPv6 addresses and masks, blobs, SIDs, tokens vs security descriptors, bitmap
 * indexes, MAC addresses) plus, through FWPM_CONDITION_ALE_PACKAGE_FAMILY_NAME (a field whose data type
 * is unpublished, so any value type is accepted), strings, signed integers, floats and values of
 * another type than the incoming one (A8).
 */
import { type Guid, guidFromBytes } from "../../base/guid.ts";
import type { SeededRng } from "../../base/rng.ts";
import {
  type FwpConditionValue,
  type FwpValue,
  getLayer,
  type Layer,
  parseSid,
  securityDescriptorFromSddl,
  utf16leNulTerminated,
} from "../../fwp/index.ts";
import type { EngineOptions } from "../options.ts";
import type {
  CalloutRegistration,
  CalloutSpec,
  ClassifyOut,
  FilterActionType,
  FilterConditionSpec,
  FilterSpec,
  MatchTypeName,
  SublayerSpec,
} from "../model.ts";

type FieldKind =
  | "addr4"
  | "addr6"
  | "u8"
  | "u16"
  | "u32flags"
  | "u64"
  | "blob"
  | "appId"
  | "sid"
  | "token"
  | "bitmapIndex"
  | "mac"
  | "any";

/** The fields a random policy uses, per layer. */
const MENUS: Readonly<Record<string, readonly (readonly [string, FieldKind])[]>> = {
  FWPM_LAYER_ALE_AUTH_CONNECT_V4: [
    ["FWPM_CONDITION_ALE_APP_ID", "appId"],
    ["FWPM_CONDITION_ALE_USER_ID", "token"],
    ["FWPM_CONDITION_IP_LOCAL_ADDRESS", "addr4"],
    ["FWPM_CONDITION_IP_LOCAL_PORT", "u16"],
    ["FWPM_CONDITION_IP_PROTOCOL", "u8"],
    ["FWPM_CONDITION_IP_REMOTE_ADDRESS", "addr4"],
    ["FWPM_CONDITION_IP_REMOTE_PORT", "u16"],
    ["FWPM_CONDITION_IP_LOCAL_INTERFACE", "u64"],
    ["FWPM_CONDITION_FLAGS", "u32flags"],
    ["FWPM_CONDITION_ALE_PACKAGE_ID", "sid"],
    ["FWPM_CONDITION_BITMAP_IP_REMOTE_PORT", "bitmapIndex"],
    ["FWPM_CONDITION_ALE_PACKAGE_FAMILY_NAME", "any"],
  ],
  FWPM_LAYER_ALE_AUTH_CONNECT_V6: [
    ["FWPM_CONDITION_ALE_APP_ID", "appId"],
    ["FWPM_CONDITION_IP_LOCAL_ADDRESS", "addr6"],
    ["FWPM_CONDITION_IP_LOCAL_PORT", "u16"],
    ["FWPM_CONDITION_IP_PROTOCOL", "u8"],
    ["FWPM_CONDITION_IP_REMOTE_ADDRESS", "addr6"],
    ["FWPM_CONDITION_IP_REMOTE_PORT", "u16"],
    ["FWPM_CONDITION_INTERFACE_QUARANTINE_EPOCH", "u64"],
    ["FWPM_CONDITION_FLAGS", "u32flags"],
    ["FWPM_CONDITION_ALE_PACKAGE_FAMILY_NAME", "any"],
  ],
  FWPM_LAYER_INBOUND_TRANSPORT_V4: [
    ["FWPM_CONDITION_IP_PROTOCOL", "u8"],
    ["FWPM_CONDITION_IP_LOCAL_ADDRESS", "addr4"],
    ["FWPM_CONDITION_IP_REMOTE_ADDRESS", "addr4"],
    ["FWPM_CONDITION_IP_LOCAL_PORT", "u16"],
    ["FWPM_CONDITION_IP_REMOTE_PORT", "u16"],
    ["FWPM_CONDITION_IP_LOCAL_INTERFACE", "u64"],
    ["FWPM_CONDITION_FLAGS", "u32flags"],
    ["FWPM_CONDITION_IPSEC_SECURITY_REALM_ID", "blob"],
  ],
  FWPM_LAYER_INBOUND_MAC_FRAME_ETHERNET: [
    ["FWPM_CONDITION_MAC_LOCAL_ADDRESS", "mac"],
    ["FWPM_CONDITION_MAC_REMOTE_ADDRESS", "mac"],
    ["FWPM_CONDITION_ETHER_TYPE", "u16"],
  ],
};

/** Layers random policies are generated for. */
export const RANDOM_POLICY_LAYERS: readonly string[] = Object.keys(MENUS);

const v4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const ADDR4 = [
  v4(10, 0, 0, 1),
  v4(10, 0, 1, 7),
  v4(10, 1, 0, 1),
  v4(192, 168, 1, 10),
  v4(192, 168, 1, 200),
  0,
  0xffffffff,
];
function v6(...words: number[]): Uint8Array {
  const b = new Uint8Array(16);
  const tail = words.slice(-8);
  tail.forEach((w, i) => {
    b[2 * (8 - tail.length + i)] = w >>> 8;
    b[2 * (8 - tail.length + i) + 1] = w & 0xff;
  });
  return b;
}
const ADDR6 = [
  Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
  Uint8Array.of(0xfe, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2),
  v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
  v6(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1),
  v6(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001),
  new Uint8Array(16),
  new Uint8Array(16).fill(0xff),
];
const U8 = [0, 1, 6, 17, 58, 255];
const U16 = [0, 53, 80, 443, 8080, 65535];
const U32FLAGS = [0, 1, 0x40, 0x41, 0xc0000, 0x80000000, 0xffffffff];
const U64 = [0n, 1n, 42n, 2n ** 63n, 2n ** 64n - 1n];
const APP_PATHS = [
  "\\device\\harddiskvolume1\\program files\\google\\chrome.exe",
  "\\device\\harddiskvolume1\\windows\\system32\\svchost.exe",
  "\\device\\harddiskvolume2\\tools\\chrome.exe",
  "system",
];
const APP_SUFFIXES = ["chrome.exe", "\\chrome.exe", "svchost.exe", "e", "system"];
const BLOBS = [Uint8Array.of(1), Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3), Uint8Array.of(9, 9, 9, 9)];
const SIDS = ["S-1-0-0", "S-1-15-2-1", "S-1-15-2-2", "S-1-5-18"];
const SDDLS = [
  "D:(A;;CC;;;S-1-5-32-544)",
  "D:(A;;CC;;;S-1-5-18)",
  "D:(A;;CC;;;WD)",
  "D:(D;;CC;;;S-1-5-18)(A;;CC;;;WD)",
];
const TOKEN_SID_SETS = [["S-1-5-32-544", "S-1-1-0"], ["S-1-5-18", "S-1-1-0"], ["S-1-1-0"], []];
const MACS = [
  Uint8Array.of(0, 1, 2, 3, 4, 5),
  Uint8Array.of(0, 1, 2, 3, 4, 6),
  Uint8Array.of(255, 255, 255, 255, 255, 255),
];
const STRINGS = [
  "Microsoft.App_8wekyb3d8bbwe",
  "microsoft.app_8wekyb3d8bbwe",
  "MICROSOFT.APP_8WEKYB3D8BBWE",
  "other",
  "ıx",
  "IX",
  "a",
];
const STRING_SUFFIXES = ["8wekyb3d8bbwe", "_8WEKYB3D8BBWE", "x", "X", ""];

const SIGNED_POOLS: Readonly<Record<"FWP_INT8" | "FWP_INT16" | "FWP_INT32", readonly number[]>> = {
  FWP_INT8: [-128, -1, 0, 1, 127],
  FWP_INT16: [-32768, -5, 0, 5, 32767],
  FWP_INT32: [-2147483648, -7, 0, 7, 2147483647],
};

function token(sids: readonly string[]): FwpValue {
  return {
    type: "FWP_TOKEN_ACCESS_INFORMATION_TYPE",
    value: { sids: sids.map((s) => ({ sid: parseSid(s), attributes: 4 })), restrictedSids: [] },
  };
}

function pick<T>(rng: SeededRng, xs: readonly T[]): T {
  return rng.pick(xs);
}

/** A pool value, or a neighbour of one (±1), within [min, max]. */
function nearInt(rng: SeededRng, pool: readonly number[], min: number, max: number): number {
  const x = pick(rng, pool);
  if (!rng.chance(0.25)) return x;
  return Math.min(max, Math.max(min, x + (rng.chance(0.5) ? 1 : -1)));
}

function v4Mask(addr: number, length: number): FwpConditionValue {
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return { type: "FWP_V4_ADDR_MASK", addr, mask };
}

function prefixLength(rng: SeededRng, max: number): number {
  return rng.chance(0.5)
    ? pick(rng, max === 32 ? [0, 8, 16, 24, 31, 32] : [0, 10, 16, 32, 64, 127, 128])
    : rng.nextInt(max + 1);
}

function orderedPair<T extends FwpValue>(a: T, b: T, compare: (x: T, y: T) => number): [T, T] {
  return compare(a, b) <= 0 ? [a, b] : [b, a];
}

const numeric = (x: FwpValue, y: FwpValue): number => {
  const a = (x as { readonly value: number | bigint | string }).value;
  const b = (y as { readonly value: number | bigint | string }).value;
  return a < b ? -1 : a > b ? 1 : 0;
};
const bytewise = (x: FwpValue, y: FwpValue): number => {
  const a = (x as { readonly value: Uint8Array }).value;
  const b = (y as { readonly value: Uint8Array }).value;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
};

/** A condition (match type + value) for a sortable scalar field given a value generator. */
function sortableCondition(
  rng: SeededRng,
  gen: () => FwpValue,
  compare: (x: FwpValue, y: FwpValue) => number,
  unsigned: boolean,
): [MatchTypeName, FwpConditionValue] {
  const r = rng.nextInt(unsigned ? 12 : 9);
  switch (r) {
    case 0:
    case 1:
    case 2:
      return ["FWP_MATCH_EQUAL", gen()];
    case 3:
      return ["FWP_MATCH_NOT_EQUAL", gen()];
    case 4: {
      const [lo, hi] = orderedPair(gen(), gen(), compare);
      return ["FWP_MATCH_RANGE", { type: "FWP_RANGE_TYPE", valueLow: lo, valueHigh: hi }];
    }
    case 5:
      return ["FWP_MATCH_GREATER", gen()];
    case 6:
      return ["FWP_MATCH_LESS", gen()];
    case 7:
      return ["FWP_MATCH_GREATER_OR_EQUAL", gen()];
    case 8:
      return ["FWP_MATCH_LESS_OR_EQUAL", gen()];
    case 9:
      return ["FWP_MATCH_FLAGS_ALL_SET", gen()];
    case 10:
      return ["FWP_MATCH_FLAGS_ANY_SET", gen()];
    default:
      return ["FWP_MATCH_FLAGS_NONE_SET", gen()];
  }
}

type Gen = (rng: SeededRng) => FwpValue;

const GEN: Readonly<Record<Exclude<FieldKind, "any">, Gen>> = {
  addr4: (rng) => ({ type: "FWP_UINT32", value: nearInt(rng, ADDR4, 0, 0xffffffff) }),
  addr6: (rng) => {
    const a = pick(rng, ADDR6).slice();
    if (rng.chance(0.2)) a[15] = ((a[15] as number) + 1) & 0xff;
    return { type: "FWP_BYTE_ARRAY16_TYPE", value: a };
  },
  u8: (rng) => ({ type: "FWP_UINT8", value: nearInt(rng, U8, 0, 255) }),
  u16: (rng) => ({ type: "FWP_UINT16", value: nearInt(rng, U16, 0, 65535) }),
  u32flags: (rng) => ({ type: "FWP_UINT32", value: nearInt(rng, U32FLAGS, 0, 0xffffffff) }),
  u64: (rng) => ({ type: "FWP_UINT64", value: pick(rng, U64) }),
  blob: (rng) => ({ type: "FWP_BYTE_BLOB_TYPE", value: pick(rng, BLOBS) }),
  appId: (rng) => ({ type: "FWP_BYTE_BLOB_TYPE", value: utf16leNulTerminated(pick(rng, APP_PATHS)) }),
  sid: (rng) => ({ type: "FWP_SID", value: parseSid(pick(rng, SIDS)) }),
  token: (rng) => token(pick(rng, TOKEN_SID_SETS)),
  bitmapIndex: (rng) => ({ type: "FWP_BITMAP_INDEX_TYPE", value: nearInt(rng, [0, 1, 31, 63], 0, 63) }),
  mac: (rng) => ({ type: "FWP_BYTE_ARRAY6_TYPE", value: pick(rng, MACS) }),
};

/** Values of many types for the untyped field (incoming and condition side). */
function anyValue(rng: SeededRng): FwpValue {
  switch (rng.nextInt(9)) {
    case 0:
    case 1:
    case 2:
      return { type: "FWP_UNICODE_STRING_TYPE", value: pick(rng, STRINGS) };
    case 3: {
      const type = pick(rng, ["FWP_INT8", "FWP_INT16", "FWP_INT32"] as const);
      const pool = SIGNED_POOLS[type];
      return { type, value: pick(rng, pool) } as FwpValue;
    }
    case 4:
      return { type: "FWP_INT64", value: pick(rng, [-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n]) };
    case 5:
      return { type: "FWP_DOUBLE", value: pick(rng, [0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) };
    case 6:
      return { type: "FWP_FLOAT", value: pick(rng, [0, 0.5, -2, Number.NaN]) };
    case 7:
      return { type: "FWP_UINT16", value: pick(rng, U16) };
    default:
      return { type: "FWP_BYTE_BLOB_TYPE", value: utf16leNulTerminated(pick(rng, STRINGS)) };
  }
}

function anyCondition(rng: SeededRng): [MatchTypeName, FwpConditionValue] {
  const v = anyValue(rng);
  switch (v.type) {
    case "FWP_UNICODE_STRING_TYPE": {
      const r = rng.nextInt(6);
      if (r === 0) return ["FWP_MATCH_EQUAL_CASE_INSENSITIVE", v];
      if (r === 1) return ["FWP_MATCH_PREFIX", { type: "FWP_UNICODE_STRING_TYPE", value: pick(rng, STRING_SUFFIXES) }];
      if (r === 2)
        return ["FWP_MATCH_NOT_PREFIX", { type: "FWP_UNICODE_STRING_TYPE", value: pick(rng, STRING_SUFFIXES) }];
      return sortableCondition(
        rng,
        () => ({ type: "FWP_UNICODE_STRING_TYPE", value: pick(rng, STRINGS) }),
        numeric,
        false,
      );
    }
    case "FWP_DOUBLE":
    case "FWP_FLOAT":
      return ["FWP_MATCH_EQUAL", v];
    case "FWP_BYTE_BLOB_TYPE":
      if (rng.chance(0.5)) {
        const suffix = pick(rng, STRING_SUFFIXES);
        return [
          rng.chance(0.5) ? "FWP_MATCH_PREFIX" : "FWP_MATCH_NOT_PREFIX",
          {
            type: "FWP_BYTE_BLOB_TYPE",
            value: suffix === "" ? Uint8Array.of(0, 0) : utf16leNulTerminated(suffix),
          },
        ];
      }
      return sortableCondition(
        rng,
        () => ({ type: "FWP_BYTE_BLOB_TYPE", value: utf16leNulTerminated(pick(rng, STRINGS)) }),
        bytewise,
        false,
      );
    default: {
      const type = v.type;
      const gen = (): FwpValue => {
        let w = anyValue(rng);
        for (let i = 0; i < 20 && w.type !== type; i++) w = anyValue(rng);
        return w.type === type ? w : v;
      };
      return sortableCondition(rng, gen, numeric, type === "FWP_UINT16");
    }
  }
}

function fieldCondition(rng: SeededRng, kind: FieldKind): [MatchTypeName, FwpConditionValue] {
  if (rng.chance(0.04)) return ["FWP_MATCH_EQUAL", { type: "FWP_EMPTY" }];
  switch (kind) {
    case "addr4": {
      const r = rng.nextInt(10);
      const addr = GEN.addr4(rng) as { readonly value: number };
      if (r < 3) return ["FWP_MATCH_EQUAL", v4Mask(addr.value, prefixLength(rng, 32))];
      if (r === 3) return ["FWP_MATCH_NOT_EQUAL", v4Mask(addr.value, prefixLength(rng, 32))];
      return sortableCondition(rng, () => GEN.addr4(rng), numeric, true);
    }
    case "addr6": {
      const r = rng.nextInt(10);
      const addr = GEN.addr6(rng) as { readonly value: Uint8Array };
      if (r < 3)
        return [
          "FWP_MATCH_EQUAL",
          { type: "FWP_V6_ADDR_MASK", addr: addr.value, prefixLength: prefixLength(rng, 128) },
        ];
      if (r === 3) {
        return [
          "FWP_MATCH_NOT_EQUAL",
          { type: "FWP_V6_ADDR_MASK", addr: addr.value, prefixLength: prefixLength(rng, 128) },
        ];
      }
      return sortableCondition(rng, () => GEN.addr6(rng), bytewise, false);
    }
    case "u8":
    case "u16":
    case "u32flags":
    case "u64":
      return sortableCondition(rng, () => GEN[kind](rng), numeric, true);
    case "blob":
      return sortableCondition(rng, () => GEN.blob(rng), bytewise, false);
    case "appId": {
      const r = rng.nextInt(6);
      if (r < 3) return ["FWP_MATCH_EQUAL", GEN.appId(rng)];
      if (r === 3) return ["FWP_MATCH_NOT_EQUAL", GEN.appId(rng)];
      const suffix = utf16leNulTerminated(pick(rng, APP_SUFFIXES));
      return [r === 4 ? "FWP_MATCH_PREFIX" : "FWP_MATCH_NOT_PREFIX", { type: "FWP_BYTE_BLOB_TYPE", value: suffix }];
    }
    case "sid":
      return [rng.chance(0.6) ? "FWP_MATCH_EQUAL" : "FWP_MATCH_NOT_EQUAL", GEN.sid(rng)];
    case "token":
      return [
        "FWP_MATCH_EQUAL",
        { type: "FWP_SECURITY_DESCRIPTOR_TYPE", value: securityDescriptorFromSddl(pick(rng, SDDLS)) },
      ];
    case "bitmapIndex":
      return ["FWP_MATCH_EQUAL", GEN.bitmapIndex(rng)];
    case "mac":
      return ["FWP_MATCH_EQUAL", GEN.mac(rng)];
    case "any":
      return anyCondition(rng);
  }
}

/** A deterministic callout behaviour: what classifyFn writes, as a function of the call. */
export interface CalloutBehaviour {
  readonly calloutKey: Guid;
  /** 0 permit, 1 block (right cleared), 2 continue, 3 permit (right cleared), 4 block (right kept), 5 absorb block, 6 value-dependent. */
  readonly mode: number;
  readonly registered: boolean;
}

export interface RandomPolicy {
  readonly layer: Layer;
  readonly options: EngineOptions;
  readonly sublayers: readonly SublayerSpec[];
  readonly callouts: readonly CalloutSpec[];
  readonly behaviours: readonly CalloutBehaviour[];
  readonly filters: readonly FilterSpec[];
  /** The menu of fields: [field index, kind]. */
  readonly fields: readonly (readonly [number, FieldKind])[];
}

function randomGuid(rng: SeededRng): Guid {
  const b = rng.bytes(16);
  b[7] = ((b[7] as number) & 0x0f) | 0x40;
  return guidFromBytes(b);
}

const ACTIONS: readonly FilterActionType[] = [
  "FWP_ACTION_BLOCK",
  "FWP_ACTION_PERMIT",
  "FWP_ACTION_PERMIT",
  "FWP_ACTION_CALLOUT_TERMINATING",
  "FWP_ACTION_CALLOUT_INSPECTION",
  "FWP_ACTION_CALLOUT_UNKNOWN",
];
const CLEAR_ACTION_RIGHT = 0x8;
const PERMIT_IF_CALLOUT_UNREGISTERED = 0x40;

/** A random policy for one layer: 1–4 sublayers, 0–3 callouts, `filterCount` filters. */
export function randomPolicy(rng: SeededRng, layerName: string, filterCount: number): RandomPolicy {
  const layer = getLayer(layerName);
  const menu = (MENUS[layerName] ?? []).map(([cond, kind]): readonly [number, FieldKind] => {
    const f = layer.fields.find((x) => x.condition === cond);
    if (f === undefined) throw new Error(`${cond} is not a field of ${layerName}`);
    return [f.index, kind];
  });
  const options: EngineOptions = {
    groupNonAdjacentSameField: !rng.chance(0.2),
    emptyNoMatchForNotEqual: !rng.chance(0.2),
  };
  const sublayers: SublayerSpec[] = [];
  for (let i = rng.nextRange(1, 4); i > 0; i--) {
    sublayers.push({
      subLayerKey: randomGuid(rng),
      name: `sublayer ${i}`,
      weight: rng.chance(0.3) ? 0x100 : rng.nextInt(0x10000),
    });
  }
  const callouts: CalloutSpec[] = [];
  const behaviours: CalloutBehaviour[] = [];
  for (let i = rng.nextRange(0, 3); i > 0; i--) {
    const calloutKey = randomGuid(rng);
    callouts.push({ calloutKey, name: `callout ${i}`, applicableLayer: layerName });
    behaviours.push({ calloutKey, mode: rng.nextInt(7), registered: !rng.chance(0.2) });
  }
  const filters: FilterSpec[] = [];
  for (let i = 0; i < filterCount; i++) {
    const conditions: FilterConditionSpec[] = [];
    const n = rng.chance(0.1) ? 0 : rng.nextRange(1, 4);
    for (let k = 0; k < n; k++) {
      // Repeat the previous field now and then: same-field OR groups (A3), adjacent or not.
      const repeat = k > 0 && rng.chance(0.3) ? fieldIndexOf(conditions, layer, rng) : -1;
      const [index, kind] = menu.find(([f]) => f === repeat) ?? pick(rng, menu);
      const [matchType, conditionValue] = fieldCondition(rng, kind);
      conditions.push({
        fieldKey: (layer.fields[index] as { readonly conditionKey: Guid }).conditionKey,
        matchType,
        conditionValue,
      });
    }
    let type = pick(rng, ACTIONS);
    if (type !== "FWP_ACTION_BLOCK" && type !== "FWP_ACTION_PERMIT" && callouts.length === 0) type = "FWP_ACTION_BLOCK";
    let flags = 0;
    if (rng.chance(0.25)) flags |= CLEAR_ACTION_RIGHT;
    if ((type === "FWP_ACTION_CALLOUT_TERMINATING" || type === "FWP_ACTION_CALLOUT_UNKNOWN") && rng.chance(0.3)) {
      flags |= PERMIT_IF_CALLOUT_UNREGISTERED;
    }
    const weightKind = rng.nextInt(3);
    const weight: FwpValue =
      weightKind === 0
        ? { type: "FWP_EMPTY" }
        : weightKind === 1
          ? { type: "FWP_UINT8", value: rng.nextInt(16) }
          : { type: "FWP_UINT64", value: (BigInt(rng.nextInt(4)) << BigInt(rng.nextInt(64))) & (2n ** 64n - 1n) };
    const sublayer = rng.chance(0.1) ? undefined : pick(rng, sublayers).subLayerKey;
    filters.push({
      filterKey: randomGuid(rng),
      name: `filter ${i}`,
      layer: layerName,
      ...(sublayer === undefined ? {} : { sublayer }),
      weight,
      conditions,
      action:
        type === "FWP_ACTION_BLOCK" || type === "FWP_ACTION_PERMIT"
          ? { type }
          : { type, calloutKey: pick(rng, callouts).calloutKey },
      flags,
    });
  }
  return { layer, options, sublayers, callouts, behaviours, filters, fields: menu };
}

/** The field index of one of the conditions already chosen (for same-field groups). */
function fieldIndexOf(conditions: readonly FilterConditionSpec[], layer: Layer, rng: SeededRng): number {
  const c = pick(rng, conditions);
  return layer.fields.findIndex((f) => f.conditionKey === c.fieldKey);
}

/** Random incoming values for the policy's layer: pool values mostly, some FWP_EMPTY, some absent. */
export function randomIncoming(rng: SeededRng, policy: RandomPolicy): FwpValue[] {
  const values: FwpValue[] = [];
  for (let i = 0; i < policy.layer.fields.length; i++) values.push({ type: "FWP_EMPTY" });
  for (const [index, kind] of policy.fields) {
    if (rng.chance(0.1)) continue;
    values[index] = kind === "any" ? anyValue(rng) : GEN[kind](rng);
  }
  // Now and then a short array: missing trailing values count as FWP_EMPTY (A6).
  if (rng.chance(0.05)) values.length = rng.nextInt(values.length + 1);
  return values;
}

/** A 32-bit digest of the incoming values that value-dependent callouts branch on. */
function digest(values: readonly FwpValue[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    const x = v === undefined ? undefined : (v as { readonly value?: unknown }).value;
    const n =
      typeof x === "number"
        ? x | 0
        : typeof x === "bigint"
          ? Number(x & 0xffffn)
          : x instanceof Uint8Array
            ? (x[x.length - 1] ?? 0) + x.length
            : typeof x === "string"
              ? x.length
              : 7;
    h = Math.imul(h ^ n, 0x01000193);
  }
  return h >>> 0;
}

/** One callout invocation, as both engines must see it. */
export interface CalloutCall {
  readonly calloutKey: Guid;
  readonly filterId: bigint;
  readonly actionIn: string;
  readonly rightsIn: number;
}

/** The kernel registrations for the policy's registered callouts, logging every call into `log`. */
export function calloutRegistrations(policy: RandomPolicy, log: CalloutCall[]): CalloutRegistration[] {
  return policy.behaviours
    .filter((b) => b.registered)
    .map((b) => ({
      calloutKey: b.calloutKey,
      classifyFn: (fixed, _meta, _layerData, _ctx, filter, _flow, out: ClassifyOut) => {
        log.push({
          calloutKey: b.calloutKey,
          filterId: filter.filterId,
          actionIn: out.actionType,
          rightsIn: out.rights,
        });
        let mode = b.mode;
        if (mode === 6) mode = (digest(fixed.incomingValues) + Number(filter.filterId)) % 6;
        switch (mode) {
          case 0:
            out.actionType = "FWP_ACTION_PERMIT";
            break;
          case 1:
            out.actionType = "FWP_ACTION_BLOCK";
            out.rights &= ~1;
            break;
          case 2:
            out.actionType = "FWP_ACTION_CONTINUE";
            break;
          case 3:
            out.actionType = "FWP_ACTION_PERMIT";
            out.rights &= ~1;
            break;
          case 4:
            out.actionType = "FWP_ACTION_BLOCK";
            break;
          default:
            out.actionType = "FWP_ACTION_BLOCK";
            out.rights &= ~1;
            out.flags |= 1;
            break;
        }
      },
    }));
}
