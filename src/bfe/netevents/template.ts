/**
 * FWPM_NET_EVENT_ENUM_TEMPLATE0 (H37): a time window [startTime, endTime] in FILETIME units and AND-ed,
 * distinct conditions drawn from the fields a net event header carries (IP_PROTOCOL, IP_LOCAL_ADDRESS,
 * IP_REMOTE_ADDRESS, IP_LOCAL_PORT / ICMP type, IP_REMOTE_PORT / ICMP code, SCOPE_ID, ALE_APP_ID,
 * ALE_USER_ID, plus NET_EVENT_TYPE as conditions.json marks it). Zero conditions = every event.
 * Conditions are compiled once into the engine's FilterCondition and matched with the engine's
 * `matchCondition`, so a template condition means exactly what the same filter condition means (§A).
 * Errors: start after end → FWP_E_INVALID_INTERVAL; a field twice → FWP_E_DUPLICATE_CONDITION; an unknown
 * field → FWP_E_CONDITION_NOT_FOUND; a field not allowed in net event templates → FWP_E_INVALID_PARAMETER;
 * a value type the field does not take → FWP_E_TYPE_MISMATCH; a match type the value does not take →
 * FWP_E_MATCH_TYPE_MISMATCH (the mapping of the last four is inferred, §I V-table).
 * Source: https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_net_event_enum_template0
 */
import { GUID_NULL, type Guid } from "../../base/guid.ts";
import {
  type FilterCondition,
  type MatchTypeName,
  matchCondition,
  matchTypeAllows,
  matchTypeOf,
} from "../../engine/index.ts";
import {
  type ConditionName,
  decodeSecurityDescriptor,
  FWP_MATCH_TYPE,
  FWPM_NET_EVENT_TYPE,
  FwpError,
  type FwpConditionValue,
  type FwpValue,
  findCondition,
  validateConditionValue,
} from "../../fwp/index.ts";
import type { NetEvent } from "./types.ts";

/** One template condition, shaped like FWPM_FILTER_CONDITION0. */
export interface NetEventConditionSpec {
  /** Condition GUID or FWPM_CONDITION_* name (SCOPE_ID has no published GUID: use its name). */
  readonly fieldKey: Guid | string;
  readonly matchType: MatchTypeName | number;
  readonly conditionValue: FwpConditionValue;
}

/** FWPM_NET_EVENT_ENUM_TEMPLATE0; times are FILETIME (absent = unbounded). */
export interface NetEventEnumTemplate {
  readonly startTime?: bigint;
  readonly endTime?: bigint;
  readonly conditions?: readonly NetEventConditionSpec[];
}

/** A validated template, ready to match events. */
export interface CompiledNetEventTemplate {
  readonly startTime: bigint | undefined;
  readonly endTime: bigint | undefined;
  readonly conditions: readonly FilterCondition[];
}

/** Value types each template field takes (conditions.json; SCOPE_ID is a UINT32 scope id). */
const VALUE_TYPES: ReadonlyMap<ConditionName, readonly string[]> = new Map<ConditionName, readonly string[]>([
  ["FWPM_CONDITION_IP_PROTOCOL", ["FWP_UINT8"]],
  ["FWPM_CONDITION_IP_LOCAL_ADDRESS", ["FWP_UINT32", "FWP_V4_ADDR_MASK", "FWP_BYTE_ARRAY16_TYPE", "FWP_V6_ADDR_MASK"]],
  ["FWPM_CONDITION_IP_REMOTE_ADDRESS", ["FWP_UINT32", "FWP_V4_ADDR_MASK", "FWP_BYTE_ARRAY16_TYPE", "FWP_V6_ADDR_MASK"]],
  ["FWPM_CONDITION_IP_LOCAL_PORT", ["FWP_UINT16"]],
  ["FWPM_CONDITION_IP_REMOTE_PORT", ["FWP_UINT16"]],
  ["FWPM_CONDITION_SCOPE_ID", ["FWP_UINT32"]],
  ["FWPM_CONDITION_ALE_APP_ID", ["FWP_BYTE_BLOB_TYPE"]],
  ["FWPM_CONDITION_ALE_USER_ID", ["FWP_SECURITY_DESCRIPTOR_TYPE"]],
  ["FWPM_CONDITION_NET_EVENT_TYPE", ["FWP_UINT32"]],
]);

/** Validates a template (H37) and compiles its conditions; throws FwpError naming the place at fault. */
export function compileNetEventTemplate(
  template: NetEventEnumTemplate | undefined,
  path = "template",
): CompiledNetEventTemplate {
  if (template === undefined) return { startTime: undefined, endTime: undefined, conditions: [] };
  const { startTime, endTime } = template;
  if (startTime !== undefined && endTime !== undefined && startTime > endTime) {
    throw new FwpError("FWP_E_INVALID_INTERVAL", {
      path: `${path}.startTime`,
      detail: `startTime ${startTime} is after endTime ${endTime}.`,
    });
  }
  const seen = new Set<ConditionName>();
  const conditions: FilterCondition[] = [];
  (template.conditions ?? []).forEach((spec, i) => {
    const at = `${path}.conditions[${i}]`;
    const condition = findCondition(String(spec.fieldKey));
    if (condition === undefined) {
      throw new FwpError("FWP_E_CONDITION_NOT_FOUND", {
        path: `${at}.fieldKey`,
        detail: `Unknown field ${String(spec.fieldKey)}.`,
      });
    }
    const name = condition.aliasOf ?? condition.name;
    const types = VALUE_TYPES.get(name);
    if (types === undefined || !condition.netEventEnumTemplate) {
      throw new FwpError("FWP_E_INVALID_PARAMETER", {
        path: `${at}.fieldKey`,
        detail: `${name} is not allowed in a net event enumeration template.`,
      });
    }
    if (seen.has(name)) {
      throw new FwpError("FWP_E_DUPLICATE_CONDITION", {
        path: `${at}.fieldKey`,
        detail: `${name} appears more than once; template conditions are AND-ed and must be distinct.`,
      });
    }
    seen.add(name);
    const value = validateConditionValue(spec.conditionValue, `${at}.conditionValue`);
    const checkedType = value.type === "FWP_RANGE_TYPE" ? value.valueLow.type : value.type;
    if (!types.includes(checkedType)) {
      throw new FwpError("FWP_E_TYPE_MISMATCH", {
        path: `${at}.conditionValue`,
        detail: `${name} takes ${types.join(" / ")}, not ${value.type}.`,
      });
    }
    const matchType = matchTypeOf(spec.matchType);
    if (matchType === undefined) {
      throw new FwpError("FWP_E_INVALID_ENUMERATOR", {
        path: `${at}.matchType`,
        detail: `Unknown match type ${String(spec.matchType)}.`,
      });
    }
    if (!matchTypeAllows(matchType, value, false)) {
      throw new FwpError("FWP_E_MATCH_TYPE_MISMATCH", {
        path: `${at}.matchType`,
        detail: `${matchType} cannot be used with a ${value.type} value.`,
      });
    }
    const compiled: FilterCondition = {
      fieldKey: condition.key ?? GUID_NULL,
      conditionName: name,
      fieldIndex: i,
      matchType,
      matchCode: FWP_MATCH_TYPE[matchType],
      value,
      onEmpty: false,
      ...(value.type === "FWP_SECURITY_DESCRIPTOR_TYPE"
        ? { securityDescriptor: decodeSecurityDescriptor(value.value, `${at}.conditionValue`) }
        : {}),
      ...(value.type === "FWP_BYTE_BLOB_TYPE" ? { suffixBytes: withoutNul(value.value) } : {}),
    };
    conditions.push(compiled);
  });
  return { startTime, endTime, conditions };
}

function withoutNul(b: Uint8Array): Uint8Array {
  const n = b.length;
  return n >= 2 && (n & 1) === 0 && b[n - 1] === 0 && b[n - 2] === 0 ? b.subarray(0, n - 2) : b;
}

/** The value an event offers for a template field (undefined = not set in the header = FWP_EMPTY). */
export function netEventFieldValue(event: NetEvent, name: ConditionName): FwpValue | undefined {
  const h = event.header;
  switch (name) {
    case "FWPM_CONDITION_IP_PROTOCOL":
      return h.ipProtocol === undefined ? undefined : { type: "FWP_UINT8", value: h.ipProtocol };
    case "FWPM_CONDITION_IP_LOCAL_ADDRESS":
    case "FWPM_CONDITION_IP_REMOTE_ADDRESS": {
      const a = name === "FWPM_CONDITION_IP_LOCAL_ADDRESS" ? h.localAddr : h.remoteAddr;
      if (a === undefined) return undefined;
      return a.version === 4
        ? { type: "FWP_UINT32", value: a.value }
        : { type: "FWP_BYTE_ARRAY16_TYPE", value: a.bytes };
    }
    case "FWPM_CONDITION_IP_LOCAL_PORT":
      return h.localPort === undefined ? undefined : { type: "FWP_UINT16", value: h.localPort };
    case "FWPM_CONDITION_IP_REMOTE_PORT":
      return h.remotePort === undefined ? undefined : { type: "FWP_UINT16", value: h.remotePort };
    case "FWPM_CONDITION_SCOPE_ID":
      return h.scopeId === undefined ? undefined : { type: "FWP_UINT32", value: h.scopeId };
    case "FWPM_CONDITION_ALE_APP_ID":
      return h.appId === undefined ? undefined : { type: "FWP_BYTE_BLOB_TYPE", value: h.appId };
    case "FWPM_CONDITION_ALE_USER_ID":
      return h.userId === undefined
        ? undefined
        : {
            type: "FWP_TOKEN_INFORMATION_TYPE",
            value: { sids: [{ sid: h.userId, attributes: 0 }], restrictedSids: [] },
          };
    case "FWPM_CONDITION_NET_EVENT_TYPE":
      return { type: "FWP_UINT32", value: FWPM_NET_EVENT_TYPE[event.type] };
    default:
      return undefined;
  }
}

/** Whether an event falls in the template's window and satisfies all its conditions. */
export function netEventMatches(template: CompiledNetEventTemplate, event: NetEvent): boolean {
  const t = event.header.timeStamp;
  if (template.startTime !== undefined && t < template.startTime) return false;
  if (template.endTime !== undefined && t > template.endTime) return false;
  for (const c of template.conditions) {
    if (!matchCondition(c, netEventFieldValue(event, c.conditionName))) return false;
  }
  return true;
}
