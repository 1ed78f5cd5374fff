/**
 * Filter weights (wfp-semantics.md §B.1) and built-in sublayer weights (§B.2).
 *
 * B1: FWP_UINT64 is the effective weight verbatim; FWP_EMPTY gets an automatic weight in [0, 2^60);
 * FWP_UINT8 n (0..15) gives `(n << 60) | auto`. The automatic-weight algorithm is not published (B4);
 * `defaultAutoWeight` is our model with the five observed properties:
 *  1. the top four bits are never touched (auto < 2^60), so `effective >> 60 == n` for UINT8 n;
 *  2. no conditions → 0;
 *  3. monotonic: every condition adds a non-negative contribution (saturating at 2^60 − 1), so a
 *     strict superset of conditions never weighs less (negative match types add 0, like the observed
 *     `ALE_PACKAGE_ID != S-1-0-0`);
 *  4. a field's contribution lands in a 4-bit slot chosen by the field's index at the layer (lower
 *     index = higher slot; fields.json lists the most specific fields first), so the same condition
 *     weighs differently at layers that place the field differently;
 *  5. deterministic: a pure function of (layer, conditions).
 * A contribution is the condition's specificity 0..15: EQUAL 15, EQUAL_CASE_INSENSITIVE 14, security
 * descriptor 12, suffix 10, masks and ranges 1 + 14 × (1 − log2(width)/bits), inequalities 4, flags
 * 1–3, EQUAL FWP_EMPTY 1, NOT_EQUAL / NOT_PREFIX 0.
 * Sources: https://learn.microsoft.com/windows/win32/fwp/filter-weight-assignment,
 * https://learn.microsoft.com/windows/win32/fwp/filter-weight-identifiers
 */
import type { BuiltinSublayerName, FwpConditionValue, FwpValue, Layer } from "../fwp/index.ts";
import type { AutoWeightCondition } from "./options.ts";

/** FWPM_AUTO_WEIGHT_BITS. */
export const AUTO_WEIGHT_BITS = 60n;
/** FWPM_AUTO_WEIGHT_MAX = 2^60 − 1. */
export const AUTO_WEIGHT_MAX = (1n << AUTO_WEIGHT_BITS) - 1n;
/** FWPM_WEIGHT_RANGE_MAX. */
export const WEIGHT_RANGE_MAX = 15;

const SLOT_BITS = 4;
const SLOTS = 14;

const TYPE_BITS: Readonly<Record<string, number>> = {
  FWP_UINT8: 8,
  FWP_UINT16: 16,
  FWP_UINT32: 32,
  FWP_UINT64: 64,
  FWP_INT8: 8,
  FWP_INT16: 16,
  FWP_INT32: 32,
  FWP_INT64: 64,
};

function log2Ceil(width: bigint): number {
  return width <= 1n ? 0 : (width - 1n).toString(2).length;
}

/** Specificity of a width-`width` set out of 2^bits values: 15 for one value, 1 for all. */
function widthSpecificity(width: bigint, bits: number): number {
  return 1 + Math.round(14 * (1 - Math.min(log2Ceil(width), bits) / bits));
}

function numeric(v: FwpValue): bigint | undefined {
  if (v.type === "FWP_EMPTY" || !("value" in v)) return undefined;
  const x = v.value;
  return typeof x === "number" && Number.isInteger(x) ? BigInt(x) : typeof x === "bigint" ? x : undefined;
}

function specificity(matchType: string, value: FwpConditionValue): number {
  switch (matchType) {
    case "FWP_MATCH_EQUAL":
      switch (value.type) {
        case "FWP_EMPTY":
          return 1;
        case "FWP_V4_ADDR_MASK": {
          let prefix = 0;
          for (let m = value.mask >>> 0; m !== 0; m = (m << 1) >>> 0) prefix++;
          return widthSpecificity(1n << BigInt(32 - prefix), 32);
        }
        case "FWP_V6_ADDR_MASK":
          return widthSpecificity(1n << BigInt(128 - value.prefixLength), 128);
        case "FWP_SECURITY_DESCRIPTOR_TYPE":
          return 12;
        default:
          return 15;
      }
    case "FWP_MATCH_EQUAL_CASE_INSENSITIVE":
      return 14;
    case "FWP_MATCH_PREFIX":
      return 10;
    case "FWP_MATCH_RANGE": {
      if (value.type !== "FWP_RANGE_TYPE") return 8;
      const lo = numeric(value.valueLow);
      const hi = numeric(value.valueHigh);
      const bits = TYPE_BITS[value.valueLow.type];
      return lo === undefined || hi === undefined || bits === undefined ? 8 : widthSpecificity(hi - lo + 1n, bits);
    }
    case "FWP_MATCH_GREATER":
    case "FWP_MATCH_LESS":
    case "FWP_MATCH_GREATER_OR_EQUAL":
    case "FWP_MATCH_LESS_OR_EQUAL":
      return 4;
    case "FWP_MATCH_FLAGS_ALL_SET":
      return 3;
    case "FWP_MATCH_FLAGS_ANY_SET":
      return 2;
    case "FWP_MATCH_FLAGS_NONE_SET":
      return 1;
    default:
      return 0;
  }
}

/** The default automatic weight (B4 model, see the file comment). */
/** `BigInt(specificity) << BigInt(slot * SLOT_BITS)` for every slot and specificity (no BigInt made per add). */
const SHIFTED: readonly (readonly bigint[])[] = Array.from({ length: SLOTS + 1 }, (_, slot) =>
  Array.from({ length: 16 }, (_, spec) => BigInt(spec) << BigInt(slot * SLOT_BITS)),
);

export function defaultAutoWeight(_layer: Layer, conditions: readonly AutoWeightCondition[]): bigint {
  let total = 0n;
  for (const c of conditions) {
    const slot = SLOTS - Math.min(c.fieldIndex, SLOTS - 1);
    const spec = specificity(c.matchType, c.value);
    total += SHIFTED[slot]?.[spec] ?? BigInt(spec) << BigInt(slot * SLOT_BITS);
  }
  return total > AUTO_WEIGHT_MAX ? AUTO_WEIGHT_MAX : total;
}

/** B1: the effective weight from a validated input weight and the automatic part. */
export function effectiveWeightOf(weight: FwpValue, autoPart: bigint): bigint {
  switch (weight.type) {
    case "FWP_UINT64":
      return weight.value;
    case "FWP_UINT8":
      return (BigInt(weight.value) << AUTO_WEIGHT_BITS) | autoPart;
    default:
      return autoPart;
  }
}

/**
 * B7: built-in sublayer weights observed on one Windows build (netsh wfp show state). The six MPSSVC
 * sublayers were not in that dump; their weights (WF 2, WSH 3, QUARANTINE 4, EDP 5, TENANT_RESTRICTIONS 6,
 * APP_ISOLATION 7) are the ones a Windows 10/11 `netsh wfp show state` dump shows
 * (fixtures/wfp-state/keploy__wfpstate.xml). Replace them with `EngineOptions.builtinSublayerWeights`.
 */
export const BUILTIN_SUBLAYER_WEIGHTS: Readonly<
  Record<Exclude<BuiltinSublayerName, "FWPM_SUBLAYER_EDGE_TRAVERSAL">, number>
> = {
  FWPM_SUBLAYER_INSPECTION: 0x0000,
  FWPM_SUBLAYER_TEREDO: 0x0001,
  FWPM_SUBLAYER_TCP_CHIMNEY_OFFLOAD: 0x2000,
  FWPM_SUBLAYER_TCP_TEMPLATES: 0x2200,
  FWPM_SUBLAYER_IPSEC_SECURITY_REALM: 0x3000,
  FWPM_SUBLAYER_SECURE_SOCKET: 0x4000,
  FWPM_SUBLAYER_LIPS: 0x7fff,
  FWPM_SUBLAYER_UNIVERSAL: 0x8000,
  FWPM_SUBLAYER_IPSEC_DOSP: 0x8800,
  FWPM_SUBLAYER_IPSEC_FORWARD_OUTBOUND_TUNNEL: 0x9000,
  FWPM_SUBLAYER_IPSEC_TUNNEL: 0xa000,
  FWPM_SUBLAYER_RPC_AUDIT: 0xc000,
  FWPM_SUBLAYER_MPSSVC_WSH: 0x0003,
  FWPM_SUBLAYER_MPSSVC_QUARANTINE: 0x0004,
  FWPM_SUBLAYER_MPSSVC_APP_ISOLATION: 0x0007,
  FWPM_SUBLAYER_MPSSVC_TENANT_RESTRICTIONS: 0x0006,
  FWPM_SUBLAYER_MPSSVC_EDP: 0x0005,
  FWPM_SUBLAYER_MPSSVC_WF: 0x0002,
};

/** The default sublayer of every layer for subLayerKey GUID_NULL (B6, observed). */
export const DEFAULT_SUBLAYER_NAME: BuiltinSublayerName = "FWPM_SUBLAYER_UNIVERSAL";
