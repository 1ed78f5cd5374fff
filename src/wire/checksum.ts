/**
 * The Internet checksum (RFC 1071) and the pseudo-headers of TCP, UDP and ICMPv6 (RFC 793, RFC 768,
 * RFC 8200 §8.1). Sums are kept as unfolded numbers so pieces can be added before the final fold; the
 * loops read two bytes at a time without allocating.
 */

/** Adds the 16-bit big-endian words of bytes[start, end) to `initial` (odd tail padded with zero). */
export function sumWords(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if (i < end) sum += (bytes[i] as number) << 8;
  // Fold early enough that the sum stays exact in a double for any buffer length.
  return sum;
}

/** Folds carries and complements: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** The Internet checksum of bytes[start, end). */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  return finishChecksum(sumWords(bytes, start, end, initial));
}

/** Sum of the IPv4 pseudo-header: source, destination, zero, protocol, upper-layer length. */
export function pseudoHeaderSumV4(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Sum of the IPv6 pseudo-header: source, destination (16 bytes each), 32-bit length, next header. */
export function pseudoHeaderSumV6(
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  protocol: number,
  length: number,
): number {
  let sum = sumWords(src, srcOffset, srcOffset + 16);
  sum = sumWords(dst, dstOffset, dstOffset + 16, sum);
  return sum + (length >>> 16) + (length & 0xffff) + protocol;
}

/** True when a region that includes its own checksum field sums to 0xffff (verifies). */
export function checksumVerifies(bytes: Uint8Array, start: number, end: number, initial = 0): boolean {
  return finishChecksum(sumWords(bytes, start, end, initial)) === 0;
}

/**
 * What to put in a checksum field when emitting: compute it (the default), keep the value in the repr,
 * or write a deliberately wrong one (the correct value XOR 0xffff, never equal to the correct one; for
 * UDP over IPv4, 0 means "no checksum", so a wrong UDP checksum is never 0).
 */
export type ChecksumMode = "compute" | "keep" | "wrong";

/**
 * A checksum value that is certainly wrong for data whose correct checksum is `correct`: it differs by
 * one bit in the lowest place, so the one's-complement sum is off by 1 or 2 (never ≡ 0), and it is never 0
 * (which UDP over IPv4 reads as "no checksum").
 */
export function wrongChecksum(correct: number): number {
  const w = correct ^ 1;
  return w === 0 ? correct ^ 2 : w;
}
