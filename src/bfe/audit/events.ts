/**
 * The Security-log audits WFP raises (wfp-semantics.md H46): event ids, the auditpol subcategory of each,
 * and the shapes of their data. Audit success / audit failure is the event's keyword in the Security log
 * and what auditpol enables per subcategory (`auditpol /set /subcategory:"Filtering Platform Connection"
 * /success:enable /failure:enable`).
 * Source: https://learn.microsoft.com/windows/win32/fwp/auditing-and-logging and the per-event pages
 * https://learn.microsoft.com/windows/security/threat-protection/auditing/event-5152 … event-5450.
 */
import type { Guid } from "../../base/guid.ts";
import type { IpAddress } from "../../base/ip.ts";
import type { ObjectKind } from "../objects.ts";

/** The auditpol subcategories of the Policy Change and Object Access categories that WFP audits use. */
export type AuditSubcategory =
  | "Filtering Platform Policy Change"
  | "Filtering Platform Packet Drop"
  | "Filtering Platform Connection";

export const AUDIT_SUBCATEGORIES: readonly AuditSubcategory[] = [
  "Filtering Platform Policy Change",
  "Filtering Platform Packet Drop",
  "Filtering Platform Connection",
];

export type AuditOutcome = "success" | "failure";

/** H46: persistent objects added when BFE starts. */
export const AUDIT_PERSISTENT_CALLOUT_ADDED = 5440;
export const AUDIT_PERSISTENT_FILTER_ADDED = 5441;
export const AUDIT_PERSISTENT_PROVIDER_ADDED = 5442;
export const AUDIT_PERSISTENT_PROVIDER_CONTEXT_ADDED = 5443;
export const AUDIT_PERSISTENT_SUBLAYER_ADDED = 5444;
/** H46: run-time changes (added or removed). */
export const AUDIT_CALLOUT_CHANGED = 5446;
export const AUDIT_FILTER_CHANGED = 5447;
export const AUDIT_PROVIDER_CHANGED = 5448;
export const AUDIT_PROVIDER_CONTEXT_CHANGED = 5449;
export const AUDIT_SUBLAYER_CHANGED = 5450;
/** H46: Packet Drop. */
export const AUDIT_PACKET_DROPPED = 5152;
export const AUDIT_PACKET_VETOED = 5153;
/** H46: Connection. */
export const AUDIT_LISTEN_PERMITTED = 5154;
export const AUDIT_LISTEN_BLOCKED = 5155;
export const AUDIT_CONNECTION_PERMITTED = 5156;
export const AUDIT_CONNECTION_BLOCKED = 5157;
export const AUDIT_BIND_PERMITTED = 5158;
export const AUDIT_BIND_BLOCKED = 5159;

/** Every event id this module raises, with its subcategory and keyword. */
export const AUDIT_EVENTS: Readonly<Record<number, { subcategory: AuditSubcategory; outcome: AuditOutcome }>> = {
  5440: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5441: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5442: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5443: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5444: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5446: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5447: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5448: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5449: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5450: { subcategory: "Filtering Platform Policy Change", outcome: "success" },
  5152: { subcategory: "Filtering Platform Packet Drop", outcome: "failure" },
  5153: { subcategory: "Filtering Platform Packet Drop", outcome: "failure" },
  5154: { subcategory: "Filtering Platform Connection", outcome: "success" },
  5155: { subcategory: "Filtering Platform Connection", outcome: "failure" },
  5156: { subcategory: "Filtering Platform Connection", outcome: "success" },
  5157: { subcategory: "Filtering Platform Connection", outcome: "failure" },
  5158: { subcategory: "Filtering Platform Connection", outcome: "success" },
  5159: { subcategory: "Filtering Platform Connection", outcome: "failure" },
};

/** Who made a policy change (the event's Subject and Process Information). */
export interface AuditSubject {
  readonly sessionKey: Guid | undefined;
  readonly sid: string | undefined;
  readonly username: string | undefined;
  readonly processId: number | undefined;
}

/** 5440–5444 and 5446–5450: the object and what happened to it. */
export interface PolicyChangeData {
  readonly type: "policyChange";
  /** "add" at BFE start (5440–5444); "add" or "delete" at run time (5446–5450). */
  readonly changeType: "add" | "delete";
  readonly atStart: boolean;
  readonly objectKind: ObjectKind;
  readonly objectKey: Guid;
  readonly objectName: string;
  /** filterId, calloutId or providerContextId. */
  readonly objectId: bigint | number | undefined;
  readonly providerKey: Guid | undefined;
  /** Filters and callouts: the layer's FWPM_LAYER_* name; filters: their sublayer, weight and action. */
  readonly layer: string | undefined;
  readonly sublayerKey: Guid | undefined;
  readonly effectiveWeight: bigint | undefined;
  readonly action: string | undefined;
  readonly subject: AuditSubject;
}

/** 5152–5159: the traffic and the filter that decided it. */
export interface TrafficAuditData {
  readonly type: "traffic";
  readonly direction: "inbound" | "outbound";
  /** Outbound: local; inbound: remote (as the event's "Source Address" / "Destination Address"). */
  readonly sourceAddress: IpAddress | undefined;
  readonly sourcePort: number | undefined;
  readonly destinationAddress: IpAddress | undefined;
  readonly destinationPort: number | undefined;
  readonly protocol: number | undefined;
  readonly processId: number | undefined;
  readonly applicationName: string | undefined;
  /** "Filter Run-Time ID" (0 for permitted TCP connections decided by a filter with other conditions). */
  readonly filterId: bigint;
  readonly layerName: string;
  readonly layerId: number;
}

/** One audit record. */
export interface AuditEvent {
  /** Position in the log: 1, 2, … (never reused). */
  readonly recordId: number;
  readonly eventId: number;
  readonly subcategory: AuditSubcategory;
  readonly outcome: AuditOutcome;
  /** The injected clock's nanoseconds since the Unix epoch. */
  readonly timeNs: bigint;
  readonly data: PolicyChangeData | TrafficAuditData;
}

/** An audit before the log numbers it. */
export type AuditEventInput = Omit<AuditEvent, "recordId" | "subcategory" | "outcome">;
