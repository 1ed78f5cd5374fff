/** Byte readers and writers for capture headers, in either byte order, reading the Uint8Array directly. */

export function readU16(b: Uint8Array, p: number, le: boolean): number {
  return le ? b[p]! | (b[p + 1]! << 8) : (b[p]! << 8) | b[p + 1]!;
}

export function readU32(b: Uint8Array, p: number, le: boolean): number {
  return le
    ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
    : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

export function readI32(b: Uint8Array, p: number, le: boolean): number {
  return readU32(b, p, le) | 0;
}

/** A 64-bit field read as two 32-bit halves (high word first in the file's order). */
export function readI64(b: Uint8Array, p: number, le: boolean): bigint {
  const lo = readU32(b, le ? p : p + 4, le);
  const hi = readU32(b, le ? p + 4 : p, le);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

export function writeU16(b: Uint8Array, p: number, v: number, le: boolean): void {
  if (le) {
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
  } else {
    b[p] = (v >>> 8) & 0xff;
    b[p + 1] = v & 0xff;
  }
}

export function writeU32(b: Uint8Array, p: number, v: number, le: boolean): void {
  if (le) {
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 24) & 0xff;
  } else {
    b[p] = (v >>> 24) & 0xff;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
  }
}

/** A copy of `b[start, end)` that owns its memory (chunk buffers of the stream reader are reused). */
export function copyBytes(b: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(b.subarray(start, end));
  return out;
}

/** Round up to a multiple of 4 (pcapng pads block bodies and options to 32 bits). */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}
