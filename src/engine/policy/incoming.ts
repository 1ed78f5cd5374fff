/**
 * Incoming values and metadata for one classification, written as text (`openwfp eval --value
 * remotePort=445 --meta processId=4`). Fields are named like policy conditions (FWPM_CONDITION_* name,
 * GUID or alias, fields.ts) and parsed against the field's data type at the layer with the same text
 * rules as condition values (value-text.ts), except that an incoming value is one value: a range or a
 * prefix (`10.0.0.0/8`) is FWP_E_TYPE_MISMATCH. Token fields (ALE_USER_ID, ALE_REMOTE_USER_ID, ...) take
 * a comma-separated SID list: the first SID is the token's user, the rest enabled groups
 * (SE_GROUP_ENABLED). Fields not given are FWP_EMPTY (A6).
 * Source: https://learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/ns-fwpsk-fwps_incoming_values0
 */
import {
  FWP_EMPTY_VALUE,
  FwpError,
  type FwpTokenInformation,
  type FwpValue,
  type Layer,
  parseConditionValue,
  type ParseValueOptions,
  tryParseSid,
} from "../../fwp/index.ts";
import { resolveField } from "./fields.ts";

/** SE_GROUP_ENABLED: the attribute of the group SIDs of a token written as text. */
const SE_GROUP_ENABLED = 0x4;

/** Splits `NAME=VALUE` at the first `=`. Without `=` → FWP_E_INVALID_PARAMETER at `path`. */
export function splitAssignment(text: string, path: string): readonly [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0)
    throw new FwpError("FWP_E_INVALID_PARAMETER", {
      path,
      detail: `Expected NAME=VALUE, got ${JSON.stringify(text)}.`,
    });
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
}

function parseToken(text: string, path: string): FwpTokenInformation {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 0)
    throw new FwpError("FWP_E_INVALID_PARAMETER", { path, detail: "A token is a comma-separated SID list." });
  return {
    sids: parts.map((p, i) => {
      const sid = tryParseSid(p);
      if (sid === undefined)
        throw new FwpError("FWP_E_INVALID_PARAMETER", { path, detail: `${JSON.stringify(p)} is not a SID.` });
      return { sid, attributes: i === 0 ? 0 : SE_GROUP_ENABLED };
    }),
    restrictedSids: [],
  };
}

/** One incoming value from text, for a field of `layer` named `field`. */
export function parseIncomingValue(
  layer: Layer,
  field: string,
  text: string,
  path: string,
  options: Omit<ParseValueOptions, "path"> = {},
): { readonly index: number; readonly value: FwpValue } {
  const resolved = resolveField(layer, field, path);
  const type = resolved.dataType;
  if (type === "FWP_TOKEN_INFORMATION_TYPE" || type === "FWP_TOKEN_ACCESS_INFORMATION_TYPE") {
    return { index: resolved.field.index, value: { type, value: parseToken(text, path) } };
  }
  const v = parseConditionValue(type, text, { ...options, path });
  if (v.type === "FWP_RANGE_TYPE" || v.type === "FWP_V4_ADDR_MASK" || v.type === "FWP_V6_ADDR_MASK") {
    throw new FwpError("FWP_E_TYPE_MISMATCH", {
      path,
      detail: `An incoming value is one ${type} value, not ${v.type === "FWP_RANGE_TYPE" ? "a range" : "a prefix"}.`,
    });
  }
  return { index: resolved.field.index, value: v };
}

/**
 * The incomingValue[] array of a layer from `NAME=VALUE` assignments; the same field twice is
 * FWP_E_INVALID_PARAMETER. Errors name `--value NAME` as their path.
 */
export function incomingValuesFromText(
  layer: Layer,
  assignments: readonly string[],
  options: Omit<ParseValueOptions, "path"> = {},
): FwpValue[] {
  const values: FwpValue[] = layer.fields.map(() => FWP_EMPTY_VALUE);
  const given = new Set<number>();
  for (const a of assignments) {
    const [name, text] = splitAssignment(a, "--value");
    const path = `--value ${name}`;
    const { index, value } = parseIncomingValue(layer, name, text, path, options);
    if (given.has(index)) throw new FwpError("FWP_E_INVALID_PARAMETER", { path, detail: "This field is given twice." });
    given.add(index);
    values[index] = value;
  }
  return values;
}

/**
 * Metadata from `KEY=VALUE` assignments: decimal integers become numbers (bigints beyond 2^53),
 * `true`/`false` booleans, anything else stays text (processPath, ...). A key given twice is
 * FWP_E_INVALID_PARAMETER.
 */
export function metadataFromText(assignments: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of assignments) {
    const [key, text] = splitAssignment(a, "--meta");
    if (Object.hasOwn(out, key)) {
      throw new FwpError("FWP_E_INVALID_PARAMETER", { path: `--meta ${key}`, detail: "This key is given twice." });
    }
    const t = text.trim();
    let v: unknown = text;
    if (/^-?\d+$/.test(t)) v = Number.isSafeInteger(Number(t)) ? Number(t) : BigInt(t);
    else if (t === "true" || t === "false") v = t === "true";
    out[key] = v;
  }
  return out;
}
