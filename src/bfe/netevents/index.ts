/**
 * Net events (wfp-semantics.md §H.6): the event model (CLASSIFY_DROP, CLASSIFY_ALLOW and the other
 * FWPM_NET_EVENT_TYPE kinds), the bounded log with keywords, enumeration templates and subscriptions,
 * and the mapping from an engine classification to its event.
 *
 * @example
 * ```ts
 * const log = new NetEventLog({ capacity: 256 });
 * const result = engine.classify({ layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", incomingValues });
 * const event = netEventFromClassify(result, { direction: "outbound", ipProtocol: 6 }, clock.nowNs());
 * if (event !== null) log.record(event);
 * log.enumerate({ conditions: [{ fieldKey: "FWPM_CONDITION_IP_PROTOCOL", matchType: "FWP_MATCH_EQUAL",
 *   conditionValue: { type: "FWP_UINT8", value: 6 } }] });
 * ```
 */
export { epochNsFromFiletime, FILETIME_UNIX_EPOCH, filetimeFromEpochNs } from "./filetime.ts";
export {
  CLASSIFY_ALLOW_SUBFAMILIES,
  inboundCast,
  netEventFromClassify,
  netEventHeader,
  terminatingFiltersInfo,
} from "./from-classify.ts";
export {
  DEFAULT_NET_EVENT_CAPACITY,
  KEYWORD_CAPABILITY_ALLOW,
  KEYWORD_CAPABILITY_DROP,
  KEYWORD_CLASSIFY_ALLOW,
  KEYWORD_INBOUND_BCAST,
  KEYWORD_INBOUND_MCAST,
  MAX_NET_EVENT_CAPACITY,
  type NetEventCallback,
  NetEventLog,
  type NetEventLogOptions,
  type NetEventRecordOutcome,
  type NetEventSubscription,
} from "./log.ts";
export {
  type CompiledNetEventTemplate,
  compileNetEventTemplate,
  type NetEventConditionSpec,
  type NetEventEnumTemplate,
  netEventFieldValue,
  netEventMatches,
} from "./template.ts";
export type {
  ClassifyAllowEvent,
  ClassifyAllowInfo,
  ClassifyDropEvent,
  ClassifyDropInfo,
  MsFwpDirection,
  NetEvent,
  NetEventCast,
  NetEventHeader,
  NetEventHeaderInput,
  NetEventInternalFields,
  NetEventIpVersion,
  NetEventTypeName,
  OtherNetEvent,
  TerminatingFilterInfo,
} from "./types.ts";
