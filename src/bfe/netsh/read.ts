/**
 * netsh XML text → NetshDocument. The reader is strict about what it models — every typed element must
 * be where netsh writes it, in netsh's order (H48, H49), or the error names the element path — and keeps
 * everything else verbatim. Root `<wfpstate>` is a `show state` dump, root `<wfpdiag>` with `<filters>` a
 * `show filters` dump.
 */
import type { Guid } from "../../base/guid.ts";
import { filterActionTypeOf, matchTypeOf } from "../../engine/index.ts";
import {
  FWP_DATA_TYPE,
  FWPM_FIELD_TYPE,
  FWPM_PROVIDER_CONTEXT_TYPE,
  FwpError,
  type FwpValue,
  findCondition,
  isDataTypeName,
  parseSid,
} from "../../fwp/index.ts";
import {
  type ParsedFlags,
  isKnownConditionKey,
  isKnownLayerKey,
  parseBoolean,
  parseFlags,
  parseHex,
  parseIpv6Text,
  parseKey,
  parseRequiredKey,
  parseSigned,
  parseSigned64,
  parseUint32OrAddress,
  parseUnsigned,
  parseUnsigned64,
} from "./codec.ts";
import { NetshError } from "./error.ts";
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
import type {
  NetshCallout,
  NetshConditionValue,
  NetshDisplayData,
  NetshDocument,
  NetshFilter,
  NetshFilterCondition,
  NetshLayer,
  NetshLayerField,
  NetshProvider,
  NetshProviderContext,
  NetshSectionName,
  NetshSession,
  NetshSublayer,
} from "./model.ts";
import { childPath, parseXmlForest, type XmlElement } from "./xml.ts";

/**
 * Layers and fields a `show state` dump defines beyond the reference tables (netsh prints them by GUID,
 * e.g. the undocumented ALE accept-redirect layers); filters and conditions may reference them.
 */
interface Defined {
  readonly layers: Set<Guid>;
  readonly fields: Set<Guid>;
}

function checkLayer(key: Guid, defined: Defined, path: string): void {
  if (!isKnownLayerKey(key) && !defined.layers.has(key)) {
    throw new FwpError("FWP_E_LAYER_NOT_FOUND", { path, detail: `Unknown layer {${key}}.` });
  }
}

/** Walks an element's children in order, as netsh writes them. */
class Children {
  #i = 0;
  constructor(
    readonly element: XmlElement,
    readonly path: string,
  ) {}

  #pathOf(child: XmlElement, index: number): string {
    let n = 0;
    for (let j = 0; j < index; j++) if (this.element.children[j]?.name === "item") n++;
    return childPath(this.path, child.name, n);
  }

  /** The next child if it is called `name`. */
  optional(name: string): [XmlElement, string] | undefined {
    const c = this.element.children[this.#i];
    if (c === undefined || c.name !== name) return undefined;
    const p = this.#pathOf(c, this.#i);
    this.#i++;
    return [c, p];
  }

  /** The next child, which must be called `name`. */
  next(name: string): [XmlElement, string] {
    const got = this.optional(name);
    if (got !== undefined) return got;
    const c = this.element.children[this.#i];
    if (c === undefined) throw new NetshError("NETSH_MISSING_ELEMENT", `Missing <${name}>.`, `${this.path}/${name}`);
    throw new NetshError(
      "NETSH_UNKNOWN_ELEMENT",
      `Unexpected <${c.name}> where <${name}> belongs.`,
      this.#pathOf(c, this.#i),
    );
  }

  /** The next child's text, which must be called `name`. */
  text(name: string): [string, string] {
    const [e, p] = this.next(name);
    return [leafText(e, p), p];
  }

  /** Whatever child comes next (any name), or undefined at the end. */
  any(): [XmlElement, string] | undefined {
    const c = this.element.children[this.#i];
    if (c === undefined) return undefined;
    const p = this.#pathOf(c, this.#i);
    this.#i++;
    return [c, p];
  }

  peekName(): string | undefined {
    return this.element.children[this.#i]?.name;
  }

  end(): void {
    const c = this.element.children[this.#i];
    if (c !== undefined) {
      throw new NetshError("NETSH_UNKNOWN_ELEMENT", `Unexpected <${c.name}>.`, this.#pathOf(c, this.#i));
    }
  }
}

function leafText(e: XmlElement, path: string): string {
  if (e.children.length > 0) throw new NetshError("NETSH_BAD_VALUE", `<${e.name}> must hold text, not elements.`, path);
  return e.text;
}

/** `<x numItems="n"><item>…</item>…</x>`: the items with their paths; numItems must match when present. */
function items(e: XmlElement, path: string): [XmlElement, string][] {
  const out: [XmlElement, string][] = [];
  e.children.forEach((c, i) => {
    if (c.name !== "item") {
      throw new NetshError("NETSH_UNKNOWN_ELEMENT", `Unexpected <${c.name}> in a list.`, `${path}/${c.name}`);
    }
    out.push([c, childPath(path, "item", i)]);
  });
  const n = e.attributes.numItems;
  if (n !== undefined && Number(n) !== out.length) {
    throw new NetshError("NETSH_BAD_VALUE", `numItems="${n}" but ${out.length} items.`, path);
  }
  if (e.children.length === 0 && e.text.trim() !== "") {
    throw new NetshError("NETSH_BAD_VALUE", "A list holds <item> elements, not text.", path);
  }
  return out;
}

function itemTexts(e: XmlElement, path: string): string[] {
  return items(e, path).map(([c, p]) => leafText(c, p));
}

function displayData(c: Children): NetshDisplayData {
  const [e, p] = c.next("displayData");
  const d = new Children(e, p);
  const name = d.text("name")[0];
  const description = d.text("description")[0];
  d.end();
  return { name, description };
}

function flagsOf(c: Children, names: FlagNames): ParsedFlags {
  const [e, p] = c.next("flags");
  return parseFlags(itemTexts(e, p), names, p);
}

/** `<providerData/>` or `<providerData><data>hex</data><asString>…</asString></providerData>`. */
function blob(c: Children, name: string): Uint8Array | null {
  const [e, p] = c.next(name);
  if (e.children.length === 0) {
    if (e.text !== "") throw new NetshError("NETSH_BAD_VALUE", `<${name}> holds <data> and <asString>.`, p);
    return null;
  }
  const b = new Children(e, p);
  const [hex, hp] = b.text("data");
  b.text("asString");
  b.end();
  return parseHex(hex, hp);
}

function key(c: Children, name: string, kind: Parameters<typeof parseKey>[1]): Guid | null {
  const [t, p] = c.text(name);
  return parseKey(t, kind, p);
}

function requiredKey(c: Children, name: string, kind: Parameters<typeof parseKey>[1]): Guid {
  const [t, p] = c.text(name);
  return parseRequiredKey(t, kind, p);
}

function enumName(text: string, names: Readonly<Record<string, unknown>>, path: string): string {
  if (!Object.hasOwn(names, text))
    throw new FwpError("FWP_E_INVALID_ENUMERATOR", { path, detail: `Unknown value ${text}.` });
  return text;
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** A value of FWP_VALUE0 form: `<type>` then the member element (none for FWP_EMPTY). */
function readValue(e: XmlElement, path: string, asAddress: boolean): FwpValue {
  const c = new Children(e, path);
  const [type, tp] = c.text("type");
  if (!isDataTypeName(type))
    throw new FwpError("FWP_E_INVALID_ENUMERATOR", { path: tp, detail: `Unknown data type ${type}.` });
  const v = readMember(c, type, asAddress);
  if (v.type === "FWP_RANGE_TYPE" || v.type === "FWP_V4_ADDR_MASK" || v.type === "FWP_V6_ADDR_MASK" || "sddl" in v) {
    throw new FwpError("FWP_E_TYPE_MISMATCH", { path: tp, detail: `${type} cannot appear here.` });
  }
  c.end();
  return v;
}

function readMember(c: Children, type: string, asAddress: boolean): NetshConditionValue {
  switch (type) {
    case "FWP_EMPTY":
      return { type };
    case "FWP_UINT8": {
      const [t, p] = c.text("uint8");
      return { type, value: parseUnsigned(t, 0xff, p) };
    }
    case "FWP_UINT16": {
      const [t, p] = c.text("uint16");
      return { type, value: parseUnsigned(t, 0xffff, p) };
    }
    case "FWP_UINT32": {
      const [t, p] = c.text("uint32");
      return { type, value: asAddress ? parseUint32OrAddress(t, p) : parseUnsigned(t, 0xffffffff, p) };
    }
    case "FWP_UINT64": {
      const [t, p] = c.text("uint64");
      return { type, value: parseUnsigned64(t, p) };
    }
    case "FWP_INT8": {
      const [t, p] = c.text("int8");
      return { type, value: parseSigned(t, -0x80, 0x7f, p) };
    }
    case "FWP_INT16": {
      const [t, p] = c.text("int16");
      return { type, value: parseSigned(t, -0x8000, 0x7fff, p) };
    }
    case "FWP_INT32": {
      const [t, p] = c.text("int32");
      return { type, value: parseSigned(t, -0x80000000, 0x7fffffff, p) };
    }
    case "FWP_INT64": {
      const [t, p] = c.text("int64");
      return { type, value: parseSigned64(t, p) };
    }
    case "FWP_BYTE_ARRAY16_TYPE": {
      const [t, p] = c.text("byteArray16");
      return { type, value: parseIpv6Text(t, p) };
    }
    case "FWP_BYTE_BLOB_TYPE": {
      const value = blob(c, "byteBlob");
      return { type, value: value ?? new Uint8Array(0) };
    }
    case "FWP_SID": {
      const [t, p] = c.text("sid");
      try {
        return { type, value: parseSid(t) };
      } catch {
        throw new NetshError("NETSH_BAD_VALUE", `Not a SID: ${JSON.stringify(t)}.`, p);
      }
    }
    case "FWP_SECURITY_DESCRIPTOR_TYPE": {
      const [t, p] = c.text("sd");
      if (t === "") throw new NetshError("NETSH_BAD_VALUE", "Empty security descriptor.", p);
      return { type, sddl: t };
    }
    case "FWP_UNICODE_STRING_TYPE": {
      const [t] = c.text("unicodeString");
      return { type, value: t };
    }
    case "FWP_V4_ADDR_MASK": {
      const [e, p] = c.next("v4AddrMask");
      const m = new Children(e, p);
      const [a, ap] = m.text("addr");
      const [k, kp] = m.text("mask");
      m.end();
      return { type, addr: parseUint32OrAddress(a, ap), mask: parseUint32OrAddress(k, kp) };
    }
    case "FWP_V6_ADDR_MASK": {
      const [e, p] = c.next("v6AddrMask");
      const m = new Children(e, p);
      const [a, ap] = m.text("addr");
      const [k, kp] = m.text("prefixLength");
      m.end();
      return { type, addr: parseIpv6Text(a, ap), prefixLength: parseUnsigned(k, 128, kp) };
    }
    case "FWP_RANGE_TYPE": {
      const [e, p] = c.next("rangeValue");
      const r = new Children(e, p);
      const [lo, lp] = r.next("valueLow");
      const [hi, hp] = r.next("valueHigh");
      r.end();
      return { type, valueLow: readValue(lo, lp, asAddress), valueHigh: readValue(hi, hp, asAddress) };
    }
    default:
      throw new NetshError("NETSH_BAD_VALUE", `Values of type ${type} are not supported in netsh files.`, c.path);
  }
}

/** Whether UINT32 values of this condition are IPv4 addresses (printed dotted-quad, H49). */
export function isAddressField(fieldKey: Guid): boolean {
  return findCondition(fieldKey)?.conditionValueTypes.includes("FWP_V4_ADDR_MASK") ?? false;
}

function readCondition(e: XmlElement, path: string, defined: Defined): NetshFilterCondition {
  const c = new Children(e, path);
  const fieldKey = requiredKey(c, "fieldKey", "condition");
  if (!isKnownConditionKey(fieldKey) && !defined.fields.has(fieldKey)) {
    throw new FwpError("FWP_E_CONDITION_NOT_FOUND", {
      path: `${path}/fieldKey`,
      detail: `Unknown field {${fieldKey}}.`,
    });
  }
  const [mt, mp] = c.text("matchType");
  const matchType = matchTypeOf(mt);
  if (matchType === undefined)
    throw new FwpError("FWP_E_INVALID_ENUMERATOR", { path: mp, detail: `Unknown match type ${mt}.` });
  const [ve, vp] = c.next("conditionValue");
  const vc = new Children(ve, vp);
  const [type, tp] = vc.text("type");
  if (!isDataTypeName(type))
    throw new FwpError("FWP_E_INVALID_ENUMERATOR", { path: tp, detail: `Unknown data type ${type}.` });
  const conditionValue = readMember(vc, type, isAddressField(fieldKey));
  vc.end();
  c.end();
  return { fieldKey, matchType, conditionValue };
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

function readFilter(e: XmlElement, path: string, defined: Defined): NetshFilter {
  const c = new Children(e, path);
  const filterKey = requiredKey(c, "filterKey", "any");
  const dd = displayData(c);
  const { flags, extraFlags } = flagsOf(c, FILTER_FLAG_NAMES);
  const providerKey = key(c, "providerKey", "provider");
  const providerData = blob(c, "providerData");
  const layerKey = requiredKey(c, "layerKey", "layer");
  checkLayer(layerKey, defined, `${path}/layerKey`);
  const subLayerKey = requiredKey(c, "subLayerKey", "sublayer");
  const [we, wp] = c.next("weight");
  const weight = readValue(we, wp, false);
  if (weight.type !== "FWP_EMPTY" && weight.type !== "FWP_UINT8" && weight.type !== "FWP_UINT64") {
    throw new FwpError("FWP_E_INVALID_WEIGHT", {
      path: wp,
      detail: `A filter weight is FWP_EMPTY, FWP_UINT8 or FWP_UINT64, not ${weight.type}.`,
    });
  }
  const [ce, cp] = c.next("filterCondition");
  const conditions = items(ce, cp).map(([x, p]) => readCondition(x, p, defined));
  const [ae, ap] = c.next("action");
  const a = new Children(ae, ap);
  const [at, atp] = a.text("type");
  if (filterActionTypeOf(at) === undefined) {
    throw new FwpError("FWP_E_INVALID_ACTION_TYPE", { path: atp, detail: `Unknown action ${at}.` });
  }
  const calloutAction = at.startsWith("FWP_ACTION_CALLOUT");
  const member = a.peekName() === "calloutKey" ? "calloutKey" : "filterType";
  const actionKey = key(a, member, calloutAction ? "callout" : "any");
  a.end();
  let context: NetshFilter["context"];
  const raw = c.optional("rawContext");
  if (raw !== undefined) {
    context = { rawContext: parseUnsigned64(leafText(raw[0], raw[1]), raw[1]) };
  } else {
    context = { providerContextKey: requiredKey(c, "providerContextKey", "providerContext") };
  }
  const [rv, rp] = c.next("reserved");
  if (leafText(rv, rp) !== "") throw new NetshError("NETSH_BAD_VALUE", "<reserved> must be empty.", rp);
  const [fid, fidp] = c.text("filterId");
  const filterId = parseUnsigned64(fid, fidp);
  const [ee, ep] = c.next("effectiveWeight");
  const ew = readValue(ee, ep, false);
  if (ew.type !== "FWP_UINT64") {
    throw new FwpError("FWP_E_TYPE_MISMATCH", { path: ep, detail: `effectiveWeight is FWP_UINT64, not ${ew.type}.` });
  }
  c.end();
  return {
    filterKey,
    displayData: dd,
    flags,
    extraFlags,
    providerKey,
    providerData,
    layerKey,
    subLayerKey,
    weight,
    conditions,
    action: { type: at, key: actionKey },
    context,
    filterId,
    effectiveWeight: ew.value,
  };
}

function readCallout(e: XmlElement, path: string, defined: Defined): NetshCallout {
  const c = new Children(e, path);
  const calloutKey = requiredKey(c, "calloutKey", "callout");
  const dd = displayData(c);
  const { flags, extraFlags } = flagsOf(c, CALLOUT_FLAG_NAMES);
  const providerKey = key(c, "providerKey", "provider");
  const providerData = blob(c, "providerData");
  const applicableLayer = requiredKey(c, "applicableLayer", "layer");
  checkLayer(applicableLayer, defined, `${path}/applicableLayer`);
  const [id, ip] = c.text("calloutId");
  c.end();
  return {
    calloutKey,
    displayData: dd,
    flags,
    extraFlags,
    providerKey,
    providerData,
    applicableLayer,
    calloutId: parseUnsigned(id, 0xffffffff, ip),
  };
}

function readLayer(e: XmlElement, path: string, defined: Defined): NetshLayer {
  const outer = new Children(e, path);
  const [le, lp] = outer.next("layer");
  const c = new Children(le, lp);
  const layerKey = requiredKey(c, "layerKey", "layer");
  defined.layers.add(layerKey);
  const dd = displayData(c);
  const { flags, extraFlags } = flagsOf(c, LAYER_FLAG_NAMES);
  const [fe, fp] = c.next("field");
  const fields = items(fe, fp).map(([x, p]): NetshLayerField => {
    const f = new Children(x, p);
    const fieldKey = requiredKey(f, "fieldKey", "condition");
    defined.fields.add(fieldKey);
    const [t, tp] = f.text("type");
    const [d, dp] = f.text("dataType");
    f.end();
    return { fieldKey, type: enumName(t, FWPM_FIELD_TYPE, tp), dataType: enumName(d, FWP_DATA_TYPE, dp) };
  });
  const defaultSubLayerKey = requiredKey(c, "defaultSubLayerKey", "sublayer");
  const [id, ip] = c.text("layerId");
  c.end();
  const [ce, cp] = outer.next("callouts");
  const callouts = items(ce, cp).map(([x, p]) => readCallout(x, p, defined));
  const [fle, flp] = outer.next("filters");
  const filters = items(fle, flp).map(([x, p]) => readFilter(x, p, defined));
  outer.end();
  return {
    layerKey,
    displayData: dd,
    flags,
    extraFlags,
    fields,
    defaultSubLayerKey,
    layerId: parseUnsigned(id, 0xffff, ip),
    callouts,
    filters,
  };
}

function readProvider(e: XmlElement, path: string): NetshProvider {
  const c = new Children(e, path);
  const providerKey = requiredKey(c, "providerKey", "provider");
  const dd = displayData(c);
  const { flags, extraFlags } = flagsOf(c, PROVIDER_FLAG_NAMES);
  const providerData = blob(c, "providerData");
  const [serviceName] = c.text("serviceName");
  c.end();
  return { providerKey, displayData: dd, flags, extraFlags, providerData, serviceName };
}

function readSublayer(e: XmlElement, path: string): NetshSublayer {
  const c = new Children(e, path);
  const subLayerKey = requiredKey(c, "subLayerKey", "sublayer");
  const dd = displayData(c);
  const { flags, extraFlags } = flagsOf(c, SUBLAYER_FLAG_NAMES);
  const providerKey = key(c, "providerKey", "provider");
  const providerData = blob(c, "providerData");
  const [w, wp] = c.text("weight");
  c.end();
  return {
    subLayerKey,
    displayData: dd,
    flags,
    extraFlags,
    providerKey,
    providerData,
    weight: parseUnsigned(w, 0xffff, wp),
  };
}

function readProviderContext(e: XmlElement, path: string): NetshProviderContext {
  const c = new Children(e, path);
  const providerContextKey = requiredKey(c, "providerContextKey", "providerContext");
  const dd = displayData(c);
  const { flags, extraFlags } = flagsOf(c, PROVIDER_CONTEXT_FLAG_NAMES);
  const providerKey = key(c, "providerKey", "provider");
  const providerData = blob(c, "providerData");
  const [t, tp] = c.text("type");
  const type = enumName(t, FWPM_PROVIDER_CONTEXT_TYPE, tp);
  const body = c.peekName() === "providerContextId" ? null : (c.any()?.[0] ?? null);
  const [id, ip] = c.text("providerContextId");
  c.end();
  return {
    providerContextKey,
    displayData: dd,
    flags,
    extraFlags,
    providerKey,
    providerData,
    type,
    body,
    providerContextId: parseUnsigned64(id, ip),
  };
}

function readSession(e: XmlElement, path: string): NetshSession {
  const c = new Children(e, path);
  const sessionKey = requiredKey(c, "sessionKey", "any");
  const dd = displayData(c);
  const { flags, extraFlags } = flagsOf(c, SESSION_FLAG_NAMES);
  const [tw, twp] = c.text("txnWaitTimeoutInMSec");
  const [pid, pp] = c.text("processId");
  const [sid] = c.text("sid");
  const [username] = c.text("username");
  const [km, kp] = c.text("kernelMode");
  c.end();
  return {
    sessionKey,
    displayData: dd,
    flags,
    extraFlags,
    txnWaitTimeoutInMSec: parseUnsigned(tw, 0xffffffff, twp),
    processId: parseUnsigned(pid, 0xffffffff, pp),
    sid,
    username,
    kernelMode: parseBoolean(km, kp),
  };
}

// ---------------------------------------------------------------------------------------------
// Document
// ---------------------------------------------------------------------------------------------

const STATE_SECTIONS: ReadonlySet<string> = new Set([
  "timeStamp",
  "sessions",
  "layers",
  "providers",
  "providerContexts",
  "subLayers",
]);
const FILTERS_SECTIONS: ReadonlySet<string> = new Set(["filters", "providers"]);

/** Parses a `netsh wfp show state` or `show filters` file. Throws NetshError / FwpError naming the path. */
export function parseNetshXml(text: string): NetshDocument {
  const forest = parseXmlForest(text);
  const [root, ...trailing] = forest.elements as [XmlElement, ...XmlElement[]];
  let kind: NetshDocument["kind"];
  if (root.name === "wfpstate") kind = "state";
  else if (root.name === "wfpdiag" && root.children.some((c) => c.name === "filters")) kind = "filters";
  else {
    throw new NetshError(
      "NETSH_NOT_NETSH",
      `Root <${root.name}> is neither <wfpstate> (show state) nor <wfpdiag> with <filters> (show filters).`,
      root.name,
    );
  }
  const typed = kind === "state" ? STATE_SECTIONS : FILTERS_SECTIONS;
  const sections: (NetshSectionName | XmlElement)[] = [];
  const doc: {
    -readonly [K in keyof NetshDocument]: NetshDocument[K];
  } = {
    kind,
    layout: forest.layout,
    timeStamp: null,
    sessions: null,
    layers: null,
    filters: null,
    providers: null,
    providerContexts: null,
    subLayers: null,
    sections,
    trailing,
  };
  const seen = new Set<string>();
  const defined: Defined = { layers: new Set(), fields: new Set() };
  for (const child of root.children) {
    const path = `${root.name}/${child.name}`;
    if (!typed.has(child.name)) {
      sections.push(child);
      continue;
    }
    if (seen.has(child.name)) throw new NetshError("NETSH_UNKNOWN_ELEMENT", `A second <${child.name}>.`, path);
    seen.add(child.name);
    const name = child.name as NetshSectionName;
    sections.push(name);
    switch (name) {
      case "timeStamp":
        doc.timeStamp = leafText(child, path);
        break;
      case "sessions":
        doc.sessions = items(child, path).map(([e, p]) => readSession(e, p));
        break;
      case "layers":
        doc.layers = items(child, path).map(([e, p]) => readLayer(e, p, defined));
        break;
      case "filters":
        doc.filters = items(child, path).map(([e, p]) => readFilter(e, p, defined));
        break;
      case "providers":
        doc.providers = items(child, path).map(([e, p]) => readProvider(e, p));
        break;
      case "providerContexts":
        doc.providerContexts = items(child, path).map(([e, p]) => readProviderContext(e, p));
        break;
      case "subLayers":
        doc.subLayers = items(child, path).map(([e, p]) => readSublayer(e, p));
        break;
    }
  }
  return doc;
}
