/**
 * WFP audits (wfp-semantics.md H46): a bounded, off-by-default audit log enabled per auditpol subcategory,
 * policy-change audits the BFE raises at start and at commit, and traffic audits the shims raise from a
 * classification.
 *
 * @example
 * ```ts
 * bfe.audit.setPolicy("Filtering Platform Connection", { success: true, failure: true });
 * const result = bfe.engine.classify({ layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", incomingValues });
 * recordClassifyAudits(bfe.audit, result, { direction: "outbound", ipProtocol: 6 }, clock.nowNs());
 * bfe.audit.enumerate({ eventIds: [5157] });
 * ```
 */
export * from "./events.ts";
export {
  type AuditTrafficInput,
  auditFromClassify,
  recordClassifyAudits,
  reportedPermitFilterId,
} from "./from-classify.ts";
export {
  type AuditEnumTemplate,
  AuditLog,
  type AuditLogOptions,
  type AuditPolicySetting,
  DEFAULT_AUDIT_CAPACITY,
  MAX_AUDIT_CAPACITY,
} from "./log.ts";
export {
  AUDIT_AT_RUN_TIME,
  AUDIT_AT_START,
  auditPersistentLoad,
  auditPolicyChanges,
  BFE_SUBJECT,
  type CommittedChange,
  policyChangeData,
} from "./policy-change.ts";
