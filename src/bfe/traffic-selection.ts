/**
 * The traffic selection of `netsh wfp show filters` (wfp-semantics.md H47): `protocol= localaddr= remoteaddr=
 * localport= remoteport= appid= userid= dir=in|out`. A filter is shown when it could match a packet with
 * those values: at a layer that carries every given field, each field's conditions admit the value (every
 * OR group of the filter's conditions on that field has one condition the value matches), or the filter has
 * no condition on it. This is FWP_FILTER_ENUM_OVERLAPPING with a one-value template per field (H24).
 *
 * - Values are written as `openwfp eval --value` writes incoming values: protocol `tcp`/`udp`/`icmp`/a
 *   number, addresses as IPv4 or IPv6 text (an IPv4 address selects the layers with IPv4 address fields, an
 *   IPv6 one the IPv6 layers), ports as numbers, the app as a Win32 or NT path (the app id
 *   FwpmGetAppIdFromFileName0 forms, G.4), the user as a SID (or a comma-separated SID list: the user, then
 *   enabled groups) whose access an ALE_USER_ID security descriptor is checked for.
 * - A layer that lacks one of the fields, or whose field holds the other IP version, shows nothing.
 * - dir [INF: netsh documents the option, not its rule]: `in` leaves out the outbound and egress layers,
 *   `out` the inbound and ingress ones; at a layer of no one direction that carries FWPM_CONDITION_DIRECTION
 *   (flow established, stream, datagram data…), the filter's direction conditions must admit
 *   FWP_DIRECTION_INBOUND / OUTBOUND; other layers are kept.
 */
import type { Guid } from "../base/guid.ts";
import { type Filter, type FilterCondition, matchCondition, parseIncomingValue } from "../engine/index.ts";
import { FWP_DIRECTION, FwpError, type FwpValue, findCondition, isFwpError, type Layer } from "../fwp/index.ts";

/** netsh's show filters options; absent members select nothing. */
export interface TrafficSelection {
  readonly protocol?: string;
  readonly localAddr?: string;
  readonly remoteAddr?: string;
  readonly localPort?: string;
  readonly remotePort?: string;
  /** A Win32 or NT file path (the app id is formed from it). */
  readonly appId?: string;
  /** A SID, or SIDs separated by commas (the user first). */
  readonly userId?: string;
  readonly direction?: "in" | "out";
}

/** Each selection member: the condition it stands for and the command-line option it came from. */
const FIELDS: readonly {
  readonly member: Exclude<keyof TrafficSelection, "direction">;
  readonly condition: string;
  readonly option: string;
}[] = [
  { member: "protocol", condition: "FWPM_CONDITION_IP_PROTOCOL", option: "--protocol" },
  { member: "localAddr", condition: "FWPM_CONDITION_IP_LOCAL_ADDRESS", option: "--local-addr" },
  { member: "remoteAddr", condition: "FWPM_CONDITION_IP_REMOTE_ADDRESS", option: "--remote-addr" },
  { member: "localPort", condition: "FWPM_CONDITION_IP_LOCAL_PORT", option: "--local-port" },
  { member: "remotePort", condition: "FWPM_CONDITION_IP_REMOTE_PORT", option: "--remote-port" },
  { member: "appId", condition: "FWPM_CONDITION_ALE_APP_ID", option: "--app" },
  { member: "userId", condition: "FWPM_CONDITION_ALE_USER_ID", option: "--user" },
];

const DIRECTION_KEY = findCondition("FWPM_CONDITION_DIRECTION")?.key as Guid;

/** One field's value at one layer. */
interface FieldValue {
  readonly fieldKey: Guid;
  readonly value: FwpValue;
}

/** A selection ready to test filters with (per-layer values are parsed once, on first use). */
export interface CompiledTrafficSelection {
  /** Whether any member is given (an empty selection shows every filter). */
  readonly empty: boolean;
  /** The values the layer is tested with, or null when the layer can show no filter. */
  valuesAt(layer: Layer): readonly FieldValue[] | null;
  /** Whether `filter` could match traffic with the selected values. */
  selects(filter: Filter): boolean;
}

function layerFieldKey(layer: Layer, condition: string): Guid | undefined {
  const key = findCondition(condition)?.key;
  return key !== undefined && layer.fields.some((f) => f.conditionKey === key) ? (key as Guid) : undefined;
}

/**
 * Validates the selection and returns its filter test. A value that fits no layer carrying its field (text
 * that is no address, a port above 65535…) is the FwpError of its first parse, with the option as its path.
 */
export function compileTrafficSelection(
  selection: TrafficSelection,
  layers: readonly Layer[],
): CompiledTrafficSelection {
  const given = FIELDS.filter((f) => selection[f.member] !== undefined);
  const direction = selection.direction;
  if (direction !== undefined && direction !== "in" && direction !== "out") {
    throw new FwpError("FWP_E_INVALID_PARAMETER", {
      path: "--dir",
      detail: `${JSON.stringify(direction)} is not in or out.`,
    });
  }
  const cache = new Map<number, readonly FieldValue[] | null>();
  const compute = (layer: Layer): readonly FieldValue[] | null => {
    const out: FieldValue[] = [];
    if (direction !== undefined) {
      const d = layer.direction;
      if (direction === "in" && (d === "outbound" || d === "egress")) return null;
      if (direction === "out" && (d === "inbound" || d === "ingress")) return null;
      if (d !== "inbound" && d !== "outbound" && d !== "ingress" && d !== "egress") {
        if (layer.fields.some((f) => f.conditionKey === DIRECTION_KEY)) {
          const v = direction === "in" ? FWP_DIRECTION.FWP_DIRECTION_INBOUND : FWP_DIRECTION.FWP_DIRECTION_OUTBOUND;
          out.push({ fieldKey: DIRECTION_KEY, value: { type: "FWP_UINT32", value: v } });
        }
      }
    }
    for (const f of given) {
      const fieldKey = layerFieldKey(layer, f.condition);
      if (fieldKey === undefined) return null;
      try {
        out.push({
          fieldKey,
          value: parseIncomingValue(layer, f.condition, selection[f.member] as string, f.option).value,
        });
      } catch (e) {
        // The other IP version's layer: it shows nothing.
        if (isFwpError(e) && e.code === "FWP_E_TYPE_MISMATCH") return null;
        throw e;
      }
    }
    return out;
  };
  const valuesAt = (layer: Layer): readonly FieldValue[] | null => {
    let v = cache.get(layer.runtimeId);
    if (v === undefined) {
      v = compute(layer);
      cache.set(layer.runtimeId, v);
    }
    return v;
  };
  // Every value must fit somewhere: otherwise say why at its first layer.
  for (const f of given) {
    const carrying = layers.filter((l) => layerFieldKey(l, f.condition) !== undefined);
    let fits = false;
    let first: unknown;
    for (const l of carrying) {
      try {
        parseIncomingValue(l, f.condition, selection[f.member] as string, f.option);
        fits = true;
        break;
      } catch (e) {
        first ??= e;
      }
    }
    if (!fits && first !== undefined) throw first;
  }
  const empty = given.length === 0 && direction === undefined;
  return {
    empty,
    valuesAt,
    selects(filter: Filter): boolean {
      if (empty) return true;
      const values = valuesAt(filter.layer);
      if (values === null) return false;
      return values.every((v) => admits(filter.conditionGroups, v));
    },
  };
}

/** Every OR group of the filter's conditions on the field has a condition the value matches (none: admitted). */
function admits(groups: readonly (readonly FilterCondition[])[], v: FieldValue): boolean {
  for (const g of groups) {
    if (g[0]?.fieldKey !== v.fieldKey) continue;
    if (!g.some((c) => matchCondition(c, v.value))) return false;
  }
  return true;
}
