/**
 * Reading net events that Windows wrote (wfp-semantics.md H48, H50): `netsh wfp show netevents`'s
 * netevents.xml (`<netEvents>` with one `<item>` per event), bare `<netEvent>` elements (as Microsoft's
 * troubleshooting pages quote them), or a capture's wfpdiag.xml (`<wfpdiag>` whose `<events>` holds
 * `<netEvent>` items among `filterChange` entries, which are passed over). Each event becomes the same plain
 * record `openwfp show netevents --json` prints for the events openwfp raised, so the two read alike.
 *
 * Reading follows what netsh prints [OBS UWP, G-PSCRIPT]: a header member whose FWPM_NET_EVENT_FLAG_*_SET
 * flag is clear is printed as a zero and read as absent (null); addresses are the V4 or V6 element; the
 * app id's `<data>` is the UTF-16LE NT path; `classifyAllow` may lack msFwpDirection (the direction is then
 * null). Event types are kept by name, newer ones too (H50: builds print other names); members an event
 * type has beyond the header are read for CLASSIFY_DROP and CLASSIFY_ALLOW only. A terminating filter's
 * sublayer is the key as netsh wrote it: a GUID when it names a built-in sublayer or is `{guid}`, else the
 * name itself (Windows' internal FWPP_SUBLAYER_* names have no published GUID).
 * A value that cannot be read is a NetshError (or FwpError) naming its path, e.g.
 * `netEvents/item[3]/header/localAddrV4`.
 */
import { type IpAddress, parseIpAddress } from "../../base/index.ts";
import {
  FWPM_NET_EVENT_FLAG,
  FwpError,
  formatSid,
  layerByRuntimeId,
  parseSid,
  utf16leNulTerminatedToString,
} from "../../fwp/index.ts";
import { parseHex, parseKey, parseUnsigned, parseUnsigned64 } from "./codec.ts";
import { NetshError } from "./error.ts";
import { parseXmlForest, type XmlElement } from "./xml.ts";

/** A net event as `show netevents --json` prints it (docs/cli.md). */
export interface NetEventRecord {
  time: string;
  type: string;
  /** inbound or outbound; null when the event does not say (a classifyAllow without msFwpDirection). */
  direction: string | null;
  ipProtocol: number | null;
  localAddr: string | null;
  remoteAddr: string | null;
  localPort: number | null;
  remotePort: number | null;
  filterId: string | null;
  layerId: number | null;
  layer: string | null;
  appId: string | null;
  userId: string | null;
  terminatingFilters: { filterId: string; sublayer: string; action: string }[];
}

const F = FWPM_NET_EVENT_FLAG;

function child(e: XmlElement, name: string): XmlElement | undefined {
  return e.children.find((c) => c.name === name);
}

function textOf(e: XmlElement, name: string): string | undefined {
  const c = child(e, name);
  return c === undefined ? undefined : c.text.trim();
}

function required(e: XmlElement, name: string, path: string): XmlElement {
  const c = child(e, name);
  if (c === undefined) throw new NetshError("NETSH_MISSING_ELEMENT", `<${name}> is missing.`, `${path}/${name}`);
  return c;
}

function address(text: string, version: 4 | 6, path: string): IpAddress {
  let a: IpAddress;
  try {
    a = parseIpAddress(text);
  } catch {
    throw new NetshError("NETSH_BAD_VALUE", `Not an IPv${version} address: ${JSON.stringify(text)}.`, path);
  }
  if (a.version !== version) throw new NetshError("NETSH_BAD_VALUE", `Not an IPv${version} address: ${text}.`, path);
  return a;
}

function sidText(text: string | undefined, path: string): string | null {
  if (text === undefined || text === "") return null;
  return formatSid(parseSid(text, path));
}

function flagBits(header: XmlElement, path: string): number | undefined {
  const flags = child(header, "flags");
  if (flags === undefined) return undefined;
  let bits = 0;
  flags.children.forEach((item, i) => {
    const name = item.text.trim();
    const v = (F as Readonly<Record<string, number>>)[name];
    if (v === undefined || !Object.hasOwn(F, name))
      throw new NetshError("NETSH_BAD_VALUE", `Unknown net event flag ${name}.`, `${path}/flags/item[${i}]`);
    bits |= v;
  });
  return bits;
}

interface Header {
  time: string;
  ipProtocol: number | null;
  localAddr: string | null;
  remoteAddr: string | null;
  localPort: number | null;
  remotePort: number | null;
  appId: string | null;
  userId: string | null;
}

function readHeader(e: XmlElement, path: string): Header {
  const h = required(e, "header", path);
  const hp = `${path}/header`;
  const stamp = textOf(h, "timeStamp");
  const ms = stamp === undefined ? Number.NaN : Date.parse(stamp);
  if (stamp === undefined || !/^\d{4}-\d\d-\d\dT/.test(stamp) || Number.isNaN(ms))
    throw new NetshError(
      "NETSH_BAD_VALUE",
      `Not an ISO 8601 time stamp: ${JSON.stringify(stamp ?? "")}.`,
      `${hp}/timeStamp`,
    );
  // Without a flags list every member that is there counts as set.
  const flags = flagBits(h, hp);
  const set = (bit: number): boolean => flags === undefined || (flags & bit) !== 0;
  const number = (name: string, max: number, bit: number): number | null => {
    const t = textOf(h, name);
    if (t === undefined || !set(bit)) return null;
    return parseUnsigned(t, max, `${hp}/${name}`);
  };
  const version = textOf(h, "ipVersion");
  let localAddr: string | null = null;
  let remoteAddr: string | null = null;
  for (const [v, local, remote] of [
    [4, "localAddrV4", "remoteAddrV4"],
    [6, "localAddrV6.byteArray16", "remoteAddrV6.byteArray16"],
  ] as const) {
    const l = textOf(h, local);
    const r = textOf(h, remote);
    if (l !== undefined && set(F.FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET))
      localAddr = address(l, v, `${hp}/${local}`).toString();
    if (r !== undefined && set(F.FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET))
      remoteAddr = address(r, v, `${hp}/${remote}`).toString();
  }
  if (version !== undefined && !/^FWP_IP_VERSION_(V4|V6|NONE)$/.test(version))
    throw new NetshError("NETSH_BAD_VALUE", `Unknown ipVersion ${version}.`, `${hp}/ipVersion`);
  let appId: string | null = null;
  const app = child(h, "appId");
  const data = app === undefined ? undefined : textOf(app, "data");
  if (data !== undefined && data !== "" && set(F.FWPM_NET_EVENT_FLAG_APP_ID_SET)) {
    const bytes = parseHex(data, `${hp}/appId/data`);
    const s = utf16leNulTerminatedToString(bytes);
    if (s === undefined)
      throw new NetshError("NETSH_BAD_VALUE", "The app id is not a NUL-terminated UTF-16LE path.", `${hp}/appId/data`);
    appId = s;
  }
  return {
    time: new Date(ms).toISOString(),
    ipProtocol: number("ipProtocol", 255, F.FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET),
    localAddr,
    remoteAddr,
    localPort: number("localPort", 65535, F.FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET),
    remotePort: number("remotePort", 65535, F.FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET),
    appId,
    userId: set(F.FWPM_NET_EVENT_FLAG_USER_ID_SET) ? sidText(textOf(h, "userId"), `${hp}/userId`) : null,
  };
}

function readTerminating(e: XmlElement, path: string): NetEventRecord["terminatingFilters"] {
  const internal = child(e, "internalFields");
  const list = internal === undefined ? undefined : child(internal, "terminatingFiltersInfo");
  if (list === undefined) return [];
  const base = `${path}/internalFields/terminatingFiltersInfo`;
  return list.children.map((item, i) => {
    const p = `${base}/item[${i}]`;
    const sub = textOf(item, "subLayer") ?? "";
    let sublayer = sub;
    try {
      sublayer = parseKey(sub, "sublayer", `${p}/subLayer`) ?? "";
    } catch (e) {
      // An unknown name (FwpError) stays a name: Windows' internal FWPP_SUBLAYER_* have no published GUID.
      // A malformed `{guid}` (NetshError) is an error.
      if (!(e instanceof FwpError)) throw e;
    }
    return {
      filterId: parseUnsigned64(textOf(item, "filterId") ?? "", `${p}/filterId`).toString(),
      sublayer,
      action: textOf(item, "actionType") ?? "",
    };
  });
}

function readEvent(e: XmlElement, path: string): NetEventRecord {
  const h = readHeader(e, path);
  const type = textOf(e, "type");
  if (type === undefined || !/^FWPM_NET_EVENT_TYPE_[A-Z0-9_]+$/.test(type))
    throw new NetshError("NETSH_BAD_VALUE", `Not a net event type: ${JSON.stringify(type ?? "")}.`, `${path}/type`);
  const bodyName =
    type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP"
      ? "classifyDrop"
      : type === "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW"
        ? "classifyAllow"
        : undefined;
  let filterId: string | null = null;
  let layerId: number | null = null;
  let direction: string | null = null;
  if (bodyName !== undefined) {
    const body = required(e, bodyName, path);
    const bp = `${path}/${bodyName}`;
    filterId = parseUnsigned64(textOf(body, "filterId") ?? "", `${bp}/filterId`).toString();
    layerId = parseUnsigned(textOf(body, "layerId") ?? "", 0xffff, `${bp}/layerId`);
    const d = textOf(body, "msFwpDirection");
    if (d === "MS_FWP_DIRECTION_IN") direction = "inbound";
    else if (d === "MS_FWP_DIRECTION_OUT") direction = "outbound";
    else if (d !== undefined)
      throw new NetshError("NETSH_BAD_VALUE", `Unknown msFwpDirection ${d}.`, `${bp}/msFwpDirection`);
  }
  const layer = layerId === null ? undefined : layerByRuntimeId(layerId);
  return {
    time: h.time,
    type,
    direction,
    ipProtocol: h.ipProtocol,
    localAddr: h.localAddr,
    remoteAddr: h.remoteAddr,
    localPort: h.localPort,
    remotePort: h.remotePort,
    filterId,
    layerId,
    layer: layer === undefined ? null : (layer.fwpmName ?? layer.fwpsName),
    appId: h.appId,
    userId: h.userId,
    terminatingFilters: readTerminating(e, path),
  };
}

/** The net events of a netevents.xml, of `<netEvent>` elements, or of a capture's wfpdiag.xml, in file order. */
export function parseNetEventsXml(text: string): NetEventRecord[] {
  const forest = parseXmlForest(text);
  const out: NetEventRecord[] = [];
  const events = (list: XmlElement, path: string, names: readonly string[]): void => {
    let n = 0;
    for (const c of list.children) {
      if (!names.includes(c.name)) continue;
      out.push(readEvent(c, `${path}/${c.name}[${n}]`));
      n++;
    }
  };
  let k = 0;
  for (const root of forest.elements) {
    if (root.name === "netEvents") events(root, "netEvents", ["item"]);
    else if (root.name === "netEvent") out.push(readEvent(root, `netEvent[${k++}]`));
    else if (root.name === "wfpdiag") {
      const list = child(root, "events");
      if (list === undefined)
        throw new NetshError(
          "NETSH_MISSING_ELEMENT",
          "This <wfpdiag> holds no <events> (a show filters file, not a capture).",
          "wfpdiag/events",
        );
      events(list, "wfpdiag/events", ["netEvent", "item"]);
    } else {
      throw new NetshError(
        "NETSH_NOT_NETSH",
        `Root <${root.name}> is not <netEvents> (show netevents), <netEvent> or <wfpdiag> with <events> (capture).`,
        root.name,
      );
    }
  }
  return out;
}
