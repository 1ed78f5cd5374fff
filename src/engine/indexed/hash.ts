/**
 * 32-bit hashes (FNV-1a, http://www.isthe.com/chongo/tech/comp/fnv/) used as U32Table keys for values
 * that are not small integers: byte strings (blobs, BYTE_ARRAY16/6, SIDs), strings, and the first
 * `prefixLength` bits of an IPv6 address. Equal inputs hash equally; collisions only add candidates
 * that verification rejects. None of these allocate.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over all bytes, mixed with the length. */
export function hashBytes(bytes: Uint8Array): number {
  let h = FNV_OFFSET ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string. */
export function hashString(text: string): number {
  let h = FNV_OFFSET ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h = Math.imul(h ^ (c & 0xff), FNV_PRIME);
    h = Math.imul(h ^ (c >>> 8), FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * Hash of the first `prefixLength` (0..128) bits of a 16-byte address: whole bytes, then the leading
 * bits of the next byte, then the length. Two addresses hash equally when those bits are equal, which is
 * exactly when an FWP_V6_ADDR_MASK of that length matches (§A.3).
 */
export function hashV6Prefix(addr: Uint8Array, prefixLength: number): number {
  let h = FNV_OFFSET;
  const whole = prefixLength >>> 3;
  for (let i = 0; i < whole; i++) h = Math.imul(h ^ (addr[i] as number), FNV_PRIME);
  const rest = prefixLength & 7;
  if (rest !== 0) h = Math.imul(h ^ ((addr[whole] as number) & (0xff << (8 - rest)) & 0xff), FNV_PRIME);
  return Math.imul(h ^ prefixLength, FNV_PRIME) >>> 0;
}
