/**
 * Built-in objects every BFE starts with: the 18 sublayers (+ the EDGE_TRAVERSAL alias), providers,
 * callouts (with the layer each applies to), provider contexts and keying modules.
 * Built-in sublayer weights are not published (sublayers.json); the BFE decides them.
 * Sources: sublayers.json, providers.json (SDK fwpmu.h),
 * https://learn.microsoft.com/windows/win32/fwp/management-filtering-sublayer-identifiers,
 * https://learn.microsoft.com/windows/win32/fwp/built-in-callout-identifiers
 */
import type { Guid } from "../base/guid.ts";
import { tryParseGuid } from "../base/guid.ts";
import {
  BUILTIN_CALLOUT_ROWS,
  BUILTIN_PROVIDER_CONTEXT_ROWS,
  BUILTIN_PROVIDER_ROWS,
  BUILTIN_SUBLAYER_ROWS,
  type BuiltinCalloutName,
  type BuiltinProviderContextName,
  type BuiltinProviderName,
  type BuiltinSublayerName,
  KEYING_MODULE_ROWS,
  type KeyingModuleName,
} from "./generated/builtins.ts";
import type { FwpmLayerName } from "./generated/layers.ts";

export {
  type BuiltinCalloutName,
  type BuiltinProviderContextName,
  type BuiltinProviderName,
  type BuiltinSublayerName,
  FWPM_CALLOUT,
  FWPM_KEYING_MODULE,
  FWPM_PROVIDER,
  FWPM_PROVIDER_CONTEXT,
  FWPM_SUBLAYER,
  type KeyingModuleName,
} from "./generated/builtins.ts";

export interface BuiltinObject<Name extends string> {
  readonly name: Name;
  readonly key: Guid;
  /** For a #define alias, the name it stands for (same GUID). */
  readonly aliasOf: Name | null;
  readonly introducedNtddi: string | null;
  /** Spelled only in the Microsoft docs; the SDK header declares another name/GUID. */
  readonly documentationOnly: boolean;
  readonly description: string | null;
}

export interface BuiltinCallout extends BuiltinObject<BuiltinCalloutName> {
  /** The FWPM layer the callout applies to; null when unpublished. */
  readonly layer: FwpmLayerName | null;
  /** "name" when inferred from the callout's name, "docs…" when the docs state it. */
  readonly layerSource: string | null;
}

function hydrate<Name extends string>(
  rows: readonly {
    name: Name;
    guid: string;
    aliasOf: Name | null;
    introducedNtddi: string | null;
    documentationOnly: boolean;
    description: string | null;
  }[],
): readonly BuiltinObject<Name>[] {
  return Object.freeze(
    rows.map((r) =>
      Object.freeze({
        name: r.name,
        key: r.guid as Guid,
        aliasOf: r.aliasOf,
        introducedNtddi: r.introducedNtddi,
        documentationOnly: r.documentationOnly,
        description: r.description,
      }),
    ),
  );
}

export const BUILTIN_SUBLAYERS: readonly BuiltinObject<BuiltinSublayerName>[] = hydrate(BUILTIN_SUBLAYER_ROWS);
export const BUILTIN_PROVIDERS: readonly BuiltinObject<BuiltinProviderName>[] = hydrate(BUILTIN_PROVIDER_ROWS);
export const BUILTIN_PROVIDER_CONTEXTS: readonly BuiltinObject<BuiltinProviderContextName>[] =
  hydrate(BUILTIN_PROVIDER_CONTEXT_ROWS);
export const KEYING_MODULES: readonly BuiltinObject<KeyingModuleName>[] = hydrate(KEYING_MODULE_ROWS);
export const BUILTIN_CALLOUTS: readonly BuiltinCallout[] = Object.freeze(
  BUILTIN_CALLOUT_ROWS.map(
    (r): BuiltinCallout =>
      Object.freeze({
        name: r.name,
        key: r.guid as Guid,
        aliasOf: r.aliasOf,
        introducedNtddi: r.introducedNtddi,
        documentationOnly: r.documentationOnly,
        description: r.description,
        layer: r.layer,
        layerSource: r.layerSource,
      }),
  ),
);

/** The entry with this GUID, preferring the canonical (non-alias, SDK-declared) name. */
function byKey<T extends BuiltinObject<string>>(list: readonly T[], key: string): T | undefined {
  const guid = tryParseGuid(key);
  if (guid === undefined) return undefined;
  const matches = list.filter((o) => o.key === guid);
  return matches.find((o) => o.aliasOf === null && !o.documentationOnly) ?? matches[0];
}

export function builtinSublayerByKey(key: string): BuiltinObject<BuiltinSublayerName> | undefined {
  return byKey(BUILTIN_SUBLAYERS, key);
}

export function builtinProviderByKey(key: string): BuiltinObject<BuiltinProviderName> | undefined {
  return byKey(BUILTIN_PROVIDERS, key);
}

export function builtinCalloutByKey(key: string): BuiltinCallout | undefined {
  return byKey(BUILTIN_CALLOUTS, key);
}

export function builtinProviderContextByKey(key: string): BuiltinObject<BuiltinProviderContextName> | undefined {
  return byKey(BUILTIN_PROVIDER_CONTEXTS, key);
}

export function keyingModuleByKey(key: string): BuiltinObject<KeyingModuleName> | undefined {
  return byKey(KEYING_MODULES, key);
}
