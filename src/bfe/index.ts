/**
 * The base filtering engine (wfp-semantics.md §H): sessions, transactions, object lifetimes and
 * references, enumeration templates, change subscriptions, engine options and atomic publication to the
 * live FilterEngine (this folder), with access control (./security), the durable store (./store), net
 * events (./netevents) and netsh XML (./netsh).
 *
 * @example
 * ```ts
 * const bfe = Bfe.open({ store: BfeStore.open(".openwfp/bfe.db"), clock, timer });
 * const session = bfe.openSession(ADMINISTRATOR);
 * await session.transact(() => {
 *   session.addProvider({ providerKey, name: "me", flags: FWPM_PROVIDER_FLAG_PERSISTENT });
 *   session.addFilter({ name: "block", layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", providerKey,
 *     flags: FWPM_FILTER_FLAG_PERSISTENT, action: { type: "FWP_ACTION_BLOCK" } });
 * });
 * bfe.engine.classify({ layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", incomingValues }).action; // "FWP_ACTION_BLOCK"
 * ```
 */
export * from "./audit/index.ts";
export { Bfe } from "./bfe.ts";
export { fromStoreData, toStoreData } from "./codec.ts";
export { DEFAULT_TXN_WAIT_MS, TXN_WAIT_INFINITE } from "./core.ts";
export {
  checkEngineOptionValue,
  DEFAULT_ENGINE_OPTIONS,
  DEFAULT_TXN_WATCHDOG_MS,
  ENGINE_OPTION_NAMES,
  type EngineOptionName,
  engineOptionName,
} from "./engine-options.ts";
export { BfeNotRunningError, RPC_S_SERVER_UNAVAILABLE_HRESULT } from "./errors.ts";
export {
  type CompiledFilterTemplate,
  compileFilterTemplate,
  ENUM_FLAG_BEST_TERMINATING_MATCH,
  ENUM_FLAG_BOOTTIME_ONLY,
  ENUM_FLAG_INCLUDE_BOOTTIME,
  ENUM_FLAG_INCLUDE_DISABLED,
  ENUM_FLAG_SORTED,
  type FilterEnumTemplate,
  type FilterEnumType,
  filterMatchesTemplate,
} from "./filter-template.ts";
export {
  type BfeObject,
  type Lifetime,
  OBJECT_KINDS,
  type ObjectKind,
  type ObjectOfKind,
  type SpecOfKind,
  specOfObject,
} from "./objects.ts";
export {
  ALL_SERVICES_AUTO,
  type GatingOutcome,
  gateStoredObjects,
  isProviderGated,
  type ServiceStartType,
  type ServiceStartTypeLookup,
  type StoredSpec,
} from "./provider-gating.ts";
export { BfeSession, type EnumTemplateOfKind, type KeyOptional, type WithSecurity } from "./session.ts";
export { type BfeTimer, ManualTimer } from "./timer.ts";
export { type CompiledTrafficSelection, compileTrafficSelection, type TrafficSelection } from "./traffic-selection.ts";
export type {
  BfeOpenInit,
  CalloutEnumTemplate,
  ChangeCallback,
  ChangeSubscription,
  ChangeSubscriptionOptions,
  ChangeType,
  EnumHandle,
  ObjectChange,
  ProviderOwnedEnumTemplate,
  SessionInfo,
  SessionOptions,
} from "./types.ts";
export * from "./netevents/index.ts";
export * from "./netsh/index.ts";
export * from "./security/index.ts";
export * from "./store/index.ts";
