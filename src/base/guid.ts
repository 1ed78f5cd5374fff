/**
 * GUIDs as WFP uses them for layer, sublayer, provider, callout, filter and condition keys.
 * Text is "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lower case when formatted; braces and upper case accepted
 * when parsed). Bytes follow the Windows GUID structure: Data1 (u32), Data2 (u16) and Data3 (u16) little
 * endian, then Data4's 8 bytes as they stand — the layout netsh and FWPM structures carry.
 */
import { OpenWfpError } from "./errors.ts";

const GUID_TEXT = /^\{?([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})\}?$/;

export class GuidError extends OpenWfpError {
  constructor(text: string) {
    super("E_INVALID_GUID", `not a GUID: ${JSON.stringify(text)}`);
    this.name = "GuidError";
  }
}

/** A GUID in canonical text form (lower case, no braces). Plain strings compare and hash cheaply. */
export type Guid = string & { readonly __guid: unique symbol };

export const GUID_NULL = "00000000-0000-0000-0000-000000000000" as Guid;

/** Parses GUID text with or without braces, in either case; braces must be balanced. */
export function parseGuid(text: string): Guid {
  const guid = tryParseGuid(text);
  if (guid === undefined) throw new GuidError(text);
  return guid;
}

export function tryParseGuid(text: string): Guid | undefined {
  const m = GUID_TEXT.exec(text.trim());
  if (m === null) return undefined;
  const trimmed = text.trim();
  if (trimmed.startsWith("{") !== trimmed.endsWith("}")) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase() as Guid;
}

export function isGuidNull(guid: Guid): boolean {
  return guid === GUID_NULL;
}

/** The 16 bytes of the Windows GUID structure (Data1–3 little endian). */
export function guidToBytes(guid: Guid): Uint8Array {
  const hex = guid.replace(/-/g, "");
  const raw = new Uint8Array(16);
  for (let i = 0; i < 16; i++) raw[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return Uint8Array.from([
    raw[3] ?? 0,
    raw[2] ?? 0,
    raw[1] ?? 0,
    raw[0] ?? 0,
    raw[5] ?? 0,
    raw[4] ?? 0,
    raw[7] ?? 0,
    raw[6] ?? 0,
    ...raw.subarray(8),
  ]);
}

/** Reads a Windows GUID structure (16 bytes at `offset`). */
export function guidFromBytes(bytes: Uint8Array, offset = 0): Guid {
  if (bytes.length < offset + 16) throw new OpenWfpError("E_INVALID_GUID", "GUID needs 16 bytes", { offset });
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  const hex = order.map((i) => (bytes[offset + i] ?? 0).toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as Guid;
}

/** Text with braces, upper case, as `netsh wfp` and the registry print GUIDs. */
export function formatGuidBraced(guid: Guid): string {
  return `{${guid}}`;
}

/** A random (version 4) GUID drawn from an injected source of random bytes. */
export function newGuid(randomBytes: (n: number) => Uint8Array): Guid {
  const b = randomBytes(16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as Guid;
}
