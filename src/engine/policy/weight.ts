/**
 * Filter weights as policy documents write them (FWPM_FILTER0.weight, §B1):
 *
 * | written | FWP value | effective weight |
 * |---|---|---|
 * | absent, `null`, `""` or `"empty"` | FWP_EMPTY | automatic, in [0, 2^60) |
 * | `{"range": n}`, n = 0..15 | FWP_UINT8 n | `(n << 60) \| automatic` |
 * | a number, a decimal or `0x` string, `{"uint64": ...}` | FWP_UINT64 | that number, verbatim |
 *
 * A bare number is always FWP_UINT64, whatever its size: `weight: 3` is the effective weight 3, not
 * range 3 (write `{"range": 3}` for that). Numbers above 2^53 are written as strings (`"0xf000000000000000"`)
 * or, in YAML, as plain integers. Anything else is FWP_E_INVALID_WEIGHT (§A.5 V12).
 */
import { FWP_EMPTY_VALUE, FwpError, type FwpValue } from "../../fwp/index.ts";

const UINT64_MAX = 0xffffffffffffffffn;

function invalid(path: string, detail: string): never {
  throw new FwpError("FWP_E_INVALID_WEIGHT", { path, detail });
}

function toUint64(x: unknown, path: string): bigint {
  let n: bigint | undefined;
  if (typeof x === "bigint") n = x;
  else if (typeof x === "number" && Number.isSafeInteger(x)) n = BigInt(x);
  else if (typeof x === "string" && /^\s*(\d+|0x[0-9a-fA-F]+)\s*$/.test(x)) n = BigInt(x.trim());
  if (n === undefined) return invalid(path, `${JSON.stringify(String(x))} is not an unsigned 64-bit integer.`);
  if (n < 0n || n > UINT64_MAX) return invalid(path, `${n} is outside 0..2^64-1.`);
  return n;
}

/** The FWP weight value of a document's `weight` member (undefined when absent). */
export function parseFilterWeight(value: unknown, path: string): FwpValue {
  if (value === undefined || value === null) return FWP_EMPTY_VALUE;
  if (typeof value === "string" && (value.trim() === "" || value.trim().toLowerCase() === "empty")) {
    return FWP_EMPTY_VALUE;
  }
  if (typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value);
    const [key, inner] = entries[0] ?? [];
    if (entries.length !== 1) return invalid(path, 'Write a weight as {"range": n} or {"uint64": n}.');
    if (key === "range") {
      if (typeof inner !== "number" || !Number.isInteger(inner) || inner < 0 || inner > 15) {
        return invalid(
          `${path}.range`,
          `A weight range is 0..15 (FWPM_WEIGHT_RANGE_MAX), got ${JSON.stringify(inner)}.`,
        );
      }
      return { type: "FWP_UINT8", value: inner };
    }
    if (key === "uint64") return { type: "FWP_UINT64", value: toUint64(inner, `${path}.uint64`) };
    return invalid(`${path}.${key}`, 'Write a weight as {"range": n} or {"uint64": n}.');
  }
  return { type: "FWP_UINT64", value: toUint64(value, path) };
}

/** The document form of a weight value: the inverse of parseFilterWeight (undefined for FWP_EMPTY). */
export function formatFilterWeight(weight: FwpValue): number | string | { range: number } | undefined {
  switch (weight.type) {
    case "FWP_EMPTY":
      return undefined;
    case "FWP_UINT8":
      return { range: weight.value };
    case "FWP_UINT64":
      return weight.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(weight.value) : `0x${weight.value.toString(16)}`;
    default:
      return undefined;
  }
}
