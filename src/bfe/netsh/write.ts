/**
 * NetshDocument → netsh XML text, in netsh's layout (H48, H49): tab indentation, `<x/>` for empty
 * elements, `numItems` on every non-empty list except the two top-level lists of a `show filters` file
 * (observed: `<wfpdiag><filters>` and `<providers>` carry none), built-in keys by constant name, UINT32
 * values of address fields in dotted quad, blobs as hex plus `asString`.
 */
import { type FwpValue, formatSid } from "../../fwp/index.ts";
import {
  blobAsciiString,
  blobUtf16String,
  formatFlags,
  formatHex,
  formatIpv6Text,
  formatKey,
  formatUint32,
} from "./codec.ts";
import type {
  NetshCallout,
  NetshConditionValue,
  NetshDisplayData,
  NetshDocument,
  NetshFilter,
  NetshLayer,
  NetshProvider,
  NetshProviderContext,
  NetshSession,
  NetshSublayer,
} from "./model.ts";
import {
  CALLOUT_FLAG_NAMES,
  FILTER_FLAG_NAMES,
  type FlagNames,
  LAYER_FLAG_NAMES,
  PROVIDER_CONTEXT_FLAG_NAMES,
  PROVIDER_FLAG_NAMES,
  SESSION_FLAG_NAMES,
  SUBLAYER_FLAG_NAMES,
} from "./flags.ts";
import { isAddressField } from "./read.ts";
import { type XmlElement, writeXmlForest } from "./xml.ts";

const NO_ATTRS: Readonly<Record<string, string>> = Object.freeze({});

function leaf(name: string, text: string): XmlElement {
  return { name, attributes: NO_ATTRS, children: [], text };
}

function node(name: string, children: readonly XmlElement[]): XmlElement {
  return { name, attributes: NO_ATTRS, children, text: "" };
}

function list(name: string, children: readonly XmlElement[], counted = true): XmlElement {
  return {
    name,
    attributes: counted && children.length > 0 ? { numItems: String(children.length) } : NO_ATTRS,
    children,
    text: "",
  };
}

function item(children: readonly XmlElement[]): XmlElement {
  return node("item", children);
}

function flags(o: { readonly flags: number; readonly extraFlags: readonly string[] }, names: FlagNames): XmlElement {
  return list(
    "flags",
    formatFlags(o.flags, o.extraFlags, names).map((t) => leaf("item", t)),
  );
}

function display(d: NetshDisplayData): XmlElement {
  return node("displayData", [leaf("name", d.name), leaf("description", d.description)]);
}

function blob(name: string, bytes: Uint8Array | null, asString: (b: Uint8Array) => string): XmlElement {
  if (bytes === null) return leaf(name, "");
  return node(name, [leaf("data", formatHex(bytes)), leaf("asString", asString(bytes))]);
}

function member(v: NetshConditionValue, asAddress: boolean): XmlElement[] {
  switch (v.type) {
    case "FWP_EMPTY":
      return [];
    case "FWP_UINT8":
      return [leaf("uint8", String(v.value))];
    case "FWP_UINT16":
      return [leaf("uint16", String(v.value))];
    case "FWP_UINT32":
      return [leaf("uint32", formatUint32(v.value, asAddress))];
    case "FWP_UINT64":
      return [leaf("uint64", v.value.toString())];
    case "FWP_INT8":
      return [leaf("int8", String(v.value))];
    case "FWP_INT16":
      return [leaf("int16", String(v.value))];
    case "FWP_INT32":
      return [leaf("int32", String(v.value))];
    case "FWP_INT64":
      return [leaf("int64", v.value.toString())];
    case "FWP_BYTE_ARRAY16_TYPE":
      return [leaf("byteArray16", formatIpv6Text(v.value))];
    case "FWP_BYTE_BLOB_TYPE":
      return [blob("byteBlob", v.value, blobUtf16String)];
    case "FWP_SID":
      return [leaf("sid", formatSid(v.value))];
    case "FWP_SECURITY_DESCRIPTOR_TYPE":
      return [leaf("sd", v.sddl)];
    case "FWP_UNICODE_STRING_TYPE":
      return [leaf("unicodeString", v.value)];
    case "FWP_V4_ADDR_MASK":
      return [node("v4AddrMask", [leaf("addr", formatUint32(v.addr, true)), leaf("mask", formatUint32(v.mask, true))])];
    case "FWP_V6_ADDR_MASK":
      return [node("v6AddrMask", [leaf("addr", formatIpv6Text(v.addr)), leaf("prefixLength", String(v.prefixLength))])];
    case "FWP_RANGE_TYPE":
      return [
        node("rangeValue", [value("valueLow", v.valueLow, asAddress), value("valueHigh", v.valueHigh, asAddress)]),
      ];
    default:
      throw new TypeError(`netsh cannot print values of type ${v.type}`);
  }
}

function value(name: string, v: FwpValue | NetshConditionValue, asAddress: boolean): XmlElement {
  return node(name, [leaf("type", v.type), ...member(v as NetshConditionValue, asAddress)]);
}

/** A filter `<item>` (H49). */
export function filterElement(f: NetshFilter): XmlElement {
  return item([
    leaf("filterKey", formatKey(f.filterKey)),
    display(f.displayData),
    flags(f, FILTER_FLAG_NAMES),
    leaf("providerKey", formatKey(f.providerKey)),
    blob("providerData", f.providerData, blobAsciiString),
    leaf("layerKey", formatKey(f.layerKey)),
    leaf("subLayerKey", formatKey(f.subLayerKey)),
    value("weight", f.weight, false),
    list(
      "filterCondition",
      f.conditions.map((c) =>
        item([
          leaf("fieldKey", formatKey(c.fieldKey)),
          leaf("matchType", c.matchType),
          value("conditionValue", c.conditionValue, isAddressField(c.fieldKey)),
        ]),
      ),
    ),
    node("action", [leaf("type", f.action.type), leaf("filterType", formatKey(f.action.key))]),
    "rawContext" in f.context
      ? leaf("rawContext", f.context.rawContext.toString())
      : leaf("providerContextKey", formatKey(f.context.providerContextKey)),
    leaf("reserved", ""),
    leaf("filterId", f.filterId.toString()),
    node("effectiveWeight", [leaf("type", "FWP_UINT64"), leaf("uint64", f.effectiveWeight.toString())]),
  ]);
}

function calloutElement(c: NetshCallout): XmlElement {
  return item([
    leaf("calloutKey", formatKey(c.calloutKey)),
    display(c.displayData),
    flags(c, CALLOUT_FLAG_NAMES),
    leaf("providerKey", formatKey(c.providerKey)),
    blob("providerData", c.providerData, blobAsciiString),
    leaf("applicableLayer", formatKey(c.applicableLayer)),
    leaf("calloutId", String(c.calloutId)),
  ]);
}

function layerElement(l: NetshLayer): XmlElement {
  return item([
    node("layer", [
      leaf("layerKey", formatKey(l.layerKey)),
      display(l.displayData),
      flags(l, LAYER_FLAG_NAMES),
      list(
        "field",
        l.fields.map((f) =>
          item([leaf("fieldKey", formatKey(f.fieldKey)), leaf("type", f.type), leaf("dataType", f.dataType)]),
        ),
      ),
      leaf("defaultSubLayerKey", formatKey(l.defaultSubLayerKey)),
      leaf("layerId", String(l.layerId)),
    ]),
    list("callouts", l.callouts.map(calloutElement)),
    list("filters", l.filters.map(filterElement)),
  ]);
}

function providerElement(p: NetshProvider): XmlElement {
  return item([
    leaf("providerKey", formatKey(p.providerKey)),
    display(p.displayData),
    flags(p, PROVIDER_FLAG_NAMES),
    blob("providerData", p.providerData, blobAsciiString),
    leaf("serviceName", p.serviceName),
  ]);
}

function sublayerElement(s: NetshSublayer): XmlElement {
  return item([
    leaf("subLayerKey", formatKey(s.subLayerKey)),
    display(s.displayData),
    flags(s, SUBLAYER_FLAG_NAMES),
    leaf("providerKey", formatKey(s.providerKey)),
    blob("providerData", s.providerData, blobAsciiString),
    leaf("weight", String(s.weight)),
  ]);
}

function providerContextElement(c: NetshProviderContext): XmlElement {
  return item([
    leaf("providerContextKey", formatKey(c.providerContextKey)),
    display(c.displayData),
    flags(c, PROVIDER_CONTEXT_FLAG_NAMES),
    leaf("providerKey", formatKey(c.providerKey)),
    blob("providerData", c.providerData, blobAsciiString),
    leaf("type", c.type),
    ...(c.body === null ? [] : [c.body]),
    leaf("providerContextId", c.providerContextId.toString()),
  ]);
}

function sessionElement(s: NetshSession): XmlElement {
  return item([
    leaf("sessionKey", formatKey(s.sessionKey)),
    display(s.displayData),
    flags(s, SESSION_FLAG_NAMES),
    leaf("txnWaitTimeoutInMSec", String(s.txnWaitTimeoutInMSec)),
    leaf("processId", String(s.processId)),
    leaf("sid", s.sid),
    leaf("username", s.username),
    leaf("kernelMode", s.kernelMode ? "true" : "false"),
  ]);
}

/** The document as XML elements (root first, then the trailing top-level elements). */
export function netshElements(doc: NetshDocument): XmlElement[] {
  const state = doc.kind === "state";
  const children: XmlElement[] = [];
  for (const s of doc.sections) {
    if (typeof s !== "string") {
      children.push(s);
      continue;
    }
    switch (s) {
      case "timeStamp":
        children.push(leaf("timeStamp", doc.timeStamp ?? ""));
        break;
      case "sessions":
        children.push(list("sessions", (doc.sessions ?? []).map(sessionElement)));
        break;
      case "layers":
        children.push(list("layers", (doc.layers ?? []).map(layerElement)));
        break;
      case "filters":
        children.push(list("filters", (doc.filters ?? []).map(filterElement), state));
        break;
      case "providers":
        children.push(list("providers", (doc.providers ?? []).map(providerElement), state));
        break;
      case "providerContexts":
        children.push(list("providerContexts", (doc.providerContexts ?? []).map(providerContextElement)));
        break;
      case "subLayers":
        children.push(list("subLayers", (doc.subLayers ?? []).map(sublayerElement)));
        break;
    }
  }
  return [node(state ? "wfpstate" : "wfpdiag", children), ...doc.trailing];
}

/** Writes a NetshDocument as netsh would (`show state` or `show filters` layout). */
export function formatNetshXml(doc: NetshDocument): string {
  return writeXmlForest({ layout: doc.layout, elements: netshElements(doc) });
}
