/**
 * The BFE's public data shapes: how a Bfe is opened, how a session is opened and described
 * (FWPM_SESSION0), change notifications (FWPM_*_CHANGE0) and the simple enumeration templates of the
 * non-filter object kinds. Filter templates are in filter-template.ts.
 */
import type { Clock } from "../base/clock.ts";
import type { Guid } from "../base/guid.ts";
import type { FilterEngine, FilterEngineInit } from "../engine/index.ts";
import type { LayerRef } from "../fwp/index.ts";
import type { AuditLog } from "./audit/index.ts";
import type { NetEventLog } from "./netevents/index.ts";
import type { FilterEnumTemplate } from "./filter-template.ts";
import type { ObjectKind } from "./objects.ts";
import type { ServiceStartTypeLookup } from "./provider-gating.ts";
import type { AccessControl } from "./security/index.ts";
import type { ObjectStore } from "./store/index.ts";
import type { BfeTimer } from "./timer.ts";

export interface BfeOpenInit {
  /** Where persistent and boot-time objects and engine options live. Default: a fresh MemoryStore. */
  readonly store?: ObjectStore;
  readonly clock: Clock;
  /** Random bytes for generated GUIDs (H1 session keys, H20 object keys). Default: a SeededRng seeded from the clock. */
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Security descriptors and access checks (H40–H44). Default: `new AccessControl()` (Windows' default DACLs). */
  readonly access?: AccessControl;
  /** The net event log the engine options drive (H32). Default: `new NetEventLog()`. */
  readonly netEvents?: NetEventLog;
  /** Security-log audits (H46), off until enabled per subcategory. Default: `new AuditLog()`. */
  readonly audit?: AuditLog;
  /**
   * The start type of a provider's Windows service, asked at start for each stored provider with a
   * serviceName (H16: not auto-start → the provider and its persistent filters load DISABLED). Default:
   * every service is auto-start.
   */
  readonly serviceStartType?: ServiceStartTypeLookup;
  /** How the live FilterEngine is built (classifier, engine options). */
  readonly engineInit?: FilterEngineInit;
  /**
   * H15: what becomes of boot-time filters (FWPM_FILTER_FLAG_BOOTTIME) once the BFE has started. "removed"
   * (the default, as Windows does): they stay BFE objects — enumerable with FWP_FILTER_ENUM_FLAG_INCLUDE_BOOTTIME
   * or BOOTTIME_ONLY, exported to netsh XML as they were — but are no longer classified; the persistent
   * objects loaded at the same start take over in one step. This holds for boot-time filters added while
   * the BFE runs too [INF: Windows documents the removal at start, not what a run-time add does]. "enforced":
   * they keep classifying next to everything else (the model before this option).
   */
  readonly bootTimeFiltersAfterStart?: "removed" | "enforced";
  /**
   * H15: called during Bfe.open once the stored objects are in the live engine and only the boot-time
   * filters classify — the TCP/IP driver is running, the BFE has not started. Kernel callouts may register
   * here (D2: registration works before BFE runs). When it returns, the BFE starts: the boot-time filters
   * give way to the persistent ones in one step (FilterEngine.setBootTimeEnforcement).
   */
  readonly beforeStart?: (engine: FilterEngine) => void;
  /**
   * Timer for the transaction lock wait (H4). The host passes one over real timers; without one a
   * ManualTimer on `clock` is used, whose waits end only when the lock is released or the timer is driven.
   */
  readonly timer?: BfeTimer;
}

/** FWPM_SESSION0 as callers give it (FwpmEngineOpen0). */
export interface SessionOptions {
  /** Absent or GUID_NULL → generated (H1). Reusing an open session's key → FWP_E_ALREADY_EXISTS. */
  readonly sessionKey?: Guid | string;
  readonly displayName?: string;
  readonly description?: string;
  /** FWPM_SESSION_FLAG_DYNAMIC (0x1) (H3). */
  readonly flags?: number;
  /** Lock wait for transactions: 0 → 15 000 ms, 0xFFFFFFFF → forever (H4). */
  readonly txnWaitTimeoutInMSec?: number;
  /** Reported as FWPM_SESSION0.processId. Default 0. */
  readonly processId?: number;
}

/** FWPM_SESSION0 as FwpmSessionEnum0 reports it (H1). */
export interface SessionInfo {
  readonly sessionKey: Guid;
  readonly displayName: string;
  readonly description: string | undefined;
  readonly flags: number;
  /** As given (0 means the 15 s default). */
  readonly txnWaitTimeoutInMSec: number;
  readonly processId: number;
  readonly sid: string;
  readonly username: string;
  readonly kernelMode: boolean;
}

/** FWPM_CHANGE_ADD (1) / FWPM_CHANGE_DELETE (2). */
export type ChangeType = 1 | 2;

/** FWPM_{FILTER,CALLOUT,PROVIDER,PROVIDER_CONTEXT,SUBLAYER}_CHANGE0 (H28). */
export interface ObjectChange {
  readonly kind: ObjectKind;
  readonly changeType: ChangeType;
  readonly objectKey: Guid;
  /** filterId, calloutId or providerContextId; undefined for providers and sublayers. */
  readonly objectId: bigint | number | undefined;
}

export type ChangeCallback = (change: ObjectChange) => void;

/** FWPM_*_SUBSCRIPTION0 (H28). */
export interface ChangeSubscriptionOptions {
  /**
   * FWPM_SUBSCRIPTION_FLAG_NOTIFY_ON_ADD 0x1 | NOTIFY_ON_DELETE 0x2. Absent or 0 → both [INF: the API
   * documents only the two bits].
   */
  readonly flags?: number;
  /** Filters only: notify only for filters the template selects (its layer, provider, conditions…). */
  readonly template?: FilterEnumTemplate;
}

/** A live change subscription (Fwpm*SubscribeChanges0); `unsubscribe` is Fwpm*UnsubscribeChanges0. */
export interface ChangeSubscription {
  readonly id: number;
  readonly kind: ObjectKind;
  readonly flags: number;
  readonly sessionKey: Guid;
  unsubscribe(): void;
}

/** FWPM_SUBLAYER_ENUM_TEMPLATE0, FWPM_PROVIDER_CONTEXT_ENUM_TEMPLATE0 (reduced): one provider's objects. */
export interface ProviderOwnedEnumTemplate {
  readonly providerKey?: Guid | string;
}

/** FWPM_CALLOUT_ENUM_TEMPLATE0: one provider's callouts and/or one layer's. */
export interface CalloutEnumTemplate {
  readonly providerKey?: Guid | string;
  readonly layer?: LayerRef | string;
}

/** An enumeration handle (Fwpm*CreateEnumHandle0 / Enum0 / DestroyEnumHandle0): a snapshot paged through. */
export interface EnumHandle<T> {
  /** Up to `count` more entries (fewer at the end; none once exhausted). */
  next(count: number): T[];
  /** Entries not yet returned. */
  readonly remaining: number;
  destroy(): void;
}
