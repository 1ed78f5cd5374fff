/**
 * JSON text for object data and option values. Bigints become decimal strings (64-bit weights, filter ids
 * and LUIDs exceed what a JSON number holds exactly). Values JSON would silently alter — NaN and infinities
 * (become null), Map, Set, typed arrays, class instances (lose their contents or prototype), functions and
 * symbols (vanish), undefined in arrays (becomes null) — are refused, so what loads is what was committed.
 * A property whose value is undefined is dropped: it loads as an absent optional property.
 */
import { StoreError } from "./errors.ts";
import { PERSISTED_KINDS, type StoreChange } from "./types.ts";

const KINDS: ReadonlySet<string> = new Set(PERSISTED_KINDS);
/** A Guid as src/base/guid.ts formats one: lower case, no braces. */
const CANONICAL_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Why a value cannot be stored, or undefined when it can. Kept out of the replacer so the message is precise. */
function refusal(value: unknown): string | undefined {
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? undefined : `${value} is not a finite number`;
    case "function":
    case "symbol":
      return `a ${typeof value} is not data`;
    case "object": {
      if (value === null || Array.isArray(value)) return undefined;
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return undefined;
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? "an object";
      return `${name} is not plain JSON data`;
    }
    default:
      return undefined;
  }
}

/** Thrown inside JSON.stringify's replacer; carries the key of the offending value. */
class Refused {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {}
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  // An undefined property is dropped (an absent optional property); in an array it would become null.
  if (value === undefined && Array.isArray(this)) throw new Refused(key, "undefined in an array is not data");
  const why = refusal(value);
  if (why !== undefined) throw new Refused(key, why);
  return value;
}

/** Nesting beyond which `isPlainJson` gives up (the replacer path then decides, cycles included). */
const PLAIN_DEPTH_LIMIT = 64;

/**
 * True when `value` holds only what JSON keeps exactly and the replacer would pass unchanged: strings,
 * booleans, null, finite numbers, arrays without undefined or holes, and plain objects (prototype
 * Object.prototype or null, no toJSON) whose properties are such values or undefined (dropped either way).
 * Then JSON.stringify without the replacer gives the very same text, several times faster. Anything else
 * (a bigint, a refused value, a toJSON, deep nesting) answers false and takes the replacer path.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth >= PLAIN_DEPTH_LIMIT || typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return false;
          const v: unknown = value[i];
          if (v === undefined || !isPlainJson(v, depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const rec = value as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        const v = rec[k];
        if (v !== undefined && !isPlainJson(v, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** `value` as JSON text; throws E_STORE_INVALID_CHANGE naming `path` (e.g. `changes[3].data`) when refused. */
export function encodeValue(value: unknown, file: string, path: string): string {
  if (value !== undefined && isPlainJson(value, 0)) return JSON.stringify(value);
  try {
    const text = JSON.stringify(value, replacer);
    if (text === undefined) throw new Refused("", "undefined is not data");
    return text;
  } catch (e) {
    if (e instanceof Refused) {
      const at = e.key === "" ? path : `${path} (key ${JSON.stringify(e.key)})`;
      throw new StoreError("E_STORE_INVALID_CHANGE", file, `cannot store ${at}: ${e.reason}`, { path });
    }
    throw new StoreError("E_STORE_INVALID_CHANGE", file, `cannot store ${path}: ${describe(e)}`, { path, cause: e });
  }
}

/** Parses stored JSON text; a row that does not parse means the file is damaged. */
export function decodeValue(text: unknown, file: string, what: string): unknown {
  if (typeof text !== "string") throw new StoreError("E_STORE_CORRUPT", file, `${what} is not JSON text`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StoreError("E_STORE_CORRUPT", file, `${what} holds invalid JSON: ${describe(e)}`, { cause: e });
  }
}

/** Checks a change's op, kind and key (canonical lower-case GUID text) and that a put carries data. */
export function checkChange(change: StoreChange, index: number, file: string): void {
  const path = `changes[${index}]`;
  const bad = (why: string): never => {
    throw new StoreError("E_STORE_INVALID_CHANGE", file, `${path}: ${why}`, { path });
  };
  if (change.op !== "put" && change.op !== "delete") bad(`unknown op ${JSON.stringify(change.op)}`);
  if (!KINDS.has(change.kind)) bad(`unknown kind ${JSON.stringify(change.kind)}`);
  if (typeof change.key !== "string" || !CANONICAL_GUID.test(change.key)) {
    bad(`key ${JSON.stringify(change.key)} is not a GUID in canonical form`);
  }
  if (change.text !== undefined && typeof change.text !== "string") bad("text must be a string");
  if (change.op === "put" && change.data === undefined && change.text === undefined) bad("a put needs data");
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
