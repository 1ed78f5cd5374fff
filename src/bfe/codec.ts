/**
 * Object data for the durable store: a spec as plain JSON (no bigint, no bytes). The store keeps JSON text
 * and writes bigints as decimal strings it cannot tell apart from strings on the way back, so bfe-core tags
 * them itself: a bigint becomes `{ "$bigint": "123" }` and a Uint8Array `{ "$bytes": "0a1b…" }`; undefined
 * members are dropped. `fromStoreData(toStoreData(x))` gives back x (deep-equal).
 */

/**
 * Where an unstorable or malformed value sits, collected while the error unwinds (paths are built only
 * when something fails: encoding 100k filters builds none).
 */
class At {
  constructor(
    readonly suffix: string,
    readonly reason: string,
  ) {}
}

function within(e: unknown, segment: string): unknown {
  return e instanceof At ? new At(segment + e.suffix, e.reason) : e;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function unhex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) throw new At("", "bad $bytes text");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function encode(value: unknown): unknown {
  switch (typeof value) {
    case "bigint":
      return { $bigint: value.toString() };
    case "number":
      if (!Number.isFinite(value)) throw new At("", `${value} cannot be stored`);
      return value;
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return undefined;
    case "object": {
      if (value === null) return null;
      if (value instanceof Uint8Array) return { $bytes: hex(value) };
      if (Array.isArray(value)) {
        return value.map((v, i) => {
          try {
            return encode(v) ?? null;
          } catch (e) {
            throw within(e, `[${i}]`);
          }
        });
      }
      const rec = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(rec)) {
        let d: unknown;
        try {
          d = encode(rec[k]);
        } catch (e) {
          throw within(e, `.${k}`);
        }
        if (d !== undefined) out[k] = d;
      }
      return out;
    }
    default:
      throw new At("", `a ${typeof value} cannot be stored`);
  }
}

/** Nesting beyond which `storeTextOf` leaves a value to the general path (which also meets cycles there). */
const TEXT_DEPTH_LIMIT = 32;

/** Two lower-case hex digits for each byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** JSON text of property names met so far (the specs have a few dozen). */
const keyText = new Map<string, string>();

function quotedKey(k: string): string {
  let t = keyText.get(k);
  if (t === undefined) {
    t = JSON.stringify(k);
    if (keyText.size < 1024) keyText.set(k, t);
  }
  return t;
}

/** Text JSON.stringify writes as it is between quotes: no quote, backslash, control character or surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters JSON escapes.
const PLAIN_TEXT = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** A string as JSON text (exactly JSON.stringify's). */
export function stringText(value: string): string {
  return PLAIN_TEXT.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * One value as storeTextOf writes it at nesting `depth` (0: the top), or undefined when it must take the
 * general path. Exported for writers that lay out a known object themselves (objects.ts).
 */
export function valueText(value: unknown, depth: number): string | undefined {
  return text(value, depth);
}

function text(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
      return PLAIN_TEXT.test(value) ? `"${value}"` : JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? `${value}` : undefined;
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return `{"$bigint":"${value.toString()}"}`;
    case "object": {
      if (value === null) return "null";
      if (depth >= TEXT_DEPTH_LIMIT) return undefined;
      if (value instanceof Uint8Array) {
        let s = '{"$bytes":"';
        for (let i = 0; i < value.length; i++) s += HEX[value[i] as number] as string;
        return `${s}"}`;
      }
      if (Array.isArray(value)) {
        let s = "[";
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return undefined;
          const v: unknown = value[i];
          const t = v === undefined ? "null" : text(v, depth + 1);
          if (t === undefined) return undefined;
          s += i === 0 ? t : `,${t}`;
        }
        return `${s}]`;
      }
      const rec = value as Record<string, unknown>;
      let s = "{";
      let first = true;
      for (const k of Object.keys(rec)) {
        const v = rec[k];
        if (v === undefined) continue;
        if (k === "__proto__") return undefined;
        const t = text(v, depth + 1);
        if (t === undefined) return undefined;
        s += first ? `${quotedKey(k)}:${t}` : `,${quotedKey(k)}:${t}`;
        first = false;
      }
      return `${s}}`;
    }
    default:
      return undefined;
  }
}

/**
 * The JSON text the durable store keeps for `value` — exactly `JSON.stringify(toStoreData(value))`, the
 * text the store's own encoder gives for that data — written in one pass without the intermediate copy; or
 * undefined when `value` holds anything the general path must judge (non-finite numbers, functions,
 * symbols, holes, an own `__proto__`, deep nesting): then `toStoreData` gives the data (or its error).
 */
export function storeTextOf(value: unknown): string | undefined {
  return value === undefined ? undefined : text(value, 0);
}

/** `value` as JSON-safe data (see the module comment). Refuses functions, symbols and non-finite numbers. */
export function toStoreData(value: unknown, path = "data"): unknown {
  try {
    return encode(value);
  } catch (e) {
    if (e instanceof At) throw new TypeError(`${path}${e.suffix}: ${e.reason}`);
    throw e;
  }
}

/**
 * The decoded value, sharing every part of `data` that holds no tag: an object or array is copied only when
 * something inside it changes (a filter row copies its top level for filterId and effectiveWeight and shares
 * its conditions), so loading allocates little beyond what JSON.parse made.
 */
function decode(data: unknown): unknown {
  if (typeof data !== "object" || data === null) return data;
  if (Array.isArray(data)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      let d: unknown;
      try {
        d = decode(v);
      } catch (e) {
        throw within(e, `[${i}]`);
      }
      if (out === null && d !== v) out = data.slice(0, i);
      if (out !== null) out.push(d);
    }
    return out ?? data;
  }
  const rec = data as Record<string, unknown>;
  const keys = Object.keys(rec);
  if (keys.length === 1) {
    if (typeof rec.$bigint === "string") return BigInt(rec.$bigint);
    if (typeof rec.$bytes === "string") return unhex(rec.$bytes);
  }
  let out: Record<string, unknown> | null = null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = rec[k];
    let d: unknown;
    try {
      d = decode(v);
    } catch (e) {
      throw within(e, `.${k}`);
    }
    if (out === null && d !== v) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j] as string] = rec[keys[j] as string];
    }
    if (out !== null) out[k] = d;
  }
  return out ?? rec;
}

/** decode on data the caller owns: tagged members are replaced where they are, nothing is copied. */
function decodeOwned(data: unknown): unknown {
  if (typeof data !== "object" || data === null) return data;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      let d: unknown;
      try {
        d = decodeOwned(v);
      } catch (e) {
        throw within(e, `[${i}]`);
      }
      if (d !== v) data[i] = d;
    }
    return data;
  }
  const rec = data as Record<string, unknown>;
  const keys = Object.keys(rec);
  if (keys.length === 1) {
    if (typeof rec.$bigint === "string") return BigInt(rec.$bigint);
    if (typeof rec.$bytes === "string") return unhex(rec.$bytes);
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = rec[k];
    let d: unknown;
    try {
      d = decodeOwned(v);
    } catch (e) {
      throw within(e, `.${k}`);
    }
    if (d !== v) rec[k] = d;
  }
  return rec;
}

/**
 * fromStoreData for data nobody else holds (freshly parsed by the store, ObjectStore.scanObjects): the
 * same value, made by replacing the tags inside `data` itself, which it returns (or the tag's value).
 */
export function fromOwnedStoreData(data: unknown, path = "data"): unknown {
  try {
    return decodeOwned(data);
  } catch (e) {
    if (e instanceof At) throw new TypeError(`${path}${e.suffix}: ${e.reason}`);
    throw e;
  }
}

/** The inverse of toStoreData. The result shares untagged parts with `data` (neither is to be mutated). */
export function fromStoreData(data: unknown, path = "data"): unknown {
  try {
    return decode(data);
  } catch (e) {
    if (e instanceof At) throw new TypeError(`${path}${e.suffix}: ${e.reason}`);
    throw e;
  }
}
