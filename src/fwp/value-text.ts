/**
 * Condition values as policy files write them, and back. `parseConditionValue(dataType, text)` takes
 * the data type of the field the condition applies to and returns a value that fits it (§A.2, A8):
 *
 * | text | field type | value |
 * |---|---|---|
 * | `80`, `0x50`, `tcp` (IPPROTO_TCP), `FWP_CONDITION_FLAG_IS_LOOPBACK\|FWP_CONDITION_FLAG_IS_IPSEC_SECURED` | integer types | that integer |
 * | `1000-2000`, `10.0.0.1-10.0.0.9`, `-5--1` | any sortable type | FWP_RANGE_TYPE (inclusive) |
 * | `10.0.0.1` | FWP_UINT32 | host-order address (§A10) |
 * | `10.0.0.0/8` | FWP_UINT32 | FWP_V4_ADDR_MASK |
 * | `fe80::1`, `fe80::/10` | FWP_BYTE_ARRAY16_TYPE | the 16 bytes / FWP_V6_ADDR_MASK |
 * | `00-1a-2b-3c-4d-5e`, `00:1a:…` | FWP_BYTE_ARRAY6_TYPE | the 6 bytes |
 * | `C:\Windows\System32\svchost.exe`, `\device\…`, `\\server\share\x.exe` | FWP_BYTE_BLOB_TYPE | app id (§G.4) |
 * | `System` | FWP_BYTE_BLOB_TYPE | the System app id (G17) |
 * | `"text"` | FWP_BYTE_BLOB_TYPE | the text, UTF-16LE + NUL, case kept (e.g. a suffix for PREFIX) |
 * | `0x0a0b…` | byte types | the bytes |
 * | `S-1-5-18` | FWP_SID | binary SID |
 * | `D:(A;;CC;;;S-1-5-18)` | FWP_SECURITY_DESCRIPTOR_TYPE or a token type | self-relative SD |
 * | `FWP_EMPTY` | any | FWP_EMPTY (matches an absent incoming value, A6) |
 *
 * Unparseable text is FWP_E_INVALID_PARAMETER; an IPv6 value for an IPv4 field (or the reverse) is
 * FWP_E_TYPE_MISMATCH; numbers beyond the type are FWP_E_OUT_OF_BOUNDS; masks FWP_E_INVALID_NET_MASK;
 * inverted ranges FWP_E_INVALID_RANGE. `formatConditionValue` writes text these rules read back.
 */
import { Ipv4Address, Ipv6Address, formatIpv4, formatIpv6 } from "../base/ip.ts";
import {
  type DriveDevices,
  SYSTEM_APP_ID_TEXT,
  appIdFromFileName,
  utf16leNulTerminated,
  utf16leNulTerminatedToString,
} from "./app-id.ts";
import { FwpError, type FwpErrorName } from "./error.ts";
import { enumValue } from "./enums.ts";
import { IPPROTO } from "./generated/enums.ts";
import { securityDescriptorFromSddl, securityDescriptorToSddl } from "./sddl.ts";
import { formatSid, tryParseSid } from "./sid.ts";
import {
  type FwpConditionValue,
  type FwpDataTypeName,
  type FwpValue,
  type FwpValueTypeName,
  FWP_EMPTY_VALUE,
  SORTABLE_TYPES,
  fwpRange,
  isDataTypeName,
  v4MaskPrefixLength,
  validateConditionValue,
  validateValue,
} from "./value.ts";

export interface ParseValueOptions {
  /** Path in the input, named by errors (e.g. `filters[3].conditions[1].value`). */
  readonly path?: string;
  /** Drive → NT device map for app ids; see app-id.ts for the default. */
  readonly driveDevices?: DriveDevices;
}

export interface FormatValueOptions {
  /** Print FWP_UINT32 values (and UINT32 ranges) as dotted IPv4 addresses. */
  readonly ipv4?: boolean;
}

class ParseFailure {
  constructor(
    readonly code: FwpErrorName,
    readonly detail: string,
  ) {}
}

function failure(code: FwpErrorName, detail: string): ParseFailure {
  return new ParseFailure(code, detail);
}

const INT_BOUNDS: Readonly<Record<string, readonly [bigint, bigint, boolean]>> = {
  FWP_UINT8: [0n, 0xffn, false],
  FWP_UINT16: [0n, 0xffffn, false],
  FWP_UINT32: [0n, 0xffffffffn, false],
  FWP_UINT64: [0n, 0xffffffffffffffffn, false],
  FWP_INT8: [-0x80n, 0x7fn, true],
  FWP_INT16: [-0x8000n, 0x7fffn, true],
  FWP_INT32: [-0x80000000n, 0x7fffffffn, true],
  FWP_INT64: [-0x8000000000000000n, 0x7fffffffffffffffn, true],
  FWP_BITMAP_INDEX_TYPE: [0n, 63n, false],
};

/** A protocol name ("tcp", "icmpv6") as IPPROTO_<NAME>. */
function protocolNumber(text: string): bigint | undefined {
  const key = `IPPROTO_${text.toUpperCase()}`;
  return Object.hasOwn(IPPROTO, key) ? BigInt(IPPROTO[key as keyof typeof IPPROTO]) : undefined;
}

function parseIntegerTerm(term: string, type: string): bigint | ParseFailure {
  if (/^-?\d+$/.test(term)) return BigInt(term);
  if (/^0x[0-9a-f]+$/i.test(term)) return BigInt(term);
  if (type === "FWP_UINT8") {
    const proto = protocolNumber(term);
    if (proto !== undefined) return proto;
  }
  if (type === "FWP_UINT32") {
    const v4 = Ipv4Address.tryParse(term);
    if (v4 !== undefined) return BigInt(v4.value);
  }
  const named = enumValue(term);
  if (named !== undefined) return BigInt(named);
  return failure("FWP_E_INVALID_PARAMETER", `${JSON.stringify(term)} is not a number or a known constant name.`);
}

function parseInteger(text: string, type: keyof typeof INT_BOUNDS): FwpValue | ParseFailure {
  const [lo, hi, signed] = INT_BOUNDS[type] ?? [0n, 0n, false];
  const terms = text.split("|").map((t) => t.trim());
  let n = 0n;
  for (const term of terms) {
    const v = parseIntegerTerm(term, type);
    if (v instanceof ParseFailure) return v;
    if (terms.length > 1 && (signed || v < 0n)) {
      return failure("FWP_E_INVALID_PARAMETER", `Only unsigned values combine with "|": ${JSON.stringify(text)}.`);
    }
    n = terms.length > 1 ? n | v : v;
  }
  if (n < lo || n > hi) return failure("FWP_E_OUT_OF_BOUNDS", `${text} is outside ${type} (${lo}..${hi}).`);
  if (type === "FWP_UINT64" || type === "FWP_INT64") return { type, value: n } as FwpValue;
  return { type, value: Number(n) } as FwpValue;
}

function parseHexBytes(text: string): Uint8Array | undefined {
  const m = /^0x((?:[0-9a-f]{2})+)$/i.exec(text);
  if (m === null) return undefined;
  const hex = m[1] ?? "";
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{2})([-:])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(
    text,
  );
  if (m === null) return parseHexBytes(text);
  return Uint8Array.from([m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => Number.parseInt(h ?? "", 16)));
}

function parseSingle(type: FwpValueTypeName, text: string, options: ParseValueOptions): FwpValue | ParseFailure {
  const t = text.trim();
  if (t === "FWP_EMPTY" || (type === "FWP_EMPTY" && t === "")) return FWP_EMPTY_VALUE;
  switch (type) {
    case "FWP_EMPTY":
      return failure("FWP_E_INVALID_PARAMETER", `FWP_EMPTY is written "" or FWP_EMPTY.`);
    case "FWP_UINT8":
    case "FWP_UINT16":
    case "FWP_UINT32":
    case "FWP_UINT64":
    case "FWP_INT8":
    case "FWP_INT16":
    case "FWP_INT32":
    case "FWP_INT64":
    case "FWP_BITMAP_INDEX_TYPE":
      if (type === "FWP_UINT32" && Ipv6Address.tryParse(t) !== undefined) {
        return failure("FWP_E_TYPE_MISMATCH", `${JSON.stringify(t)} is an IPv6 address; this field holds IPv4.`);
      }
      return parseInteger(t, type);
    case "FWP_FLOAT":
    case "FWP_DOUBLE": {
      if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t) && !/^[-+]?(Infinity|NaN)$/.test(t)) {
        return failure("FWP_E_INVALID_PARAMETER", `${JSON.stringify(t)} is not a number.`);
      }
      const n = Number(t);
      return { type, value: type === "FWP_FLOAT" ? Math.fround(n) : n };
    }
    case "FWP_BYTE_ARRAY16_TYPE": {
      const v6 = Ipv6Address.tryParse(t);
      if (v6 !== undefined) return { type, value: v6.toBytes() };
      if (Ipv4Address.tryParse(t) !== undefined) {
        return failure("FWP_E_TYPE_MISMATCH", `${JSON.stringify(t)} is an IPv4 address; this field holds IPv6.`);
      }
      const bytes = parseHexBytes(t);
      if (bytes?.length === 16) return { type, value: bytes };
      return failure("FWP_E_INVALID_PARAMETER", `${JSON.stringify(t)} is not an IPv6 address or 16 hex bytes.`);
    }
    case "FWP_BYTE_ARRAY6_TYPE": {
      const mac = parseMac(t);
      if (mac?.length === 6) return { type, value: mac };
      return failure("FWP_E_INVALID_PARAMETER", `${JSON.stringify(t)} is not a MAC address or 6 hex bytes.`);
    }
    case "FWP_BITMAP_ARRAY64_TYPE": {
      const bytes = parseHexBytes(t);
      if (bytes?.length === 8) return { type, value: bytes };
      return failure("FWP_E_INVALID_PARAMETER", `${JSON.stringify(t)} is not 8 hex bytes.`);
    }
    case "FWP_BYTE_BLOB_TYPE": {
      const hex = parseHexBytes(t);
      if (hex !== undefined) return { type, value: hex };
      if (t === SYSTEM_APP_ID_TEXT) return { type, value: utf16leNulTerminated(SYSTEM_APP_ID_TEXT) };
      if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
        return { type, value: utf16leNulTerminated(t.slice(1, -1)) };
      }
      if (/^([a-zA-Z]:|\\|\/)/.test(t)) {
        return {
          type,
          value: appIdFromFileName(t, {
            ...(options.driveDevices === undefined ? {} : { driveDevices: options.driveDevices }),
            ...(options.path === undefined ? {} : { path: options.path }),
          }),
        };
      }
      return failure(
        "FWP_E_INVALID_PARAMETER",
        `${JSON.stringify(t)} is not a file path, System, a "quoted string" or 0x-prefixed hex bytes.`,
      );
    }
    case "FWP_SID": {
      const sid = tryParseSid(t);
      if (sid !== undefined) return { type, value: sid };
      return failure("FWP_E_INVALID_PARAMETER", `${JSON.stringify(t)} is not a SID (S-1-…).`);
    }
    case "FWP_SECURITY_DESCRIPTOR_TYPE":
    case "FWP_TOKEN_INFORMATION_TYPE":
    case "FWP_TOKEN_ACCESS_INFORMATION_TYPE": {
      // A token field takes a security descriptor condition value (A8, exception 3).
      const hex = parseHexBytes(t);
      const sd = hex ?? securityDescriptorFromSddl(t, options.path);
      return { type: "FWP_SECURITY_DESCRIPTOR_TYPE", value: sd };
    }
    case "FWP_UNICODE_STRING_TYPE":
      return { type, value: text };
  }
}

function throwFailure(f: ParseFailure, path: string | undefined): never {
  throw new FwpError(f.code, path === undefined ? { detail: f.detail } : { path, detail: f.detail });
}

function parsePrefix(
  text: string,
  family: 4 | 6,
  path: string | undefined,
): FwpConditionValue | ParseFailure | undefined {
  const slash = text.indexOf("/");
  const addrText = (slash < 0 ? text : text.slice(0, slash)).trim();
  const lengthText = slash < 0 ? undefined : text.slice(slash + 1).trim();
  const v4 = Ipv4Address.tryParse(addrText);
  const v6 = v4 === undefined ? Ipv6Address.tryParse(addrText) : undefined;
  if (v4 === undefined && v6 === undefined) return undefined;
  if ((family === 4 && v6 !== undefined) || (family === 6 && v4 !== undefined)) {
    return failure(
      "FWP_E_TYPE_MISMATCH",
      `${JSON.stringify(text)} is an IPv${family === 4 ? 6 : 4} prefix; this field holds IPv${family}.`,
    );
  }
  const max = family === 4 ? 32 : 128;
  if (lengthText !== undefined && !/^\d{1,3}$/.test(lengthText)) {
    return failure("FWP_E_INVALID_NET_MASK", `Bad prefix length in ${JSON.stringify(text)}.`);
  }
  const length = lengthText === undefined ? max : Number(lengthText);
  if (length > max) return failure("FWP_E_INVALID_NET_MASK", `Prefix length ${length} is above ${max}.`);
  if (v4 !== undefined) {
    const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
    return validateConditionValue({ type: "FWP_V4_ADDR_MASK", addr: v4.value, mask }, path);
  }
  return validateConditionValue({ type: "FWP_V6_ADDR_MASK", addr: v6?.toBytes(), prefixLength: length }, path);
}

/**
 * Parses condition-value text for a field of `dataType` (see the table above). `dataType` may also be
 * FWP_V4_ADDR_MASK or FWP_V6_ADDR_MASK (a bare address is then /32 or /128); FWP_RANGE_TYPE is refused
 * because the bound type is unknown — give the field type instead.
 */
export function parseConditionValue(
  dataType: FwpDataTypeName,
  text: string,
  options: ParseValueOptions = {},
): FwpConditionValue {
  const path = options.path;
  if (!isDataTypeName(dataType)) {
    throw new FwpError("FWP_E_INVALID_ENUMERATOR", {
      detail: `${JSON.stringify(dataType)} is not an FWP_DATA_TYPE.`,
      ...(path === undefined ? {} : { path }),
    });
  }
  const t = text.trim();
  if (dataType === "FWP_RANGE_TYPE") {
    throwFailure(
      failure("FWP_E_INVALID_PARAMETER", "Parse a range with the bounds' data type, not FWP_RANGE_TYPE."),
      path,
    );
  }
  if (dataType === "FWP_V4_ADDR_MASK" || dataType === "FWP_V6_ADDR_MASK") {
    const family = dataType === "FWP_V4_ADDR_MASK" ? 4 : 6;
    const prefix = parsePrefix(t, family, path);
    if (prefix === undefined) {
      throwFailure(failure("FWP_E_INVALID_PARAMETER", `${JSON.stringify(t)} is not an IPv${family} prefix.`), path);
    }
    if (prefix instanceof ParseFailure) throwFailure(prefix, path);
    return prefix;
  }
  const single = parseSingle(dataType, t, options);
  if (!(single instanceof ParseFailure)) return validateValue(single, path);
  if (t.includes("/") && (dataType === "FWP_UINT32" || dataType === "FWP_BYTE_ARRAY16_TYPE")) {
    const prefix = parsePrefix(t, dataType === "FWP_UINT32" ? 4 : 6, path);
    if (prefix instanceof ParseFailure) throwFailure(prefix, path);
    if (prefix !== undefined) return prefix;
  }
  if (SORTABLE_TYPES.has(dataType)) {
    for (let i = t.indexOf("-", 1); i > 0; i = t.indexOf("-", i + 1)) {
      const low = parseSingle(dataType, t.slice(0, i), options);
      if (low instanceof ParseFailure || low.type === "FWP_EMPTY") continue;
      const high = parseSingle(dataType, t.slice(i + 1), options);
      if (high instanceof ParseFailure || high.type === "FWP_EMPTY") continue;
      try {
        return fwpRange(validateValue(low, path), validateValue(high, path));
      } catch (e) {
        if (e instanceof FwpError && path !== undefined && e.path === undefined) {
          throw new FwpError(e.code, { path, ...(e.detail === undefined ? {} : { detail: e.detail }) });
        }
        throw e;
      }
    }
  }
  return throwFailure(single, path);
}

function hex(bytes: Uint8Array): string {
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function formatSingle(value: FwpValue, options: FormatValueOptions): string {
  switch (value.type) {
    case "FWP_EMPTY":
      return "FWP_EMPTY";
    case "FWP_UINT32":
      return options.ipv4 === true ? formatIpv4(value.value) : String(value.value);
    case "FWP_BYTE_ARRAY16_TYPE":
      return formatIpv6(value.value);
    case "FWP_BYTE_ARRAY6_TYPE":
      return Array.from(value.value, (b) => b.toString(16).padStart(2, "0")).join("-");
    case "FWP_BYTE_BLOB_TYPE": {
      const s = utf16leNulTerminatedToString(value.value);
      if (s === undefined || !/^[\x20-\x7e]*$/.test(s) || s.includes('"')) return hex(value.value);
      if (s === SYSTEM_APP_ID_TEXT) return s;
      // An app id (lower-cased NT path) reads back unchanged as a path; anything else is quoted.
      return s.startsWith("\\") && s === s.toLowerCase() ? s : `"${s}"`;
    }
    case "FWP_SID":
      return formatSid(value.value);
    case "FWP_SECURITY_DESCRIPTOR_TYPE":
      try {
        return securityDescriptorToSddl(value.value);
      } catch {
        return hex(value.value);
      }
    case "FWP_BITMAP_ARRAY64_TYPE":
      return hex(value.value);
    case "FWP_TOKEN_INFORMATION_TYPE":
    case "FWP_TOKEN_ACCESS_INFORMATION_TYPE":
      return `sids=[${value.value.sids.map((s) => formatSid(s.sid)).join(",")}] restrictedSids=[${value.value.restrictedSids.map((s) => formatSid(s.sid)).join(",")}]`;
    case "FWP_UNICODE_STRING_TYPE":
      return value.value;
    default:
      return String(value.value);
  }
}

/**
 * Text for a condition value that parseConditionValue reads back to an equal value (given the field's
 * data type; with `ipv4`, UINT32 values print dotted). Token values, which have no text form in policy
 * files, print their SIDs for people.
 */
export function formatConditionValue(value: FwpConditionValue, options: FormatValueOptions = {}): string {
  switch (value.type) {
    case "FWP_V4_ADDR_MASK":
      return `${formatIpv4(value.addr)}/${v4MaskPrefixLength(value.mask)}`;
    case "FWP_V6_ADDR_MASK":
      return `${formatIpv6(value.addr)}/${value.prefixLength}`;
    case "FWP_RANGE_TYPE":
      return `${formatSingle(value.valueLow, options)}-${formatSingle(value.valueHigh, options)}`;
    default:
      return formatSingle(value, options);
  }
}
