/**
 * BfeSession: one FwpmEngineOpen0 handle (§H.1) — a principal, flags (dynamic), a lock wait — and every
 * Fwpm* call made through it. Calls outside `beginTransaction` … `commit` run in an implicit transaction
 * (H6). Errors are FwpError (Windows name + HRESULT), AccessDeniedError (ERROR_ACCESS_DENIED, H44) or
 * BfeNotRunningError once the BFE has stopped.
 *
 * @example
 * ```ts
 * const bfe = Bfe.open({ clock: new ManualClock() });
 * const session = bfe.openSession(ADMINISTRATOR, { flags: FWPM_SESSION_FLAG_DYNAMIC });
 * await session.beginTransaction();
 * session.addSublayer({ name: "mine", weight: 0x100 });
 * session.addFilter({ name: "block telnet", layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", action: { type: "FWP_ACTION_BLOCK" },
 *   conditions: [{ fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(23) }] });
 * session.commit();
 * ```
 */
import type { Guid } from "../base/guid.ts";
import type {
  Callout,
  CalloutSpec,
  Filter,
  FilterSpec,
  Provider,
  ProviderContext,
  ProviderContextSpec,
  ProviderSpec,
  Sublayer,
  SublayerSpec,
} from "../engine/index.ts";
import type { BfeCore, SessionState } from "./core.ts";
import type { EngineOptionName } from "./engine-options.ts";
import type { FilterEnumTemplate } from "./filter-template.ts";
import type { NetEvent, NetEventEnumTemplate, NetEventSubscription } from "./netevents/index.ts";
import type { Lifetime, ObjectKind, ObjectOfKind } from "./objects.ts";
import type { BfeObjectType, Principal, SecurityDescriptorInput } from "./security/index.ts";
import type {
  CalloutEnumTemplate,
  ChangeCallback,
  ChangeSubscription,
  ChangeSubscriptionOptions,
  EnumHandle,
  ProviderOwnedEnumTemplate,
  SessionInfo,
} from "./types.ts";

/** An add spec may carry the new object's security descriptor (null / absent → inherited, H40). */
export type WithSecurity<T> = T & { readonly securityDescriptor?: SecurityDescriptorInput | null };

/** The spec with its key optional: absent or GUID_NULL → the BFE generates one (H20). */
export type KeyOptional<T, K extends keyof T> = Omit<T, K> & { readonly [P in K]?: T[P] };

/** The enumeration template each kind takes. */
export interface EnumTemplateOfKind {
  provider: undefined;
  providerContext: ProviderOwnedEnumTemplate;
  sublayer: ProviderOwnedEnumTemplate;
  callout: CalloutEnumTemplate;
  filter: FilterEnumTemplate;
}

export class BfeSession {
  readonly #core: BfeCore;
  readonly #state: SessionState;

  /** Made by Bfe.openSession. */
  constructor(core: BfeCore, state: SessionState) {
    this.#core = core;
    this.#state = state;
  }

  /** FWPM_SESSION0 as the BFE filled it (H1). */
  get info(): SessionInfo {
    return this.#state.info;
  }

  get sessionKey(): Guid {
    return this.#state.info.sessionKey;
  }

  get principal(): Principal {
    return this.#state.principal;
  }

  /** FWPM_SESSION_FLAG_DYNAMIC was given (H3). */
  get dynamic(): boolean {
    return this.#state.dynamic;
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  /** An explicit transaction is open. */
  get inTransaction(): boolean {
    return this.#core.inTransaction(this.#state);
  }

  // ------------------------------------------------------------------ transactions (§H.2)

  /**
   * FwpmTransactionBegin0: flags 0 = read/write (waits for the write lock up to txnWaitTimeoutInMSec,
   * then FWP_E_TIMEOUT, H4), FWPM_TXN_READ_ONLY 0x1 = read-only. Errors: TXN_IN_PROGRESS (H7),
   * INVALID_FLAGS, ACCESS_DENIED (BEGIN_READ_TXN / BEGIN_WRITE_TXN), SESSION_ABORTED (closed while waiting).
   */
  beginTransaction(flags = 0): Promise<void> {
    try {
      return this.#core.beginTransaction(this.#state, flags);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** FwpmTransactionCommit0: all or nothing into the engine and the store (H9). Errors: NO_TXN_IN_PROGRESS, TXN_ABORTED, and a failed publication (the transaction is then aborted). */
  commit(): void {
    this.#core.commit(this.#state);
  }

  /** FwpmTransactionAbort0. Errors: NO_TXN_IN_PROGRESS. */
  abort(): void {
    this.#core.abort(this.#state);
  }

  /** Begin, run `body`, commit; abort when `body` throws (the error is rethrown). */
  async transact<T>(body: () => T, flags = 0): Promise<T> {
    await this.beginTransaction(flags);
    let result: T;
    try {
      result = body();
    } catch (e) {
      if (this.inTransaction) this.abort();
      throw e;
    }
    this.commit();
    return result;
  }

  // ------------------------------------------------------------------ adds (§H.3)

  /** FwpmProviderAdd0. */
  addProvider(spec: WithSecurity<KeyOptional<ProviderSpec, "providerKey">>): Provider {
    return this.#core.add(this.#state, "provider", spec as ProviderSpec);
  }

  /** FwpmProviderContextAdd0 (the providerContextId is assigned here). */
  addProviderContext(spec: WithSecurity<KeyOptional<ProviderContextSpec, "providerContextKey">>): ProviderContext {
    return this.#core.add(this.#state, "providerContext", spec as ProviderContextSpec);
  }

  /** FwpmSubLayerAdd0 (a zero or absent key is generated, H20). */
  addSublayer(spec: WithSecurity<SublayerSpec>): Sublayer {
    return this.#core.add(this.#state, "sublayer", spec);
  }

  /** FwpmCalloutAdd0 (the calloutId is assigned here). */
  addCallout(spec: WithSecurity<KeyOptional<CalloutSpec, "calloutKey">>): Callout {
    return this.#core.add(this.#state, "callout", spec as CalloutSpec);
  }

  /** FwpmFilterAdd0: returns the filter with its filterId and effective weight (H20). */
  addFilter(spec: WithSecurity<FilterSpec>): Filter {
    return this.#core.add(this.#state, "filter", spec);
  }

  // ------------------------------------------------------------------ deletes (§H.3, H5, H19)

  deleteProviderByKey(key: Guid | string): void {
    this.#core.remove(this.#state, "provider", key);
  }

  deleteProviderContextByKey(key: Guid | string): void {
    this.#core.remove(this.#state, "providerContext", key);
  }

  deleteProviderContextById(id: bigint): void {
    this.#core.remove(this.#state, "providerContext", id);
  }

  deleteSublayerByKey(key: Guid | string): void {
    this.#core.remove(this.#state, "sublayer", key);
  }

  deleteCalloutByKey(key: Guid | string): void {
    this.#core.remove(this.#state, "callout", key);
  }

  deleteCalloutById(id: number): void {
    this.#core.remove(this.#state, "callout", id);
  }

  deleteFilterByKey(key: Guid | string): void {
    this.#core.remove(this.#state, "filter", key);
  }

  deleteFilterById(id: bigint): void {
    this.#core.remove(this.#state, "filter", id);
  }

  // ------------------------------------------------------------------ gets (READ, H42)

  getProviderByKey(key: Guid | string): Provider {
    return this.#core.get(this.#state, "provider", key);
  }

  getProviderContextByKey(key: Guid | string): ProviderContext {
    return this.#core.get(this.#state, "providerContext", key);
  }

  getProviderContextById(id: bigint): ProviderContext {
    return this.#core.get(this.#state, "providerContext", id);
  }

  getSublayerByKey(key: Guid | string): Sublayer {
    return this.#core.get(this.#state, "sublayer", key);
  }

  getCalloutByKey(key: Guid | string): Callout {
    return this.#core.get(this.#state, "callout", key);
  }

  getCalloutById(id: number): Callout {
    return this.#core.get(this.#state, "callout", id);
  }

  getFilterByKey(key: Guid | string): Filter {
    return this.#core.get(this.#state, "filter", key);
  }

  getFilterById(id: bigint): Filter {
    return this.#core.get(this.#state, "filter", id);
  }

  /** The object's lifetime as this session sees it (H14): builtin, dynamic, static, persistent or bootTime. */
  lifetimeOf(kind: ObjectKind, ref: Guid | string | bigint | number): Lifetime {
    return this.#core.lifetimeOf(this.#state, kind, ref);
  }

  // ------------------------------------------------------------------ enumeration (§H.4)

  /** Fwpm*CreateEnumHandle0: a snapshot (H22) paged with `next`. */
  createEnumHandle<K extends ObjectKind>(kind: K, template?: EnumTemplateOfKind[K]): EnumHandle<ObjectOfKind[K]> {
    const items = this.#core.enumerate(this.#state, kind, template);
    let pos = 0;
    let live = true;
    return {
      next(count: number): ObjectOfKind[K][] {
        if (!live) throw new TypeError("the enumeration handle was destroyed");
        const n = Math.max(0, Math.floor(count));
        const page = items.slice(pos, pos + n);
        pos += page.length;
        return page;
      },
      get remaining(): number {
        return live ? items.length - pos : 0;
      },
      destroy(): void {
        live = false;
      },
    };
  }

  enumProviders(): Provider[] {
    return this.#core.enumerate(this.#state, "provider", undefined);
  }

  enumProviderContexts(template?: ProviderOwnedEnumTemplate): ProviderContext[] {
    return this.#core.enumerate(this.#state, "providerContext", template);
  }

  enumSublayers(template?: ProviderOwnedEnumTemplate): Sublayer[] {
    return this.#core.enumerate(this.#state, "sublayer", template);
  }

  enumCallouts(template?: CalloutEnumTemplate): Callout[] {
    return this.#core.enumerate(this.#state, "callout", template);
  }

  /** Filters by template (H23–H27); without one, all filters except boot-time and disabled ones, by filterId. */
  enumFilters(template?: FilterEnumTemplate): Filter[] {
    return this.#core.enumerate(this.#state, "filter", template);
  }

  /** FwpmSessionEnum0. */
  enumSessions(): SessionInfo[] {
    return this.#core.sessions();
  }

  // ------------------------------------------------------------------ subscriptions (§H.5)

  subscribeChanges(kind: ObjectKind, options: ChangeSubscriptionOptions, callback: ChangeCallback): ChangeSubscription {
    return this.#core.subscribe(this.#state, kind, options, callback);
  }

  subscribeProviderChanges(options: ChangeSubscriptionOptions, callback: ChangeCallback): ChangeSubscription {
    return this.subscribeChanges("provider", options, callback);
  }

  subscribeProviderContextChanges(options: ChangeSubscriptionOptions, callback: ChangeCallback): ChangeSubscription {
    return this.subscribeChanges("providerContext", options, callback);
  }

  subscribeSublayerChanges(options: ChangeSubscriptionOptions, callback: ChangeCallback): ChangeSubscription {
    return this.subscribeChanges("sublayer", options, callback);
  }

  subscribeCalloutChanges(options: ChangeSubscriptionOptions, callback: ChangeCallback): ChangeSubscription {
    return this.subscribeChanges("callout", options, callback);
  }

  subscribeFilterChanges(options: ChangeSubscriptionOptions, callback: ChangeCallback): ChangeSubscription {
    return this.subscribeChanges("filter", options, callback);
  }

  /** Fwpm*SubscriptionsGet0. */
  subscriptions(kind: ObjectKind): { id: number; kind: ObjectKind; flags: number; sessionKey: Guid }[] {
    return this.#core.subscriptions(this.#state, kind);
  }

  // ------------------------------------------------------------------ options, security, net events

  /** FwpmEngineGetOption0 (READ on the engine). */
  getEngineOption(option: EngineOptionName | number): number {
    return this.#core.getOption(this.#state, option);
  }

  /** FwpmEngineSetOption0 (H39). */
  setEngineOption(option: EngineOptionName | number, value: number): void {
    this.#core.setOption(this.#state, option, value);
  }

  /** Fwpm*SetSecurityInfoByKey0 (null key → the container / engine). */
  setSecurityInfo(type: BfeObjectType, key: Guid | null, sd: SecurityDescriptorInput, info?: number): void {
    this.#core.setSecurityInfo(this.#state, type, key, sd, info);
  }

  /** Fwpm*GetSecurityInfoByKey0 (READ_CONTROL). */
  getSecurityInfo(type: BfeObjectType, key: Guid | null): ReturnType<BfeCore["getSecurityInfo"]> {
    return this.#core.getSecurityInfo(this.#state, type, key);
  }

  /** FwpmNetEventEnum (ENUM on the net event container; FWP_E_NET_EVENTS_DISABLED while collection is off). */
  enumNetEvents(template?: NetEventEnumTemplate): NetEvent[] {
    return this.#core.enumNetEvents(this.#state, template);
  }

  /** FwpmNetEventSubscribe (SUBSCRIBE on the net event container; not in a transaction). */
  subscribeNetEvents(
    template: NetEventEnumTemplate | undefined,
    callback: (event: NetEvent) => void,
  ): NetEventSubscription {
    return this.#core.subscribeNetEvents(this.#state, template, callback);
  }

  /** FwpmEngineClose0 (H2, H3). Closing twice is a no-op. */
  close(): void {
    this.#core.closeSession(this.#state);
  }
}
