/**
 * Provider gating at BFE start (wfp-semantics.md H16). A persistent object is added at start only when it
 * is not owned by a provider, or its provider has no serviceName, or that Windows service is auto-start.
 * Otherwise the provider shows FWPM_PROVIDER_FLAG_DISABLED (0x10) and its persistent filters
 * FWPM_FILTER_FLAG_DISABLED (0x20); both bits are output-only (setting them on add is
 * FWP_E_INVALID_FLAGS, checked by the engine).
 *
 * Model: a gated filter stays a BFE object (get, enumerate with FWP_FILTER_ENUM_FLAG_INCLUDE_DISABLED,
 * delete, references and IN_USE all see it) and is held by the live engine, which never classifies a
 * DISABLED filter (it is left out of every layer's policy). This keeps one object table instead of a side
 * table the BFE would have to merge into every lookup. Only persistent filters are gated: boot-time filters
 * are the policy in force before BFE starts (H15), and the provider's sublayers, callouts and provider
 * contexts carry no DISABLED bit and are loaded (they act only through filters) [INF]. Gating is decided
 * at each start from the stored spec (a stored DISABLED state is recomputed), and objects added at run
 * time are never gated [INF: the documents describe the check at start only].
 * Sources: https://learn.microsoft.com/windows/win32/fwp/object-management,
 * https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_provider0
 */
import type { Guid } from "../base/guid.ts";
import { tryParseGuid } from "../base/guid.ts";
import type { FilterSpec, ProviderSpec } from "../engine/index.ts";
import { FILTER_FLAG_BOOTTIME, type ObjectKind, type SpecOfKind } from "./objects.ts";

/** A Windows service's start type as the gating sees it (SERVICE_AUTO_START, DEMAND_START, DISABLED). */
export type ServiceStartType = "auto" | "demand" | "disabled" | "unknown";

/** Looks up a service's start type (the host asks the service manager; tests inject a table). */
export type ServiceStartTypeLookup = (serviceName: string) => ServiceStartType;

/** The default: every service is auto-start, so nothing is gated. */
export const ALL_SERVICES_AUTO: ServiceStartTypeLookup = () => "auto";

/** One stored object about to be loaded. */
export interface StoredSpec {
  readonly kind: ObjectKind;
  readonly key: Guid;
  readonly spec: SpecOfKind[ObjectKind];
}

export interface GatingOutcome {
  /** The specs to load: providers and persistent filters with `disabled` set as this start decides. */
  readonly specs: StoredSpec[];
  /** Providers loaded with FWPM_PROVIDER_FLAG_DISABLED. */
  readonly disabledProviders: ReadonlySet<Guid>;
  /** Filters loaded with FWPM_FILTER_FLAG_DISABLED. */
  readonly disabledFilters: ReadonlySet<Guid>;
}

/** Whether a provider with this serviceName is gated (service present and not auto-start). */
export function isProviderGated(serviceName: string | undefined, lookup: ServiceStartTypeLookup): boolean {
  if (serviceName === undefined || serviceName === "") return false;
  return lookup(serviceName) !== "auto";
}

/** `spec` with `disabled` set as this start decides: the spec itself when it already says so (no copy). */
function withDisabled<T extends { readonly disabled?: boolean }>(spec: T, disabled: boolean): T {
  if (disabled ? spec.disabled === true : spec.disabled === undefined) return spec;
  const { disabled: _ignored, ...rest } = spec;
  return (disabled ? { ...rest, disabled: true } : rest) as T;
}

/**
 * H16 for one BFE start, object by object: stored objects pass through `spec` in load order (providers
 * before the objects that name them, as PERSISTED_KINDS orders them), each coming back with `disabled` set
 * as this start decides.
 */
export class ProviderGate {
  readonly #lookup: ServiceStartTypeLookup;
  readonly disabledProviders = new Set<Guid>();
  readonly disabledFilters = new Set<Guid>();

  constructor(lookup: ServiceStartTypeLookup) {
    this.#lookup = lookup;
  }

  /** The spec to load for a stored object (the same object when nothing changes). */
  spec(kind: ObjectKind, key: Guid, spec: SpecOfKind[ObjectKind]): SpecOfKind[ObjectKind] {
    if (kind === "provider") {
      const p = spec as ProviderSpec;
      const gated = isProviderGated(p.serviceName, this.#lookup);
      if (gated) this.disabledProviders.add(key);
      return withDisabled(p, gated);
    }
    if (kind !== "filter") return spec;
    const f = spec as FilterSpec;
    const gated =
      this.disabledProviders.size > 0 &&
      typeof f.providerKey === "string" &&
      this.disabledProviders.has(tryParseGuid(f.providerKey) as Guid) &&
      ((f.flags ?? 0) & FILTER_FLAG_BOOTTIME) === 0;
    if (gated) this.disabledFilters.add(key);
    return withDisabled(f, gated);
  }
}

/** H16: decides, for one BFE start, which stored providers and filters are loaded DISABLED. */
export function gateStoredObjects(stored: readonly StoredSpec[], lookup: ServiceStartTypeLookup): GatingOutcome {
  const gate = new ProviderGate(lookup);
  // Every provider first, wherever it is in the list.
  for (const o of stored) if (o.kind === "provider") gate.spec(o.kind, o.key, o.spec);
  const disabledProviders = new Set(gate.disabledProviders);
  const specs: StoredSpec[] = [];
  for (const o of stored) {
    const spec =
      o.kind === "provider"
        ? withDisabled(o.spec as ProviderSpec, disabledProviders.has(o.key))
        : gate.spec(o.kind, o.key, o.spec);
    specs.push(spec === o.spec ? o : { ...o, spec });
  }
  return { specs, disabledProviders, disabledFilters: gate.disabledFilters };
}
