/**
 * Traffic audits from a classification (wfp-semantics.md H46), for the shims to raise next to the net
 * event (netEventFromClassify):
 * - Filtering Platform Packet Drop: a BLOCK that was not absorbed gives 5152 (packet dropped), or 5153
 *   when a callout vetoed a hard permit (C7) — at every non-discard layer that carries a packet;
 * - Filtering Platform Connection, at the ALE authorization layers: AUTH_LISTEN 5154 / 5155, AUTH_CONNECT
 *   and AUTH_RECV_ACCEPT 5156 / 5157, RESOURCE_ASSIGNMENT (bind) 5158 / 5159 (permitted / blocked).
 * A blocked connect or accept raises both the packet-drop and the connection audit; listen and bind carry
 * no packet and raise only the connection audit [INF: the audit pages describe each event, not which
 * combinations one decision produces]. A permitted TCP connection (5156, protocol 6) reports filter
 * run-time id 0 unless the deciding filter's conditions use only a subset of ALE_USER_ID, ALE_APP_ID,
 * IP_PROTOCOL and IP_REMOTE_PORT [DOC W-AUDIT]. Absorbed BLOCKs (C16) and discard layers raise nothing, as
 * for net events.
 * Source: https://learn.microsoft.com/windows/win32/fwp/auditing-and-logging
 */
import type { ClassifyResult, Filter } from "../../engine/index.ts";
import { findCondition, type Layer } from "../../fwp/index.ts";
import type { NetEventHeaderInput } from "../netevents/index.ts";
import {
  AUDIT_BIND_BLOCKED,
  AUDIT_BIND_PERMITTED,
  AUDIT_CONNECTION_BLOCKED,
  AUDIT_CONNECTION_PERMITTED,
  AUDIT_LISTEN_BLOCKED,
  AUDIT_LISTEN_PERMITTED,
  AUDIT_PACKET_DROPPED,
  AUDIT_PACKET_VETOED,
  type AuditEvent,
  type AuditEventInput,
  type TrafficAuditData,
} from "./events.ts";
import type { AuditLog } from "./log.ts";

/** The traffic a classification was about (the net event header input plus process information). */
export interface AuditTrafficInput extends NetEventHeaderInput {
  readonly processId?: number;
  /** The application's NT path, as the event's "Application Name". */
  readonly applicationName?: string;
}

const TCP = 6;

/** Conditions a permitted TCP connection's filter may use and still be reported (H46). */
const REPORTED_TCP_FIELDS: ReadonlySet<string> = new Set(
  [
    "FWPM_CONDITION_ALE_USER_ID",
    "FWPM_CONDITION_ALE_APP_ID",
    "FWPM_CONDITION_IP_PROTOCOL",
    "FWPM_CONDITION_IP_REMOTE_PORT",
  ]
    .map((n) => findCondition(n)?.key)
    .filter((k): k is NonNullable<typeof k> => k !== undefined),
);

/** H46: the filter id a 5156 reports for this decision. */
export function reportedPermitFilterId(filter: Filter | null, ipProtocol: number | undefined): bigint {
  if (filter === null) return 0n;
  if (ipProtocol !== TCP) return filter.filterId;
  return filter.conditions.every((c) => REPORTED_TCP_FIELDS.has(c.fieldKey)) ? filter.filterId : 0n;
}

function connectionIds(layer: Layer): { permitted: number; blocked: number; carriesPacket: boolean } | null {
  if (layer.family !== "ale") return null;
  switch (layer.subFamily) {
    case "auth-listen":
      return { permitted: AUDIT_LISTEN_PERMITTED, blocked: AUDIT_LISTEN_BLOCKED, carriesPacket: false };
    case "auth-connect":
    case "auth-recv-accept":
      return { permitted: AUDIT_CONNECTION_PERMITTED, blocked: AUDIT_CONNECTION_BLOCKED, carriesPacket: true };
    case "resource-assignment":
      return { permitted: AUDIT_BIND_PERMITTED, blocked: AUDIT_BIND_BLOCKED, carriesPacket: false };
    default:
      return null;
  }
}

function trafficData(layer: Layer, input: AuditTrafficInput, filterId: bigint): TrafficAuditData {
  const outbound = input.direction === "outbound";
  return {
    type: "traffic",
    direction: input.direction,
    sourceAddress: outbound ? input.localAddr : input.remoteAddr,
    sourcePort: outbound ? input.localPort : input.remotePort,
    destinationAddress: outbound ? input.remoteAddr : input.localAddr,
    destinationPort: outbound ? input.remotePort : input.localPort,
    protocol: input.ipProtocol,
    processId: input.processId,
    applicationName: input.applicationName,
    filterId,
    layerName: layer.fwpmName ?? layer.fwpsName,
    layerId: layer.runtimeId,
  };
}

/** The audits (unnumbered, in raise order) a classification produces; empty when none. */
export function auditFromClassify(result: ClassifyResult, input: AuditTrafficInput, nowNs: bigint): AuditEventInput[] {
  const layer = result.layer;
  if (layer.isDiscard) return [];
  const conn = connectionIds(layer);
  const out: AuditEventInput[] = [];
  if (result.action === "FWP_ACTION_BLOCK") {
    if (result.absorbed) return [];
    const filterId = result.decidingFilter?.filterId ?? 0n;
    if (conn === null || conn.carriesPacket) {
      out.push({
        eventId: result.vetoed ? AUDIT_PACKET_VETOED : AUDIT_PACKET_DROPPED,
        timeNs: nowNs,
        data: trafficData(layer, input, filterId),
      });
    }
    if (conn !== null) out.push({ eventId: conn.blocked, timeNs: nowNs, data: trafficData(layer, input, filterId) });
    return out;
  }
  if (conn === null) return [];
  const filterId =
    conn.permitted === AUDIT_CONNECTION_PERMITTED
      ? reportedPermitFilterId(result.decidingFilter, input.ipProtocol)
      : (result.decidingFilter?.filterId ?? 0n);
  out.push({ eventId: conn.permitted, timeNs: nowNs, data: trafficData(layer, input, filterId) });
  return out;
}

/** Raises a classification's audits into `log` (those its policy enables); returns the records kept. */
export function recordClassifyAudits(
  log: AuditLog,
  result: ClassifyResult,
  input: AuditTrafficInput,
  nowNs: bigint,
): AuditEvent[] {
  if (!log.active) return [];
  const kept: AuditEvent[] = [];
  for (const e of auditFromClassify(result, input, nowNs)) {
    const r = log.record(e);
    if (r !== null) kept.push(r);
  }
  return kept;
}
