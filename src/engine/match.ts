/**
 * Condition semantics — the one definition both classifiers use (wfp-semantics.md §A.1–A.4).
 *
 * - A1: a filter without conditions matches everything at its layer.
 * - A2–A4: conditions are grouped by field (Filter.conditionGroups); a group matches when any of its
 *   conditions matches (OR, negative match types included, literally); the filter matches when every
 *   group matches (AND).
 * - A6: an FWP_EMPTY (or missing) incoming value gives the condition's precomputed `onEmpty`: true only
 *   for EQUAL against FWP_EMPTY (and, when the engine option `emptyNoMatchForNotEqual` is off, for
 *   NOT_EQUAL against a non-empty value).
 * - A8: no conversion; an incoming value of another type than the condition expects fails the
 *   condition, whatever the match type (a shim bug must not turn NOT_EQUAL into "matches everything").
 * - Match types per §A.3: EQUAL (address masks compare the masked bits, A10; a security descriptor
 *   against a token field is an access check for FWP_ACTRL_MATCH_FILTER), ordering on sortable types
 *   (A11: byte arrays and blobs by unsigned bytes, strings by UTF-16 code unit), RANGE inclusive, FLAGS
 *   by bit arithmetic (A12: a zero mask makes ALL_SET and NONE_SET true and ANY_SET false),
 *   EQUAL_CASE_INSENSITIVE on strings, NOT_EQUAL, and PREFIX / NOT_PREFIX as a **suffix** test on
 *   strings and string blobs, ignoring the terminating UTF-16 NUL of both sides (A13).
 * Source: https://learn.microsoft.com/windows/win32/api/fwptypes/ne-fwptypes-fwp_match_type
 */
import type { FwpValue } from "../fwp/index.ts";
import { tokenMatchesSecurityDescriptor } from "./access-check.ts";
import type { Filter, FilterCondition } from "./model.ts";

const EQUAL = 0;
const GREATER = 1;
const LESS = 2;
const GREATER_OR_EQUAL = 3;
const LESS_OR_EQUAL = 4;
const RANGE = 5;
const FLAGS_ALL_SET = 6;
const FLAGS_ANY_SET = 7;
const FLAGS_NONE_SET = 8;
const EQUAL_CASE_INSENSITIVE = 9;
const NOT_EQUAL = 10;
const PREFIX = 11;
const NOT_PREFIX = 12;

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** The first `prefixLength` bits of two 16-byte addresses are equal. */
function v6PrefixEqual(a: Uint8Array, b: Uint8Array, prefixLength: number): boolean {
  const whole = prefixLength >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((a[whole] as number) ^ (b[whole] as number)) & mask) === 0;
}

/** Length of a blob without one terminating UTF-16 NUL (two zero bytes at an even length). */
export function lengthWithoutNul(b: Uint8Array): number {
  const n = b.length;
  return n >= 2 && (n & 1) === 0 && b[n - 1] === 0 && b[n - 2] === 0 ? n - 2 : n;
}

/** A13: `v` (without its NUL) ends with `suffix` (already without its NUL). */
function blobEndsWith(v: Uint8Array, suffix: Uint8Array): boolean {
  const n = lengthWithoutNul(v);
  const m = suffix.length;
  if (m > n) return false;
  const off = n - m;
  for (let i = 0; i < m; i++) if (v[off + i] !== suffix[i]) return false;
  return true;
}

function sameNumber(x: number, y: number): boolean {
  return x === y || (Number.isNaN(x) && Number.isNaN(y));
}

/** EQUAL: true/false, or undefined when the incoming value's type cannot be compared (A8). */
function equalTo(c: FilterCondition, v: FwpValue): boolean | undefined {
  const cv = c.value;
  switch (cv.type) {
    case "FWP_EMPTY":
      return false;
    case "FWP_V4_ADDR_MASK":
      return v.type === "FWP_UINT32" ? ((v.value ^ cv.addr) & cv.mask) === 0 : undefined;
    case "FWP_V6_ADDR_MASK":
      return v.type === "FWP_BYTE_ARRAY16_TYPE" ? v6PrefixEqual(v.value, cv.addr, cv.prefixLength) : undefined;
    case "FWP_RANGE_TYPE":
      return undefined;
    case "FWP_SECURITY_DESCRIPTOR_TYPE":
      if (
        (v.type === "FWP_TOKEN_INFORMATION_TYPE" || v.type === "FWP_TOKEN_ACCESS_INFORMATION_TYPE") &&
        c.securityDescriptor !== undefined
      ) {
        return tokenMatchesSecurityDescriptor(v.value, c.securityDescriptor);
      }
      return v.type === cv.type ? bytesEqual(v.value, cv.value) : undefined;
    case "FWP_TOKEN_INFORMATION_TYPE":
    case "FWP_TOKEN_ACCESS_INFORMATION_TYPE": {
      if (v.type !== cv.type) return undefined;
      const a = v.value;
      const b = cv.value;
      const same = (x: typeof a.sids, y: typeof a.sids): boolean =>
        x.length === y.length &&
        x.every((e, i) => {
          const f = y[i];
          return f !== undefined && e.attributes === f.attributes && bytesEqual(e.sid, f.sid);
        });
      return same(a.sids, b.sids) && same(a.restrictedSids, b.restrictedSids);
    }
    default: {
      if (v.type !== cv.type) return undefined;
      const x = (v as { readonly value: unknown }).value;
      const y = cv.value;
      if (typeof y === "number") return sameNumber(x as number, y);
      if (y instanceof Uint8Array) return bytesEqual(x as Uint8Array, y);
      return x === y;
    }
  }
}

/** Order of v against a sortable value of the same type; undefined when incomparable. */
function order(v: FwpValue, c: FwpValue): number | undefined {
  if (v.type !== c.type) return undefined;
  const x = (v as { readonly value?: unknown }).value;
  const y = (c as { readonly value?: unknown }).value;
  if (typeof x === "number" || typeof x === "bigint" || typeof x === "string") {
    return x < (y as typeof x) ? -1 : x > (y as typeof x) ? 1 : 0;
  }
  if (x instanceof Uint8Array && y instanceof Uint8Array) return compareBytes(x, y);
  return undefined;
}

/** FLAGS_ALL_SET / ANY_SET / NONE_SET on unsigned integers of the same type (A12). */
function flags(v: FwpValue, c: FwpValue, code: number): boolean {
  if (v.type !== c.type) return false;
  const x = (v as { readonly value?: unknown }).value;
  const y = (c as { readonly value?: unknown }).value;
  if (typeof x === "number" && typeof y === "number") {
    const and = (x & y) >>> 0;
    return code === FLAGS_ALL_SET ? and === y : code === FLAGS_ANY_SET ? and !== 0 : and === 0;
  }
  if (typeof x === "bigint" && typeof y === "bigint") {
    const and = x & y;
    return code === FLAGS_ALL_SET ? and === y : code === FLAGS_ANY_SET ? and !== 0n : and === 0n;
  }
  return false;
}

/** PREFIX (suffix test, A13); undefined when incomparable. */
function endsWith(c: FilterCondition, v: FwpValue): boolean | undefined {
  const cv = c.value;
  if (v.type === "FWP_UNICODE_STRING_TYPE" && cv.type === "FWP_UNICODE_STRING_TYPE") return v.value.endsWith(cv.value);
  if (v.type === "FWP_BYTE_BLOB_TYPE" && c.suffixBytes !== undefined) return blobEndsWith(v.value, c.suffixBytes);
  return undefined;
}

/** Upper-cases a string for EQUAL_CASE_INSENSITIVE (one definition for both sides). */
export function foldCase(text: string): string {
  return text.toUpperCase();
}

/**
 * Whether one condition matches one incoming value (undefined = missing = FWP_EMPTY). Conditions come
 * from FilterEngine.addFilter, which has validated the value against the match type (§A.5) and
 * precomputed `onEmpty`, `foldedText`, `suffixBytes` and `securityDescriptor`.
 */
export function matchCondition(condition: FilterCondition, incoming: FwpValue | undefined): boolean {
  if (incoming === undefined || incoming.type === "FWP_EMPTY") return condition.onEmpty;
  const cv = condition.value;
  switch (condition.matchCode) {
    case EQUAL:
      return equalTo(condition, incoming) === true;
    case NOT_EQUAL:
      return equalTo(condition, incoming) === false;
    case GREATER: {
      const o = cv.type === "FWP_RANGE_TYPE" ? undefined : order(incoming, cv as FwpValue);
      return o !== undefined && o > 0;
    }
    case LESS: {
      const o = cv.type === "FWP_RANGE_TYPE" ? undefined : order(incoming, cv as FwpValue);
      return o !== undefined && o < 0;
    }
    case GREATER_OR_EQUAL: {
      const o = cv.type === "FWP_RANGE_TYPE" ? undefined : order(incoming, cv as FwpValue);
      return o !== undefined && o >= 0;
    }
    case LESS_OR_EQUAL: {
      const o = cv.type === "FWP_RANGE_TYPE" ? undefined : order(incoming, cv as FwpValue);
      return o !== undefined && o <= 0;
    }
    case RANGE: {
      if (cv.type !== "FWP_RANGE_TYPE") return false;
      const lo = order(incoming, cv.valueLow);
      if (lo === undefined || lo < 0) return false;
      const hi = order(incoming, cv.valueHigh);
      return hi !== undefined && hi <= 0;
    }
    case FLAGS_ALL_SET:
    case FLAGS_ANY_SET:
    case FLAGS_NONE_SET:
      return cv.type === "FWP_RANGE_TYPE" ? false : flags(incoming, cv as FwpValue, condition.matchCode);
    case EQUAL_CASE_INSENSITIVE:
      return (
        incoming.type === "FWP_UNICODE_STRING_TYPE" &&
        cv.type === "FWP_UNICODE_STRING_TYPE" &&
        incoming.value.length === cv.value.length &&
        foldCase(incoming.value) === condition.foldedText
      );
    case PREFIX:
      return endsWith(condition, incoming) === true;
    case NOT_PREFIX:
      return endsWith(condition, incoming) === false;
    default:
      return false;
  }
}

/** Whether every field group of the filter has a matching condition (A1–A4). */
export function filterMatches(filter: Filter, values: readonly FwpValue[]): boolean {
  const groups = filter.conditionGroups;
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g] as readonly FilterCondition[];
    let any = false;
    for (let i = 0; i < group.length; i++) {
      const c = group[i] as FilterCondition;
      if (matchCondition(c, values[c.fieldIndex])) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}
