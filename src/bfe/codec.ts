/**
 * Object data for the durable store: a spec as plain JSON (no bigint, no bytes). The store keeps JSON text
 * and writes bigints as decimal strings it cannot tell apart from strings on the way back, so bfe-core tags
 * them itself: a bigint becomes `{ "$bigint": "123" }` and a Uint8Array `{ "$bytes": "0a1b…" }`; undefined
 * members are dropped. `fromStoreData(toStoreData(x))` gives back x (deep-equal).
 */

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function unhex(text: string, path: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) throw new TypeError(`${path}: bad $bytes text`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `value` as JSON-safe data (see the module comment). Refuses functions, symbols and non-finite numbers. */
export function toStoreData(value: unknown, path = "data"): unknown {
  switch (typeof value) {
    case "bigint":
      return { $bigint: value.toString() };
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} cannot be stored`);
      return value;
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return undefined;
    case "object": {
      if (value === null) return null;
      if (value instanceof Uint8Array) return { $bytes: hex(value) };
      if (Array.isArray(value)) return value.map((v, i) => toStoreData(v, `${path}[${i}]`) ?? null);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const d = toStoreData(v, `${path}.${k}`);
        if (d !== undefined) out[k] = d;
      }
      return out;
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} cannot be stored`);
  }
}

/** The inverse of toStoreData. */
export function fromStoreData(data: unknown, path = "data"): unknown {
  if (Array.isArray(data)) return data.map((v, i) => fromStoreData(v, `${path}[${i}]`));
  if (typeof data !== "object" || data === null) return data;
  const rec = data as Record<string, unknown>;
  const keys = Object.keys(rec);
  if (keys.length === 1 && typeof rec.$bigint === "string") return BigInt(rec.$bigint);
  if (keys.length === 1 && typeof rec.$bytes === "string") return unhex(rec.$bytes, path);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = fromStoreData(rec[k], `${path}.${k}`);
  return out;
}
