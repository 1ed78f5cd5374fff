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

/** True for "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower-case hex: the form tryParseGuid returns. */
export function isCanonicalGuid(text: string): boolean {
  return text.length === 36 && CANONICAL_GUID.test(text);
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

/** Two lower-case hex digits for each byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * newGuid (src/base/guid.ts) with the same bytes and the same text — a version 4 GUID from 16 bytes of
 * `randomBytes`, version and variant bits set in place — formatted through a table: the BFE draws one per
 * add without a key (H20). Anything but 16 bytes in a Uint8Array goes to newGuid itself.
 */
export function freshGuid(randomBytes: (n: number) => Uint8Array): Guid {
  const b = randomBytes(16);
  if (!(b instanceof Uint8Array) || b.length !== 16) return newGuidFromBytes(b);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  let text = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text += "-";
    text += HEX[b[i] as number] as string;
  }
  return text as Guid;
}

/** newGuid over bytes already drawn. */
function newGuidFromBytes(bytes: Uint8Array): Guid {
  return newGuid(() => bytes);
}
