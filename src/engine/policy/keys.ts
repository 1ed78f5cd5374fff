/**
 * Deterministic keys for policy objects written without a `key`. The default minter hashes
 * `"<namespace>\0<kind>\0<name>\0<ordinal>"` (UTF-8) into 128 bits and writes them as an RFC 9562
 * version 8 (custom) GUID with the RFC 4122 variant, so the same document always yields the same keys
 * and a minted key never looks like a random (version 4) one. `ordinal` counts earlier objects of the
 * same kind and name in the document (0 for the first): providers, sublayers and callouts have unique
 * names, so theirs is always 0; filters may share a name. A caller may inject its own minter (for
 * example one drawing from a SeededRng) through the loader's `mintKey` option.
 * Source: https://www.rfc-editor.org/rfc/rfc9562#name-uuid-version-8
 */
import type { Guid } from "../../base/guid.ts";

export type PolicyObjectKind = "provider" | "sublayer" | "callout" | "filter";

/** Makes the key of an object declared without one. */
export type KeyMinter = (kind: PolicyObjectKind, name: string, ordinal: number) => Guid;

/** The namespace the default minter hashes in; change it to get a disjoint key space. */
export const DEFAULT_KEY_NAMESPACE = "openwfp-policy";

const ENCODER = new TextEncoder();

/**
 * The UTF-8 of `"<namespace>\0<kind>\0<name>\0<ordinal>"`, as TextEncoder writes it (a lone surrogate
 * becomes U+FFFD), into a scratch buffer reused from one key to the next; returns its length. ASCII, the
 * usual name, is copied code by code; anything else goes through TextEncoder.
 */
class KeyText {
  #bytes = new Uint8Array(256);
  #length = 0;

  get bytes(): Uint8Array {
    return this.#bytes;
  }

  start(): void {
    this.#length = 0;
  }

  #room(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(2 * this.#bytes.length, this.#length + n));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  text(t: string): void {
    const n = t.length;
    this.#room(n);
    const b = this.#bytes;
    let at = this.#length;
    for (let i = 0; i < n; i++) {
      const c = t.charCodeAt(i);
      if (c >= 0x80) {
        this.#length = at;
        this.#encoded(t.slice(i));
        return;
      }
      b[at++] = c;
    }
    this.#length = at;
  }

  #encoded(t: string): void {
    const e = ENCODER.encode(t);
    this.#room(e.length);
    this.#bytes.set(e, this.#length);
    this.#length += e.length;
  }

  /** A separator byte (NUL). */
  byte(x: number): void {
    this.#room(1);
    this.#bytes[this.#length++] = x;
  }

  /** `String(n)`: the digits of a small non-negative integer directly, anything else as its text. */
  number(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
      this.text(String(n));
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    this.#room(digits);
    const b = this.#bytes;
    let x = n;
    for (let i = this.#length + digits - 1; i >= this.#length; i--) {
      b[i] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    }
    this.#length += digits;
  }

  get length(): number {
    return this.#length;
  }
}

/** Four 32-bit lanes of a multiply-xorshift hash with distinct seeds, each finished with murmur3's fmix32. */
function hash128(bytes: Uint8Array, n: number, out: Uint8Array): void {
  // The four lanes in one pass over the bytes (lane i: seed SEEDS[i], multiplier 0x5bd1e995 + 2i).
  let h0 = (0x811c9dc5 ^ n) >>> 0;
  let h1 = (0x9747b28c ^ n) >>> 0;
  let h2 = (0x1b873593 ^ n) >>> 0;
  let h3 = (0xcc9e2d51 ^ n) >>> 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number;
    h0 = Math.imul(h0 ^ b, 0x5bd1e995);
    h0 ^= h0 >>> 15;
    h1 = Math.imul(h1 ^ b, 0x5bd1e997);
    h1 ^= h1 >>> 15;
    h2 = Math.imul(h2 ^ b, 0x5bd1e999);
    h2 ^= h2 >>> 15;
    h3 = Math.imul(h3 ^ b, 0x5bd1e99b);
    h3 ^= h3 >>> 15;
  }
  finish(out, 0, h0);
  finish(out, 4, h1);
  finish(out, 8, h2);
  finish(out, 12, h3);
}

function finish(out: Uint8Array, at: number, lane: number): void {
  let h = lane;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  out[at] = h >>> 24;
  out[at + 1] = (h >>> 16) & 0xff;
  out[at + 2] = (h >>> 8) & 0xff;
  out[at + 3] = h & 0xff;
}

/** The character codes of the two lower-case hex digits of each byte value. */
const HEX_HIGH = Uint8Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0").charCodeAt(0));
const HEX_LOW = Uint8Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0").charCodeAt(1));

/**
 * A minter hashing (namespace, kind, name, ordinal) into a version 8 GUID. The text is made in one piece
 * (String.fromCharCode), not by concatenation, so the engine's maps hash a flat string and no chain of
 * partial strings outlives the key; bytes and hash state are scratch reused across keys.
 */
export function hashKeyMinter(namespace = DEFAULT_KEY_NAMESPACE): KeyMinter {
  const text = new KeyText();
  const b = new Uint8Array(16);
  const codes: number[] = Array.from({ length: 36 }, () => 0x2d);
  return (kind, name, ordinal) => {
    text.start();
    text.text(namespace);
    text.byte(0);
    text.text(kind);
    text.byte(0);
    text.text(name);
    text.byte(0);
    text.number(ordinal);
    hash128(text.bytes, text.length, b);
    b[6] = ((b[6] as number) & 0x0f) | 0x80;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    let j = 0;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) j++;
      const x = b[i] as number;
      codes[j++] = HEX_HIGH[x] as number;
      codes[j++] = HEX_LOW[x] as number;
    }
    return String.fromCharCode.apply(null, codes) as Guid;
  };
}
