import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { getLayer, isFwpError, parseSid } from "../../fwp/index.ts";
import { NetshError } from "./error.ts";
import type { NetshDocument } from "./model.ts";
import { netshCallouts, netshFilters } from "./model.ts";
import { parseNetshXml } from "./read.ts";
import { formatNetshXml } from "./write.ts";
import { parseXmlForest, type XmlElement } from "./xml.ts";

const DIR = new URL("../../../fixtures/wfp-state/", import.meta.url);
const FILES = ["keploy__wfpstate.xml", "le_voile__filters.xml", "libgrabber__wfpfilters.xml"] as const;
const raw = (f: string): string => readFileSync(new URL(f, DIR), "utf8");
const TEXT = Object.fromEntries(FILES.map((f) => [f, raw(f)])) as Record<(typeof FILES)[number], string>;
const DOCS = new Map<string, NetshDocument>(FILES.map((f) => [f, parseNetshXml(TEXT[f])]));
const doc = (f: (typeof FILES)[number]): NetshDocument => DOCS.get(f) as NetshDocument;

/** Counts of objects by regex over the raw XML, independent of the parser. */
function rawCounts(text: string): { filters: number; sublayers: number; providers: number; callouts: number } {
  const count = (re: RegExp, s: string): number => (s.match(re) ?? []).length;
  const section = (name: string): string => {
    const start = text.search(new RegExp(`\\n\\t<${name}[ >]`));
    if (start < 0) return "";
    return text.slice(start, text.indexOf(`\n\t</${name}>`, start));
  };
  return {
    filters: count(/<filterKey>/g, text),
    sublayers: count(/<subLayerKey>/g, section("subLayers")),
    providers: count(/<serviceName[>/]/g, section("providers")),
    callouts: count(/<calloutId>/g, text),
  };
}

/**
 * Content comparison of two netsh files as parsed trees: element names, attributes, order and text must be
 * equal; ignored are the byte-order mark, the XML declaration, line ends, indentation (whitespace-only
 * text between elements) and `<a/>` versus `<a></a>`.
 */
function sameContent(a: readonly XmlElement[], b: readonly XmlElement[], path = ""): void {
  assert.equal(a.length, b.length, `child count at ${path}`);
  a.forEach((x, i) => {
    const y = b[i] as XmlElement;
    const here = `${path}/${x.name}[${i}]`;
    assert.equal(x.name, y.name, here);
    assert.deepEqual(x.attributes, y.attributes, here);
    assert.equal(x.text, y.text, here);
    sameContent(x.children, y.children, here);
  });
}

describe("netsh dumps: import and round trip (issue 4 item 6)", () => {
  for (const f of FILES) {
    test(`H48: ${f}: parse then format gives the original, byte for byte`, () => {
      assert.equal(formatNetshXml(doc(f)), TEXT[f]);
    });

    test(`${f}: parse then format is equal in content, also after the layout is changed`, () => {
      // Strip the BOM and swap line ends: the content must survive, and the new layout is kept.
      const relaid = TEXT[f].replace(/^\ufeff/, "").replace(/\r?\n/g, TEXT[f].includes("\r\n") ? "\n" : "\r\n");
      const again = formatNetshXml(parseNetshXml(relaid));
      assert.equal(again, relaid);
      sameContent(parseXmlForest(again).elements, parseXmlForest(TEXT[f]).elements);
    });

    test(`H48/H49: ${f}: format then parse is lossless`, () => {
      assert.deepEqual(parseNetshXml(formatNetshXml(doc(f))), doc(f));
    });

    test(`H48: ${f}: holds exactly as many filters, sublayers, providers and callouts as the file`, () => {
      const expected = rawCounts(TEXT[f]);
      const d = doc(f);
      assert.equal(netshFilters(d).length, expected.filters);
      assert.equal(d.subLayers?.length ?? 0, expected.sublayers);
      assert.equal(d.providers?.length ?? 0, expected.providers);
      assert.equal(netshCallouts(d).length, expected.callouts);
    });
  }

  test("the filter counts match SOURCES.md", () => {
    assert.equal(netshFilters(doc("keploy__wfpstate.xml")).length, 1254);
    assert.equal(netshFilters(doc("le_voile__filters.xml")).length, 286);
    assert.equal(netshFilters(doc("libgrabber__wfpfilters.xml")).length, 794);
  });

  test("keys are unique per object type and filter ids are unique", () => {
    for (const f of FILES) {
      const filters = netshFilters(doc(f));
      assert.equal(new Set(filters.map((x) => x.filterKey)).size, filters.length, f);
      assert.equal(new Set(filters.map((x) => x.filterId)).size, filters.length, f);
    }
  });
});

describe("netsh dumps: what the typed document holds", () => {
  test("H48: show state: layers with fields, the second top-level element, sessions and typed keys", () => {
    const d = doc("keploy__wfpstate.xml");
    assert.equal(d.kind, "state");
    assert.equal(d.layout.bom, true);
    assert.equal(d.layout.eol, "\n");
    assert.equal(d.timeStamp, "2024-10-22T20:48:53.891Z");
    assert.deepEqual(
      d.trailing.map((e) => e.name),
      ["firewallState"],
    );
    const layers = d.layers ?? [];
    assert.equal(layers.length, 99);
    const first = layers[0];
    assert.equal(first?.layerKey, getLayer("FWPM_LAYER_INBOUND_IPPACKET_V4").key);
    assert.equal(first?.layerId, 0);
    assert.ok((first?.fields.length ?? 0) > 0);
    // Layers the reference tables do not know are defined by the dump and printed by GUID.
    assert.ok(layers.some((l) => l.layerKey === "29243af8-ecaf-4436-a44e-f9fb7070aa04"));
    const dynamic = (d.sessions ?? []).filter((s) => (s.flags & 1) !== 0);
    assert.equal(dynamic.length, 5);
    assert.equal(d.sessions?.[0]?.sid, "S-1-5-20");
    assert.equal(d.sessions?.[1]?.kernelMode, true);
    const wsh = d.subLayers?.find((s) => s.displayData.name === "WFP Built-in MPSSVC Windows Firewall Sublayer");
    assert.ok(wsh !== undefined);
  });

  test("H49: show filters (fr-FR): localized names, weights and effective weights as Windows computed them", () => {
    const d = doc("le_voile__filters.xml");
    assert.equal(d.kind, "filters");
    assert.equal(d.layout.eol, "\r\n");
    const f0 = netshFilters(d)[0];
    assert.equal(f0?.filterKey, "2d68f302-3473-400e-9a0f-ac1ce00d9639");
    assert.equal(f0?.displayData.name, "Stream Callout");
    assert.deepEqual(f0?.weight, { type: "FWP_EMPTY" });
    assert.equal(f0?.effectiveWeight, 0n);
    assert.equal(f0?.filterId, 66951n);
    assert.deepEqual(f0?.context, { rawContext: 0n });
    assert.equal(f0?.action.type, "FWP_ACTION_CALLOUT_TERMINATING");
    assert.equal(f0?.action.key, "8f363438-3c90-11f1-a8e6-345a6004fd68");
    assert.ok(netshFilters(d).some((f) => f.displayData.name === "Filtre de démarrage"));
    // A UINT8 weight w gives an effective weight with w in the top 4 bits (SOURCES.md).
    for (const f of netshFilters(d)) {
      if (f.weight.type === "FWP_UINT8") assert.equal(f.effectiveWeight >> 60n, BigInt(f.weight.value), f.filterKey);
      if (f.weight.type === "FWP_UINT64") assert.equal(f.effectiveWeight, f.weight.value, f.filterKey);
    }
  });

  test("H49: condition values: dotted-quad ranges on address fields, app-id blobs, SIDs, SDDL", () => {
    const all = FILES.flatMap((f) => netshFilters(doc(f)).flatMap((x) => x.conditions));
    const range = all.find(
      (c) => c.conditionValue.type === "FWP_RANGE_TYPE" && c.conditionValue.valueLow.type === "FWP_UINT32",
    );
    assert.ok(range !== undefined && range.conditionValue.type === "FWP_RANGE_TYPE");
    assert.ok(
      range.conditionValue.valueLow.type === "FWP_UINT32" && range.conditionValue.valueHigh.type === "FWP_UINT32",
    );
    assert.ok(range.conditionValue.valueLow.value <= range.conditionValue.valueHigh.value);
    const blob = all.find((c) => c.conditionValue.type === "FWP_BYTE_BLOB_TYPE");
    assert.ok(blob?.conditionValue.type === "FWP_BYTE_BLOB_TYPE");
    assert.equal(blob.conditionValue.value.length % 2, 0);
    const sid = all.find((c) => c.conditionValue.type === "FWP_SID");
    assert.ok(sid?.conditionValue.type === "FWP_SID");
    const sd = all.find((c) => c.conditionValue.type === "FWP_SECURITY_DESCRIPTOR_TYPE");
    assert.ok(sd?.conditionValue.type === "FWP_SECURITY_DESCRIPTOR_TYPE" && "sddl" in sd.conditionValue);
    assert.match(sd.conditionValue.sddl, /^(O:|D:)/);
    assert.deepEqual(parseSid("S-1-0-0").length, 12);
  });

  test("H48/H49: flags: unpublished names are kept by name, unknown bits as hex", () => {
    const filters = netshFilters(doc("keploy__wfpstate.xml"));
    assert.ok(filters.some((f) => f.extraFlags.includes("FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN")));
    const callouts = netshCallouts(doc("keploy__wfpstate.xml"));
    // 0x3E0 printed as "000003E0" after FWP_CALLOUT_FLAG_ALLOW_OFFLOAD and FWPM_CALLOUT_FLAG_REGISTERED.
    assert.ok(callouts.some((c) => c.flags === (0x2 | 0x40000 | 0x3e0)));
  });
});

describe("netsh dumps: precise errors", () => {
  const base = TEXT["le_voile__filters.xml"];
  /** Replaces the n-th (0-based) occurrence of `from`. */
  function mutate(text: string, from: string, to: string, n = 0): string {
    let at = -1;
    for (let i = 0; i <= n; i++) at = text.indexOf(from, at + 1);
    assert.ok(at >= 0, `no occurrence ${n} of ${from}`);
    return text.slice(0, at) + to + text.slice(at + from.length);
  }
  function fails(text: string, code: string, path: string | RegExp): void {
    assert.throws(
      () => parseNetshXml(text),
      (e: unknown) => {
        assert.ok(e instanceof NetshError || isFwpError(e), String(e));
        assert.equal((e as { code: string }).code, code, String(e));
        const p = (e as { path: string }).path;
        if (typeof path === "string") assert.equal(p, path);
        else assert.match(p, path);
        return true;
      },
    );
  }

  test("malformed XML names the line", () => {
    fails(base.slice(0, 5000), "NETSH_MALFORMED_XML", /^line \d+, column \d+$/);
    fails(mutate(base, "</displayData>", "</display>"), "NETSH_MALFORMED_XML", /^line 9, column 4$/);
    fails("", "NETSH_MALFORMED_XML", "(document)");
  });

  test("a root that is not netsh output is refused", () => {
    fails('<?xml version="1.0"?>\n<policy/>\n', "NETSH_NOT_NETSH", "policy");
  });

  test("an unknown layer name → FWP_E_LAYER_NOT_FOUND at its path", () => {
    fails(
      mutate(base, "FWPM_LAYER_OUTBOUND_IPPACKET_V4<", "FWPM_LAYER_NO_SUCH_LAYER<"),
      "FWP_E_LAYER_NOT_FOUND",
      "wfpdiag/filters/item[2]/layerKey",
    );
    fails(
      mutate(base, "<layerKey>FWPM_LAYER_INBOUND_IPPACKET_V4<", "<layerKey>{12345678-1234-1234-1234-123456789abc}<"),
      "FWP_E_LAYER_NOT_FOUND",
      "wfpdiag/filters/item[0]/layerKey",
    );
  });

  test("an unknown condition field → FWP_E_CONDITION_NOT_FOUND at its path", () => {
    const text = mutate(base, "<fieldKey>FWPM_CONDITION_", "<fieldKey>FWPM_CONDITION_NOPE_");
    assert.throws(
      () => parseNetshXml(text),
      (e) => isFwpError(e, "FWP_E_CONDITION_NOT_FOUND") && /filterCondition\/item\[0\]\/fieldKey$/.test(e.path ?? ""),
    );
  });

  test("bad values: out of range, not a number, unknown type, unknown flag, unknown match type", () => {
    const m = /<conditionValue>\s*<type>FWP_UINT8<\/type>\s*<uint8>/.exec(base);
    assert.ok(m !== null);
    const firstUint8 = m.index + m[0].length - "<uint8>".length;
    const at = base.lastIndexOf("<item>\r\n\t\t\t<filterKey>", firstUint8);
    const index = (base.slice(0, at).match(/\t\t<item>\r\n\t\t\t<filterKey>/g) ?? []).length;
    const prefix = `wfpdiag/filters/item[${index}]/filterCondition/item[`;
    const value = base.slice(firstUint8, base.indexOf("</uint8>", firstUint8) + 8);
    const check = (to: string, code: string, tail: RegExp) =>
      fails(
        base.slice(0, firstUint8) + to + base.slice(firstUint8 + value.length),
        code,
        new RegExp(`^${prefix.replace(/[[\]/]/g, "\\$&")}\\d+\\]/${tail.source}$`),
      );
    check("<uint8>300</uint8>", "FWP_E_OUT_OF_BOUNDS", /conditionValue\/uint8/);
    check("<uint8>six</uint8>", "NETSH_BAD_VALUE", /conditionValue\/uint8/);
    check("<uint16>6</uint16>", "NETSH_UNKNOWN_ELEMENT", /conditionValue\/uint16/);
    fails(
      mutate(base, "<type>FWP_EMPTY</type>", "<type>FWP_NOT_A_TYPE</type>"),
      "FWP_E_INVALID_ENUMERATOR",
      "wfpdiag/filters/item[0]/weight/type",
    );
    fails(
      mutate(base, "<item>FWPM_FILTER_FLAG_", "<item>FWPM_FILTER_FLAG_BOGUS_"),
      "FWP_E_INVALID_FLAGS",
      /\/flags\/item\[0\]$/,
    );
    fails(
      mutate(base, "<matchType>FWP_MATCH_EQUAL<", "<matchType>FWP_MATCH_SORT_OF<"),
      "FWP_E_INVALID_ENUMERATOR",
      /\/matchType$/,
    );
    fails(
      mutate(base, "<type>FWP_ACTION_CALLOUT_TERMINATING<", "<type>FWP_ACTION_MAYBE<"),
      "FWP_E_INVALID_ACTION_TYPE",
      "wfpdiag/filters/item[0]/action/type",
    );
    fails(mutate(base, "<filterId>66951<", "<filterId>-1<"), "NETSH_BAD_VALUE", "wfpdiag/filters/item[0]/filterId");
  });

  test("structure: unexpected, missing and miscounted elements", () => {
    fails(mutate(base, "<reserved/>", "<reserved/><extra/>"), "NETSH_UNKNOWN_ELEMENT", "wfpdiag/filters/item[0]/extra");
    fails(mutate(base, "\t\t\t<reserved/>\r\n", ""), "NETSH_UNKNOWN_ELEMENT", "wfpdiag/filters/item[0]/filterId");
    fails(
      mutate(base, '<filterCondition numItems="', '<filterCondition numItems="9'),
      "NETSH_BAD_VALUE",
      /\/filterCondition$/,
    );
    fails(
      mutate(
        base,
        "<weight>\r\n\t\t\t\t<type>FWP_EMPTY</type>\r\n\t\t\t</weight>",
        "<weight>\r\n\t\t\t\t<type>FWP_UINT32</type>\r\n\t\t\t\t<uint32>1</uint32>\r\n\t\t\t</weight>",
      ),
      "FWP_E_INVALID_WEIGHT",
      "wfpdiag/filters/item[0]/weight",
    );
  });
});
