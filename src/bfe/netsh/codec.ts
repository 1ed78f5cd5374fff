/**
 * Text codecs of netsh XML values (H48, H49): keys (built-in objects by constant name, others as
 * `{guid}`), flag lists (known names in ascending bit order, then the unknown bits as one 8-digit hex
 * item, e.g. `00000020`), integers in decimal, IPv4 addresses of address fields in dotted quad, IPv6 in
 * RFC 5952 text, byte blobs as lower-case hex with an `asString` rendering, SIDs and SDDL as text.
 * Unknown names → the FWP_E_*_NOT_FOUND of their kind; unparsable text → NETSH_BAD_VALUE; out of range →
 * FWP_E_OUT_OF_BOUNDS; each error names the element path.
 */
import { type Guid, tryParseGuid } from "../../base/guid.ts";
import { formatIpv4, formatIpv6, Ipv4Address, Ipv6Address } from "../../base/ip.ts";
import {
  BUILTIN_CALLOUTS,
  BUILTIN_PROVIDER_CONTEXTS,
  BUILTIN_PROVIDERS,
  BUILTIN_SUBLAYERS,
  CONDITIONS,
  FwpError,
  type FwpErrorName,
  findCondition,
  KEYING_MODULES,
  LAYERS,
  layerByKey,
} from "../../fwp/index.ts";
import { NetshError } from "./error.ts";

/** What a key names: decides the FWP_E_*_NOT_FOUND code for an unknown constant name. */
export type KeyKind = "layer" | "sublayer" | "provider" | "callout" | "providerContext" | "condition" | "any";

const NOT_FOUND: Readonly<Record<KeyKind, FwpErrorName>> = {
  layer: "FWP_E_LAYER_NOT_FOUND",
  sublayer: "FWP_E_SUBLAYER_NOT_FOUND",
  provider: "FWP_E_PROVIDER_NOT_FOUND",
  callout: "FWP_E_CALLOUT_NOT_FOUND",
  providerContext: "FWP_E_PROVIDER_CONTEXT_NOT_FOUND",
  condition: "FWP_E_CONDITION_NOT_FOUND",
  any: "FWP_E_NOT_FOUND",
};

interface Named {
  readonly name: string;
  readonly key: Guid | null;
  readonly aliasOf: string | null;
  readonly documentationOnly?: boolean;
}

const BY_KIND = new Map<KeyKind, Map<string, Guid>>();
const NAME_BY_GUID = new Map<Guid, string>();

function register(kind: KeyKind, rows: readonly Named[]): void {
  const names = BY_KIND.get(kind) ?? new Map<string, Guid>();
  BY_KIND.set(kind, names);
  const any = BY_KIND.get("any") ?? new Map<string, Guid>();
  BY_KIND.set("any", any);
  // Canonical names first so they win the GUID → name direction.
  const ordered = [...rows].sort((a, b) => rank(a) - rank(b));
  for (const r of ordered) {
    if (r.key === null) continue;
    names.set(r.name, r.key);
    any.set(r.name, r.key);
    if (!NAME_BY_GUID.has(r.key)) NAME_BY_GUID.set(r.key, r.name);
  }
}

function rank(r: Named): number {
  return (r.aliasOf === null ? 0 : 2) + (r.documentationOnly === true ? 1 : 0);
}

register(
  "layer",
  LAYERS.filter((l) => l.fwpmName !== null).map((l) => ({ name: l.fwpmName as string, key: l.key, aliasOf: null })),
);
register("sublayer", BUILTIN_SUBLAYERS);
register("provider", BUILTIN_PROVIDERS);
register("callout", BUILTIN_CALLOUTS);
register("providerContext", [...BUILTIN_PROVIDER_CONTEXTS, ...KEYING_MODULES]);
register("condition", CONDITIONS);

/** Parses a key: `{guid}` or a built-in constant name of the given kind. Empty → null. */
export function parseKey(text: string, kind: KeyKind, path: string): Guid | null {
  if (text === "") return null;
  if (text.startsWith("{")) {
    const g = tryParseGuid(text);
    if (g === undefined || !text.endsWith("}")) throw new NetshError("NETSH_BAD_VALUE", `Not a GUID: ${text}.`, path);
    return g;
  }
  const key =
    BY_KIND.get(kind)?.get(text) ?? (kind === "condition" ? (findCondition(text)?.key ?? undefined) : undefined);
  if (key === undefined) throw new FwpError(NOT_FOUND[kind], { path, detail: `Unknown name ${text}.` });
  return key;
}

/** Whether the reference tables know this layer GUID. */
export function isKnownLayerKey(key: Guid): boolean {
  return layerByKey(key) !== undefined;
}

/** Whether the reference tables know this condition GUID. */
export function isKnownConditionKey(key: Guid): boolean {
  return findCondition(key) !== undefined;
}

/** Like parseKey, but the key is required. */
export function parseRequiredKey(text: string, kind: KeyKind, path: string): Guid {
  const k = parseKey(text, kind, path);
  if (k === null) throw new NetshError("NETSH_MISSING_ELEMENT", "A key is required here.", path);
  return k;
}

/** Formats a key the way netsh does: the constant name of a built-in object, else `{guid}`. */
export function formatKey(key: Guid | null): string {
  if (key === null) return "";
  return NAME_BY_GUID.get(key) ?? `{${key}}`;
}

/**
 * Flag names netsh prints whose bit value is not published (observed in real dumps); they are kept by
 * name in `extraFlags` and printed after the named bits.
 */
export const NAME_ONLY_FLAGS: ReadonlySet<string> = new Set(["FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN"]);

export interface ParsedFlags {
  readonly flags: number;
  readonly extraFlags: readonly string[];
}

/** Parses a flag list (`<item>` texts) against netsh's names for this object kind. */
export function parseFlags(
  items: readonly string[],
  names: Readonly<Record<string, number>>,
  path: string,
): ParsedFlags {
  let flags = 0;
  const extraFlags: string[] = [];
  items.forEach((t, i) => {
    const v = names[t];
    if (v !== undefined && Object.hasOwn(names, t)) flags = (flags | v) >>> 0;
    else if (NAME_ONLY_FLAGS.has(t)) extraFlags.push(t);
    else if (/^[0-9A-F]{8}$/.test(t)) flags = (flags | Number.parseInt(t, 16)) >>> 0;
    else throw new FwpError("FWP_E_INVALID_FLAGS", { path: `${path}/item[${i}]`, detail: `Unknown flag ${t}.` });
  });
  return { flags, extraFlags };
}

/**
 * Formats flags as netsh does: known names in ascending bit order, the name-only flags, then any
 * remaining bits as one 8-digit upper-case hex item (e.g. `000003E0`).
 */
export function formatFlags(
  flags: number,
  extraFlags: readonly string[],
  names: Readonly<Record<string, number>>,
): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  const known = Object.entries(names)
    .filter((e) => e[1] !== 0 && (e[1] & (e[1] - 1)) === 0)
    .sort((a, b) => a[1] - b[1]);
  for (const [name, bit] of known) {
    if ((rest & bit) !== 0) {
      out.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  out.push(...extraFlags);
  if (rest !== 0) out.push(rest.toString(16).toUpperCase().padStart(8, "0"));
  return out;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const SIGNED = /^-?(0|[1-9][0-9]*)$/;

/** An unsigned decimal integer no larger than `max`. */
export function parseUnsigned(text: string, max: number, path: string): number {
  if (!DECIMAL.test(text))
    throw new NetshError("NETSH_BAD_VALUE", `Not an unsigned integer: ${JSON.stringify(text)}.`, path);
  const v = Number(text);
  if (v > max) throw new FwpError("FWP_E_OUT_OF_BOUNDS", { path, detail: `${text} is larger than ${max}.` });
  return v;
}

export function parseUnsigned64(text: string, path: string): bigint {
  if (!DECIMAL.test(text))
    throw new NetshError("NETSH_BAD_VALUE", `Not an unsigned integer: ${JSON.stringify(text)}.`, path);
  const v = BigInt(text);
  if (v > 0xffffffffffffffffn) throw new FwpError("FWP_E_OUT_OF_BOUNDS", { path, detail: `${text} exceeds 64 bits.` });
  return v;
}

export function parseSigned(text: string, min: number, max: number, path: string): number {
  if (!SIGNED.test(text)) throw new NetshError("NETSH_BAD_VALUE", `Not an integer: ${JSON.stringify(text)}.`, path);
  const v = Number(text);
  if (v < min || v > max)
    throw new FwpError("FWP_E_OUT_OF_BOUNDS", { path, detail: `${text} is outside ${min}..${max}.` });
  return v;
}

export function parseSigned64(text: string, path: string): bigint {
  if (!SIGNED.test(text)) throw new NetshError("NETSH_BAD_VALUE", `Not an integer: ${JSON.stringify(text)}.`, path);
  const v = BigInt(text);
  if (v < -0x8000000000000000n || v > 0x7fffffffffffffffn) {
    throw new FwpError("FWP_E_OUT_OF_BOUNDS", { path, detail: `${text} exceeds 64 bits.` });
  }
  return v;
}

export function parseBoolean(text: string, path: string): boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  throw new NetshError("NETSH_BAD_VALUE", `Expected true or false, got ${JSON.stringify(text)}.`, path);
}

/** A UINT32 printed as a dotted quad (address fields) or in decimal. */
export function parseUint32OrAddress(text: string, path: string): number {
  if (text.includes(".")) {
    try {
      return Ipv4Address.parse(text).value;
    } catch {
      throw new NetshError("NETSH_BAD_VALUE", `Not an IPv4 address: ${JSON.stringify(text)}.`, path);
    }
  }
  return parseUnsigned(text, 0xffffffff, path);
}

export function formatUint32(value: number, asAddress: boolean): string {
  return asAddress ? formatIpv4(value) : String(value);
}

export function parseIpv6Text(text: string, path: string): Uint8Array {
  try {
    return Ipv6Address.parse(text).bytes;
  } catch {
    throw new NetshError("NETSH_BAD_VALUE", `Not an IPv6 address: ${JSON.stringify(text)}.`, path);
  }
}

export function formatIpv6Text(bytes: Uint8Array): string {
  return formatIpv6(bytes);
}

/** Lower-case hex of a blob (`<data>`); "" for an empty blob. */
export function parseHex(text: string, path: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new NetshError("NETSH_BAD_VALUE", `Not hex bytes: ${JSON.stringify(text.slice(0, 40))}.`, path);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function formatHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * `asString` of an opaque blob (providerData, dataBuffer): each byte as its ASCII character when printable
 * and not one of & < >, else ".". (Observed in every dump: netsh never escapes here.)
 */
export function blobAsciiString(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes)
    s += b >= 0x20 && b < 0x7f && b !== 0x26 && b !== 0x3c && b !== 0x3e ? String.fromCharCode(b) : ".";
  return s;
}

/** `asString` of a condition byte blob: the UTF-16LE text without its terminating NULs (app ids). */
export function blobUtf16String(bytes: Uint8Array): string {
  if (bytes.length % 2 !== 0) return blobAsciiString(bytes);
  let s = "";
  for (let i = 0; i + 1 < bytes.length; i += 2)
    s += String.fromCharCode((bytes[i] as number) | ((bytes[i + 1] as number) << 8));
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0) end--;
  return s.slice(0, end);
}
