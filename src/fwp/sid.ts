/**
 * Security identifiers as FWP_SID values carry them: the binary SID of MS-DTYP §2.4.2.2 — Revision (1),
 * SubAuthorityCount (0..15), IdentifierAuthority (6 bytes, big endian), then SubAuthorityCount 32-bit
 * sub-authorities, little endian — and the "S-1-5-18" text form of §2.4.2.1 (authority in decimal
 * below 2^32, else "0x" and 12 hex digits, as ConvertSidToStringSid prints it).
 * Source: https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/f992ad60-0fe4-4b87-9fed-beb478836861
 */
import { FwpError } from "./error.ts";

export const SID_REVISION = 1;
export const SID_MAX_SUB_AUTHORITIES = 15;

/** Size in bytes of a SID with `subAuthorityCount` sub-authorities. */
export function sidByteLength(subAuthorityCount: number): number {
  return 8 + 4 * subAuthorityCount;
}

/** True when `bytes` is exactly one well-formed binary SID. */
export function isValidSid(bytes: Uint8Array): boolean {
  if (bytes.length < 8 || bytes[0] !== SID_REVISION) return false;
  const count = bytes[1] ?? 0;
  return count <= SID_MAX_SUB_AUTHORITIES && bytes.length === sidByteLength(count);
}

/** Parses "S-1-…" text into a binary SID, or undefined when the text is not a SID. */
export function tryParseSid(text: string): Uint8Array | undefined {
  const m = /^[sS]-1-(0[xX][0-9a-fA-F]{12}|\d{1,15})((?:-\d{1,10})*)$/.exec(text.trim());
  if (m === null) return undefined;
  const authorityText = m[1] ?? "";
  const authority = authorityText.toLowerCase().startsWith("0x")
    ? BigInt(authorityText)
    : BigInt(authorityText.replace(/^0+(?=\d)/, ""));
  if (authority >= 1n << 48n) return undefined;
  const subs = (m[2] ?? "").split("-").slice(1);
  if (subs.length > SID_MAX_SUB_AUTHORITIES) return undefined;
  const out = new Uint8Array(sidByteLength(subs.length));
  out[0] = SID_REVISION;
  out[1] = subs.length;
  for (let i = 0; i < 6; i++) out[2 + i] = Number((authority >> BigInt(8 * (5 - i))) & 0xffn);
  for (let i = 0; i < subs.length; i++) {
    const n = Number(subs[i]);
    if (n > 0xffffffff) return undefined;
    const at = 8 + 4 * i;
    out[at] = n & 0xff;
    out[at + 1] = (n >>> 8) & 0xff;
    out[at + 2] = (n >>> 16) & 0xff;
    out[at + 3] = n >>> 24;
  }
  return out;
}

/** Parses "S-1-…" text; anything else is FWP_E_INVALID_PARAMETER. */
export function parseSid(text: string, path?: string): Uint8Array {
  const sid = tryParseSid(text);
  if (sid === undefined) {
    throw new FwpError("FWP_E_INVALID_PARAMETER", {
      detail: `Not a SID (S-1-<authority>-<sub-authority>…, at most 15 sub-authorities): ${JSON.stringify(text)}.`,
      ...(path === undefined ? {} : { path }),
    });
  }
  return sid;
}

/** "S-1-5-18" text of a binary SID; a malformed SID is FWP_E_INVALID_PARAMETER. */
export function formatSid(bytes: Uint8Array): string {
  if (!isValidSid(bytes)) throw new FwpError("FWP_E_INVALID_PARAMETER", { detail: "Malformed binary SID." });
  let authority = 0n;
  for (let i = 2; i < 8; i++) authority = (authority << 8n) | BigInt(bytes[i] ?? 0);
  const authorityText =
    authority >= 1n << 32n
      ? `0x${Array.from(bytes.subarray(2, 8), (b) => b.toString(16).padStart(2, "0").toUpperCase()).join("")}`
      : authority.toString();
  let text = `S-1-${authorityText}`;
  for (let i = 0; i < (bytes[1] ?? 0); i++) {
    const at = 8 + 4 * i;
    const n =
      ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>>
      0;
    text += `-${n}`;
  }
  return text;
}
