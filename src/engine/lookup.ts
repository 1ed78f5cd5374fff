/**
 * Hot-path lookups for adds and loads (FwpmFilterAdd0 at 100k filters per transaction, a BFE start
 * loading as many): GUID text that is already canonical is taken as is, and name/GUID → condition,
 * layer and layer-field resolutions are memoised. Every answer is the one the plain lookup
 * (tryParseGuid, findCondition, findLayer, `layer.fields.find`) gives; only what it found is cached,
 * and the caches are bounded, so arbitrary spec text cannot grow them.
 */
import type { Guid } from "../base/guid.ts";
import { newGuid, tryParseGuid } from "../base/guid.ts";
import { type Condition, findCondition, findLayer, type Layer, type LayerField } from "../fwp/index.ts";

/** Entries a text-keyed memo keeps before it starts over (the tables hold a few hundred names and GUIDs). */
const MEMO_LIMIT = 4096;

const CANONICAL_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Texts recently found canonical. Bulk adds and loads name the same sublayer, provider and callout in
 * every filter, so most checks end here with a string comparison instead of the regular expression. A new
 * text waits in the last slot; seen again there it moves up to the three kept ones, so keys met once (each
 * filter's own) never push out those met again and again.
 */
const recentCanonical: string[] = ["", "", "", ""];
let recentNext = 0;

/** True for "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower-case hex: the form tryParseGuid returns. */
export function isCanonicalGuid(text: string): boolean {
  if (text.length !== 36) return false;
  const recent = recentCanonical;
  if (text === recent[0] || text === recent[1] || text === recent[2]) return true;
  if (text === recent[3]) {
    recent[recentNext] = text;
    recentNext = recentNext === 2 ? 0 : recentNext + 1;
    return true;
  }
  if (!CANONICAL_GUID.test(text)) return false;
  recent[3] = text;
  return true;
}

/** tryParseGuid, without the regular expression when the text is already canonical. */
export function guidKey(text: string): Guid | undefined {
  return isCanonicalGuid(text) ? (text as Guid) : tryParseGuid(text);
}

/** A GUID from any value: text → guidKey, anything else → undefined. */
export function guidOfValue(x: unknown): Guid | undefined {
  return typeof x === "string" ? guidKey(x) : undefined;
}

const conditions = new Map<string, Condition>();

/** findCondition (name or GUID), memoised. */
export function conditionOf(nameOrKey: string): Condition | undefined {
  const hit = conditions.get(nameOrKey);
  if (hit !== undefined) return hit;
  const found = findCondition(nameOrKey);
  if (found !== undefined) {
    if (conditions.size >= MEMO_LIMIT) conditions.clear();
    conditions.set(nameOrKey, found);
  }
  return found;
}

const layers = new Map<string, Layer>();

/** findLayer for text (name or GUID), memoised; numbers and Layer objects go straight to findLayer. */
export function layerOf(ref: unknown): Layer | undefined {
  if (typeof ref !== "string") {
    return typeof ref === "number" || (typeof ref === "object" && ref !== null) ? findLayer(ref as Layer) : undefined;
  }
  const hit = layers.get(ref);
  if (hit !== undefined) return hit;
  const found = findLayer(ref);
  if (found !== undefined) {
    if (layers.size >= MEMO_LIMIT) layers.clear();
    layers.set(ref, found);
  }
  return found;
}

const fieldsByLayer = new WeakMap<Layer, ReadonlyMap<Guid, LayerField>>();

/** The layer's field for a condition GUID: the first of `layer.fields` with that conditionKey. */
export function fieldOf(layer: Layer, conditionKey: Guid): LayerField | undefined {
  let byKey = fieldsByLayer.get(layer);
  if (byKey === undefined) {
    const m = new Map<Guid, LayerField>();
    for (const f of layer.fields) if (!m.has(f.conditionKey)) m.set(f.conditionKey, f);
    byKey = m;
    fieldsByLayer.set(layer, byKey);
  }
  return byKey.get(conditionKey);
}

/** The character codes of the two lower-case hex digits of each byte value. */
const HEX_HIGH = Uint8Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0").charCodeAt(0));
const HEX_LOW = Uint8Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0").charCodeAt(1));
/** The 36 character codes of a GUID being formatted (hyphens stay in place). */
const guidCodes: number[] = Array.from({ length: 36 }, () => 0x2d);

/**
 * newGuid (src/base/guid.ts) with the same bytes and the same text — a version 4 GUID from 16 bytes of
 * `randomBytes`, version and variant bits set in place — formatted through a table: the BFE draws one per
 * add without a key (H20). The text is made in one piece (String.fromCharCode), not by concatenation, so
 * every later look-up and hash of the key reads a flat string. Anything but 16 bytes in a Uint8Array goes
 * to newGuid itself.
 */
export function freshGuid(randomBytes: (n: number) => Uint8Array): Guid {
  const b = randomBytes(16);
  if (!(b instanceof Uint8Array) || b.length !== 16) return newGuidFromBytes(b);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const codes = guidCodes;
  let j = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) j++;
    const x = b[i] as number;
    codes[j++] = HEX_HIGH[x] as number;
    codes[j++] = HEX_LOW[x] as number;
  }
  return String.fromCharCode.apply(null, codes) as Guid;
}

/** newGuid over bytes already drawn. */
function newGuidFromBytes(bytes: Uint8Array): Guid {
  return newGuid(() => bytes);
}
