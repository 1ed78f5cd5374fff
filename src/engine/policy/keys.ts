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

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Four 32-bit lanes of a multiply-xorshift hash with distinct seeds, each finished with murmur3's fmix32. */
function hash128(bytes: Uint8Array): Uint8Array {
  const seeds = [0x811c9dc5, 0x9747b28c, 0x1b873593, 0xcc9e2d51];
  const out = new Uint8Array(16);
  seeds.forEach((seed, lane) => {
    let h = (seed ^ bytes.length) >>> 0;
    for (let i = 0; i < bytes.length; i++) {
      h = Math.imul(h ^ (bytes[i] ?? 0), 0x5bd1e995 + 2 * lane);
      h ^= h >>> 15;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    out[4 * lane] = h >>> 24;
    out[4 * lane + 1] = (h >>> 16) & 0xff;
    out[4 * lane + 2] = (h >>> 8) & 0xff;
    out[4 * lane + 3] = h & 0xff;
  });
  return out;
}

/** A minter hashing (namespace, kind, name, ordinal) into a version 8 GUID. */
export function hashKeyMinter(namespace = DEFAULT_KEY_NAMESPACE): KeyMinter {
  return (kind, name, ordinal) => {
    const b = hash128(utf8(`${namespace}\0${kind}\0${name}\0${ordinal}`));
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x80;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as Guid;
  };
}
