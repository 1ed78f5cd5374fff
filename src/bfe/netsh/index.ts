/**
 * netsh XML: read and write `netsh wfp show state` and `netsh wfp show filters` files exactly as Windows
 * writes them (wfp-semantics.md H47–H49) — byte-order mark, CRLF or LF, tab indentation, localized names,
 * the second top-level element after `</wfpstate>` — as a typed NetshDocument.
 *
 * @example
 * ```ts
 * const doc = parseNetshXml(readFileSync("wfpstate.xml", "utf8"));
 * netshFilters(doc).length;          // every filter, with filterId and effectiveWeight as Windows computed
 * formatNetshXml(doc) === original;  // the real dumps round-trip byte for byte
 * ```
 */
export { formatKey, NAME_ONLY_FLAGS, parseKey } from "./codec.ts";
export { NetshError, type NetshErrorCode } from "./error.ts";
export { exportNetsh, type NetshExportOptions, netshFilterOf } from "./export.ts";
export {
  conditionValueOf,
  filterSpecOf,
  importNetsh,
  type NetshImportCounts,
  type NetshImportOptions,
  type NetshImportReport,
  type NetshProviderContextData,
} from "./import.ts";
export type {
  NetshAction,
  NetshCallout,
  NetshConditionValue,
  NetshDisplayData,
  NetshDocument,
  NetshFilter,
  NetshFilterCondition,
  NetshKind,
  NetshLayer,
  NetshLayerField,
  NetshProvider,
  NetshProviderContext,
  NetshSddlValue,
  NetshSectionName,
  NetshSession,
  NetshSublayer,
} from "./model.ts";
export { netshCallouts, netshFilters } from "./model.ts";
export { formatNetEventsXml, type NetEventsXmlOptions, netEventElement, netshTimeStamp } from "./netevents.ts";
export { type NetEventRecord, parseNetEventsXml } from "./netevents-read.ts";
export { isAddressField, parseNetshXml } from "./read.ts";
export { formatNetshXml, netshElements } from "./write.ts";
export { parseXmlForest, type XmlElement, type XmlForest, type XmlLayout, writeXmlForest } from "./xml.ts";
