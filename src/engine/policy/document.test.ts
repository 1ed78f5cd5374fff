import assert from "node:assert/strict";
import { test } from "node:test";
import {
  appIdFromFileName,
  FWPM_FILTER_FLAG,
  FWPM_SUBLAYER,
  FwpError,
  type FwpErrorName,
  fieldIndex,
  getLayer,
  IPPROTO,
} from "../../fwp/index.ts";
import { SeededRng } from "../../base/rng.ts";
import { parsePolicyDocument } from "./document.ts";
import { parsePolicyDocumentReference } from "./document-reference.testing.ts";
import { hashKeyMinter } from "./keys.ts";

const CONNECT_V4 = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";

function fwpError(f: () => unknown): FwpError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FwpError, `expected FwpError, got ${String(e)}`);
    return e;
  }
  assert.fail("no error");
}

function expectError(doc: unknown, code: FwpErrorName, path: string): FwpError {
  const e = fwpError(() => parsePolicyDocument(doc));
  assert.equal(e.code, code, e.message);
  assert.equal(e.path, path, e.message);
  return e;
}

const filter = (extra: Record<string, unknown>): Record<string, unknown> => ({
  name: "f",
  layer: CONNECT_V4,
  action: "block",
  ...extra,
});

test("a small firewall document resolves names, keys, layers and values", () => {
  const p = parsePolicyDocument({
    version: 1,
    providers: [{ name: "Contoso" }],
    sublayers: [{ name: "contoso", weight: 0x9000, providerKey: "Contoso" }],
    filters: [
      {
        name: "block SMB out",
        layer: "ALE_AUTH_CONNECT_V4",
        sublayer: "contoso",
        action: "block",
        weight: { range: 10 },
        conditions: [
          { field: "remotePort", value: 445 },
          { field: "protocol", value: "tcp" },
          { field: "remoteAddress", value: "10.0.0.0/8" },
          { field: "localPort", value: "1000-2000" },
        ],
      },
      {
        name: "allow app",
        layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
        action: "FWP_ACTION_PERMIT",
        flags: ["CLEAR_ACTION_RIGHT"],
        weight: "0xf000000000000000",
        conditions: [{ field: "app", value: "C:\\Windows\\System32\\svchost.exe" }],
      },
    ],
  });
  const [block, allow] = p.filters;
  assert.ok(block !== undefined && allow !== undefined);
  assert.equal(p.sublayers[0]?.providerKey, p.providers[0]?.key);
  assert.equal(block.sublayerKey, p.sublayers[0]?.key);
  assert.equal(block.layer, getLayer(CONNECT_V4));
  assert.deepEqual(block.weight, { type: "FWP_UINT8", value: 10 });
  assert.deepEqual(
    block.conditions.map((c) => [c.conditionName, c.matchType, c.value]),
    [
      ["FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", { type: "FWP_UINT16", value: 445 }],
      ["FWPM_CONDITION_IP_PROTOCOL", "FWP_MATCH_EQUAL", { type: "FWP_UINT8", value: IPPROTO.IPPROTO_TCP }],
      [
        "FWPM_CONDITION_IP_REMOTE_ADDRESS",
        "FWP_MATCH_EQUAL",
        { type: "FWP_V4_ADDR_MASK", addr: 0x0a000000, mask: 0xff000000 },
      ],
      [
        "FWPM_CONDITION_IP_LOCAL_PORT",
        "FWP_MATCH_RANGE",
        {
          type: "FWP_RANGE_TYPE",
          valueLow: { type: "FWP_UINT16", value: 1000 },
          valueHigh: { type: "FWP_UINT16", value: 2000 },
        },
      ],
    ],
  );
  // The field key is the layer field's condition GUID.
  const remotePort = block.conditions[0];
  assert.equal(
    fieldIndex(CONNECT_V4, remotePort?.fieldKey ?? ""),
    fieldIndex(CONNECT_V4, "FWPM_CONDITION_IP_REMOTE_PORT"),
  );
  assert.equal(allow.sublayerKey, undefined);
  assert.equal(allow.flags, FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT);
  assert.deepEqual(allow.weight, { type: "FWP_UINT64", value: 0xf000000000000000n });
  assert.deepEqual(allow.conditions[0]?.value, {
    type: "FWP_BYTE_BLOB_TYPE",
    value: appIdFromFileName("C:\\Windows\\System32\\svchost.exe"),
  });
});

test("keys are minted deterministically from names, and explicit keys are kept", () => {
  const doc = {
    sublayers: [
      { name: "a", weight: 1 },
      { key: "{6A3B1C2D-0000-4000-8000-00000000000A}", name: "b", weight: 2 },
    ],
    filters: [filter({}), filter({})],
  };
  const one = parsePolicyDocument(doc);
  const two = parsePolicyDocument(JSON.parse(JSON.stringify(doc)));
  assert.equal(one.sublayers[0]?.key, two.sublayers[0]?.key);
  assert.equal(one.sublayers[0]?.keyMinted, true);
  assert.match(one.sublayers[0]?.key ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(one.sublayers[1]?.key, "6a3b1c2d-0000-4000-8000-00000000000a");
  assert.equal(one.sublayers[1]?.keyMinted, false);
  // Two filters with one name get different keys (the ordinal differs), the same in every run.
  assert.notEqual(one.filters[0]?.key, one.filters[1]?.key);
  assert.deepEqual(
    one.filters.map((f) => f.key),
    two.filters.map((f) => f.key),
  );
  // Another namespace, other keys.
  const other = parsePolicyDocument(doc, { mintKey: hashKeyMinter("elsewhere") });
  assert.notEqual(other.sublayers[0]?.key, one.sublayers[0]?.key);
});

test("built-in sublayers are referenced by name", () => {
  const p = parsePolicyDocument({ filters: [filter({ sublayer: "FWPM_SUBLAYER_UNIVERSAL" })] });
  assert.equal(p.filters[0]?.sublayerKey, FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL);
});

test("a list of values is several same-field conditions (OR-ed)", () => {
  const p = parsePolicyDocument({ filters: [filter({ conditions: [{ field: "remotePort", value: [80, "443"] }] })] });
  assert.deepEqual(
    p.filters[0]?.conditions.map((c) => [c.value, c.valuePath]),
    [
      [{ type: "FWP_UINT16", value: 80 }, "filters[0].conditions[0].value[0]"],
      [{ type: "FWP_UINT16", value: 443 }, "filters[0].conditions[0].value[1]"],
    ],
  );
});

test("weights: empty forms, range, numbers, strings", () => {
  const weights = (w: unknown) =>
    parsePolicyDocument({ filters: [filter(w === undefined ? {} : { weight: w })] }).filters[0]?.weight;
  assert.deepEqual(weights(undefined), { type: "FWP_EMPTY" });
  assert.deepEqual(weights(null), { type: "FWP_EMPTY" });
  assert.deepEqual(weights(""), { type: "FWP_EMPTY" });
  assert.deepEqual(weights("empty"), { type: "FWP_EMPTY" });
  assert.deepEqual(weights({ range: 0 }), { type: "FWP_UINT8", value: 0 });
  assert.deepEqual(weights({ range: 15 }), { type: "FWP_UINT8", value: 15 });
  assert.deepEqual(weights(3), { type: "FWP_UINT64", value: 3n });
  assert.deepEqual(weights(16), { type: "FWP_UINT64", value: 16n });
  assert.deepEqual(weights({ uint64: "18446744073709551615" }), { type: "FWP_UINT64", value: 0xffffffffffffffffn });
  assert.deepEqual(weights(18446744073709551615n), { type: "FWP_UINT64", value: 0xffffffffffffffffn });
  expectError({ filters: [filter({ weight: { range: 16 } })] }, "FWP_E_INVALID_WEIGHT", "filters[0].weight.range");
  expectError({ filters: [filter({ weight: -1 })] }, "FWP_E_INVALID_WEIGHT", "filters[0].weight");
  expectError({ filters: [filter({ weight: 1.5 })] }, "FWP_E_INVALID_WEIGHT", "filters[0].weight");
  expectError({ filters: [filter({ weight: "18446744073709551616" })] }, "FWP_E_INVALID_WEIGHT", "filters[0].weight");
  expectError({ filters: [filter({ weight: { uint8: 3 } })] }, "FWP_E_INVALID_WEIGHT", "filters[0].weight.uint8");
});

test("match words and FWP_MATCH names", () => {
  const match = (m: string, value = "100") =>
    parsePolicyDocument({ filters: [filter({ conditions: [{ field: "remotePort", match: m, value }] })] }).filters[0]
      ?.conditions[0]?.matchType;
  assert.equal(match("greater-or-equal"), "FWP_MATCH_GREATER_OR_EQUAL");
  assert.equal(match("FWP_MATCH_FLAGS_NONE_SET"), "FWP_MATCH_FLAGS_NONE_SET");
  assert.equal(match("not-equal"), "FWP_MATCH_NOT_EQUAL");
  expectError(
    { filters: [filter({ conditions: [{ field: "remotePort", match: "around", value: "1" }] })] },
    "FWP_E_INVALID_ENUMERATOR",
    "filters[0].conditions[0].match",
  );
});

test("a field the layer lacks is FWP_E_CONDITION_NOT_FOUND naming the valid fields", () => {
  const e = expectError(
    {
      filters: [
        filter({}),
        filter({
          layer: "FWPM_LAYER_INBOUND_IPPACKET_V4",
          conditions: [
            { field: "remotePort", value: 1 },
            { field: "appId", value: "System" },
          ],
        }),
      ],
    },
    "FWP_E_CONDITION_NOT_FOUND",
    "filters[1].conditions[0].field",
  );
  assert.match(e.message, /FWPM_CONDITION_IP_REMOTE_PORT is not a field of FWPM_LAYER_INBOUND_IPPACKET_V4/);
  assert.match(e.message, /FWPM_CONDITION_IP_REMOTE_ADDRESS \(remoteAddress\)/);
  const unknown = expectError(
    { filters: [filter({ conditions: [{ field: "colour", value: "red" }] })] },
    "FWP_E_CONDITION_NOT_FOUND",
    "filters[0].conditions[0].field",
  );
  assert.match(unknown.message, /No condition "colour"/);
});

test("a value of the wrong type for the field is FWP_E_TYPE_MISMATCH at the value", () => {
  expectError(
    {
      filters: [
        filter({}),
        filter({
          conditions: [
            { field: "remotePort", value: 1 },
            { field: "remoteAddress", value: "fe80::1" },
          ],
        }),
      ],
    },
    "FWP_E_TYPE_MISMATCH",
    "filters[1].conditions[1].value",
  );
  expectError(
    { filters: [filter({ conditions: [{ field: "remotePort", value: "http" }] })] },
    "FWP_E_INVALID_PARAMETER",
    "filters[0].conditions[0].value",
  );
  expectError(
    { filters: [filter({ conditions: [{ field: "remotePort", value: 70000 }] })] },
    "FWP_E_OUT_OF_BOUNDS",
    "filters[0].conditions[0].value",
  );
  expectError(
    { filters: [filter({ conditions: [{ field: "remotePort", value: "2000-1000" }] })] },
    "FWP_E_INVALID_RANGE",
    "filters[0].conditions[0].value",
  );
  expectError(
    { filters: [filter({ conditions: [{ field: "remotePort", value: [1, true] }] })] },
    "FWP_E_INVALID_PARAMETER",
    "filters[0].conditions[0].value[1]",
  );
});

test("missing sublayer, callout and provider names give the Windows codes", () => {
  expectError(
    { filters: [filter({}), filter({ sublayer: "nowhere" })] },
    "FWP_E_SUBLAYER_NOT_FOUND",
    "filters[1].sublayer",
  );
  expectError(
    { filters: [filter({ action: "callout-terminating", callout: "ghost" })] },
    "FWP_E_CALLOUT_NOT_FOUND",
    "filters[0].callout",
  );
  expectError({ filters: [filter({ action: "callout-unknown" })] }, "FWP_E_CALLOUT_NOT_FOUND", "filters[0].callout");
  expectError(
    { sublayers: [{ name: "s", weight: 1, providerKey: "nobody" }] },
    "FWP_E_PROVIDER_NOT_FOUND",
    "sublayers[0].providerKey",
  );
});

test("duplicate keys and names are FWP_E_ALREADY_EXISTS", () => {
  const key = "11111111-2222-4333-8444-555555555555";
  expectError(
    { filters: [filter({ key }), filter({ key: `{${key.toUpperCase()}}` })] },
    "FWP_E_ALREADY_EXISTS",
    "filters[1].key",
  );
  expectError(
    {
      sublayers: [
        { name: "x", weight: 1 },
        { name: "x", weight: 2 },
      ],
    },
    "FWP_E_ALREADY_EXISTS",
    "sublayers[1].name",
  );
  expectError(
    {
      callouts: [
        { name: "c", layer: CONNECT_V4 },
        { name: "d", key: "not-a-guid", layer: CONNECT_V4 },
      ],
    },
    "FWP_E_INVALID_PARAMETER",
    "callouts[1].key",
  );
});

test("the shape is checked member by member", () => {
  expectError({ filter: [] }, "FWP_E_INVALID_PARAMETER", "filter");
  expectError({ filters: [filter({ colour: "red" })] }, "FWP_E_INVALID_PARAMETER", "filters[0].colour");
  expectError(
    { filters: [filter({ conditions: [{ field: "remotePort", value: 1, weight: 2 }] })] },
    "FWP_E_INVALID_PARAMETER",
    "filters[0].conditions[0].weight",
  );
  expectError({ filters: {} }, "FWP_E_INVALID_PARAMETER", "filters");
  expectError({ filters: ["x"] }, "FWP_E_INVALID_PARAMETER", "filters[0]");
  expectError({ filters: [{ layer: CONNECT_V4, action: "block" }] }, "FWP_E_NULL_DISPLAY_NAME", "filters[0].name");
  expectError({ filters: [filter({ layer: "FWPM_LAYER_NOPE" })] }, "FWP_E_LAYER_NOT_FOUND", "filters[0].layer");
  expectError({ filters: [filter({ action: "continue" })] }, "FWP_E_INVALID_ACTION_TYPE", "filters[0].action");
  expectError(
    { filters: [filter({ action: "FWP_ACTION_CONTINUE" })] },
    "FWP_E_INVALID_ACTION_TYPE",
    "filters[0].action",
  );
  expectError({ filters: [filter({ callout: "x" })] }, "FWP_E_INVALID_PARAMETER", "filters[0].callout");
  expectError(
    { filters: [filter({ flags: ["CLEAR_ACTION_RIGHT", "LOUD"] })] },
    "FWP_E_INVALID_FLAGS",
    "filters[0].flags[1]",
  );
  expectError({ sublayers: [{ name: "s", weight: 65536 }] }, "FWP_E_INVALID_WEIGHT", "sublayers[0].weight");
  expectError({ sublayers: [{ name: "s" }] }, "FWP_E_INVALID_WEIGHT", "sublayers[0].weight");
  expectError({ version: 2 }, "FWP_E_INVALID_PARAMETER", "version");
  expectError(
    { callouts: [{ name: "c", layer: CONNECT_V4, behaviour: "sometimes" }] },
    "FWP_E_INVALID_PARAMETER",
    "callouts[0].behaviour",
  );
  expectError(
    { callouts: [{ name: "c", layer: CONNECT_V4, behaviour: { action: "permit", absorb: true } }] },
    "FWP_E_INVALID_PARAMETER",
    "callouts[0].behaviour.absorb",
  );
});

test("layers by FWPM name, FWPS name, bare name, run-time id and GUID", () => {
  const layer = getLayer(CONNECT_V4);
  for (const ref of [
    CONNECT_V4,
    layer.fwpsName,
    "ALE_AUTH_CONNECT_V4",
    layer.runtimeId,
    String(layer.runtimeId),
    layer.key,
  ]) {
    assert.equal(parsePolicyDocument({ filters: [filter({ layer: ref })] }).filters[0]?.layer, layer, String(ref));
  }
});

test("YAML and JSON text give the same policy", () => {
  const json = `{"sublayers": [{"name": "s", "weight": 7}],
    "filters": [{"name": "f", "layer": "${CONNECT_V4}", "sublayer": "s", "action": "block",
                 "conditions": [{"field": "remotePort", "value": "445"}]}]}`;
  const yaml = `
sublayers:
  - name: s
    weight: 7
filters:
  - name: f
    layer: ${CONNECT_V4}
    sublayer: s
    action: block
    conditions:
      - field: remotePort
        value: 445
`;
  assert.deepEqual(parsePolicyDocument(yaml), parsePolicyDocument(json));
});

// ---- The rebuilt filter loop against the reference (the loop as first written), on seeded documents ----

function pick(rng: SeededRng, good: readonly unknown[], bad: readonly unknown[], pBad = 0.04): unknown {
  const list = bad.length > 0 && rng.chance(pBad) ? bad : good;
  return list[rng.nextInt(list.length)];
}

const GOOD_VALUES: readonly unknown[] = [
  "10.0.0.1",
  "203.253.18.178",
  "0.0.0.0",
  " 10.0.0.1 ",
  "10.0.0.0/8",
  "10.0.0.1-10.0.0.9",
  ["10.0.0.1", "10.0.0.2"],
];
const BAD_VALUES: readonly unknown[] = [
  "300.1.1.1",
  "01.2.3.4",
  "::1",
  "10.0.0.0/33",
  "1.2.3",
  [],
  ["10.0.0.1", true],
  true,
  undefined,
  "10.0.0.9-10.0.0.1",
];
const GOOD_PORTS: readonly unknown[] = ["80", 443, "0", "65535", "1000-2000", ["22", "23"], "0x50"];
const BAD_PORTS: readonly unknown[] = ["65536", "-1", "http", 1.5, "99999999999"];

function seededCondition(rng: SeededRng): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  const kind = rng.nextInt(3);
  if (kind === 0) {
    c.field = pick(
      rng,
      ["remoteAddress", "ipRemoteAddress", "FWPM_CONDITION_IP_REMOTE_ADDRESS", "localAddress"],
      ["bogusField", 5, "FWPM_CONDITION_IP_LOCAL_INTERFACE_BOGUS"],
    );
    c.value = pick(rng, GOOD_VALUES, BAD_VALUES);
  } else if (kind === 1) {
    c.field = pick(rng, ["remotePort", "remote_port", "localPort"], ["aleAppId"]);
    c.value = pick(rng, GOOD_PORTS, BAD_PORTS);
  } else {
    c.field = pick(rng, ["protocol", "proto"], []);
    c.value = pick(rng, ["6", "tcp", "udp", 17, "255"], ["256", "bogus"]);
  }
  if (rng.chance(0.2)) c.match = pick(rng, ["equal", "FWP_MATCH_EQUAL", "range", "not-equal", "greater"], ["bogus", 3]);
  if (rng.chance(0.02)) c.extra = 1;
  if (rng.chance(0.02)) delete c.field;
  return c;
}

function seededDocument(rng: SeededRng): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    providers: [{ name: "prov" }],
    sublayers: [{ name: "sub A", weight: 100, providerKey: "prov" }],
    callouts: [{ name: "co", layer: CONNECT_V4, behaviour: "block" }],
  };
  const filters: Record<string, unknown>[] = [];
  const n = 1 + rng.nextInt(8);
  for (let i = 0; i < n; i++) {
    const f: Record<string, unknown> = {
      name: pick(rng, [`f${i}`, `f${i}`, "same"], ["", "  ", 7]),
      layer: pick(rng, [CONNECT_V4, "ALE_AUTH_CONNECT_V4", " FWPM_LAYER_ALE_AUTH_CONNECT_V4"], ["bogus", 9999, ""]),
      action: pick(rng, ["block", "permit", "FWP_ACTION_BLOCK"], ["nope", "continue"]),
    };
    if (rng.chance(0.1))
      f.key = pick(rng, ["{0A1B2C3D-0000-4000-8000-00000000000A}", "0a1b2c3d-0000-4000-8000-00000000000b"], ["zz"]);
    if (rng.chance(0.1)) f.action = "callout-terminating";
    if (f.action === "callout-terminating" || rng.chance(0.02)) f.callout = pick(rng, ["co"], ["missing"]);
    if (rng.chance(0.3)) f.sublayer = pick(rng, ["sub A", "FWPM_SUBLAYER_UNIVERSAL"], ["missing", 4, null]);
    if (rng.chance(0.3)) f.weight = pick(rng, [5, { range: 3 }, "0x10", null, "empty"], [{ range: 99 }, -1, "x"]);
    if (rng.chance(0.2))
      f.flags = pick(rng, [["CLEAR_ACTION_RIGHT"], 0, ["FWPM_FILTER_FLAG_PERSISTENT"]], [["BOGUS"], -1]);
    if (rng.chance(0.2)) f.providerKey = pick(rng, ["prov"], ["missing", null]);
    if (rng.chance(0.2)) f.description = pick(rng, ["why"], [3]);
    if (rng.chance(0.02)) f.bogus = true;
    if (!rng.chance(0.1)) f.conditions = Array.from({ length: rng.nextInt(4) }, () => seededCondition(rng));
    filters.push(f);
  }
  doc.filters = filters;
  return doc;
}

function outcome(parse: () => unknown): unknown {
  try {
    return { policy: parse() };
  } catch (e) {
    return e instanceof FwpError
      ? { code: e.code, path: e.path, message: e.message }
      : { thrown: e instanceof Error ? e.message : String(e) };
  }
}

test("the filter loop gives the reference's policy, or its error with the same code, path and detail, on seeded documents", () => {
  const rng = new SeededRng(0xd0c5);
  let good = 0;
  let bad = 0;
  for (let i = 0; i < 600; i++) {
    const doc = seededDocument(rng);
    const got = outcome(() => parsePolicyDocument(doc));
    const want = outcome(() => parsePolicyDocumentReference(doc));
    assert.deepEqual(got, want, JSON.stringify(doc));
    if ((want as { policy?: unknown }).policy !== undefined) good++;
    else bad++;
  }
  assert.ok(good > 100 && bad > 100, `good ${good}, bad ${bad}`);
});
