/**
 * The BFE's machinery behind Bfe and BfeSession (not exported from the folder): sessions (§H.1), the
 * write lock and transactions (§H.2), lifetimes and references (§H.3), enumeration (§H.4), change
 * subscriptions (§H.5), engine options (§H.7), access checks at every call (H42) and atomic publication
 * of committed changes to the live FilterEngine (H9).
 *
 * Model:
 * - The live engine holds the committed policy. An explicit read/write transaction works on a fork of it
 *   (FilterEngine.fork, taken at its first write), which gives exact validation at each call, lets a
 *   failing call leave the transaction usable (H10) and lets the writer read its own writes (H9 [INF])
 *   while other sessions keep reading the live engine (isolation). Commit publishes the fork with
 *   FilterEngine.applyStaged, whose last step before the engine changes is the store's commit: engine and
 *   store get all or nothing. The write lock kept the live engine as the fork found it, so the fork's
 *   tables are taken as they are (O(1), no object validated twice); otherwise the transaction's outcomes
 *   (complete specs: keys, ids, effective weights) are replayed and validated. Store rows are written
 *   straight from the objects as the store asks for them (filterStoreText), change events are made at
 *   commit and only when someone listens.
 * - Calls outside a transaction run in an implicit one (H6): the same checks, then a one-op batch on the
 *   live engine with its own store commit.
 * - One write lock. Read-only transactions and reads do not take it (they see the committed state) [INF].
 *   A read/write Begin waits up to the session's txnWaitTimeoutInMSec (timer injected) → FWP_E_TIMEOUT
 *   (H4). A synchronous implicit write cannot wait in a single-threaded process: when another session
 *   holds the lock it fails at once with FWP_E_TIMEOUT [INF].
 * - Run-time ids are handed out by the BFE, monotonically, and never reused while it runs (H20).
 */
import type { Clock } from "../base/clock.ts";
import type { Guid } from "../base/guid.ts";
import { GUID_NULL, tryParseGuid } from "../base/guid.ts";
import { SeededRng } from "../base/rng.ts";
import {
  type EngineBatchOp,
  type EngineBatchResult,
  type Filter,
  FilterEngine,
  freshGuid,
  guidKey,
  layerOf,
  type Sublayer,
} from "../engine/index.ts";
import {
  FWPM_SESSION_FLAG,
  FWPM_SUBLAYER,
  FWPM_SUBSCRIPTION_FLAG,
  FWPM_TXN,
  FwpError,
  type FwpErrorName,
  encodeSecurityDescriptor,
  findLayer,
  type SecurityDescriptor,
} from "../fwp/index.ts";
import { AuditLog, auditPersistentLoad, auditPolicyChanges } from "./audit/index.ts";
import { fromOwnedStoreData, fromStoreData, storeTextOf, toStoreData } from "./codec.ts";
import {
  checkEngineOptionValue,
  DEFAULT_ENGINE_OPTIONS,
  DEFAULT_TXN_WATCHDOG_MS,
  ENGINE_OPTION_NAMES,
  type EngineOptionName,
  engineOptionName,
} from "./engine-options.ts";
import { BfeNotRunningError } from "./errors.ts";
import {
  type CompiledFilterTemplate,
  compileFilterTemplate,
  ENUM_FLAG_BEST_TERMINATING_MATCH,
  ENUM_FLAG_SORTED,
  type FilterEnumTemplate,
  filterMatchesTemplate,
  isTerminatingAction,
} from "./filter-template.ts";
import { type NetEvent, type NetEventEnumTemplate, NetEventLog, type NetEventSubscription } from "./netevents/index.ts";
import {
  type BfeObject,
  FILTER_FLAG_BOOTTIME,
  filterStoreText,
  idOfObject,
  isBuiltin,
  keyOfObject,
  type Lifetime,
  notFoundCode,
  OBJECT_KINDS,
  type ObjectKind,
  type ObjectOfKind,
  persistentFlag,
  providerOfObject,
  type SpecOfKind,
  specOfObject,
} from "./objects.ts";
import { ALL_SERVICES_AUTO, ProviderGate, type ServiceStartTypeLookup } from "./provider-gating.ts";
import {
  AccessControl,
  type BfeObjectType,
  DELETE,
  FWPM_ACTRL_ADD,
  FWPM_ACTRL_ADD_LINK,
  FWPM_ACTRL_BEGIN_READ_TXN,
  FWPM_ACTRL_BEGIN_WRITE_TXN,
  FWPM_ACTRL_ENUM,
  FWPM_ACTRL_OPEN,
  FWPM_ACTRL_READ,
  FWPM_ACTRL_SUBSCRIBE,
  FWPM_ACTRL_WRITE,
  type Principal,
  LOCAL_SYSTEM,
  type SecurityDescriptorInput,
  toSecurityDescriptor,
} from "./security/index.ts";
import { MemoryStore, type ObjectStore, type PersistedKind, type StoreChange } from "./store/index.ts";
import { type BfeTimer, ManualTimer } from "./timer.ts";
import type {
  BfeOpenInit,
  CalloutEnumTemplate,
  ChangeCallback,
  ChangeSubscription,
  ChangeSubscriptionOptions,
  ChangeType,
  ObjectChange,
  ProviderOwnedEnumTemplate,
  SessionInfo,
  SessionOptions,
} from "./types.ts";

/** H4: txnWaitTimeoutInMSec 0 means 15 s. */
export const DEFAULT_TXN_WAIT_MS = 15_000;
/** H4: INFINITE. */
export const TXN_WAIT_INFINITE = 0xffffffff;

const SESSION_FLAG_DYNAMIC: number = FWPM_SESSION_FLAG.FWPM_SESSION_FLAG_DYNAMIC;
const TXN_READ_ONLY: number = FWPM_TXN.FWPM_TXN_READ_ONLY;
const NOTIFY_ON_ADD: number = FWPM_SUBSCRIPTION_FLAG.FWPM_SUBSCRIPTION_FLAG_NOTIFY_ON_ADD;
const NOTIFY_ON_DELETE: number = FWPM_SUBSCRIPTION_FLAG.FWPM_SUBSCRIPTION_FLAG_NOTIFY_ON_DELETE;
const CHANGE_ADD: ChangeType = 1;
const CHANGE_DELETE: ChangeType = 2;
/** OWNER | GROUP | DACL _SECURITY_INFORMATION: a whole descriptor put back. */
const SD_ALL_PARTS = 0x7;

function fail(code: FwpErrorName, detail: string, path?: string): never {
  throw new FwpError(code, path === undefined ? { detail } : { path, detail });
}

function ownerKey(kind: ObjectKind, key: Guid): string {
  return `${kind}:${key}`;
}

interface PendingEvent {
  readonly change: ObjectChange;
  readonly object: BfeObject;
  readonly source: Guid;
}

/**
 * One write of a transaction, kept small until commit: an add keeps its (frozen) object, and its replay
 * spec, store data and change event are made from it only when needed; a delete keeps its op, its store
 * change and the object it deleted.
 */
type TxnWrite =
  | {
      readonly kind: ObjectKind;
      readonly object: BfeObject;
      readonly lifetime: Lifetime;
      /** The explicit security descriptor given with the add, encoded when the add was made. */
      readonly sd: Uint8Array | undefined;
      /** The descriptor the key had before the add, put back on abort (undefined: none, it is dropped). */
      readonly previous: SecurityDescriptor | undefined;
    }
  | {
      readonly kind: ObjectKind;
      readonly object: BfeObject;
      readonly remove: EngineBatchOp;
      readonly change: StoreChange | undefined;
    };

/** An open transaction (explicit, H6). */
interface Txn {
  readonly readOnly: boolean;
  readonly startedNs: bigint;
  staging: FilterEngine | null;
  /** Every write applied to `staging`, in order. */
  readonly writes: TxnWrite[];
  /** Dynamic ownership changes: owner session on add, null on delete. */
  readonly owners: Map<string, Guid | null>;
  /** Objects deleted in the transaction (their descriptors go at commit), by `ownerKey(type, key)`. */
  readonly deleted: Map<string, { type: BfeObjectType; key: Guid }>;
}

export interface SessionState {
  readonly info: SessionInfo;
  readonly principal: Principal;
  readonly dynamic: boolean;
  /** Lock wait in ms; Infinity for INFINITE. */
  readonly waitMs: number;
  txn: Txn | null;
  /** A Begin is waiting for the lock. */
  waiting: Waiter | null;
  /** The watchdog aborted the transaction; the next call reports FWP_E_TXN_ABORTED (H11). */
  forceAborted: boolean;
  closed: boolean;
  readonly subscriptions: Set<Subscriber>;
  readonly netEventSubscriptions: Set<NetEventSubscription>;
  /** Dynamic objects this session added and committed (H3). */
  readonly dynamicObjects: Set<string>;
}

interface Waiter {
  readonly session: SessionState;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  cancelTimer: () => void;
}

interface Subscriber {
  readonly id: number;
  readonly kind: ObjectKind;
  readonly flags: number;
  readonly session: SessionState;
  readonly template: CompiledFilterTemplate | null;
  readonly callback: ChangeCallback;
}

/** What a session reads: its transaction's fork or the live engine, and dynamic ownership. */
interface View {
  readonly engine: FilterEngine;
  owner(kind: ObjectKind, key: Guid): Guid | undefined;
}

/** A session's View: the transaction's ownership changes over the committed owners. */
class SessionView implements View {
  constructor(
    readonly engine: FilterEngine,
    readonly txnOwners: ReadonlyMap<string, Guid | null> | undefined,
    readonly committed: ReadonlyMap<string, Guid>,
  ) {}

  owner(kind: ObjectKind, key: Guid): Guid | undefined {
    // No dynamic object anywhere (the usual case for bulk adds): nothing to look up.
    if (this.committed.size === 0 && (this.txnOwners === undefined || this.txnOwners.size === 0)) return undefined;
    const k = ownerKey(kind, key);
    if (this.txnOwners?.has(k)) return this.txnOwners.get(k) ?? undefined;
    return this.committed.get(k);
  }
}

/** An object a spec references (for ADD_LINK and lifetime checks), or a layer. */
interface Reference {
  readonly kind: ObjectKind | "layer";
  readonly key: Guid;
  readonly object: BfeObject | null;
  readonly path: string;
}

/** Adds the layer `x` names (if any) to `out`. */
function layerReference(out: Reference[], x: unknown, path: string): void {
  const l = layerOf(x);
  if (l?.key != null) out.push({ kind: "layer", key: l.key, object: null, path });
}

/** A write the durable store keeps: a delete of a stored object, or an add of a persistent or boot-time one. */
function persisted(w: TxnWrite): boolean {
  return "remove" in w ? w.change !== undefined : w.lifetime === "persistent" || w.lifetime === "bootTime";
}

function lifetimeMismatch(why: string, path: string): never {
  return fail("FWP_E_LIFETIME_MISMATCH", `${why} (H17).`, path);
}

type ObjectRef = Guid | string | bigint | number;

export class BfeCore {
  readonly engine: FilterEngine;
  readonly store: ObjectStore;
  readonly access: AccessControl;
  readonly netEvents: NetEventLog;
  /** Security-log audits (H46). */
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly timer: BfeTimer;
  readonly #randomBytes: (n: number) => Uint8Array;
  readonly #sessions = new Map<Guid, SessionState>();
  /** Committed dynamic objects → owning session (H3, H5, H17). */
  readonly #owners = new Map<string, Guid>();
  readonly #options: Record<EngineOptionName, number> = { ...DEFAULT_ENGINE_OPTIONS };
  #lockHolder: SessionState | null = null;
  #waiters: Waiter[] = [];
  /** Cleanups (dynamic sessions closed while another held the lock) to run at the next release. */
  #deferred: (() => void)[] = [];
  #subscriptionId = 1;
  #nextFilterId: bigint;
  #nextCalloutId = 1;
  #nextProviderContextId = 1n;
  #running = true;

  constructor(init: BfeOpenInit) {
    this.clock = init.clock;
    this.store = init.store ?? MemoryStore.open();
    this.access = init.access ?? new AccessControl();
    this.netEvents = init.netEvents ?? new NetEventLog();
    this.audit = init.audit ?? new AuditLog();
    this.timer = init.timer ?? new ManualTimer(init.clock);
    if (init.randomBytes !== undefined) this.#randomBytes = init.randomBytes;
    else {
      const rng = new SeededRng(Number(init.clock.nowNs() & 0xffffffffn) ^ 0x5eed_b7e);
      this.#randomBytes = (n) => rng.bytes(n);
    }
    this.engine = new FilterEngine({ randomBytes: this.#randomBytes, ...init.engineInit });
    this.#nextFilterId = this.engine.options.firstFilterId;
    this.#loadOptions();
    // H15: the TCP/IP driver enforces the boot-time policy alone until the BFE has started …
    this.engine.setBootTimeEnforcement("boot");
    this.#loadObjects(init.serviceStartType ?? ALL_SERVICES_AUTO);
    init.beforeStart?.(this.engine);
    // … then, in one step, the boot-time filters give way to the persistent objects just loaded.
    this.engine.setBootTimeEnforcement(init.bootTimeFiltersAfterStart === "enforced" ? "enforced" : "removed");
  }

  // ---------------------------------------------------------------------------------------------
  // Start (H15) and stop (H45)
  // ---------------------------------------------------------------------------------------------

  #loadOptions(): void {
    const stored = this.store.loadOptions();
    for (const name of ENGINE_OPTION_NAMES) {
      const v = stored[name];
      if (v !== undefined) this.#options[name] = checkEngineOptionValue(name, typeof v === "string" ? Number(v) : v);
    }
    this.#applyNetEventOptions();
  }

  /**
   * H15: the boot-time and persistent objects, published in one batch (objects they reference first:
   * PERSISTED_KINDS order, filters last, each kind in the order it was first stored) while the engine is in
   * its boot phase (only boot-time filters classify: what the TCP/IP driver enforces before BFE runs); the
   * constructor then ends the boot phase in one step, so no classification sees a window with neither the
   * boot-time filters nor the persistent ones (BfeOpenInit.bootTimeFiltersAfterStart). Providers whose service is not
   * auto-start and their persistent filters load DISABLED (H16, provider-gating.ts); the objects added
   * raise 5440–5444 (H46). The store is read object by object as the batch applies them (scanObjects), so
   * what a stored object is parsed into lives only until its engine object is made.
   */
  #loadObjects(serviceStartType: ServiceStartTypeLookup): void {
    // scanObjects gives fresh objects, decoded where they are; loadObjects' are decoded into copies.
    const scanned = this.store.scanObjects?.();
    const source = scanned ?? this.store.loadObjects();
    const decode = scanned === undefined ? fromStoreData : fromOwnedStoreData;
    const gate = new ProviderGate(serviceStartType);
    const kinds: ObjectKind[] = [];
    const descriptors: { kind: ObjectKind; key: Guid; bytes: Uint8Array }[] = [];
    const addOp = (kind: ObjectKind, spec: SpecOfKind[ObjectKind]): EngineBatchOp => this.#addOp(kind, spec);
    function* ops(): Generator<EngineBatchOp> {
      for (const o of source) {
        const spec = decode(o.data, `${o.kind} ${o.key}`) as SpecOfKind[ObjectKind] & {
          securityDescriptor?: unknown;
        };
        // The explicit descriptor stored with the object (self-relative bytes) comes back after the batch.
        if (spec.securityDescriptor !== undefined)
          descriptors.push({ kind: o.kind, key: o.key, bytes: spec.securityDescriptor as Uint8Array });
        kinds.push(o.kind);
        yield addOp(o.kind, gate.spec(o.kind, o.key, spec));
      }
    }
    const results = this.engine.applyBatch(ops());
    if (results.length > 0) {
      auditPersistentLoad(
        this.audit,
        results.map((object, i) => ({ kind: kinds[i] as ObjectKind, object: object as BfeObject })),
        gate.disabledFilters,
        this.clock.nowNs(),
      );
    }
    for (const d of descriptors) this.access.createObject(d.kind, d.key, d.bytes, LOCAL_SYSTEM);
    for (const f of this.engine.filters()) if (f.filterId >= this.#nextFilterId) this.#nextFilterId = f.filterId + 1n;
    for (const c of this.engine.callouts())
      if (c.calloutId >= this.#nextCalloutId) this.#nextCalloutId = c.calloutId + 1;
    for (const c of this.engine.providerContexts()) {
      if (c.providerContextId >= this.#nextProviderContextId) this.#nextProviderContextId = c.providerContextId + 1n;
    }
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * BFE stop (H45): every session ends (open transactions are discarded, Begins waiting for the lock fail
   * with FWP_E_SESSION_ABORTED), nothing can be opened any more. The live engine keeps enforcing what it
   * holds [INF]; static and dynamic objects are gone with this BFE; the store is the opener's to close.
   */
  stop(): void {
    if (!this.#running) return;
    for (const s of [...this.#sessions.values()]) this.#endSession(s, false);
    this.#running = false;
  }

  #assertRunning(): void {
    if (!this.#running) throw new BfeNotRunningError("The BFE was closed.");
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions (§H.1)
  // ---------------------------------------------------------------------------------------------

  /** FwpmEngineOpen0 (H1): needs OPEN on the engine. */
  openSession(principal: Principal, options: SessionOptions = {}): SessionState {
    this.#assertRunning();
    this.access.check(principal, "engine", null, FWPM_ACTRL_OPEN, "engine");
    const flags = options.flags ?? 0;
    if (
      !Number.isInteger(flags) ||
      (flags & ~(SESSION_FLAG_DYNAMIC | FWPM_SESSION_FLAG.FWPM_SESSION_FLAG_RESERVED)) !== 0
    )
      fail("FWP_E_INVALID_FLAGS", `Unknown FWPM_SESSION_FLAG bits in ${flags}.`, "flags");
    const wait = options.txnWaitTimeoutInMSec ?? 0;
    if (!Number.isInteger(wait) || wait < 0 || wait > 0xffffffff)
      fail("FWP_E_INVALID_PARAMETER", "txnWaitTimeoutInMSec is a UINT32.", "txnWaitTimeoutInMSec");
    let key: Guid;
    if (options.sessionKey === undefined) key = this.#freshKey((k) => this.#sessions.has(k));
    else {
      const k = tryParseGuid(options.sessionKey);
      if (k === undefined) return fail("FWP_E_INVALID_PARAMETER", "sessionKey must be a GUID.", "sessionKey");
      key = k === GUID_NULL ? this.#freshKey((x) => this.#sessions.has(x)) : k;
    }
    if (this.#sessions.has(key)) fail("FWP_E_ALREADY_EXISTS", `A session with key ${key} is open (H1).`, "sessionKey");
    const info: SessionInfo = Object.freeze({
      sessionKey: key,
      displayName: options.displayName ?? "",
      description: options.description,
      flags,
      txnWaitTimeoutInMSec: wait,
      processId: options.processId ?? 0,
      sid: principal.sid,
      username: principal.name ?? principal.sid,
      kernelMode: principal.kernelMode === true,
    });
    const s: SessionState = {
      info,
      principal,
      dynamic: (flags & SESSION_FLAG_DYNAMIC) !== 0,
      waitMs: wait === 0 ? DEFAULT_TXN_WAIT_MS : wait === TXN_WAIT_INFINITE ? Number.POSITIVE_INFINITY : wait,
      txn: null,
      waiting: null,
      forceAborted: false,
      closed: false,
      subscriptions: new Set(),
      netEventSubscriptions: new Set(),
      dynamicObjects: new Set(),
    };
    this.#sessions.set(key, s);
    return s;
  }

  /** FwpmSessionEnum0: every open session (needs ENUM on the session container is not modelled; READ on the engine). */
  sessions(): SessionInfo[] {
    return [...this.#sessions.values()].map((s) => s.info);
  }

  /**
   * FwpmEngineClose0 (H2, H3): aborts the open transaction, drops subscriptions, and deletes every object
   * the session added if it is dynamic (one atomic batch; deferred to the lock's release when another
   * session holds it).
   */
  closeSession(s: SessionState): void {
    if (s.closed) return;
    this.#assertRunning();
    this.#endSession(s, true);
  }

  #endSession(s: SessionState, cleanup: boolean): void {
    if (s.waiting !== null) {
      const w = s.waiting;
      s.waiting = null;
      w.cancelTimer();
      this.#waiters = this.#waiters.filter((x) => x !== w);
      w.reject(new FwpError("FWP_E_SESSION_ABORTED", { detail: "The session closed while waiting for the lock." }));
    }
    if (s.txn !== null) this.#discard(s);
    for (const sub of s.subscriptions) this.#dropSubscriber(sub);
    for (const ns of s.netEventSubscriptions) ns.unsubscribe();
    s.netEventSubscriptions.clear();
    s.closed = true;
    this.#sessions.delete(s.info.sessionKey);
    if (cleanup && s.dynamic && s.dynamicObjects.size > 0) {
      const run = (): void => this.#deleteDynamicObjects(s);
      if (this.#lockHolder === null) run();
      else this.#deferred.push(run);
    }
  }

  #deleteDynamicObjects(s: SessionState): void {
    const order: ObjectKind[] = ["filter", "providerContext", "callout", "sublayer", "provider"];
    const ops: EngineBatchOp[] = [];
    const gone: { kind: ObjectKind; key: Guid }[] = [];
    for (const kind of order) {
      for (const entry of s.dynamicObjects) {
        const [k, key] = entry.split(":") as [ObjectKind, Guid];
        if (k !== kind || this.#find(this.engine, kind, key) === undefined) continue;
        ops.push(this.#deleteOp(kind, key));
        gone.push({ kind, key });
      }
    }
    const results = this.engine.applyBatch(ops);
    const events: PendingEvent[] = [];
    gone.forEach(({ kind, key }, i) => {
      this.#owners.delete(ownerKey(kind, key));
      const object = results[i] as BfeObject;
      events.push({ change: this.#change(kind, CHANGE_DELETE, object), object, source: s.info.sessionKey });
    });
    s.dynamicObjects.clear();
    this.#deliver(events);
    for (const { kind, key } of gone) this.access.deleteObject(kind, key);
  }

  #freshKey(taken: (k: Guid) => boolean): Guid {
    for (;;) {
      const k = freshGuid(this.#randomBytes);
      if (k !== GUID_NULL && !taken(k)) return k;
    }
  }

  #usable(s: SessionState): void {
    this.#assertRunning();
    if (s.closed) fail("FWP_E_SESSION_ABORTED", "The session is closed.");
    if (s.forceAborted) {
      s.forceAborted = false;
      fail("FWP_E_TXN_ABORTED", "The transaction held the lock too long and was aborted (H11).");
    }
    if (s.txn !== null && !s.txn.readOnly && this.#overWatchdog(s)) {
      this.#forceAbort(s);
      s.forceAborted = false;
      fail("FWP_E_TXN_ABORTED", "The transaction held the lock too long and was aborted (H11).");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Transactions and the lock (§H.2)
  // ---------------------------------------------------------------------------------------------

  #newTxn(readOnly: boolean): Txn {
    return {
      readOnly,
      startedNs: this.clock.nowNs(),
      staging: null,
      writes: [],
      owners: new Map(),
      deleted: new Map(),
    };
  }

  /** FwpmTransactionBegin0 (H6, H7, H4). */
  beginTransaction(s: SessionState, flags: number): Promise<void> {
    this.#usable(s);
    if (s.txn !== null || s.waiting !== null)
      fail("FWP_E_TXN_IN_PROGRESS", "The session already has a transaction (H7).");
    if (!Number.isInteger(flags) || (flags & ~TXN_READ_ONLY) !== 0)
      fail("FWP_E_INVALID_FLAGS", `Unknown transaction flag bits in ${flags}.`, "flags");
    const readOnly = (flags & TXN_READ_ONLY) !== 0;
    this.access.check(s.principal, "engine", null, readOnly ? FWPM_ACTRL_BEGIN_READ_TXN : FWPM_ACTRL_BEGIN_WRITE_TXN);
    if (readOnly) {
      s.txn = this.#newTxn(true);
      return Promise.resolve();
    }
    if (this.#lockHolder !== null) this.#enforceWatchdog();
    if (this.#lockHolder === null) {
      this.#lockHolder = s;
      s.txn = this.#newTxn(false);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { session: s, resolve, reject, cancelTimer: () => {} };
      s.waiting = waiter;
      this.#waiters.push(waiter);
      if (Number.isFinite(s.waitMs)) {
        waiter.cancelTimer = this.timer.after(s.waitMs, () => {
          if (s.waiting !== waiter) return;
          this.#enforceWatchdog();
          if (s.waiting !== waiter) return; // granted by the watchdog's release
          s.waiting = null;
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(
            new FwpError("FWP_E_TIMEOUT", {
              detail: `No write lock within txnWaitTimeoutInMSec (${s.waitMs} ms): session ${this.#lockHolder?.info.sessionKey ?? "?"} holds it (H4).`,
            }),
          );
        });
      }
    });
  }

  #watchdogMs(): number {
    const v = this.#options.FWPM_ENGINE_TXN_WATCHDOG_TIMEOUT_IN_MSEC;
    return v === 0 ? DEFAULT_TXN_WATCHDOG_MS : v;
  }

  #overWatchdog(s: SessionState): boolean {
    if (s.txn === null || s.principal.kernelMode === true) return false;
    return this.clock.nowNs() - s.txn.startedNs > BigInt(this.#watchdogMs()) * 1_000_000n;
  }

  /** H11: the lock holder past the watchdog is force-aborted; its next call gets FWP_E_TXN_ABORTED. */
  #enforceWatchdog(): void {
    const h = this.#lockHolder;
    if (h !== null && this.#overWatchdog(h)) this.#forceAbort(h);
  }

  #forceAbort(s: SessionState): void {
    this.#discard(s);
    s.forceAborted = true;
  }

  #release(s: SessionState): void {
    if (this.#lockHolder !== s) return;
    this.#lockHolder = null;
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const run of deferred) run();
    const next = this.#waiters.shift();
    if (next !== undefined) {
      next.cancelTimer();
      next.session.waiting = null;
      this.#lockHolder = next.session;
      next.session.txn = this.#newTxn(false);
      next.resolve();
    }
  }

  /** Drops a transaction's changes and gives the lock back. */
  #discard(s: SessionState): void {
    const txn = s.txn;
    if (txn === null) return;
    // The descriptors set for objects the transaction added go, or back to what they were.
    for (let i = txn.writes.length - 1; i >= 0; i--) {
      const w = txn.writes[i] as TxnWrite;
      if ("remove" in w) continue;
      const key = keyOfObject(w.kind, w.object);
      if (w.previous === undefined) this.access.deleteObject(w.kind, key);
      else this.access.setObjectSecurity(w.kind, key, w.previous, SD_ALL_PARTS);
    }
    s.txn = null;
    if (!txn.readOnly) this.#release(s);
  }

  /** FwpmTransactionCommit0: publishes the transaction to the engine and the store, all or nothing (H9). */
  commit(s: SessionState): void {
    this.#usable(s);
    const txn = s.txn;
    if (txn === null) fail("FWP_E_NO_TXN_IN_PROGRESS", "No transaction to commit (H7).");
    let published: readonly EngineBatchResult[] = [];
    if (txn.staging !== null && txn.writes.length > 0) {
      try {
        // The staging fork validated every write against the state the live engine still holds (the
        // write lock keeps other writers out): applyStaged publishes its objects as they are when it can
        // prove that, and replays the writes with full validation otherwise.
        const writes = txn.writes;
        published = this.engine.applyStaged(
          txn.staging,
          () => writes.map((w) => ("remove" in w ? w.remove : this.#addOp(w.kind, specOfObject(w.kind, w.object)))),
          () => {
            // Each store change is made as the store writes it: no list of 100k rows waits in memory.
            if (writes.some(persisted)) this.store.commit(this.#storeChanges(writes));
          },
        );
      } catch (e) {
        this.#discard(s);
        throw e;
      }
    }
    for (const [k, owner] of txn.owners) this.#setOwner(k, owner);
    s.txn = null;
    if (!txn.readOnly) this.#release(s);
    // D5/D12/H13: callouts that asked for it hear of the committed filter adds, after the commit.
    if (published.length > 0) this.engine.notifyAddCommitted(filterAdds(txn.writes, published));
    // Subscribers are checked for READ on deleted objects with their descriptors still in place (H29).
    if (txn.writes.length > 0 && this.#anyoneListens()) this.#deliver(this.#eventsOf(txn.writes, s.info.sessionKey));
    for (const d of txn.deleted.values()) this.access.deleteObject(d.type, d.key);
  }

  /** Whether committed changes have anyone to reach: a change subscription, or the Security-log audits (H46). */
  #anyoneListens(): boolean {
    if (this.audit.active) return true;
    for (const session of this.#sessions.values()) if (session.subscriptions.size > 0) return true;
    return false;
  }

  /** The change events of a transaction's writes, in order, made by `source`. */
  #eventsOf(writes: readonly TxnWrite[], source: Guid): PendingEvent[] {
    return writes.map((w) => ({
      change: this.#change(w.kind, "remove" in w ? CHANGE_DELETE : CHANGE_ADD, w.object),
      object: w.object,
      source,
    }));
  }

  /** The store changes of a transaction's writes, in order (persistent and boot-time objects only). */
  *#storeChanges(writes: readonly TxnWrite[]): Generator<StoreChange> {
    for (const w of writes) {
      if ("remove" in w) {
        if (w.change !== undefined) yield w.change;
      } else if (w.lifetime === "persistent" || w.lifetime === "bootTime") {
        yield this.#putChange(w.kind, w.object, w.sd);
      }
    }
  }

  /** FwpmTransactionAbort0 (H9). */
  abort(s: SessionState): void {
    this.#usable(s);
    if (s.txn === null) fail("FWP_E_NO_TXN_IN_PROGRESS", "No transaction to abort (H7).");
    this.#discard(s);
  }

  inTransaction(s: SessionState): boolean {
    return s.txn !== null;
  }

  #setOwner(k: string, owner: Guid | null): void {
    const before = this.#owners.get(k);
    if (before !== undefined) this.#sessions.get(before)?.dynamicObjects.delete(k);
    if (owner === null) this.#owners.delete(k);
    else {
      this.#owners.set(k, owner);
      this.#sessions.get(owner)?.dynamicObjects.add(k);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Views and lookups
  // ---------------------------------------------------------------------------------------------

  #view(s: SessionState): View {
    const txn = s.txn;
    return new SessionView(txn?.staging ?? this.engine, txn?.owners, this.#owners);
  }

  #find(engine: FilterEngine, kind: ObjectKind, ref: ObjectRef): BfeObject | undefined {
    switch (kind) {
      case "provider":
        return typeof ref === "string" ? engine.getProvider(ref) : undefined;
      case "providerContext":
        if (typeof ref === "bigint") return engine.providerContexts().find((c) => c.providerContextId === ref);
        return typeof ref === "string" ? engine.getProviderContext(ref) : undefined;
      case "sublayer":
        return typeof ref === "string" ? engine.getSublayer(ref) : undefined;
      case "callout":
        return typeof ref === "string" || typeof ref === "number" ? engine.getCallout(ref) : undefined;
      default:
        return typeof ref === "string" || typeof ref === "bigint" ? engine.getFilter(ref) : undefined;
    }
  }

  #lifetime(view: View, kind: ObjectKind, o: BfeObject): Lifetime {
    if (isBuiltin(kind, o)) return "builtin";
    if (view.owner(kind, keyOfObject(kind, o)) !== undefined) return "dynamic";
    if (kind === "filter" && (o.flags & FILTER_FLAG_BOOTTIME) !== 0) return "bootTime";
    if ((o.flags & persistentFlag(kind)) !== 0) return "persistent";
    return "static";
  }

  // ---------------------------------------------------------------------------------------------
  // Add and delete (§H.3)
  // ---------------------------------------------------------------------------------------------

  #addOp(kind: ObjectKind, spec: SpecOfKind[ObjectKind]): EngineBatchOp {
    switch (kind) {
      case "provider":
        return { op: "addProvider", spec: spec as SpecOfKind["provider"] };
      case "providerContext":
        return { op: "addProviderContext", spec: spec as SpecOfKind["providerContext"] };
      case "sublayer":
        return { op: "addSublayer", spec: spec as SpecOfKind["sublayer"] };
      case "callout":
        return { op: "addCallout", spec: spec as SpecOfKind["callout"] };
      default:
        return { op: "addFilter", spec: spec as SpecOfKind["filter"] };
    }
  }

  #deleteOp(kind: ObjectKind, key: Guid): EngineBatchOp {
    switch (kind) {
      case "provider":
        return { op: "deleteProvider", key };
      case "providerContext":
        return { op: "deleteProviderContext", key };
      case "sublayer":
        return { op: "deleteSublayer", key };
      case "callout":
        return { op: "deleteCallout", key };
      default:
        return { op: "deleteFilter", key };
    }
  }

  /** The key field of a spec, filled with a fresh GUID when absent or zero (H20), and run-time ids. */
  #complete<K extends ObjectKind>(view: View, kind: K, spec: SpecOfKind[K]): SpecOfKind[K] {
    if (typeof spec !== "object" || spec === null) fail("FWP_E_NULL_POINTER", `A ${kind} must be an object.`, "");
    const field = (
      {
        provider: "providerKey",
        providerContext: "providerContextKey",
        sublayer: "subLayerKey",
        callout: "calloutKey",
        filter: "filterKey",
      } as const
    )[kind];
    const given = (spec as unknown as Record<string, unknown>)[field];
    // Object.assign, not a spread: properties added to a spread copy give every copy a hidden class of its
    // own (V8), which made each add several times slower and every later read of the spec megamorphic.
    const out = Object.assign({}, spec) as unknown as Record<string, unknown>;
    if (given === undefined || given === null || (typeof given === "string" && guidKey(given) === GUID_NULL)) {
      const engine = view.engine;
      out[field] = this.#freshKey((k) => this.#find(engine, kind, k) !== undefined);
    }
    if (kind === "filter" && out.filterId === undefined) out.filterId = this.#nextFilterId;
    if (kind === "callout" && out.calloutId === undefined) out.calloutId = this.#nextCalloutId;
    if (kind === "providerContext" && out.providerContextId === undefined)
      out.providerContextId = this.#nextProviderContextId;
    return out as unknown as SpecOfKind[K];
  }

  #bumpIds(kind: ObjectKind, o: BfeObject): void {
    const id = idOfObject(kind, o);
    if (kind === "filter" && typeof id === "bigint" && id >= this.#nextFilterId) this.#nextFilterId = id + 1n;
    if (kind === "callout" && typeof id === "number" && id >= this.#nextCalloutId) this.#nextCalloutId = id + 1;
    if (kind === "providerContext" && typeof id === "bigint" && id >= this.#nextProviderContextId)
      this.#nextProviderContextId = id + 1n;
  }

  /** References of a spec that exist in the view, as (kind, object, spec path). */
  #references(view: View, kind: ObjectKind, spec: Record<string, unknown>): Reference[] {
    const out: Reference[] = [];
    if (kind !== "provider") this.#ref(out, view, "provider", spec.providerKey, "providerKey");
    if (kind === "callout") layerReference(out, spec.applicableLayer, "applicableLayer");
    if (kind === "filter") {
      layerReference(out, spec.layer, "layer");
      const sl = spec.sublayer;
      let sublayer: Sublayer | undefined;
      if (sl === undefined || sl === null) sublayer = view.engine.defaultSublayer;
      else if (typeof sl === "string") {
        const key = Object.hasOwn(FWPM_SUBLAYER, sl) ? FWPM_SUBLAYER[sl as keyof typeof FWPM_SUBLAYER] : guidKey(sl);
        sublayer =
          key === GUID_NULL
            ? view.engine.defaultSublayer
            : key === undefined
              ? undefined
              : view.engine.getSublayer(key);
      }
      if (sublayer !== undefined)
        out.push({ kind: "sublayer", key: sublayer.subLayerKey, object: sublayer, path: "sublayer" });
      const action = spec.action as Record<string, unknown> | undefined;
      if (action !== undefined && typeof action === "object" && action !== null)
        this.#ref(out, view, "callout", action.calloutKey, "action.calloutKey");
      if (spec.providerContextKey !== undefined)
        this.#ref(out, view, "providerContext", spec.providerContextKey, "providerContextKey");
    }
    return out;
  }

  /** Adds to `out` the object of `kind` that `x` names in the view, if any. */
  #ref(out: Reference[], view: View, kind: ObjectKind, x: unknown, path: string): void {
    if (typeof x !== "string") return;
    const o = this.#find(view.engine, kind, x);
    if (o !== undefined) out.push({ kind, key: keyOfObject(kind, o), object: o, path });
  }

  /**
   * H17 [OBS/INF]: an object may not reference one with a shorter lifetime. Dynamic may reference dynamic
   * objects of its own session only; static may not reference dynamic; persistent and boot-time may not
   * reference dynamic or static, nor a persistent object of another provider (both owned by providers
   * that differ).
   */
  #checkLifetimes(
    view: View,
    s: SessionState,
    lifetime: Lifetime,
    providerKey: Guid | undefined,
    refs: readonly { kind: ObjectKind | "layer"; object: BfeObject | null; path: string }[],
  ): void {
    for (const r of refs) {
      if (r.kind === "layer" || r.object === null) continue;
      const kind = r.kind;
      const other = this.#lifetime(view, kind, r.object);
      if (other === "builtin") continue;
      if (other === "dynamic") {
        const owner = view.owner(kind, keyOfObject(kind, r.object));
        if (lifetime !== "dynamic") lifetimeMismatch(`A ${lifetime} object cannot reference a dynamic ${kind}`, r.path);
        if (owner !== s.info.sessionKey) lifetimeMismatch(`The ${kind} belongs to another dynamic session`, r.path);
      }
      if ((lifetime === "persistent" || lifetime === "bootTime") && other === "static")
        lifetimeMismatch(`A ${lifetime} object cannot reference a static ${kind}`, r.path);
      if ((lifetime === "persistent" || lifetime === "bootTime") && other === "persistent") {
        const theirs = providerOfObject(kind, r.object);
        if (providerKey !== undefined && theirs !== undefined && theirs !== providerKey)
          lifetimeMismatch(`The persistent ${kind} belongs to provider ${theirs}, not ${providerKey}`, r.path);
      }
    }
  }

  /** Fwpm*Add0. */
  add<K extends ObjectKind>(s: SessionState, kind: K, spec: SpecOfKind[K]): ObjectOfKind[K] {
    this.#usable(s);
    if (s.txn?.readOnly === true) fail("FWP_E_INCOMPATIBLE_TXN", "A read-only transaction cannot add objects (H8).");
    const view = this.#view(s);
    const full = this.#complete(view, kind, spec);
    const rec = full as unknown as Record<string, unknown>;
    const flags = typeof rec.flags === "number" ? rec.flags : 0;
    const persistent =
      (flags & persistentFlag(kind)) !== 0 || (kind === "filter" && (flags & FILTER_FLAG_BOOTTIME) !== 0);
    if (s.dynamic && persistent)
      fail(
        "FWP_E_DYNAMIC_SESSION_IN_PROGRESS",
        "A dynamic session cannot add persistent or boot-time objects [INF].",
        "flags",
      );
    const lifetime: Lifetime = s.dynamic
      ? "dynamic"
      : kind === "filter" && (flags & FILTER_FLAG_BOOTTIME) !== 0
        ? "bootTime"
        : persistent
          ? "persistent"
          : "static";
    // H42: ADD on the container, ADD_LINK on everything referenced.
    this.access.check(s.principal, kind, null, FWPM_ACTRL_ADD);
    const refs = this.#references(view, kind, rec);
    for (const r of refs) this.access.check(s.principal, r.kind, r.key, FWPM_ACTRL_ADD_LINK, r.path);
    const providerKey = typeof rec.providerKey === "string" ? guidKey(rec.providerKey) : undefined;
    this.#checkLifetimes(view, s, lifetime, providerKey, refs);
    const sdInput = (spec as { readonly securityDescriptor?: SecurityDescriptorInput | null }).securityDescriptor;
    const sd =
      sdInput === undefined || sdInput === null ? undefined : toSecurityDescriptor(sdInput, "securityDescriptor");
    const op = this.#addOp(kind, full);
    const txn = s.txn;
    let object: ObjectOfKind[K];
    if (txn !== null) {
      txn.staging ??= this.engine.fork();
      object = txn.staging.applyBatch([op])[0] as ObjectOfKind[K];
    } else {
      object = this.#implicit(s, [op], (r) =>
        this.#persistChanges(kind, lifetime, "put", r[0] as BfeObject, sd),
      )[0] as ObjectOfKind[K];
    }
    this.#bumpIds(kind, object);
    const key = keyOfObject(kind, object);
    const previous = this.access.hasObject(kind, key) ? this.access.getExplicitSecurity(kind, key) : undefined;
    this.access.createObject(kind, key, sd, s.principal);
    if (txn !== null) {
      const persisted = lifetime === "persistent" || lifetime === "bootTime";
      // Its change event is made at commit, from this write (#eventsOf).
      txn.writes.push({
        kind,
        object,
        lifetime,
        sd: persisted && sd !== undefined ? encodeSecurityDescriptor(sd) : undefined,
        previous,
      });
      if (lifetime === "dynamic") txn.owners.set(ownerKey(kind, key), s.info.sessionKey);
      // A key deleted earlier in this transaction and added again keeps its new descriptor at commit.
      if (txn.deleted.size > 0) txn.deleted.delete(ownerKey(kind, key));
    } else {
      if (lifetime === "dynamic") this.#setOwner(ownerKey(kind, key), s.info.sessionKey);
      // D5/D12/H13: an add outside a transaction commits at once; POST_COMMIT follows its implicit commit.
      if (kind === "filter") this.engine.notifyAddCommitted([object as Filter]);
      this.#deliver([{ change: this.#change(kind, CHANGE_ADD, object), object, source: s.info.sessionKey }]);
    }
    return object;
  }

  /**
   * Store changes for a persistent or boot-time object: its complete spec, plus its explicit security
   * descriptor (self-relative bytes) when it has one, so both come back at the next start.
   */
  #persistChanges(
    kind: ObjectKind,
    lifetime: Lifetime,
    op: "put" | "delete",
    o: BfeObject,
    sd?: SecurityDescriptor,
  ): StoreChange[] {
    if (lifetime !== "persistent" && lifetime !== "bootTime") return [];
    if (op === "delete") return [{ op, kind: kind as PersistedKind, key: keyOfObject(kind, o) }];
    return [this.#putChange(kind, o, sd === undefined ? undefined : encodeSecurityDescriptor(sd))];
  }

  /**
   * The store's put of an object: its complete spec, with its explicit descriptor's bytes when it has one,
   * written straight to the store's JSON text when it can be (storeTextOf), else as store data.
   */
  #putChange(kind: ObjectKind, o: BfeObject, sd: Uint8Array | undefined): StoreChange {
    const key = keyOfObject(kind, o);
    if (kind === "filter") {
      const text = filterStoreText(o as Filter, sd);
      if (text !== undefined) return { op: "put", kind, key, text };
    }
    const spec = specOfObject(kind, o as never) as unknown as Record<string, unknown>;
    const value = sd === undefined ? spec : { ...spec, securityDescriptor: sd };
    const text = storeTextOf(value);
    if (text !== undefined) return { op: "put", kind: kind as PersistedKind, key, text };
    return { op: "put", kind: kind as PersistedKind, key, data: toStoreData(value) };
  }

  /** An implicit transaction (H6): takes the lock for the call (or fails, see the module comment). */
  #implicit(
    s: SessionState,
    ops: EngineBatchOp[],
    persist: (results: readonly EngineBatchResult[]) => StoreChange[],
  ): EngineBatchResult[] {
    if (this.#lockHolder !== null) this.#enforceWatchdog();
    if (this.#lockHolder !== null) {
      fail(
        "FWP_E_TIMEOUT",
        `Session ${this.#lockHolder.info.sessionKey} holds the write lock; a call outside a transaction cannot wait for it [INF, H4].`,
      );
    }
    this.#lockHolder = s;
    try {
      return this.engine.applyBatch(ops, (results) => {
        const changes = persist(results);
        if (changes.length > 0) this.store.commit(changes);
      });
    } finally {
      this.#release(s);
    }
  }

  /** Fwpm*DeleteByKey0 / DeleteById0 (H5, H19). */
  remove(s: SessionState, kind: ObjectKind, ref: ObjectRef): void {
    this.#usable(s);
    if (s.txn?.readOnly === true) fail("FWP_E_INCOMPATIBLE_TXN", "A read-only transaction cannot delete objects (H8).");
    const view = this.#view(s);
    const object = this.#find(view.engine, kind, ref);
    if (object === undefined) fail(notFoundCode(kind), `No ${kind} ${String(ref)}.`);
    const key = keyOfObject(kind, object);
    this.access.check(s.principal, kind, key, DELETE);
    const lifetime = this.#lifetime(view, kind, object);
    if (lifetime === "builtin") fail("FWP_E_BUILTIN_OBJECT", `${object.name} is built in and cannot be deleted (H14).`);
    if (s.dynamic) {
      if (lifetime !== "dynamic")
        fail("FWP_E_DYNAMIC_SESSION_IN_PROGRESS", `A dynamic session can delete only its own dynamic objects (H5).`);
      if (view.owner(kind, key) !== s.info.sessionKey)
        fail("FWP_E_WRONG_SESSION", `The ${kind} was added by another dynamic session (H5).`);
    }
    const op = this.#deleteOp(kind, key);
    const txn = s.txn;
    if (txn !== null) {
      txn.staging ??= this.engine.fork();
      txn.staging.applyBatch([op]);
      txn.writes.push({
        kind,
        object,
        remove: op,
        change: this.#persistChanges(kind, lifetime, "delete", object)[0],
      });
      if (lifetime === "dynamic") txn.owners.set(ownerKey(kind, key), null);
      txn.deleted.set(ownerKey(kind, key), { type: kind, key });
    } else {
      this.#implicit(s, [op], () => this.#persistChanges(kind, lifetime, "delete", object));
      if (lifetime === "dynamic") this.#setOwner(ownerKey(kind, key), null);
      this.#deliver([{ change: this.#change(kind, CHANGE_DELETE, object), object, source: s.info.sessionKey }]);
      this.access.deleteObject(kind, key);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Get and enumerate (§H.4)
  // ---------------------------------------------------------------------------------------------

  /** Fwpm*GetByKey0 / GetById0: READ on the object (H42). */
  get<K extends ObjectKind>(s: SessionState, kind: K, ref: ObjectRef): ObjectOfKind[K] {
    this.#usable(s);
    const object = this.#find(this.#view(s).engine, kind, ref);
    if (object === undefined) return fail(notFoundCode(kind), `No ${kind} ${String(ref)}.`);
    this.access.check(s.principal, kind, keyOfObject(kind, object), FWPM_ACTRL_READ);
    return object as ObjectOfKind[K];
  }

  /** The lifetime of an object as the session sees it (H14). */
  lifetimeOf(s: SessionState, kind: ObjectKind, ref: ObjectRef): Lifetime {
    const view = this.#view(s);
    const object = this.#find(view.engine, kind, ref);
    if (object === undefined) return fail(notFoundCode(kind), `No ${kind} ${String(ref)}.`);
    return this.#lifetime(view, kind, object);
  }

  /**
   * Fwpm*CreateEnumHandle0 (H22): ENUM on the container, then the matching objects the caller may READ,
   * snapshotted now. Filters: `filterEnumTemplate` semantics (H23–H27); without a template every filter
   * (boot-time and disabled ones excluded, H25 default), in filterId order.
   */
  enumerate<K extends ObjectKind>(s: SessionState, kind: K, template: unknown): ObjectOfKind[K][] {
    this.#usable(s);
    this.access.check(s.principal, kind, null, FWPM_ACTRL_ENUM);
    const engine = this.#view(s).engine;
    let list: BfeObject[];
    switch (kind) {
      case "provider":
        list = engine.providers();
        break;
      case "providerContext":
        list = engine
          .providerContexts()
          .filter((c) => ownedBy(c.providerKey, template as ProviderOwnedEnumTemplate | undefined));
        break;
      case "sublayer":
        list = engine
          .sublayers()
          .filter((x) => ownedBy(x.providerKey, template as ProviderOwnedEnumTemplate | undefined));
        break;
      case "callout": {
        const t = template as CalloutEnumTemplate | undefined;
        const layer = t?.layer === undefined ? undefined : findLayer(t.layer);
        if (t?.layer !== undefined && layer === undefined)
          fail("FWP_E_LAYER_NOT_FOUND", `No layer ${JSON.stringify(t.layer)}.`, "layer");
        list = engine
          .callouts()
          .filter((c) => ownedBy(c.providerKey, t) && (layer === undefined || c.applicableLayer === layer))
          .sort((a, b) => a.calloutId - b.calloutId);
        break;
      }
      default:
        list = this.#enumFilters(engine, template as FilterEnumTemplate | undefined);
    }
    return list.filter((o) =>
      this.access.canAccess(s.principal, kind, keyOfObject(kind, o), FWPM_ACTRL_READ),
    ) as ObjectOfKind[K][];
  }

  #enumFilters(engine: FilterEngine, template: FilterEnumTemplate | undefined): Filter[] {
    if (template === undefined) {
      return engine.filters().filter((f) => (f.flags & (FILTER_FLAG_BOOTTIME | 0x20)) === 0);
    }
    const t = compileFilterTemplate(template, engine);
    const matched = engine.filters(t.layer).filter((f) => filterMatchesTemplate(f, t));
    if ((t.flags & (ENUM_FLAG_SORTED | ENUM_FLAG_BEST_TERMINATING_MATCH)) === 0) return matched;
    const order = new Map<Sublayer, number>(engine.sublayers().map((x, i) => [x, i]));
    const sorted = matched.sort((a, b) => {
      const sa = order.get(a.sublayer) ?? 0;
      const sb = order.get(b.sublayer) ?? 0;
      if (sa !== sb) return sa - sb;
      if (a.effectiveWeight !== b.effectiveWeight) return a.effectiveWeight > b.effectiveWeight ? -1 : 1;
      return a.filterId < b.filterId ? -1 : a.filterId > b.filterId ? 1 : 0;
    });
    if ((t.flags & ENUM_FLAG_BEST_TERMINATING_MATCH) !== 0) {
      const best = sorted.find(isTerminatingAction);
      return best === undefined ? [] : [best];
    }
    return sorted;
  }

  // ---------------------------------------------------------------------------------------------
  // Change subscriptions (§H.5)
  // ---------------------------------------------------------------------------------------------

  #change(kind: ObjectKind, changeType: ChangeType, o: BfeObject): ObjectChange {
    return Object.freeze({ kind, changeType, objectKey: keyOfObject(kind, o), objectId: idOfObject(kind, o) });
  }

  /** Fwpm*SubscribeChanges0 (H28, H29): SUBSCRIBE on the container; not inside a transaction (H12). */
  subscribe(
    s: SessionState,
    kind: ObjectKind,
    options: ChangeSubscriptionOptions,
    callback: ChangeCallback,
  ): ChangeSubscription {
    this.#usable(s);
    if (s.txn !== null) fail("FWP_E_TXN_IN_PROGRESS", "Subscriptions cannot be made inside a transaction (H12).");
    if (typeof callback !== "function") fail("FWP_E_NULL_POINTER", "A subscription needs a callback.", "callback");
    const flags = options.flags ?? 0;
    if (!Number.isInteger(flags) || (flags & ~(NOTIFY_ON_ADD | NOTIFY_ON_DELETE)) !== 0)
      fail("FWP_E_INVALID_FLAGS", `Unknown FWPM_SUBSCRIPTION_FLAG bits in ${flags}.`, "flags");
    if (options.template !== undefined && kind !== "filter")
      fail("FWP_E_INVALID_PARAMETER", "Only filter subscriptions take an enumeration template.", "template");
    this.access.check(s.principal, kind, null, FWPM_ACTRL_SUBSCRIBE);
    const template = options.template === undefined ? null : compileFilterTemplate(options.template, this.engine);
    const sub: Subscriber = {
      id: this.#subscriptionId++,
      kind,
      flags: flags === 0 ? NOTIFY_ON_ADD | NOTIFY_ON_DELETE : flags,
      session: s,
      template,
      callback,
    };
    s.subscriptions.add(sub);
    return {
      id: sub.id,
      kind,
      flags: sub.flags,
      sessionKey: s.info.sessionKey,
      unsubscribe: () => this.#dropSubscriber(sub),
    };
  }

  /** Fwpm*SubscriptionsGet0: the session-visible subscriptions of a kind (READ on the container). */
  subscriptions(
    s: SessionState,
    kind: ObjectKind,
  ): { id: number; kind: ObjectKind; flags: number; sessionKey: Guid }[] {
    this.#usable(s);
    this.access.check(s.principal, kind, null, FWPM_ACTRL_READ);
    const out: { id: number; kind: ObjectKind; flags: number; sessionKey: Guid }[] = [];
    for (const session of this.#sessions.values()) {
      for (const sub of session.subscriptions) {
        if (sub.kind === kind) out.push({ id: sub.id, kind, flags: sub.flags, sessionKey: session.info.sessionKey });
      }
    }
    return out.sort((a, b) => a.id - b.id);
  }

  #dropSubscriber(sub: Subscriber): void {
    sub.session.subscriptions.delete(sub);
  }

  /**
   * Delivers committed changes (H13 [INF]: after commit): not to the session that made them (H29), only
   * objects the subscriber may READ, only the kinds / change types / template it asked for. Delivery is
   * synchronous, after the commit returned its state; a throwing callback is ignored.
   */
  #deliver(events: readonly PendingEvent[]): void {
    if (events.length === 0) return;
    auditPolicyChanges(this.audit, events, (k) => this.#sessions.get(k)?.info, this.clock.nowNs());
    for (const session of [...this.#sessions.values()]) {
      for (const sub of [...session.subscriptions]) {
        for (const e of events) {
          if (!session.subscriptions.has(sub)) break;
          if (e.change.kind !== sub.kind || e.source === session.info.sessionKey) continue;
          const bit = e.change.changeType === CHANGE_ADD ? NOTIFY_ON_ADD : NOTIFY_ON_DELETE;
          if ((sub.flags & bit) === 0) continue;
          if (sub.template !== null && !filterMatchesTemplate(e.object as Filter, sub.template)) continue;
          if (!this.access.canAccess(session.principal, e.change.kind, e.change.objectKey, FWPM_ACTRL_READ)) continue;
          try {
            sub.callback(e.change);
          } catch {
            // H29: delivery is best effort; a subscriber's failure is its own.
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Engine options (§H.7), security info (§H.8), net events (§H.6)
  // ---------------------------------------------------------------------------------------------

  #applyNetEventOptions(): void {
    this.netEvents.enabled = this.#options.FWPM_ENGINE_COLLECT_NET_EVENTS !== 0;
    this.netEvents.keywords = this.#options.FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS;
  }

  /** FwpmEngineGetOption0: READ on the engine. */
  getOption(s: SessionState, option: EngineOptionName | number): number {
    this.#usable(s);
    const name = engineOptionName(option);
    this.access.check(s.principal, "engine", null, FWPM_ACTRL_READ);
    return this.#options[name];
  }

  /**
   * FwpmEngineSetOption0 (H39): WRITE on the engine; not in a transaction (TXN_IN_PROGRESS), not from a
   * dynamic session (DYNAMIC_SESSION_IN_PROGRESS); persisted; the net event options drive `netEvents`.
   */
  setOption(s: SessionState, option: EngineOptionName | number, value: number): void {
    this.#usable(s);
    const name = engineOptionName(option);
    if (s.txn !== null) fail("FWP_E_TXN_IN_PROGRESS", "Engine options cannot be set inside a transaction (H12).");
    if (s.dynamic)
      fail("FWP_E_DYNAMIC_SESSION_IN_PROGRESS", "Engine options cannot be set from a dynamic session (H5).");
    this.access.check(s.principal, "engine", null, FWPM_ACTRL_WRITE);
    const v = checkEngineOptionValue(name, value);
    this.store.commit([], { [name]: v });
    this.#options[name] = v;
    this.#applyNetEventOptions();
  }

  /** Every option's current value. */
  options(): Readonly<Record<EngineOptionName, number>> {
    return { ...this.#options };
  }

  /**
   * Fwpm*SetSecurityInfoByKey0 (H40, H43): not inside a transaction (H12); from a dynamic session only on
   * its own dynamic objects (H5). A null key addresses the container (or the engine).
   */
  setSecurityInfo(
    s: SessionState,
    type: BfeObjectType,
    key: Guid | null,
    sd: SecurityDescriptorInput,
    info?: number,
  ): void {
    this.#usable(s);
    if (s.txn !== null) fail("FWP_E_TXN_IN_PROGRESS", "Security cannot be set inside a transaction (H12).");
    if (s.dynamic) {
      const kind = (OBJECT_KINDS as readonly string[]).includes(type) ? (type as ObjectKind) : undefined;
      if (
        kind === undefined ||
        key === null ||
        key === GUID_NULL ||
        this.#owners.get(ownerKey(kind, key)) !== s.info.sessionKey
      )
        fail(
          "FWP_E_DYNAMIC_SESSION_IN_PROGRESS",
          "A dynamic session sets security only on its own dynamic objects (H5).",
        );
    }
    if (key !== null && key !== GUID_NULL) {
      const kind = (OBJECT_KINDS as readonly string[]).includes(type) ? (type as ObjectKind) : undefined;
      if (kind !== undefined && this.#find(this.engine, kind, key) === undefined)
        fail(notFoundCode(kind), `No ${kind} ${key}.`);
    }
    this.access.setSecurityInfo(s.principal, type, key, sd, info);
    // A persistent object's new descriptor is stored with it (it comes back at the next start).
    const kind = (OBJECT_KINDS as readonly string[]).includes(type) ? (type as ObjectKind) : undefined;
    if (kind !== undefined && key !== null && key !== GUID_NULL) {
      const view: View = { engine: this.engine, owner: (k, g) => this.#owners.get(ownerKey(k, g)) };
      const object = this.#find(this.engine, kind, key);
      if (object !== undefined) {
        const lifetime = this.#lifetime(view, kind, object);
        const changes = this.#persistChanges(kind, lifetime, "put", object, this.access.getExplicitSecurity(kind, key));
        if (changes.length > 0) this.store.commit(changes);
      }
    }
  }

  getSecurityInfo(
    s: SessionState,
    type: BfeObjectType,
    key: Guid | null,
  ): ReturnType<AccessControl["getSecurityInfo"]> {
    this.#usable(s);
    return this.access.getSecurityInfo(s.principal, type, key);
  }

  /** FwpmNetEventCreateEnumHandle0 + Enum0 (H37): ENUM on the net event container. */
  enumNetEvents(s: SessionState, template?: NetEventEnumTemplate): NetEvent[] {
    this.#usable(s);
    this.access.check(s.principal, "netEvents", null, FWPM_ACTRL_ENUM);
    return this.netEvents.enumerate(template);
  }

  /** FwpmNetEventSubscribe* (H38): SUBSCRIBE on the net event container, not in a transaction. */
  subscribeNetEvents(
    s: SessionState,
    template: NetEventEnumTemplate | undefined,
    callback: (e: NetEvent) => void,
  ): NetEventSubscription {
    this.#usable(s);
    if (s.txn !== null)
      fail("FWP_E_TXN_IN_PROGRESS", "Net event subscriptions cannot be made inside a transaction (H12).");
    this.access.check(s.principal, "netEvents", null, FWPM_ACTRL_SUBSCRIBE);
    const inner = this.netEvents.subscribe(template, callback);
    const sub: NetEventSubscription = {
      id: inner.id,
      unsubscribe: () => {
        inner.unsubscribe();
        s.netEventSubscriptions.delete(sub);
      },
    };
    s.netEventSubscriptions.add(sub);
    return sub;
  }

  /** The session holding the write lock, if any. */
  get lockHolder(): Guid | undefined {
    return this.#lockHolder?.info.sessionKey;
  }
}

/** The filters a transaction's writes added, as the commit published them (`published` is in write order). */
function* filterAdds(writes: readonly TxnWrite[], published: readonly EngineBatchResult[]): Generator<Filter> {
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i] as TxnWrite;
    if (w.kind === "filter" && !("remove" in w)) yield published[i] as Filter;
  }
}

function ownedBy(providerKey: Guid | undefined, t: ProviderOwnedEnumTemplate | undefined): boolean {
  if (t?.providerKey === undefined) return true;
  const k = tryParseGuid(t.providerKey);
  if (k === undefined) return fail("FWP_E_INVALID_PARAMETER", "providerKey must be a GUID.", "providerKey");
  return providerKey === k;
}
