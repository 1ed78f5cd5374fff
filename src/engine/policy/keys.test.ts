import assert from "node:assert/strict";
import { test } from "node:test";
import { SeededRng } from "../../base/rng.ts";
import { DEFAULT_KEY_NAMESPACE, hashKeyMinter, type PolicyObjectKind } from "./keys.ts";

/** The minter as first written: TextEncoder over the whole text, hex by concatenation. */
function referenceMinter(namespace = DEFAULT_KEY_NAMESPACE) {
  const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
  return (kind: PolicyObjectKind, name: string, ordinal: number): string => {
    const bytes = new TextEncoder().encode(`${namespace}\0${kind}\0${name}\0${ordinal}`);
    const n = bytes.length;
    const lanes = [0x811c9dc5, 0x9747b28c, 0x1b873593, 0xcc9e2d51].map((s) => (s ^ n) >>> 0);
    for (const b of bytes) {
      for (let l = 0; l < 4; l++) {
        let h = Math.imul((lanes[l] as number) ^ b, 0x5bd1e995 + 2 * l);
        h ^= h >>> 15;
        lanes[l] = h;
      }
    }
    const out: number[] = [];
    for (const lane of lanes) {
      let h = lane;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      out.push(h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
    }
    out[6] = ((out[6] as number) & 0x0f) | 0x80;
    out[8] = ((out[8] as number) & 0x3f) | 0x80;
    let text = "";
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text += "-";
      text += hex[out[i] as number];
    }
    return text;
  };
}

const PIECES = ["a", "blocklist ", "Z", " ", "é", "€", "日本", "\u{1f600}", "\ud800", "\udc00x", "\0", "-", "9"];

function seededName(rng: SeededRng): string {
  let name = "";
  const n = rng.nextInt(12);
  for (let i = 0; i < n; i++) name += PIECES[rng.nextInt(PIECES.length)];
  return rng.chance(0.1) ? name.repeat(40) : name;
}

test("minted keys are the reference hash of namespace, kind, name and ordinal (ASCII, non-ASCII, lone surrogates, long names)", () => {
  const rng = new SeededRng(0x6b657973);
  const kinds: PolicyObjectKind[] = ["provider", "sublayer", "callout", "filter"];
  for (const namespace of [DEFAULT_KEY_NAMESPACE, "elsewhere", "名前空間"]) {
    const mint = hashKeyMinter(namespace);
    const reference = referenceMinter(namespace);
    for (let i = 0; i < 2000; i++) {
      const kind = kinds[rng.nextInt(kinds.length)] as PolicyObjectKind;
      const name = seededName(rng);
      const ordinal = rng.chance(0.5) ? rng.nextInt(10) : rng.nextInt(0x7fffffff);
      assert.equal(mint(kind, name, ordinal), reference(kind, name, ordinal), JSON.stringify([kind, name, ordinal]));
    }
  }
});

test("a minted key is a canonical version 8 GUID and the same name with the next ordinal is another key", () => {
  const mint = hashKeyMinter();
  const a = mint("filter", "blocklist 7", 0);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(mint("filter", "blocklist 7", 0), a);
  assert.notEqual(mint("filter", "blocklist 7", 1), a);
  assert.equal(mint("filter", "blocklist 7", 1), referenceMinter()("filter", "blocklist 7", 1));
});
