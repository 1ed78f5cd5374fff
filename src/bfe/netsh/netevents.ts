/**
 * Net events in the netsh XML format (`netsh wfp show netevents`, netevents.xml; wfp-semantics.md H47, H48,
 * H50): a `<netEvents>` list with one `<item>` per event, each holding `header` (timeStamp in ISO 8601 UTC
 * with milliseconds, the FWPM_NET_EVENT_FLAG_*_SET names, ipVersion, ipProtocol, localAddrV4 or
 * localAddrV6.byteArray16, remoteAddrV4 or remoteAddrV6.byteArray16, localPort, remotePort, scopeId, appId
 * {data, asString}, userId, addressFamily, packageSid, enterpriseId, policyFlags, effectiveName), `type`,
 * `classifyDrop` or `classifyAllow` (H35) and `internalFields` (internalFlags, remoteAddrBitmap, capabilities,
 * fqbnVersion, fqbnName, terminatingFiltersInfo {filterId, subLayer, actionType}, H36), laid out as the other
 * netsh files are (byte-order mark, declaration, tab indentation, CRLF, `<x/>` when empty).
 *
 * Choices where what netsh prints is not known exactly [OBS UWP, G-PSCRIPT]:
 * - A header member whose *_SET flag is clear is printed as its zero (netsh prints `<scopeId>0</scopeId>`
 *   without SCOPE_ID_SET): 0 for numbers, an empty element for the app id, SIDs and strings. Addresses are
 *   printed as the V4 or V6 element per ipVersion (0.0.0.0 / :: when unset), and not at all for
 *   FWP_IP_VERSION_NONE.
 * - `classifyAllow` holds the five members netsh was seen to print (filterId, layerId, reauthReason,
 *   originalProfile, currentProfile), not msFwpDirection / isLoopback.
 * - `subLayer` of terminatingFiltersInfo is the sublayer key as netsh writes keys elsewhere (the built-in
 *   name, e.g. FWPM_SUBLAYER_MPSSVC_WF, else `{guid}`); Windows prints its internal FWPP_SUBLAYER_* names
 *   there, whose mapping is not published.
 * - The internal fields the model does not have (internal flags, remote address bitmap, capabilities, FQBN)
 *   are printed empty or zero. Events of other types print their header and type only.
 */
import { FWPM_NET_EVENT_FLAG, formatSid } from "../../fwp/index.ts";
import { epochNsFromFiletime, type NetEvent, type NetEventHeader } from "../netevents/index.ts";
import { blobAsciiString, formatFlags, formatHex, formatKey } from "./codec.ts";
import { type XmlElement, type XmlLayout, writeXmlForest } from "./xml.ts";

const NO_ATTRS: Readonly<Record<string, string>> = Object.freeze({});

function leaf(name: string, text: string): XmlElement {
  return { name, attributes: NO_ATTRS, children: [], text };
}

function node(name: string, children: readonly XmlElement[]): XmlElement {
  return { name, attributes: NO_ATTRS, children, text: "" };
}

function list(name: string, children: readonly XmlElement[]): XmlElement {
  return {
    name,
    attributes: children.length > 0 ? { numItems: String(children.length) } : NO_ATTRS,
    children,
    text: "",
  };
}

function blob(name: string, bytes: Uint8Array | undefined): XmlElement {
  if (bytes === undefined || bytes.length === 0) return leaf(name, "");
  return node(name, [leaf("data", formatHex(bytes)), leaf("asString", blobAsciiString(bytes))]);
}

/** A FILETIME as netsh prints time stamps: ISO 8601, UTC, milliseconds (`2020-10-07T01:03:56.281Z`). */
export function netshTimeStamp(filetime: bigint): string {
  const d = new Date(Number(epochNsFromFiletime(filetime) / 1_000_000n));
  return Number.isNaN(d.getTime()) ? filetime.toString() : d.toISOString();
}

function addresses(h: NetEventHeader): XmlElement[] {
  if (h.ipVersion === "FWP_IP_VERSION_V4") {
    return [
      leaf("localAddrV4", h.localAddr?.toString() ?? "0.0.0.0"),
      leaf("remoteAddrV4", h.remoteAddr?.toString() ?? "0.0.0.0"),
    ];
  }
  if (h.ipVersion === "FWP_IP_VERSION_V6") {
    return [
      leaf("localAddrV6.byteArray16", h.localAddr?.toString() ?? "::"),
      leaf("remoteAddrV6.byteArray16", h.remoteAddr?.toString() ?? "::"),
    ];
  }
  return [];
}

function header(h: NetEventHeader): XmlElement {
  const family =
    h.ipVersion === "FWP_IP_VERSION_V4"
      ? "FWP_AF_INET"
      : h.ipVersion === "FWP_IP_VERSION_V6"
        ? "FWP_AF_INET6"
        : "FWP_AF_NONE";
  return node("header", [
    leaf("timeStamp", netshTimeStamp(h.timeStamp)),
    list(
      "flags",
      formatFlags(h.flags, [], FWPM_NET_EVENT_FLAG).map((t) => leaf("item", t)),
    ),
    leaf("ipVersion", h.ipVersion),
    leaf("ipProtocol", String(h.ipProtocol ?? 0)),
    ...addresses(h),
    leaf("localPort", String(h.localPort ?? 0)),
    leaf("remotePort", String(h.remotePort ?? 0)),
    leaf("scopeId", String(h.scopeId ?? 0)),
    blob("appId", h.appId),
    leaf("userId", h.userId === undefined ? "" : formatSid(h.userId)),
    leaf("addressFamily", family),
    leaf("packageSid", h.packageSid === undefined ? "" : formatSid(h.packageSid)),
    leaf("enterpriseId", h.enterpriseId ?? ""),
    leaf("policyFlags", (h.policyFlags ?? 0n).toString()),
    leaf("effectiveName", h.effectiveName ?? ""),
  ]);
}

function internalFields(e: NetEvent): XmlElement | undefined {
  if (!("internalFields" in e)) return undefined;
  return node("internalFields", [
    list("internalFlags", []),
    leaf("remoteAddrBitmap", "0000000000000000"),
    list("capabilities", []),
    leaf("fqbnVersion", "0"),
    leaf("fqbnName", ""),
    list(
      "terminatingFiltersInfo",
      e.internalFields.terminatingFiltersInfo.map((t) =>
        node("item", [
          leaf("filterId", t.filterId.toString()),
          leaf("subLayer", formatKey(t.subLayer)),
          leaf("actionType", t.actionType),
        ]),
      ),
    ),
  ]);
}

/** One net event as netsh's `<item>` (H50). */
export function netEventElement(e: NetEvent): XmlElement {
  const children: XmlElement[] = [header(e.header), leaf("type", e.type)];
  if (e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP") {
    const d = e.classifyDrop;
    children.push(
      node("classifyDrop", [
        leaf("filterId", d.filterId.toString()),
        leaf("layerId", String(d.layerId)),
        leaf("reauthReason", String(d.reauthReason)),
        leaf("originalProfile", String(d.originalProfile)),
        leaf("currentProfile", String(d.currentProfile)),
        leaf("msFwpDirection", d.msFwpDirection),
        leaf("isLoopback", String(d.isLoopback)),
        blob("vSwitchId", d.vSwitchId),
        leaf("vSwitchSourcePort", String(d.vSwitchSourcePort)),
        leaf("vSwitchDestinationPort", String(d.vSwitchDestinationPort)),
      ]),
    );
  } else if (e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW") {
    const a = e.classifyAllow;
    children.push(
      node("classifyAllow", [
        leaf("filterId", a.filterId.toString()),
        leaf("layerId", String(a.layerId)),
        leaf("reauthReason", String(a.reauthReason)),
        leaf("originalProfile", String(a.originalProfile)),
        leaf("currentProfile", String(a.currentProfile)),
      ]),
    );
  }
  const internal = internalFields(e);
  if (internal !== undefined) children.push(internal);
  return node("item", children);
}

export interface NetEventsXmlOptions {
  /** Line ends (default CRLF, as netsh writes). */
  readonly eol?: "\r\n" | "\n";
}

/** Net events (oldest first) as the text of a netsh netevents.xml: `<netEvents numItems="n">` with one `<item>` each. */
export function formatNetEventsXml(events: readonly NetEvent[], options: NetEventsXmlOptions = {}): string {
  const layout: XmlLayout = {
    bom: true,
    declaration: '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    eol: options.eol ?? "\r\n",
    finalNewline: true,
  };
  return writeXmlForest({ layout, elements: [list("netEvents", events.map(netEventElement))] });
}
