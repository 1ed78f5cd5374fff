/**
 * The WFP value model: FWP_VALUE0 (incoming values, weights, options) and FWP_CONDITION_VALUE0 (filter
 * condition values, which add address masks and ranges) as one discriminated union on `type`, the
 * FWP_DATA_TYPE name. Constructors validate; `validateConditionValue` checks a value of unknown origin
 * (a policy file) and throws FwpError with the place at fault; equality and ordering follow
 * wfp-semantics.md §A.3/A.11.
 *
 * Representation: 8/16/32-bit integers, FWP_FLOAT and FWP_DOUBLE are numbers (FWP_FLOAT holds a value
 * exactly representable in 32 bits); 64-bit integers are bigints; byte arrays, blobs, SIDs (MS-DTYP
 * binary form) and security descriptors (self-relative) are Uint8Arrays, treated as immutable; an IPv4
 * address in FWP_UINT32 and FWP_V4_ADDR_MASK is a host-order number (10.0.0.1 = 0x0a000001, §A10).
 * Tokens: Windows passes FWP_TOKEN_INFORMATION (SID lists) and an opaque TOKEN_ACCESS_INFORMATION blob;
 * here both carry the SID lists an access check needs (`FwpTokenInformation`).
 * Errors (§A.4, §A.5): unknown type → FWP_E_INVALID_ENUMERATOR; integer out of range → FWP_E_OUT_OF_BOUNDS;
 * empty blob → FWP_E_ZERO_LENGTH_ARRAY; bad mask → FWP_E_INVALID_NET_MASK; bad range →
 * FWP_E_INVALID_RANGE; any other malformed value → FWP_E_INVALID_PARAMETER.
 * Sources: https://learn.microsoft.com/windows/win32/api/fwptypes/ns-fwptypes-fwp_value0,
 * https://learn.microsoft.com/windows/win32/api/fwptypes/ns-fwptypes-fwp_condition_value0
 */
import { FwpError, type FwpErrorName } from "./error.ts";
import { FWP_DATA_TYPE } from "./generated/enums.ts";
import { isValidSid } from "./sid.ts";

/** Every FWP_DATA_TYPE name a value can carry (the *_MAX sentinels excluded). */
export type FwpDataTypeName = Exclude<keyof typeof FWP_DATA_TYPE, "FWP_SINGLE_DATA_TYPE_MAX" | "FWP_DATA_TYPE_MAX">;
/** The types an FWP_VALUE0 can carry (no masks, no ranges). */
export type FwpValueTypeName = Exclude<FwpDataTypeName, "FWP_V4_ADDR_MASK" | "FWP_V6_ADDR_MASK" | "FWP_RANGE_TYPE">;

export interface SidAndAttributes {
  /** Binary SID (MS-DTYP §2.4.2.2). */
  readonly sid: Uint8Array;
  /** SE_GROUP_* attribute bits. */
  readonly attributes: number;
}

/** The SIDs of a token: FWP_TOKEN_INFORMATION (sids + restrictedSids). */
export interface FwpTokenInformation {
  readonly sids: readonly SidAndAttributes[];
  readonly restrictedSids: readonly SidAndAttributes[];
}

export type FwpValue =
  | { readonly type: "FWP_EMPTY" }
  | { readonly type: "FWP_UINT8"; readonly value: number }
  | { readonly type: "FWP_UINT16"; readonly value: number }
  | { readonly type: "FWP_UINT32"; readonly value: number }
  | { readonly type: "FWP_UINT64"; readonly value: bigint }
  | { readonly type: "FWP_INT8"; readonly value: number }
  | { readonly type: "FWP_INT16"; readonly value: number }
  | { readonly type: "FWP_INT32"; readonly value: number }
  | { readonly type: "FWP_INT64"; readonly value: bigint }
  | { readonly type: "FWP_FLOAT"; readonly value: number }
  | { readonly type: "FWP_DOUBLE"; readonly value: number }
  /** 16 bytes, e.g. an IPv6 address in network order. */
  | { readonly type: "FWP_BYTE_ARRAY16_TYPE"; readonly value: Uint8Array }
  /** 6 bytes, e.g. a MAC address. */
  | { readonly type: "FWP_BYTE_ARRAY6_TYPE"; readonly value: Uint8Array }
  /** Opaque bytes; app ids are UTF-16LE, NUL-terminated (see app-id.ts). */
  | { readonly type: "FWP_BYTE_BLOB_TYPE"; readonly value: Uint8Array }
  /** Binary SID. */
  | { readonly type: "FWP_SID"; readonly value: Uint8Array }
  /** Self-relative security descriptor. */
  | { readonly type: "FWP_SECURITY_DESCRIPTOR_TYPE"; readonly value: Uint8Array }
  | { readonly type: "FWP_TOKEN_INFORMATION_TYPE"; readonly value: FwpTokenInformation }
  | { readonly type: "FWP_TOKEN_ACCESS_INFORMATION_TYPE"; readonly value: FwpTokenInformation }
  | { readonly type: "FWP_UNICODE_STRING_TYPE"; readonly value: string }
  /** Bit index 0..63 into a FWP_BITMAP_ARRAY64 (historical type, older SDKs). */
  | { readonly type: "FWP_BITMAP_INDEX_TYPE"; readonly value: number }
  /** 8 bytes = 64 bits (historical type, older SDKs). */
  | { readonly type: "FWP_BITMAP_ARRAY64_TYPE"; readonly value: Uint8Array };

/** FWP_V4_ADDR_AND_MASK: host-order address and contiguous mask (0 = any address). */
export interface FwpV4AddrMask {
  readonly type: "FWP_V4_ADDR_MASK";
  readonly addr: number;
  readonly mask: number;
}

/** FWP_V6_ADDR_AND_MASK: 16 address bytes (network order) and a prefix length 0..128. */
export interface FwpV6AddrMask {
  readonly type: "FWP_V6_ADDR_MASK";
  readonly addr: Uint8Array;
  readonly prefixLength: number;
}

/** FWP_RANGE0: inclusive bounds of one sortable type, valueLow <= valueHigh. */
export interface FwpRange {
  readonly type: "FWP_RANGE_TYPE";
  readonly valueLow: FwpValue;
  readonly valueHigh: FwpValue;
}

export type FwpConditionValue = FwpValue | FwpV4AddrMask | FwpV6AddrMask | FwpRange;

/** The value variant with type tag T. */
export type FwpValueOf<T extends FwpDataTypeName> = Extract<FwpConditionValue, { readonly type: T }>;

/** FWP_DATA_TYPE numeric code of a type name. */
export function dataTypeCode(type: FwpDataTypeName): number {
  return FWP_DATA_TYPE[type];
}

const NAME_BY_CODE: ReadonlyMap<number, FwpDataTypeName> = new Map(
  (Object.entries(FWP_DATA_TYPE) as [keyof typeof FWP_DATA_TYPE, number][])
    .filter(([n]) => n !== "FWP_SINGLE_DATA_TYPE_MAX" && n !== "FWP_DATA_TYPE_MAX")
    .map(([n, v]) => [v, n as FwpDataTypeName]),
);

/** FWP_DATA_TYPE name of a numeric code, or undefined (sentinels and unknown codes). */
export function dataTypeName(code: number): FwpDataTypeName | undefined {
  return NAME_BY_CODE.get(code);
}

export function isDataTypeName(name: string): name is FwpDataTypeName {
  return Object.hasOwn(FWP_DATA_TYPE, name) && name !== "FWP_SINGLE_DATA_TYPE_MAX" && name !== "FWP_DATA_TYPE_MAX";
}

const INTEGER_BOUNDS = {
  FWP_UINT8: [0, 0xff],
  FWP_UINT16: [0, 0xffff],
  FWP_UINT32: [0, 0xffffffff],
  FWP_INT8: [-0x80, 0x7f],
  FWP_INT16: [-0x8000, 0x7fff],
  FWP_INT32: [-0x80000000, 0x7fffffff],
  FWP_BITMAP_INDEX_TYPE: [0, 63],
} as const;
const BIGINT_BOUNDS = {
  FWP_UINT64: [0n, 0xffffffffffffffffn],
  FWP_INT64: [-0x8000000000000000n, 0x7fffffffffffffffn],
} as const;

/** Unsigned integer types: the ones FLAGS_* match types apply to (§A.3). */
export const UNSIGNED_INTEGER_TYPES: ReadonlySet<FwpDataTypeName> = new Set([
  "FWP_UINT8",
  "FWP_UINT16",
  "FWP_UINT32",
  "FWP_UINT64",
]);

/** "Sortable" types of §A.3: every integer type, BYTE_ARRAY16, BYTE_BLOB, UNICODE_STRING. */
export const SORTABLE_TYPES: ReadonlySet<FwpDataTypeName> = new Set([
  "FWP_UINT8",
  "FWP_UINT16",
  "FWP_UINT32",
  "FWP_UINT64",
  "FWP_INT8",
  "FWP_INT16",
  "FWP_INT32",
  "FWP_INT64",
  "FWP_BYTE_ARRAY16_TYPE",
  "FWP_BYTE_BLOB_TYPE",
  "FWP_UNICODE_STRING_TYPE",
]);

function fail(code: FwpErrorName, path: string | undefined, detail: string): never {
  throw new FwpError(code, path === undefined ? { detail } : { path, detail });
}

function describe(x: unknown): string {
  if (typeof x === "bigint") return `${x}n`;
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  if (typeof x === "string") return JSON.stringify(x);
  return String(x);
}

const at = (path: string | undefined, member: string): string | undefined =>
  path === undefined ? undefined : `${path}.${member}`;

function checkBytes(x: unknown, length: number | "any", type: string, path: string | undefined): Uint8Array {
  if (!(x instanceof Uint8Array)) return fail("FWP_E_INVALID_PARAMETER", path, `${type} needs a Uint8Array.`);
  if (length === "any") {
    if (x.length === 0) return fail("FWP_E_ZERO_LENGTH_ARRAY", path, `${type} is empty.`);
  } else if (x.length !== length) {
    fail("FWP_E_INVALID_PARAMETER", path, `${type} needs exactly ${length} bytes, got ${x.length}.`);
  }
  return x;
}

/** True when `mask` (host order) is a run of leading one bits (0 and 0xffffffff included). */
export function isContiguousV4Mask(mask: number): boolean {
  const inverted = ~mask >>> 0;
  return (inverted & (inverted + 1)) === 0;
}

/** Prefix length of a contiguous IPv4 mask (0..32). */
export function v4MaskPrefixLength(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

/** Minimal check of a self-relative SECURITY_DESCRIPTOR (MS-DTYP §2.4.6): revision, SE_SELF_RELATIVE, offsets inside. */
export function isSelfRelativeSecurityDescriptor(sd: Uint8Array): boolean {
  if (sd.length < 20 || sd[0] !== 1) return false;
  const control = (sd[2] ?? 0) | ((sd[3] ?? 0) << 8);
  if ((control & 0x8000) === 0) return false;
  for (let i = 0; i < 4; i++) {
    const o = 4 + 4 * i;
    const offset = ((sd[o] ?? 0) | ((sd[o + 1] ?? 0) << 8) | ((sd[o + 2] ?? 0) << 16) | ((sd[o + 3] ?? 0) << 24)) >>> 0;
    if (offset !== 0 && (offset < 20 || offset >= sd.length)) return false;
  }
  return true;
}

function checkToken(x: unknown, type: string, path: string | undefined): FwpTokenInformation {
  const t = x as Partial<FwpTokenInformation> | null;
  if (typeof t !== "object" || t === null || !Array.isArray(t.sids) || !Array.isArray(t.restrictedSids)) {
    return fail("FWP_E_INVALID_PARAMETER", path, `${type} needs { sids, restrictedSids }.`);
  }
  for (const [list, entries] of [
    ["sids", t.sids],
    ["restrictedSids", t.restrictedSids],
  ] as const) {
    entries.forEach((e: SidAndAttributes, i: number) => {
      const where = at(path, `${list}[${i}]`);
      if (typeof e !== "object" || e === null || !(e.sid instanceof Uint8Array) || !isValidSid(e.sid)) {
        fail("FWP_E_INVALID_PARAMETER", where, "Not a valid binary SID.");
      }
      if (!Number.isInteger(e.attributes) || e.attributes < 0 || e.attributes > 0xffffffff) {
        fail("FWP_E_OUT_OF_BOUNDS", where, "Attributes must be an unsigned 32-bit integer.");
      }
    });
  }
  return t as FwpTokenInformation;
}

/**
 * Checks a value of unknown origin as FWP_VALUE0 (no masks or ranges) and returns it typed.
 * Throws FwpError naming `path` (e.g. "filters[3].weight").
 */
export function validateValue(value: unknown, path?: string): FwpValue {
  const v = value as { type?: unknown; value?: unknown } | null;
  if (typeof v !== "object" || v === null || typeof v.type !== "string") {
    return fail("FWP_E_INVALID_PARAMETER", path, "A value needs a `type` (FWP_DATA_TYPE name).");
  }
  const type = v.type;
  if (
    !isDataTypeName(type) ||
    type === "FWP_V4_ADDR_MASK" ||
    type === "FWP_V6_ADDR_MASK" ||
    type === "FWP_RANGE_TYPE"
  ) {
    return fail("FWP_E_INVALID_ENUMERATOR", at(path, "type"), `${describe(type)} is not an FWP_VALUE0 data type.`);
  }
  const where = at(path, "value");
  const x = v.value;
  switch (type) {
    case "FWP_EMPTY":
      break;
    case "FWP_UINT8":
    case "FWP_UINT16":
    case "FWP_UINT32":
    case "FWP_INT8":
    case "FWP_INT16":
    case "FWP_INT32":
    case "FWP_BITMAP_INDEX_TYPE": {
      if (typeof x !== "number" || !Number.isInteger(x)) {
        fail("FWP_E_INVALID_PARAMETER", where, `${type} needs an integer number, got ${describe(x)}.`);
      }
      const [lo, hi] = INTEGER_BOUNDS[type];
      if (x < lo || x > hi) fail("FWP_E_OUT_OF_BOUNDS", where, `${type} must be ${lo}..${hi}, got ${x}.`);
      break;
    }
    case "FWP_UINT64":
    case "FWP_INT64": {
      if (typeof x !== "bigint") fail("FWP_E_INVALID_PARAMETER", where, `${type} needs a bigint, got ${describe(x)}.`);
      const [lo, hi] = BIGINT_BOUNDS[type];
      if (x < lo || x > hi) fail("FWP_E_OUT_OF_BOUNDS", where, `${type} must be ${lo}..${hi}, got ${x}.`);
      break;
    }
    case "FWP_FLOAT":
      if (typeof x !== "number" || (!Number.isNaN(x) && Math.fround(x) !== x)) {
        fail("FWP_E_INVALID_PARAMETER", where, `FWP_FLOAT needs a number exact in 32 bits, got ${describe(x)}.`);
      }
      break;
    case "FWP_DOUBLE":
      if (typeof x !== "number") fail("FWP_E_INVALID_PARAMETER", where, `FWP_DOUBLE needs a number.`);
      break;
    case "FWP_BYTE_ARRAY16_TYPE":
      checkBytes(x, 16, type, where);
      break;
    case "FWP_BYTE_ARRAY6_TYPE":
      checkBytes(x, 6, type, where);
      break;
    case "FWP_BITMAP_ARRAY64_TYPE":
      checkBytes(x, 8, type, where);
      break;
    case "FWP_BYTE_BLOB_TYPE":
      checkBytes(x, "any", type, where);
      break;
    case "FWP_SID":
      if (!isValidSid(checkBytes(x, "any", type, where))) {
        fail("FWP_E_INVALID_PARAMETER", where, "Not a valid binary SID (MS-DTYP §2.4.2.2).");
      }
      break;
    case "FWP_SECURITY_DESCRIPTOR_TYPE":
      if (!isSelfRelativeSecurityDescriptor(checkBytes(x, "any", type, where))) {
        fail("FWP_E_INVALID_PARAMETER", where, "Not a self-relative security descriptor.");
      }
      break;
    case "FWP_TOKEN_INFORMATION_TYPE":
    case "FWP_TOKEN_ACCESS_INFORMATION_TYPE":
      checkToken(x, type, where);
      break;
    case "FWP_UNICODE_STRING_TYPE":
      if (typeof x !== "string") fail("FWP_E_INVALID_PARAMETER", where, "FWP_UNICODE_STRING_TYPE needs a string.");
      if (x.includes("\u0000")) fail("FWP_E_INVALID_PARAMETER", where, "A string may not contain NUL.");
      break;
  }
  return value as FwpValue;
}

/**
 * Checks a value of unknown origin as FWP_CONDITION_VALUE0 and returns it typed: every FWP_VALUE0 type
 * plus FWP_V4_ADDR_MASK (contiguous mask), FWP_V6_ADDR_MASK (prefix 0..128) and FWP_RANGE_TYPE (bounds
 * of one sortable type, low <= high; §A15). Throws FwpError naming `path`.
 */
export function validateConditionValue(value: unknown, path?: string): FwpConditionValue {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null) {
    return fail("FWP_E_INVALID_PARAMETER", path, "A value needs a `type` (FWP_DATA_TYPE name).");
  }
  switch (v.type) {
    case "FWP_V4_ADDR_MASK": {
      for (const member of ["addr", "mask"] as const) {
        const n = v[member];
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
          fail(
            member === "mask" ? "FWP_E_INVALID_NET_MASK" : "FWP_E_INVALID_PARAMETER",
            at(path, member),
            `${member} must be an unsigned 32-bit integer, got ${describe(n)}.`,
          );
        }
      }
      if (!isContiguousV4Mask(v.mask as number)) {
        fail(
          "FWP_E_INVALID_NET_MASK",
          at(path, "mask"),
          `Mask 0x${(v.mask as number).toString(16)} is not contiguous.`,
        );
      }
      return value as FwpV4AddrMask;
    }
    case "FWP_V6_ADDR_MASK": {
      checkBytes(v.addr, 16, "FWP_V6_ADDR_MASK addr", at(path, "addr"));
      const n = v.prefixLength;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 128) {
        fail("FWP_E_INVALID_NET_MASK", at(path, "prefixLength"), `Prefix length must be 0..128, got ${describe(n)}.`);
      }
      return value as FwpV6AddrMask;
    }
    case "FWP_RANGE_TYPE": {
      const low = validateValue(v.valueLow, at(path, "valueLow"));
      const high = validateValue(v.valueHigh, at(path, "valueHigh"));
      if (low.type !== high.type) {
        fail("FWP_E_INVALID_RANGE", path, `Range bounds differ in type: ${low.type} and ${high.type}.`);
      }
      if (!SORTABLE_TYPES.has(low.type)) fail("FWP_E_INVALID_RANGE", path, `${low.type} values have no order.`);
      if ((compareValues(low, high) ?? 0) > 0) {
        fail("FWP_E_INVALID_RANGE", path, `valueLow ${formatBrief(low)} is above valueHigh ${formatBrief(high)}.`);
      }
      return value as FwpRange;
    }
    default:
      return validateValue(value, path);
  }
}

function formatBrief(v: FwpValue): string {
  return "value" in v ? describe(v.value) : v.type;
}

// ---- constructors (each validates; errors name no path) ----

export const FWP_EMPTY_VALUE: FwpValue = Object.freeze({ type: "FWP_EMPTY" });

function make<T extends FwpValueTypeName>(type: T, value: unknown): FwpValueOf<T> {
  return validateValue({ type, value }) as FwpValueOf<T>;
}

function toBigint(n: number | bigint, type: string): bigint {
  if (typeof n === "bigint") return n;
  if (!Number.isSafeInteger(n)) {
    return fail("FWP_E_INVALID_PARAMETER", undefined, `${type} from a number needs a safe integer, got ${n}.`);
  }
  return BigInt(n);
}

export const fwpUint8 = (n: number): FwpValueOf<"FWP_UINT8"> => make("FWP_UINT8", n);
export const fwpUint16 = (n: number): FwpValueOf<"FWP_UINT16"> => make("FWP_UINT16", n);
export const fwpUint32 = (n: number): FwpValueOf<"FWP_UINT32"> => make("FWP_UINT32", n);
export const fwpUint64 = (n: number | bigint): FwpValueOf<"FWP_UINT64"> =>
  make("FWP_UINT64", toBigint(n, "FWP_UINT64"));
export const fwpInt8 = (n: number): FwpValueOf<"FWP_INT8"> => make("FWP_INT8", n);
export const fwpInt16 = (n: number): FwpValueOf<"FWP_INT16"> => make("FWP_INT16", n);
export const fwpInt32 = (n: number): FwpValueOf<"FWP_INT32"> => make("FWP_INT32", n);
export const fwpInt64 = (n: number | bigint): FwpValueOf<"FWP_INT64"> => make("FWP_INT64", toBigint(n, "FWP_INT64"));
/** FWP_FLOAT: the number rounded to 32-bit precision. */
export const fwpFloat = (n: number): FwpValueOf<"FWP_FLOAT"> => make("FWP_FLOAT", Math.fround(n));
export const fwpDouble = (n: number): FwpValueOf<"FWP_DOUBLE"> => make("FWP_DOUBLE", n);
export const fwpByteArray16 = (bytes: Uint8Array): FwpValueOf<"FWP_BYTE_ARRAY16_TYPE"> =>
  make("FWP_BYTE_ARRAY16_TYPE", bytes);
export const fwpByteArray6 = (bytes: Uint8Array): FwpValueOf<"FWP_BYTE_ARRAY6_TYPE"> =>
  make("FWP_BYTE_ARRAY6_TYPE", bytes);
export const fwpByteBlob = (bytes: Uint8Array): FwpValueOf<"FWP_BYTE_BLOB_TYPE"> => make("FWP_BYTE_BLOB_TYPE", bytes);
export const fwpSid = (sid: Uint8Array): FwpValueOf<"FWP_SID"> => make("FWP_SID", sid);
export const fwpSecurityDescriptor = (sd: Uint8Array): FwpValueOf<"FWP_SECURITY_DESCRIPTOR_TYPE"> =>
  make("FWP_SECURITY_DESCRIPTOR_TYPE", sd);
export const fwpTokenInformation = (token: FwpTokenInformation): FwpValueOf<"FWP_TOKEN_INFORMATION_TYPE"> =>
  make("FWP_TOKEN_INFORMATION_TYPE", token);
export const fwpTokenAccessInformation = (
  token: FwpTokenInformation,
): FwpValueOf<"FWP_TOKEN_ACCESS_INFORMATION_TYPE"> => make("FWP_TOKEN_ACCESS_INFORMATION_TYPE", token);
export const fwpUnicodeString = (text: string): FwpValueOf<"FWP_UNICODE_STRING_TYPE"> =>
  make("FWP_UNICODE_STRING_TYPE", text);
export const fwpBitmapIndex = (index: number): FwpValueOf<"FWP_BITMAP_INDEX_TYPE"> =>
  make("FWP_BITMAP_INDEX_TYPE", index);
export const fwpBitmapArray64 = (bytes: Uint8Array): FwpValueOf<"FWP_BITMAP_ARRAY64_TYPE"> =>
  make("FWP_BITMAP_ARRAY64_TYPE", bytes);

/** FWP_V4_ADDR_MASK from a host-order address and a prefix length 0..32. */
export function fwpV4AddrMask(addr: number, prefixLength: number): FwpV4AddrMask {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    fail("FWP_E_INVALID_NET_MASK", undefined, `IPv4 prefix length must be 0..32, got ${prefixLength}.`);
  }
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return validateConditionValue({ type: "FWP_V4_ADDR_MASK", addr, mask }) as FwpV4AddrMask;
}

/** FWP_V6_ADDR_MASK from 16 address bytes and a prefix length 0..128. */
export function fwpV6AddrMask(addr: Uint8Array, prefixLength: number): FwpV6AddrMask {
  return validateConditionValue({ type: "FWP_V6_ADDR_MASK", addr, prefixLength }) as FwpV6AddrMask;
}

/** FWP_RANGE_TYPE: both bounds of one sortable type, valueLow <= valueHigh. */
export function fwpRange(valueLow: FwpValue, valueHigh: FwpValue): FwpRange {
  return validateConditionValue({ type: "FWP_RANGE_TYPE", valueLow, valueHigh }) as FwpRange;
}

// ---- equality and order ----

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order; a proper prefix sorts first (§A11). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function tokensEqual(a: FwpTokenInformation, b: FwpTokenInformation): boolean {
  const listEqual = (x: readonly SidAndAttributes[], y: readonly SidAndAttributes[]): boolean =>
    x.length === y.length &&
    x.every((e, i) => {
      const f = y[i];
      return f !== undefined && e.attributes === f.attributes && bytesEqual(e.sid, f.sid);
    });
  return listEqual(a.sids, b.sids) && listEqual(a.restrictedSids, b.restrictedSids);
}

/** Structural equality: same type and same contents (bytes compared, NaN equals NaN). */
export function valuesEqual(a: FwpConditionValue, b: FwpConditionValue): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case "FWP_EMPTY":
      return true;
    case "FWP_V4_ADDR_MASK": {
      const o = b as FwpV4AddrMask;
      return a.addr === o.addr && a.mask === o.mask;
    }
    case "FWP_V6_ADDR_MASK": {
      const o = b as FwpV6AddrMask;
      return a.prefixLength === o.prefixLength && bytesEqual(a.addr, o.addr);
    }
    case "FWP_RANGE_TYPE": {
      const o = b as FwpRange;
      return valuesEqual(a.valueLow, o.valueLow) && valuesEqual(a.valueHigh, o.valueHigh);
    }
    case "FWP_TOKEN_INFORMATION_TYPE":
    case "FWP_TOKEN_ACCESS_INFORMATION_TYPE":
      return tokensEqual(a.value, (b as typeof a).value);
    default: {
      const x = a.value;
      const y = (b as typeof a).value;
      if (x instanceof Uint8Array) return y instanceof Uint8Array && bytesEqual(x, y);
      return x === y || (typeof x === "number" && typeof y === "number" && Number.isNaN(x) && Number.isNaN(y));
    }
  }
}

/**
 * Order of two values of one sortable type (§A.3, §A11): numbers and bigints numerically, BYTE_ARRAY16
 * and BYTE_BLOB by bytes, UNICODE_STRING by UTF-16 code unit. Returns -1, 0 or 1; undefined when the
 * types differ or the type has no order.
 */
export function compareValues(a: FwpValue, b: FwpValue): -1 | 0 | 1 | undefined {
  if (a.type !== b.type || !SORTABLE_TYPES.has(a.type) || !("value" in a) || !("value" in b)) return undefined;
  const x = a.value;
  const y = b.value;
  if (x instanceof Uint8Array && y instanceof Uint8Array) return compareBytes(x, y) as -1 | 0 | 1;
  if ((typeof x === "number" || typeof x === "bigint" || typeof x === "string") && typeof y === typeof x) {
    return x < (y as typeof x) ? -1 : x > (y as typeof x) ? 1 : 0;
  }
  return undefined;
}

// ---- compatibility with a field (§A.2 rule A8) ----

/** The data type and FWPM_FIELD_TYPE of a field, as LayerField has them. */
export interface FieldTypeInfo {
  readonly dataType: string | null;
  readonly fieldType: string | null;
}

/**
 * Whether a condition value of this type may be used on a field (§A.2, A8): the same type, or
 * V4_ADDR_MASK on a UINT32 address field, V6_ADDR_MASK on a BYTE_ARRAY16 address field, a security
 * descriptor on a token field, a range whose bounds have the field's type, FWP_EMPTY on any field (A6),
 * and — in enumeration templates only — a SID on a token field. A field whose type is unpublished
 * (dataType null) accepts anything: there is nothing to check against.
 */
export function valueFitsField(
  field: FieldTypeInfo,
  value: FwpConditionValue,
  options: { readonly enumTemplate?: boolean } = {},
): boolean {
  const fieldType = field.dataType;
  if (fieldType === null || value.type === "FWP_EMPTY" || value.type === fieldType) return true;
  const isAddress = field.fieldType === null || field.fieldType === "FWPM_FIELD_IP_ADDRESS";
  const isToken = fieldType === "FWP_TOKEN_INFORMATION_TYPE" || fieldType === "FWP_TOKEN_ACCESS_INFORMATION_TYPE";
  switch (value.type) {
    case "FWP_V4_ADDR_MASK":
      return fieldType === "FWP_UINT32" && isAddress;
    case "FWP_V6_ADDR_MASK":
      return fieldType === "FWP_BYTE_ARRAY16_TYPE" && isAddress;
    case "FWP_SECURITY_DESCRIPTOR_TYPE":
      return isToken;
    case "FWP_SID":
      return isToken && options.enumTemplate === true;
    case "FWP_RANGE_TYPE":
      return value.valueLow.type === fieldType;
    default:
      return false;
  }
}

/** Like valueFitsField, but a misfit is FWP_E_TYPE_MISMATCH naming `path`. */
export function checkValueFitsField(
  field: FieldTypeInfo,
  value: FwpConditionValue,
  path?: string,
  options: { readonly enumTemplate?: boolean } = {},
): void {
  if (!valueFitsField(field, value, options)) {
    const shown = value.type === "FWP_RANGE_TYPE" ? `FWP_RANGE_TYPE of ${value.valueLow.type}` : value.type;
    fail("FWP_E_TYPE_MISMATCH", path, `A ${shown} value cannot be used on a ${String(field.dataType)} field.`);
  }
}
