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

function utf8(text: string): Uint8Array {
  return ENCODER.encode(text);
}

/** Four 32-bit lanes of a multiply-xorshift hash with distinct seeds, each finished with murmur3's fmix32. */
function hash128(bytes: Uint8Array): Uint8Array {
  // The four lanes in one pass over the bytes (lane i: seed SEEDS[i], multiplier 0x5bd1e995 + 2i).
  const n = bytes.length;
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
  const out = new Uint8Array(16);
  finish(out, 0, h0);
  finish(out, 4, h1);
  finish(out, 8, h2);
  finish(out, 12, h3);
  return out;
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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A minter hashing (namespace, kind, name, ordinal) into a version 8 GUID. */
export function hashKeyMinter(namespace = DEFAULT_KEY_NAMESPACE): KeyMinter {
  return (kind, name, ordinal) => {
    const b = hash128(utf8(`${namespace}\0${kind}\0${name}\0${ordinal}`));
    b[6] = ((b[6] as number) & 0x0f) | 0x80;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    let text = "";
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text += "-";
      text += HEX[b[i] as number] as string;
    }
    return text as Guid;
  };
}
