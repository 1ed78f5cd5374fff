/**
 * Filtering Platform Policy Change audits (wfp-semantics.md H46): 5440–5444 for each persistent callout,
 * filter (persistent or boot-time), provider, provider context and sublayer the BFE adds when it starts,
 * and 5446–5450 for each callout, filter, provider, provider context and sublayer added or removed at run
 * time (raised when the change is committed, so an aborted transaction raises nothing).
 * Sources: https://learn.microsoft.com/windows/win32/fwp/auditing-and-logging,
 * https://learn.microsoft.com/windows/security/threat-protection/auditing/event-5447
 */
import type { Guid } from "../../base/guid.ts";
import type { Callout, Filter } from "../../engine/index.ts";
import { type BfeObject, idOfObject, keyOfObject, type ObjectKind, providerOfObject } from "../objects.ts";
import {
  AUDIT_CALLOUT_CHANGED,
  AUDIT_FILTER_CHANGED,
  AUDIT_PERSISTENT_CALLOUT_ADDED,
  AUDIT_PERSISTENT_FILTER_ADDED,
  AUDIT_PERSISTENT_PROVIDER_ADDED,
  AUDIT_PERSISTENT_PROVIDER_CONTEXT_ADDED,
  AUDIT_PERSISTENT_SUBLAYER_ADDED,
  AUDIT_PROVIDER_CHANGED,
  AUDIT_PROVIDER_CONTEXT_CHANGED,
  AUDIT_SUBLAYER_CHANGED,
  type AuditSubject,
  type PolicyChangeData,
} from "./events.ts";
import type { AuditLog } from "./log.ts";

/** 5440–5444 by kind. */
export const AUDIT_AT_START: Readonly<Record<ObjectKind, number>> = {
  callout: AUDIT_PERSISTENT_CALLOUT_ADDED,
  filter: AUDIT_PERSISTENT_FILTER_ADDED,
  provider: AUDIT_PERSISTENT_PROVIDER_ADDED,
  providerContext: AUDIT_PERSISTENT_PROVIDER_CONTEXT_ADDED,
  sublayer: AUDIT_PERSISTENT_SUBLAYER_ADDED,
};

/** 5446–5450 by kind. */
export const AUDIT_AT_RUN_TIME: Readonly<Record<ObjectKind, number>> = {
  callout: AUDIT_CALLOUT_CHANGED,
  filter: AUDIT_FILTER_CHANGED,
  provider: AUDIT_PROVIDER_CHANGED,
  providerContext: AUDIT_PROVIDER_CONTEXT_CHANGED,
  sublayer: AUDIT_SUBLAYER_CHANGED,
};

/** The Subject of a change the BFE made itself (at start): LocalSystem, no session. */
export const BFE_SUBJECT: AuditSubject = Object.freeze({
  sessionKey: undefined,
  sid: "S-1-5-18",
  username: "NT AUTHORITY\\SYSTEM",
  processId: undefined,
});

/** The data of a policy-change audit for one object. */
export function policyChangeData(
  kind: ObjectKind,
  changeType: "add" | "delete",
  object: BfeObject,
  subject: AuditSubject,
  atStart: boolean,
): PolicyChangeData {
  const filter = kind === "filter" ? (object as Filter) : undefined;
  const callout = kind === "callout" ? (object as Callout) : undefined;
  const layer = filter?.layer ?? callout?.applicableLayer ?? undefined;
  return {
    type: "policyChange",
    changeType,
    atStart,
    objectKind: kind,
    objectKey: keyOfObject(kind, object),
    objectName: object.name,
    objectId: idOfObject(kind, object),
    providerKey: providerOfObject(kind, object),
    layer: layer === undefined || layer === null ? undefined : (layer.fwpmName ?? layer.fwpsName),
    sublayerKey: filter?.sublayer.subLayerKey,
    effectiveWeight: filter?.effectiveWeight,
    action: filter?.action.type,
    subject,
  };
}

/** A committed change as the BFE core hands it over (FWPM_CHANGE_ADD 1 / DELETE 2). */
export interface CommittedChange {
  readonly change: { readonly kind: ObjectKind; readonly changeType: 1 | 2 };
  readonly object: BfeObject;
  /** The session that made it. */
  readonly source: Guid;
}

/** 5446–5450 for committed run-time changes; `subjectOf` describes the session (undefined once it closed). */
export function auditPolicyChanges(
  log: AuditLog,
  changes: readonly CommittedChange[],
  subjectOf: (sessionKey: Guid) => Omit<AuditSubject, "sessionKey"> | undefined,
  nowNs: bigint,
): void {
  if (!log.active) return;
  for (const c of changes) {
    const eventId = AUDIT_AT_RUN_TIME[c.change.kind];
    if (!log.isEnabled(eventId)) continue;
    const s = subjectOf(c.source);
    const subject: AuditSubject = {
      sessionKey: c.source,
      sid: s?.sid,
      username: s?.username,
      processId: s?.processId,
    };
    const changeType = c.change.changeType === 1 ? "add" : "delete";
    log.record({
      eventId,
      timeNs: nowNs,
      data: policyChangeData(c.change.kind, changeType, c.object, subject, false),
    });
  }
}

/**
 * 5440–5444 for the persistent and boot-time objects a BFE start added. Filters the start loaded DISABLED
 * (provider gating, H16) were not added to the kernel policy and raise nothing [INF].
 */
export function auditPersistentLoad(
  log: AuditLog,
  loaded: readonly { readonly kind: ObjectKind; readonly object: BfeObject }[],
  disabledFilters: ReadonlySet<Guid>,
  nowNs: bigint,
): void {
  if (!log.active) return;
  for (const { kind, object } of loaded) {
    if (kind === "filter" && disabledFilters.has(keyOfObject(kind, object))) continue;
    log.record({
      eventId: AUDIT_AT_START[kind],
      timeNs: nowNs,
      data: policyChangeData(kind, "add", object, BFE_SUBJECT, true),
    });
  }
}
