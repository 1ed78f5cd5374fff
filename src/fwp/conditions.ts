/**
 * The 154 FWPM_CONDITION_* identifiers: GUID (the fieldKey of a filter condition), status (current,
 * #define alias, removed, newer than the header baseline, docs-only), documented filter value types,
 * run-time incoming types, and the layers whose field list carries the GUID.
 * Aliases share their target's GUID (FWPM_CONDITION_ICMP_TYPE = IP_LOCAL_PORT), so a GUID names one
 * canonical condition plus its aliases.
 * Sources: conditions.json (SDK fwpmu.h), https://learn.microsoft.com/windows/win32/fwp/filtering-condition-identifiers-
 */
import type { Guid } from "../base/guid.ts";
import { tryParseGuid } from "../base/guid.ts";
import { CONDITION_ROWS, type ConditionName, type ConditionStatus } from "./generated/conditions.ts";
import type { FwpmLayerName } from "./generated/layers.ts";

export {
  type ConditionName,
  type ConditionStatus,
  FWPM_CONDITION,
  type KeyedConditionName,
} from "./generated/conditions.ts";

export interface Condition {
  readonly name: ConditionName;
  /** The condition GUID (FWPM_FILTER_CONDITION0.fieldKey); null for the docs-only SCOPE_ID. */
  readonly key: Guid | null;
  readonly status: ConditionStatus;
  /** For a #define alias, the condition it stands for. */
  readonly aliasOf: ConditionName | null;
  readonly introducedNtddi: string | null;
  /** Documented value types of a filter condition (FWP_* names, or the enum a value is drawn from). */
  readonly conditionValueTypes: readonly string[];
  /** Run-time data types of the incoming value across the layers carrying it. */
  readonly incomingDataTypes: readonly string[];
  readonly fieldTypes: readonly string[];
  /** FWPM layers (discard layers included) whose fields carry this GUID. */
  readonly validAtLayers: readonly FwpmLayerName[];
  /** The enum or flag set a value comes from, in words (e.g. "IPPROTO"). */
  readonly valueSemantics: string | null;
  /** Allowed in FWPM_NET_EVENT_ENUM_TEMPLATE0. */
  readonly netEventEnumTemplate: boolean;
}

/** Every condition, in conditions.json order. */
export const CONDITIONS: readonly Condition[] = Object.freeze(
  CONDITION_ROWS.map(
    (c): Condition =>
      Object.freeze({
        name: c.name,
        key: c.guid as Guid | null,
        status: c.status,
        aliasOf: c.aliasOf,
        introducedNtddi: c.introducedNtddi,
        conditionValueTypes: Object.freeze([...c.conditionValueTypes]),
        incomingDataTypes: Object.freeze([...c.incomingDataTypes]),
        fieldTypes: Object.freeze([...c.fieldTypes]),
        validAtLayers: Object.freeze([...c.validAtLayers]),
        valueSemantics: c.valueSemantics,
        netEventEnumTemplate: c.netEventEnumTemplate,
      }),
  ),
);

const BY_NAME: ReadonlyMap<string, Condition> = new Map(CONDITIONS.map((c) => [c.name, c]));
const BY_KEY = new Map<string, Condition[]>();
for (const c of CONDITIONS) {
  if (c.key === null) continue;
  const list = BY_KEY.get(c.key) ?? [];
  // The canonical (non-alias) condition first.
  if (c.aliasOf === null) list.unshift(c);
  else list.push(c);
  BY_KEY.set(c.key, list);
}

export function conditionByName(name: string): Condition | undefined {
  return BY_NAME.get(name);
}

/** The canonical condition with this GUID (not an alias), or undefined. */
export function conditionByKey(key: string): Condition | undefined {
  const guid = tryParseGuid(key);
  return guid === undefined ? undefined : BY_KEY.get(guid)?.[0];
}

/** Every name for this GUID: the canonical condition first, then its aliases. */
export function conditionsByKey(key: string): readonly Condition[] {
  const guid = tryParseGuid(key);
  return (guid === undefined ? undefined : BY_KEY.get(guid)) ?? [];
}

/** A condition by name (aliases resolve to their own entry) or by GUID (canonical entry). */
export function findCondition(nameOrKey: string): Condition | undefined {
  return BY_NAME.get(nameOrKey) ?? conditionByKey(nameOrKey);
}
