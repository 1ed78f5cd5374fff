/**
 * The securable things of the BFE (wfp-semantics.md H40): the engine, one container per object type,
 * and every object in a container. Net events have a container only (FwpmNetEventsGetSecurityInfo0);
 * layers are built-in objects, securable like the others (ADD_LINK on a layer, H42).
 * Source: https://learn.microsoft.com/windows/win32/fwp/access-control
 */
export type BfeObjectType =
  | "engine"
  | "provider"
  | "providerContext"
  | "sublayer"
  | "callout"
  | "filter"
  | "layer"
  | "netEvents";

/** Types whose container holds objects with keys of their own. */
export const KEYED_OBJECT_TYPES = ["provider", "providerContext", "sublayer", "callout", "filter", "layer"] as const;
export type KeyedObjectType = (typeof KEYED_OBJECT_TYPES)[number];

export const BFE_OBJECT_TYPES: readonly BfeObjectType[] = ["engine", ...KEYED_OBJECT_TYPES, "netEvents"];

/** True for types whose objects have keys (not the engine, not net events). */
export function isKeyedObjectType(type: BfeObjectType): type is KeyedObjectType {
  return type !== "engine" && type !== "netEvents";
}
