/** The generated tables agree with ../shared/reference, entry by entry, and the lookups find them. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  BUILTIN_CALLOUTS,
  BUILTIN_PROVIDER_CONTEXTS,
  BUILTIN_PROVIDERS,
  BUILTIN_SUBLAYERS,
  builtinCalloutByKey,
  builtinProviderByKey,
  builtinSublayerByKey,
  CONDITIONS,
  conditionByKey,
  conditionByName,
  conditionsByKey,
  ENUM_GROUP_ROWS,
  enumName,
  enumNames,
  enumValue,
  FWP_ERRORS,
  FWPM_CALLOUT,
  FWPM_CONDITION,
  FWPM_LAYER,
  FWPM_SUBLAYER,
  FWPS_LAYER,
  fieldIndex,
  findLayer,
  flagNames,
  fwpErrorByHresult,
  getLayer,
  KEYING_MODULES,
  LAYERS,
  layerByFwpmName,
  layerByFwpsName,
  layerByKey,
  layerByRuntimeId,
  layerField,
  layerFields,
  isFwpError,
} from "./index.ts";

const REF = process.env.OPENWFP_REFERENCE_DIR ?? fileURLToPath(new URL("../../../shared/reference/", import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: reference JSON is read untyped and compared field by field.
const read = (name: string): any => JSON.parse(readFileSync(join(REF, name), "utf8"));
const layersJson = read("layers.json");
const fieldsJson = read("fields.json");
const conditionsJson = read("conditions.json");
const enumsJson = read("enums.json");
const errorsJson = read("errors.json");
const sublayersJson = read("sublayers.json");
const providersJson = read("providers.json");

describe("layers agree with layers.json and fields.json", () => {
  it("there are 99 layers, each with its id, names, GUID, discard links, version, direction, family and mode", () => {
    assert.equal(LAYERS.length, 99);
    assert.equal(layersJson.layers.length, 99);
    for (const j of layersJson.layers) {
      const l = LAYERS[j.runtimeId];
      assert.ok(l !== undefined, j.fwpsName);
      assert.deepEqual(
        [l.fwpsName, l.fwpmName, l.key, l.isDiscard, l.discardOf, l.discardLayer, l.ipVersion, l.direction],
        [j.fwpsName, j.fwpmName, j.guid, j.isDiscard, j.discardOf, j.discardLayer, j.ipVersion, j.direction],
      );
      assert.deepEqual(
        [l.family, l.subFamily, l.mode, l.fieldsEnum, l.introducedNtddi],
        [j.family, j.subFamily, j.mode, j.fieldsEnum, j.introducedNtddi],
      );
      assert.equal(l.fields.length, j.fieldCount ?? 0);
    }
  });

  it("every layer's fields are fields.json's, in incomingValue[] order (940 fields in 69 enums)", () => {
    let total = 0;
    const enums = Object.entries(fieldsJson.fieldEnums);
    assert.equal(enums.length, 69);
    for (const l of LAYERS) {
      const enumName = fieldsJson.layers[l.fwpsName].fieldsEnum;
      const expected = enumName === null ? [] : fieldsJson.fieldEnums[enumName].fields;
      assert.deepEqual(
        l.fields.map((f) => [f.index, f.name, f.condition, f.conditionKey, f.dataType, f.fieldType, f.confidence]),
        // biome-ignore lint/suspicious/noExplicitAny: untyped JSON
        expected.map((f: any) => [
          f.index,
          f.name,
          f.condition,
          f.conditionGuid,
          f.dataType,
          f.fieldType,
          f.dataTypeConfidence,
        ]),
        l.fwpsName,
      );
    }
    for (const [, e] of enums) total += (e as { fields: unknown[] }).fields.length;
    assert.equal(total, 940);
    const distinct = new Set(LAYERS.map((l) => l.fields));
    assert.equal(
      [...distinct].reduce((n, f) => n + f.length, 0),
      940,
    );
  });

  it("finds a layer by FWPM name, FWPS name, run-time id and GUID (any case, braces)", () => {
    for (const j of layersJson.layers) {
      const l = layerByRuntimeId(j.runtimeId);
      assert.equal(layerByFwpsName(j.fwpsName), l);
      assert.equal(FWPS_LAYER[j.fwpsName as keyof typeof FWPS_LAYER], j.runtimeId);
      if (j.guid !== null) {
        assert.equal(layerByFwpmName(j.fwpmName), l);
        assert.equal(layerByKey(`{${j.guid.toUpperCase()}}`), l);
        assert.equal(findLayer(j.guid), l);
        assert.equal(FWPM_LAYER[j.fwpmName as keyof typeof FWPM_LAYER], j.guid);
      }
      assert.equal(findLayer(j.fwpsName), l);
      assert.equal(findLayer(j.runtimeId), l);
    }
    assert.equal(findLayer("FWPM_LAYER_NOPE"), undefined);
    assert.equal(findLayer(99), undefined);
    assert.equal(findLayer(-1), undefined);
    assert.equal(layerByKey("00000000-0000-0000-0000-000000000000"), undefined);
    assert.equal(layerByFwpmName("FWPS_LAYER_STREAM_V4"), undefined);
  });

  it("ALE_AUTH_CONNECT_V4 is run-time id 48 and puts IP_REMOTE_PORT at index 7 (live-verified layout)", () => {
    const l = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(l.runtimeId, 48);
    assert.equal(fieldIndex(l, "FWPM_CONDITION_IP_REMOTE_PORT"), 7);
    // The ICMP_CODE alias shares IP_REMOTE_PORT's GUID, so it finds the same field.
    assert.equal(fieldIndex(l, "FWPM_CONDITION_ICMP_CODE"), 7);
    assert.equal(fieldIndex(48, FWPM_CONDITION.FWPM_CONDITION_IP_REMOTE_PORT), 7);
    assert.equal(layerField(l, "FWPM_CONDITION_IP_REMOTE_PORT")?.dataType, "FWP_UINT16");
    assert.equal(fieldIndex(l, "FWPM_CONDITION_ETHER_TYPE"), undefined);
    assert.equal(fieldIndex("FWPS_LAYER_RESERVED_LAYER_9", "FWPM_CONDITION_IP_REMOTE_PORT"), undefined);
    assert.equal(layerFields("FWPS_LAYER_ALE_AUTH_CONNECT_V4_DISCARD"), l.fields);
  });

  it("fieldIndex agrees with fields.json for every field of every layer", () => {
    for (const l of LAYERS) for (const f of l.fields) assert.equal(fieldIndex(l, f.conditionKey), f.index);
  });

  it("an unknown layer is FWP_E_LAYER_NOT_FOUND", () => {
    assert.throws(
      () => layerFields("FWPM_LAYER_NOPE"),
      (e) => isFwpError(e, "FWP_E_LAYER_NOT_FOUND"),
    );
    assert.throws(
      () => getLayer(1000, "filters[0].layerKey"),
      (e) => isFwpError(e) && e.path === "filters[0].layerKey",
    );
  });
});

describe("conditions agree with conditions.json", () => {
  it("there are 154 conditions with GUID, status, types, layers and semantics", () => {
    assert.equal(CONDITIONS.length, 154);
    assert.equal(conditionsJson.conditions.length, 154);
    conditionsJson.conditions.forEach((j: Record<string, unknown>, i: number) => {
      const c = CONDITIONS[i];
      assert.ok(c !== undefined);
      assert.deepEqual(
        [c.name, c.key, c.status, c.aliasOf, c.valueSemantics, c.netEventEnumTemplate],
        [j.name, j.guid, j.status, j.aliasOf ?? null, j.valueSemantics ?? null, j.netEventEnumTemplate === true],
      );
      assert.deepEqual(c.conditionValueTypes, j.conditionValueTypes ?? []);
      assert.deepEqual(c.incomingDataTypes, j.incomingDataTypes ?? []);
      assert.deepEqual(c.validAtLayers, j.validAtLayers ?? []);
      assert.equal(conditionByName(c.name), c);
    });
  });

  it("a GUID names the canonical condition first, then its aliases", () => {
    const port = conditionByKey(FWPM_CONDITION.FWPM_CONDITION_ICMP_TYPE);
    assert.equal(port?.name, "FWPM_CONDITION_IP_LOCAL_PORT");
    assert.deepEqual(
      conditionsByKey(FWPM_CONDITION.FWPM_CONDITION_IP_LOCAL_PORT).map((c) => c.name),
      ["FWPM_CONDITION_IP_LOCAL_PORT", "FWPM_CONDITION_ICMP_TYPE"],
    );
    assert.equal(conditionByName("FWPM_CONDITION_SCOPE_ID")?.key, null);
    assert.equal(conditionByKey("not a guid"), undefined);
  });

  it("validAtLayers is exactly the set of layers whose fields carry the GUID", () => {
    for (const c of CONDITIONS) {
      if (c.key === null) continue;
      const carrying = LAYERS.filter((l) => l.fwpmName !== null && fieldIndex(l, c.key ?? "") !== undefined)
        .map((l) => l.fwpmName)
        .sort();
      assert.deepEqual([...c.validAtLayers].sort(), carrying, c.name);
    }
  });
});

describe("enums agree with enums.json", () => {
  it("83 groups and 634 values, each with its value", () => {
    const groups = Object.entries(enumsJson.groups);
    assert.equal(groups.length, 83);
    assert.equal(ENUM_GROUP_ROWS.length, 83);
    let n = 0;
    for (const [name, g] of groups) {
      const row = ENUM_GROUP_ROWS.find((r) => r.name === name);
      assert.ok(row !== undefined, name);
      // biome-ignore lint/suspicious/noExplicitAny: untyped JSON
      const values = (g as any).values as { name: string; value: number | string; bigint?: boolean }[];
      assert.deepEqual(
        row.values.map((v) => [v.name, v.value]),
        values.map((v) => [v.name, v.bigint === true ? BigInt(v.value) : v.value]),
      );
      for (const v of values) assert.equal(enumValue(v.name), v.bigint === true ? BigInt(v.value) : v.value);
      n += values.length;
    }
    assert.equal(n, 634);
  });

  it("reverse lookups: names of a value, flags of a word", () => {
    assert.equal(enumName("FWP_MATCH_TYPE", 5), "FWP_MATCH_RANGE");
    assert.deepEqual(enumNames("IPPROTO", 0), ["IPPROTO_IP", "IPPROTO_HOPOPTS"]);
    assert.equal(enumName("FWP_ACTION_TYPE", 0x1001), "FWP_ACTION_BLOCK");
    assert.equal(enumName("FWP_DATA_TYPE", 300), undefined);
    assert.equal(enumName("FWPM_WEIGHT", 0x0fffffffffffffffn), "FWPM_AUTO_WEIGHT_MAX");
    const f = flagNames("FWP_CONDITION_FLAG", 0x3 | 0x80000000);
    assert.deepEqual(f.names, ["FWP_CONDITION_FLAG_IS_LOOPBACK", "FWP_CONDITION_FLAG_IS_IPSEC_SECURED"]);
    assert.equal(f.rest, 0x80000000n);
  });
});

describe("errors agree with errors.json", () => {
  it("69 FWP_E_* errors with HRESULT, NTSTATUS and meaning", () => {
    assert.equal(FWP_ERRORS.length, 69);
    errorsJson.errors.forEach((j: Record<string, string | number>, i: number) => {
      const e = FWP_ERRORS[i];
      assert.ok(e !== undefined);
      assert.deepEqual(
        [e.name, e.hresult, e.ntstatusName, e.ntstatus, e.code, e.meaning],
        [j.name, j.value, j.ntstatusName, Number(j.ntstatusHex), j.code, j.meaning],
      );
      assert.equal(fwpErrorByHresult(j.signed as number), e);
    });
  });
});

describe("built-in objects agree with sublayers.json and providers.json", () => {
  it("sublayers, providers, callouts, provider contexts and keying modules with their GUIDs", () => {
    const pairs = <T extends { name: string; key: string }>(list: readonly T[]) => list.map((o) => [o.name, o.key]);
    // biome-ignore lint/suspicious/noExplicitAny: untyped JSON
    const jpairs = (list: any[]) => list.map((o) => [o.name, o.guid]);
    assert.deepEqual(pairs(BUILTIN_SUBLAYERS), jpairs(sublayersJson.sublayers));
    assert.deepEqual(pairs(BUILTIN_PROVIDERS), jpairs(providersJson.providers));
    assert.deepEqual(pairs(BUILTIN_CALLOUTS), jpairs(providersJson.callouts));
    assert.deepEqual(pairs(BUILTIN_PROVIDER_CONTEXTS), jpairs(providersJson.providerContexts));
    assert.deepEqual(pairs(KEYING_MODULES), jpairs(providersJson.keyingModules));
    assert.deepEqual(
      BUILTIN_CALLOUTS.map((c) => c.layer),
      // biome-ignore lint/suspicious/noExplicitAny: untyped JSON
      providersJson.callouts.map((c: any) => c.layer),
    );
  });

  it("a GUID finds the canonical name, not the alias or the docs-only spelling", () => {
    assert.equal(builtinSublayerByKey(FWPM_SUBLAYER.FWPM_SUBLAYER_EDGE_TRAVERSAL)?.name, "FWPM_SUBLAYER_TEREDO");
    assert.equal(builtinSublayerByKey(FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL)?.name, "FWPM_SUBLAYER_UNIVERSAL");
    const dosp = providersJson.providers.find((p: { name: string }) => p.name === "FWPM_PROVIDER_IPSEC_DOS_CONFIG");
    assert.equal(builtinProviderByKey(dosp.guid)?.documentationOnly, true);
    const listen = builtinCalloutByKey(FWPM_CALLOUT.FWPM_CALLOUT_EDGE_TRAVERSAL_ALE_LISTEN_V6);
    assert.equal(listen?.aliasOf, null);
    assert.equal(listen?.layer, "FWPM_LAYER_ALE_AUTH_LISTEN_V6");
  });
});
