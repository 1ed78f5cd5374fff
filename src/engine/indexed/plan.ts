/**
 * How one filter condition can be indexed, and what that is expected to cost. An index proposes the
 * filters whose chosen condition group *may* match; `filterMatches` (match.ts) decides. So a key here
 * must be equal for every incoming value that matches the condition (no misses); extra candidates are
 * only wasted work. The rules follow match.ts and wfp-semantics.md §A.3:
 *
 * - EQUAL on integers up to 32 bits → exact key `value >>> 0` (U32 probe);
 * - EQUAL on byte strings (blob, BYTE_ARRAY16/6, SID, bitmap) → FNV hash of the bytes (BYTES probe);
 * - EQUAL on UINT64/INT64, FLOAT/DOUBLE, UNICODE_STRING → the primitive itself as a Map key (MAP probe;
 *   SameValueZero also equates NaN with NaN, as match.ts does);
 * - EQUAL on FWP_V4_ADDR_MASK → (prefix length, masked address) (V4 probe), FWP_V6_ADDR_MASK → (prefix
 *   length, hash of the prefix bits) (V6 probe);
 * - EQUAL on FWP_EMPTY → matches only an EMPTY incoming value (EMPTY probe: nothing but its empty list);
 * - RANGE, GREATER(_OR_EQUAL), LESS(_OR_EQUAL) on sortable types → a closed interval (INTERVAL probe);
 *   strict comparisons are indexed as their closed superset.
 * Everything else — NOT_EQUAL, FLAGS_*, EQUAL_CASE_INSENSITIVE (upper-casing the incoming string would
 * allocate), PREFIX / NOT_PREFIX (suffix tests, §A.3), security descriptors and tokens — cannot name
 * its candidates, and a group holding such a condition is not indexable.
 *
 * A6 (EMPTY incoming values) is handled per group: a group with a condition whose `onEmpty` is true is
 * also listed under its probes' "empty" lists, read when the incoming value is FWP_EMPTY or missing.
 * A8: an incoming value of another type than the condition's never matches, so each probe serves one
 * incoming type and is skipped for any other.
 */
import type { FwpConditionValue, FwpValue } from "../../fwp/index.ts";
import type { FilterCondition } from "../model.ts";
import { hashBytes, hashV6Prefix } from "./hash.ts";

export const PROBE_U32 = 0;
export const PROBE_BYTES = 1;
export const PROBE_MAP = 2;
export const PROBE_V4 = 3;
export const PROBE_V6 = 4;
export const PROBE_INTERVAL = 5;
export const PROBE_EMPTY = 6;
export type ProbeKind = 0 | 1 | 2 | 3 | 4 | 5 | 6;

const EQUAL = 0;
const GREATER = 1;
const LESS = 2;
const GREATER_OR_EQUAL = 3;
const LESS_OR_EQUAL = 4;
const RANGE = 5;

/** What a key of an interval is: compared with < / > (numbers, bigints, strings) or by bytes (§A11). */
export type IntervalKey = number | bigint | string | Uint8Array;

/** One condition's entry in one probe. */
export interface ConditionKey {
  readonly field: number;
  readonly kind: ProbeKind;
  /** The incoming value type this probe serves (FWP_EMPTY for the EMPTY probe). */
  readonly type: string;
  /** U32/BYTES/V4/V6: unsigned 32-bit key; MAP: the primitive; INTERVAL and EMPTY: unused. */
  readonly key: unknown;
  /** V4/V6: prefix length. */
  readonly length: number;
  /** INTERVAL: bounds (undefined = unbounded). */
  readonly low: IntervalKey | undefined;
  readonly high: IntervalKey | undefined;
  /** Expected fraction of the key space that hits this entry (0..1), for choosing a group. */
  readonly coverage: number;
  /** V4/V6: the address's first 16 bits (meaningful when length ≥ 16), else 0. */
  readonly top16: number;
}

const U32_TYPES: ReadonlySet<string> = new Set([
  "FWP_UINT8",
  "FWP_UINT16",
  "FWP_UINT32",
  "FWP_INT8",
  "FWP_INT16",
  "FWP_INT32",
  "FWP_BITMAP_INDEX_TYPE",
]);
const BYTES_TYPES: ReadonlySet<string> = new Set([
  "FWP_BYTE_BLOB_TYPE",
  "FWP_BYTE_ARRAY16_TYPE",
  "FWP_BYTE_ARRAY6_TYPE",
  "FWP_SID",
  "FWP_BITMAP_ARRAY64_TYPE",
]);
const MAP_TYPES: ReadonlySet<string> = new Set([
  "FWP_UINT64",
  "FWP_INT64",
  "FWP_FLOAT",
  "FWP_DOUBLE",
  "FWP_UNICODE_STRING_TYPE",
]);
/** Sortable types (§A.3) an interval probe supports, with the size of their key space (bits). */
const ORDERED_BITS: ReadonlyMap<string, number> = new Map([
  ["FWP_UINT8", 8],
  ["FWP_UINT16", 16],
  ["FWP_UINT32", 32],
  ["FWP_INT8", 8],
  ["FWP_INT16", 16],
  ["FWP_INT32", 32],
  ["FWP_UINT64", 64],
  ["FWP_INT64", 64],
  ["FWP_BYTE_ARRAY16_TYPE", 128],
  ["FWP_BYTE_BLOB_TYPE", 0],
  ["FWP_UNICODE_STRING_TYPE", 0],
]);

function entry(
  field: number,
  kind: ProbeKind,
  type: string,
  key: unknown,
  length: number,
  coverage: number,
  low?: IntervalKey,
  high?: IntervalKey,
  top16 = 0,
): ConditionKey {
  return { field, kind, type, key, length, low, high, coverage, top16 };
}

function payloadOf(v: FwpValue): unknown {
  return (v as { readonly value?: unknown }).value;
}

/** Fraction of a `bits`-bit key space an interval covers (a rough guess where the type is unbounded). */
function intervalCoverage(type: string, low: IntervalKey | undefined, high: IntervalKey | undefined): number {
  const bits = ORDERED_BITS.get(type) ?? 0;
  if (bits > 0 && bits <= 32) {
    const min = type.startsWith("FWP_INT") ? -(2 ** (bits - 1)) : 0;
    const max = min + 2 ** bits - 1;
    const lo = typeof low === "number" ? low : min;
    const hi = typeof high === "number" ? high : max;
    return Math.max(hi - lo + 1, 1) / 2 ** bits;
  }
  if (bits === 64) {
    const span = 2n ** 64n;
    const min = type === "FWP_INT64" ? -(2n ** 63n) : 0n;
    const lo = typeof low === "bigint" ? low : min;
    const hi = typeof high === "bigint" ? high : min + span - 1n;
    return Math.max(Number(hi - lo + 1n) / 2 ** 64, 2 ** -64);
  }
  if (low === undefined || high === undefined) return 0.5;
  return 0.05;
}

/** The index entry for one condition, or undefined when the condition cannot be indexed. */
export function conditionKey(c: FilterCondition): ConditionKey | undefined {
  const cv: FwpConditionValue = c.value;
  const field = c.fieldIndex;
  switch (c.matchCode) {
    case EQUAL: {
      switch (cv.type) {
        case "FWP_EMPTY":
          return entry(field, PROBE_EMPTY, "FWP_EMPTY", undefined, 0, 0);
        case "FWP_V4_ADDR_MASK": {
          const mask = cv.mask >>> 0;
          let length = 0;
          for (let m = mask; m & 0x80000000; m = (m << 1) >>> 0) length++;
          const key = (cv.addr & mask) >>> 0;
          return entry(field, PROBE_V4, "FWP_UINT32", key, length, 2 ** -length, undefined, undefined, key >>> 16);
        }
        case "FWP_V6_ADDR_MASK":
          return entry(
            field,
            PROBE_V6,
            "FWP_BYTE_ARRAY16_TYPE",
            hashV6Prefix(cv.addr, cv.prefixLength),
            cv.prefixLength,
            2 ** -cv.prefixLength,
            undefined,
            undefined,
            (((cv.addr[0] as number) << 8) | (cv.addr[1] as number)) >>> 0,
          );
        default:
          break;
      }
      if (U32_TYPES.has(cv.type)) {
        const bits = ORDERED_BITS.get(cv.type) ?? 6;
        return entry(field, PROBE_U32, cv.type, (payloadOf(cv as FwpValue) as number) >>> 0, 0, 2 ** -bits);
      }
      if (BYTES_TYPES.has(cv.type)) {
        return entry(field, PROBE_BYTES, cv.type, hashBytes(payloadOf(cv as FwpValue) as Uint8Array), 0, 2 ** -32);
      }
      if (MAP_TYPES.has(cv.type)) return entry(field, PROBE_MAP, cv.type, payloadOf(cv as FwpValue), 0, 2 ** -32);
      return undefined;
    }
    case GREATER:
    case GREATER_OR_EQUAL:
    case LESS:
    case LESS_OR_EQUAL: {
      if (cv.type === "FWP_RANGE_TYPE" || !ORDERED_BITS.has(cv.type)) return undefined;
      const bound = payloadOf(cv as FwpValue) as IntervalKey;
      const upward = c.matchCode === GREATER || c.matchCode === GREATER_OR_EQUAL;
      const low = upward ? bound : undefined;
      const high = upward ? undefined : bound;
      return entry(field, PROBE_INTERVAL, cv.type, undefined, 0, intervalCoverage(cv.type, low, high), low, high);
    }
    case RANGE: {
      if (cv.type !== "FWP_RANGE_TYPE" || cv.valueLow.type !== cv.valueHigh.type) return undefined;
      const type = cv.valueLow.type;
      if (!ORDERED_BITS.has(type)) return undefined;
      const low = payloadOf(cv.valueLow) as IntervalKey;
      const high = payloadOf(cv.valueHigh) as IntervalKey;
      return entry(field, PROBE_INTERVAL, type, undefined, 0, intervalCoverage(type, low, high), low, high);
    }
    default:
      return undefined;
  }
}
