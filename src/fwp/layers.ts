/**
 * The 99 run-time filtering layers and the incoming values each one classifies.
 *
 * A layer has a run-time id (`FWPS_LAYER_*`, the value of FWPM_LAYER0.layerId), a management key
 * (`FWPM_LAYER_*` GUID; RESERVED_LAYER_9/10 have none) and an ordered list of fields: field `i` is
 * `incomingValue[i]` of FWPS_INCOMING_VALUES0 and is matched by filter conditions whose fieldKey is the
 * field's FWPM_CONDITION_* GUID. Discard layers share their base layer's fields.
 * Sources: layers.json / fields.json (SDK fwpsu.h FWPS_BUILTIN_LAYERS and FWPS_FIELDS_*),
 * https://learn.microsoft.com/windows/win32/api/fwpsu/ne-fwpsu-fwps_builtin_layers
 */
import type { Guid } from "../base/guid.ts";
import { tryParseGuid } from "../base/guid.ts";
import { FwpError } from "./error.ts";
import { CONDITION_ROWS, type ConditionName } from "./generated/conditions.ts";
import {
  FIELDS_ENUM_ROWS,
  type FieldConfidence,
  type FieldDataTypeName,
  type FieldsEnumName,
  type FieldTypeName,
} from "./generated/fields.ts";
import {
  type FwpmLayerName,
  type FwpsLayerName,
  LAYER_ROWS,
  type LayerDirection,
  type LayerFamily,
  type LayerSubFamily,
} from "./generated/layers.ts";

export type {
  FieldConfidence,
  FieldDataTypeName,
  FieldsEnumName,
  FieldTypeName,
} from "./generated/fields.ts";
export {
  FWPM_LAYER,
  FWPS_BUILTIN_KM_LAYER_MAX,
  FWPS_BUILTIN_LAYER_MAX,
  FWPS_LAYER,
  type FwpmLayerName,
  type FwpsLayerName,
  type LayerDirection,
  type LayerFamily,
  type LayerSubFamily,
} from "./generated/layers.ts";

/** One classifiable field of a layer: `incomingValue[index]`. */
export interface LayerField {
  /** Position in incomingValue[] (the FWPS_FIELD_* value). */
  readonly index: number;
  /** FWPS_FIELD_* name, e.g. `FWPS_FIELD_ALE_AUTH_CONNECT_V4_IP_REMOTE_PORT`. */
  readonly name: string;
  /** FWPM_CONDITION_* name of the condition that matches this field. */
  readonly condition: ConditionName;
  /** The condition GUID: FWPM_FILTER_CONDITION0.fieldKey. */
  readonly conditionKey: Guid;
  /** Run-time FWP_DATA_TYPE of the incoming value; null where unpublished. */
  readonly dataType: FieldDataTypeName | null;
  /** FWPM_FIELD_TYPE (raw data, IP address, flags); null where unpublished. */
  readonly fieldType: FieldTypeName | null;
  /** How the data type is known. */
  readonly confidence: FieldConfidence;
  readonly introducedNtddi: string | null;
}

export interface Layer {
  /** FWPS_LAYER_* value (FWPM_LAYER0.layerId), 0..98. */
  readonly runtimeId: number;
  readonly fwpsName: FwpsLayerName;
  /** FWPM_LAYER_* name; null for RESERVED_LAYER_9/10. */
  readonly fwpmName: FwpmLayerName | null;
  /** FWPM_LAYER_* GUID (FWPM_FILTER0.layerKey); null for RESERVED_LAYER_9/10. */
  readonly key: Guid | null;
  /** A *_DISCARD layer: sees what its base layer dropped. */
  readonly isDiscard: boolean;
  /** For a discard layer, its base layer. */
  readonly discardOf: FwpsLayerName | null;
  /** For a base layer, its discard layer. */
  readonly discardLayer: FwpsLayerName | null;
  readonly ipVersion: "V4" | "V6" | null;
  readonly direction: LayerDirection;
  readonly family: LayerFamily;
  readonly subFamily: LayerSubFamily;
  /** kernel when runtimeId < FWPS_BUILTIN_KM_LAYER_MAX, else user (BFE/IKEEXT/RPC layers). */
  readonly mode: "kernel" | "user";
  readonly introducedNtddi: string;
  /** FWPS_FIELDS_* enum of the incoming values; null for RESERVED_LAYER_9/10. */
  readonly fieldsEnum: FieldsEnumName | null;
  /** The fields in incomingValue[] order (empty when none are published). */
  readonly fields: readonly LayerField[];
  readonly description: string;
}

/** A layer, or anything that names one: FWPM or FWPS name, run-time id, or layer GUID. */
export type LayerRef = Layer | FwpmLayerName | FwpsLayerName | Guid | number;

const FIELDS_BY_ENUM: ReadonlyMap<FieldsEnumName, readonly LayerField[]> = new Map(
  FIELDS_ENUM_ROWS.map((e) => [
    e.name,
    Object.freeze(
      e.fields.map(
        (f): LayerField =>
          Object.freeze({
            index: f.index,
            name: f.name,
            condition: f.condition,
            conditionKey: f.conditionGuid as Guid,
            dataType: f.dataType,
            fieldType: f.fieldType,
            confidence: f.confidence,
            introducedNtddi: f.introducedNtddi,
          }),
      ),
    ),
  ]),
);

/** Every layer; `LAYERS[id].runtimeId === id`. */
export const LAYERS: readonly Layer[] = Object.freeze(
  LAYER_ROWS.map(
    (r): Layer =>
      Object.freeze({
        runtimeId: r.runtimeId,
        fwpsName: r.fwpsName,
        fwpmName: r.fwpmName,
        key: r.guid as Guid | null,
        isDiscard: r.discardOf !== null,
        discardOf: r.discardOf,
        discardLayer: r.discardLayer,
        ipVersion: r.ipVersion,
        direction: r.direction,
        family: r.family,
        subFamily: r.subFamily,
        mode: r.mode,
        introducedNtddi: r.introducedNtddi,
        fieldsEnum: r.fieldsEnum,
        fields: r.fieldsEnum === null ? Object.freeze([]) : (FIELDS_BY_ENUM.get(r.fieldsEnum) ?? Object.freeze([])),
        description: r.description,
      }),
  ),
);

const BY_NAME = new Map<string, Layer>();
const BY_KEY = new Map<string, Layer>();
for (const l of LAYERS) {
  BY_NAME.set(l.fwpsName, l);
  if (l.fwpmName !== null) BY_NAME.set(l.fwpmName, l);
  if (l.key !== null) BY_KEY.set(l.key, l);
}

/** Field position by condition GUID, per fields enum. */
const INDEX_BY_KEY: ReadonlyMap<FieldsEnumName, ReadonlyMap<string, number>> = new Map(
  [...FIELDS_BY_ENUM].map(([name, fields]) => [name, new Map(fields.map((f) => [f.conditionKey as string, f.index]))]),
);

export function layerByRuntimeId(id: number): Layer | undefined {
  return Number.isInteger(id) ? LAYERS[id] : undefined;
}

export function layerByFwpmName(name: string): Layer | undefined {
  return name.startsWith("FWPM_LAYER_") ? BY_NAME.get(name) : undefined;
}

export function layerByFwpsName(name: string): Layer | undefined {
  return name.startsWith("FWPS_LAYER_") ? BY_NAME.get(name) : undefined;
}

/** The layer with this FWPM_LAYER_* GUID (any case, braces allowed). */
export function layerByKey(key: string): Layer | undefined {
  const guid = tryParseGuid(key);
  return guid === undefined ? undefined : BY_KEY.get(guid);
}

/** Resolves any LayerRef (name, id, GUID or a Layer); undefined when nothing matches. */
export function findLayer(ref: LayerRef | string): Layer | undefined {
  if (typeof ref === "number") return layerByRuntimeId(ref);
  if (typeof ref === "object") return LAYERS[ref.runtimeId] === ref ? ref : undefined;
  return BY_NAME.get(ref) ?? layerByKey(ref);
}

/** Like findLayer, but an unknown layer is FWP_E_LAYER_NOT_FOUND. */
export function getLayer(ref: LayerRef | string, path?: string): Layer {
  const layer = findLayer(ref);
  if (layer === undefined) {
    throw new FwpError("FWP_E_LAYER_NOT_FOUND", {
      detail: `No layer ${typeof ref === "object" ? ref.fwpsName : JSON.stringify(ref)}.`,
      ...(path === undefined ? {} : { path }),
    });
  }
  return layer;
}

/** The layer's fields in incomingValue[] order. Unknown layer → FWP_E_LAYER_NOT_FOUND. */
export function layerFields(layer: LayerRef | string): readonly LayerField[] {
  return getLayer(layer).fields;
}

/**
 * Index in incomingValue[] of the field matched by a condition (FWPM_CONDITION_* name, alias such as
 * FWPM_CONDITION_ICMP_TYPE, or condition GUID) at a layer; undefined when the layer has no such field.
 * Unknown layer → FWP_E_LAYER_NOT_FOUND.
 */
export function fieldIndex(layer: LayerRef | string, condition: ConditionName | Guid | string): number | undefined {
  const l = getLayer(layer);
  if (l.fieldsEnum === null) return undefined;
  const key = conditionKeyOf(condition);
  return key === undefined ? undefined : INDEX_BY_KEY.get(l.fieldsEnum)?.get(key);
}

/** The field of a layer matched by a condition (name, alias or GUID), or undefined. */
export function layerField(layer: LayerRef | string, condition: ConditionName | Guid | string): LayerField | undefined {
  const index = fieldIndex(layer, condition);
  return index === undefined ? undefined : getLayer(layer).fields[index];
}

/** Condition name (aliases included) → GUID. */
const CONDITION_KEY_BY_NAME: ReadonlyMap<string, string> = new Map(
  CONDITION_ROWS.flatMap((c) => (c.guid === null ? [] : [[c.name, c.guid] as const])),
);

function conditionKeyOf(condition: string): string | undefined {
  return CONDITION_KEY_BY_NAME.get(condition) ?? tryParseGuid(condition);
}
