import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { FWPS_RIGHT, FwpError, type FwpErrorName, getLayer } from "../../fwp/index.ts";
import { FilterEngine } from "../engine.ts";
import type { ClassifyResult } from "../model.ts";
import { parsePolicyDocument } from "./document.ts";
import { formatPolicyDocument } from "./format.ts";
import { conditionAliases } from "./fields.ts";
import { incomingValuesFromText } from "./incoming.ts";
import { type LoadedPolicy, loadPolicyDocument } from "./load.ts";

const WRITE = FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE;
const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";

function classify(loaded: LoadedPolicy, layerName: string, values: readonly string[] = []): ClassifyResult {
  const layer = getLayer(layerName);
  return loaded.engine.classify({ layer, incomingValues: incomingValuesFromText(layer, values), trace: true });
}

/** How many times the filters named `name` had their callout invoked in this classification. */
function invocations(r: ClassifyResult, name: string): number {
  return (r.trace?.sublayers ?? []).flatMap((s) => s.filters).filter((f) => f.filter.name === name && f.calloutInvoked)
    .length;
}

function loadError(doc: unknown, code: FwpErrorName, path: string, engine?: FilterEngine): FwpError {
  try {
    loadPolicyDocument(doc, engine === undefined ? {} : { engine });
  } catch (e) {
    assert.ok(e instanceof FwpError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.path, path, e.message);
    return e;
  }
  assert.fail("no error");
}

// ---- The arbitration example of the filter-arbitration page, as a policy document (§C.3) ----

const fixture = JSON.parse(
  readFileSync(new URL("../../../fixtures/wfp-docs/arbitration_example_from_docs.json", import.meta.url), "utf8"),
) as { scenario: { expected_final: string } };

const IIS = "C:\\inetpub\\IIS.exe";

function arbitrationExample(variant: { fw1Hard?: boolean; fw2Callout?: boolean } = {}): string {
  return JSON.stringify({
    sublayers: [
      { name: "sublayer 1", weight: 0xf000 },
      { name: "sublayer 2", weight: 0xe000 },
      { name: "FW1", weight: 0xd000 },
      { name: "FW2", weight: 0xc000 },
      { name: "logging", weight: 0xb000 },
    ],
    callouts: [
      { name: "ids_callout", layer: "FWPM_LAYER_INBOUND_TRANSPORT_V4", behaviour: "continue" },
      { name: "log_callout", layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", behaviour: "continue" },
      { name: "fw2_callout", layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", behaviour: "veto" },
    ],
    filters: [
      { name: "S1 permit", layer: "FWPM_LAYER_INBOUND_TRANSPORT_V4", sublayer: "sublayer 1", action: "permit" },
      {
        name: "ids",
        layer: "FWPM_LAYER_INBOUND_TRANSPORT_V4",
        sublayer: "sublayer 2",
        weight: 10,
        action: "callout-inspection",
        callout: "ids_callout",
      },
      {
        name: "S2 permit",
        layer: "FWPM_LAYER_INBOUND_TRANSPORT_V4",
        sublayer: "sublayer 2",
        weight: 5,
        action: "permit",
      },
      {
        name: "FW1 IIS",
        layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
        sublayer: "FW1",
        action: "permit",
        ...(variant.fw1Hard === true ? { flags: ["CLEAR_ACTION_RIGHT"] } : {}),
        conditions: [{ field: "appId", value: IIS }],
      },
      {
        name: "FW2 port 80",
        layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
        sublayer: "FW2",
        ...(variant.fw2Callout === true
          ? { action: "callout-terminating", callout: "fw2_callout" }
          : { action: "block" }),
        conditions: [{ field: "localPort", value: 80 }],
      },
      {
        name: "log",
        layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
        sublayer: "logging",
        action: "callout-inspection",
        callout: "log_callout",
      },
    ],
  });
}

const ALE = "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4";

test("AX1: the documented example blocks inbound traffic to port 80 of IIS.exe", () => {
  const p = loadPolicyDocument(arbitrationExample());
  const transport = classify(p, "FWPM_LAYER_INBOUND_TRANSPORT_V4");
  assert.equal(transport.action, "FWP_ACTION_PERMIT");
  assert.equal(invocations(transport, "ids"), 1);
  const ale = classify(p, ALE, [`appId=${IIS}`, "localPort=80"]);
  assert.equal(ale.action, `FWP_ACTION_${fixture.scenario.expected_final}`);
  assert.equal(ale.decidingFilter?.name, "FW2 port 80");
  assert.equal(ale.rights, 0);
  const log = ale.trace?.sublayers.flatMap((s) => s.filters).find((f) => f.filter.name === "log");
  assert.equal(log?.calloutInvoked, true);
  assert.equal(log?.rightsBefore, 0, "log_callout runs with the write right cleared");
});

test("AX2–AX4: port 443 of IIS.exe is permitted softly; other apps follow FW2 or nothing", () => {
  const p = loadPolicyDocument(arbitrationExample());
  const ax2 = classify(p, ALE, [`appId=${IIS}`, "localPort=443"]);
  assert.equal(ax2.action, "FWP_ACTION_PERMIT");
  assert.equal(ax2.decidingFilter?.name, "FW1 IIS");
  assert.equal(ax2.rights, WRITE);
  const ax3 = classify(p, ALE, ["appId=C:\\other.exe", "localPort=80"]);
  assert.equal(ax3.action, "FWP_ACTION_BLOCK");
  const ax4 = classify(p, ALE, ["appId=C:\\other.exe", "localPort=8080"]);
  assert.equal(ax4.action, "FWP_ACTION_PERMIT");
  assert.equal(ax4.decidingFilter, null);
  for (const r of [ax2, ax3, ax4]) assert.equal(invocations(r, "log"), 1, "AX7");
});

test("AX5: FW1 with CLEAR_ACTION_RIGHT is a hard permit a static block cannot override", () => {
  const p = loadPolicyDocument(arbitrationExample({ fw1Hard: true }));
  const r = classify(p, ALE, [`appId=${IIS}`, "localPort=80"]);
  assert.equal(r.action, "FWP_ACTION_PERMIT");
  assert.equal(r.vetoed, false);
  assert.equal(r.decidingFilter?.name, "FW1 IIS");
});

test("AX6: a declarative veto callout in FW2 vetoes the hard permit", () => {
  const p = loadPolicyDocument(arbitrationExample({ fw1Hard: true, fw2Callout: true }));
  const r = classify(p, ALE, [`appId=${IIS}`, "localPort=80"]);
  assert.equal(r.action, "FWP_ACTION_BLOCK");
  assert.equal(r.vetoed, true);
  assert.equal(r.decidingFilter?.name, "FW2 port 80");
  assert.equal(invocations(r, "log"), 1, "AX7");
});

// ---- Declarative callout behaviours ----

/** A hard or soft outcome in a high sublayer, then the callout under test alone in a low one. */
function twoSublayers(
  high: Record<string, unknown> | null,
  behaviour: unknown,
  calloutFilter: Record<string, unknown> = {},
): LoadedPolicy {
  return loadPolicyDocument({
    sublayers: [
      { name: "high", weight: 0xf000 },
      { name: "low", weight: 0x1000 },
    ],
    callouts: [{ name: "c", layer: CONNECT, ...(behaviour === undefined ? {} : { behaviour }) }],
    filters: [
      ...(high === null ? [] : [{ name: "high", layer: CONNECT, sublayer: "high", ...high }]),
      {
        name: "callout",
        layer: CONNECT,
        sublayer: "low",
        action: "callout-terminating",
        callout: "c",
        ...calloutFilter,
      },
    ],
  });
}

const HARD_PERMIT = { action: "permit", flags: ["CLEAR_ACTION_RIGHT"] };
const SOFT_PERMIT = { action: "permit" };

test("veto blocks a hard permit; block leaves it alone (called without the write right)", () => {
  const veto = classify(twoSublayers(HARD_PERMIT, "veto"), CONNECT);
  assert.deepEqual([veto.action, veto.vetoed], ["FWP_ACTION_BLOCK", true]);
  const polite = classify(twoSublayers(HARD_PERMIT, "block"), CONNECT);
  assert.deepEqual([polite.action, polite.vetoed], ["FWP_ACTION_PERMIT", false]);
  assert.equal(invocations(polite, "callout"), 1);
  const spelled = classify(twoSublayers(HARD_PERMIT, { action: "block", withoutWriteRight: "act" }), CONNECT);
  assert.deepEqual([spelled.action, spelled.vetoed], ["FWP_ACTION_BLOCK", true]);
});

test("block overrides a soft permit and is hard", () => {
  const r = classify(twoSublayers(SOFT_PERMIT, "block"), CONNECT);
  assert.deepEqual([r.action, r.rights, r.decidingFilter?.name], ["FWP_ACTION_BLOCK", 0, "callout"]);
  const soft = classify(twoSublayers(SOFT_PERMIT, { action: "block", clearWriteRight: false }), CONNECT);
  assert.deepEqual([soft.action, soft.rights], ["FWP_ACTION_BLOCK", WRITE]);
});

test("absorb blocks silently", () => {
  const r = classify(twoSublayers(null, "absorb"), CONNECT);
  assert.deepEqual([r.action, r.absorbed, r.rights], ["FWP_ACTION_BLOCK", true, 0]);
  const plain = classify(twoSublayers(null, "block"), CONNECT);
  assert.equal(plain.absorbed, false);
});

test("permit-hard survives a lower block; permit does not unless its filter clears the right", () => {
  const lowBlock = (behaviour: string, flags: string[] = []) =>
    loadPolicyDocument({
      sublayers: [
        { name: "high", weight: 0xf000 },
        { name: "low", weight: 0x1000 },
      ],
      callouts: [{ name: "c", layer: CONNECT, behaviour }],
      filters: [
        { name: "callout", layer: CONNECT, sublayer: "high", action: "callout-terminating", callout: "c", flags },
        { name: "block", layer: CONNECT, sublayer: "low", action: "block" },
      ],
    });
  assert.equal(classify(lowBlock("permit-hard"), CONNECT).action, "FWP_ACTION_PERMIT");
  assert.equal(classify(lowBlock("permit"), CONNECT).action, "FWP_ACTION_BLOCK");
  assert.equal(classify(lowBlock("permit", ["CLEAR_ACTION_RIGHT"]), CONNECT).action, "FWP_ACTION_PERMIT");
});

test("continue lets the next filter of the sublayer decide (OV15)", () => {
  const p = loadPolicyDocument({
    callouts: [{ name: "c", layer: CONNECT, behaviour: "continue" }],
    filters: [
      { name: "w10", layer: CONNECT, weight: 10, action: "callout-unknown", callout: "c" },
      { name: "w5", layer: CONNECT, weight: 5, action: "block" },
    ],
  });
  const r = classify(p, CONNECT);
  assert.deepEqual([r.action, r.decidingFilter?.name, invocations(r, "w10")], ["FWP_ACTION_BLOCK", "w5", 1]);
});

test("a callout without behaviour is not registered: its filters follow C14", () => {
  assert.equal(classify(twoSublayers(null, undefined), CONNECT).action, "FWP_ACTION_BLOCK");
  const permitIf = twoSublayers(null, undefined, { flags: ["PERMIT_IF_CALLOUT_UNREGISTERED"] });
  const r = classify(permitIf, CONNECT);
  assert.deepEqual([r.action, r.rights], ["FWP_ACTION_PERMIT", WRITE]);
  assert.equal(invocations(r, "callout"), 0);
});

// ---- Engine errors carry document paths ----

test("engine validation errors are mapped to document paths", () => {
  loadError(
    {
      filters: [
        {
          name: "f",
          layer: CONNECT,
          action: "block",
          conditions: [
            { field: "remotePort", value: 1 },
            { field: "remotePort", match: "prefix", value: 80 },
          ],
        },
      ],
    },
    "FWP_E_MATCH_TYPE_MISMATCH",
    "filters[0].conditions[1].match",
  );
  loadError(
    {
      callouts: [{ name: "v6", layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V6" }],
      filters: [{ name: "f", layer: CONNECT, action: "callout-terminating", callout: "v6" }],
    },
    "FWP_E_INCOMPATIBLE_LAYER",
    "filters[0].callout",
  );
  loadError(
    { filters: [{ name: "f", layer: CONNECT, action: "block", flags: ["PERMIT_IF_CALLOUT_UNREGISTERED"] }] },
    "FWP_E_INVALID_FLAGS",
    "filters[0].flags",
  );
  loadError(
    { filters: [{ name: "f", layer: CONNECT, action: "block", sublayer: "0b6a3c2d-1111-4222-8333-444455556666" }] },
    "FWP_E_SUBLAYER_NOT_FOUND",
    "filters[0].sublayer",
  );
  loadError(
    {
      filters: [
        { name: "f", layer: CONNECT, action: "callout-inspection", callout: "0b6a3c2d-1111-4222-8333-444455556666" },
      ],
    },
    "FWP_E_CALLOUT_NOT_FOUND",
    "filters[0].callout",
  );
});

test("a failed load leaves a given engine as it was; a second load of the same document collides", () => {
  const engine = new FilterEngine();
  const before = {
    filters: engine.filters().length,
    sublayers: engine.sublayers().length,
    callouts: engine.callouts().length,
  };
  const doc = {
    sublayers: [{ name: "s", weight: 1 }],
    callouts: [{ name: "c", layer: CONNECT, behaviour: "block" }],
    filters: [
      { name: "ok", layer: CONNECT, sublayer: "s", action: "block" },
      { name: "bad", layer: CONNECT, action: "block", flags: ["PERMIT_IF_CALLOUT_UNREGISTERED"] },
    ],
  };
  loadError(doc, "FWP_E_INVALID_FLAGS", "filters[1].flags", engine);
  assert.deepEqual(
    { filters: engine.filters().length, sublayers: engine.sublayers().length, callouts: engine.callouts().length },
    before,
  );
  const good = { ...doc, filters: doc.filters.slice(0, 1) };
  loadPolicyDocument(good, { engine });
  loadError(good, "FWP_E_ALREADY_EXISTS", "sublayers[0].name", engine);
});

test("a load failing at its last filter removes every filter, callout registration, callout, sublayer and provider it added", () => {
  const engine = new FilterEngine();
  const count = () => ({
    providers: engine.providers().length,
    sublayers: engine.sublayers().length,
    callouts: engine.callouts().length,
    filters: engine.filters().length,
  });
  const before = count();
  const doc = {
    providers: [{ name: "p1" }, { name: "p2" }],
    sublayers: [
      { name: "s1", weight: 1, providerKey: "p1" },
      { name: "s2", weight: 2, providerKey: "p2" },
    ],
    callouts: [
      { name: "c1", layer: CONNECT, behaviour: "block" },
      { name: "c2", layer: CONNECT },
      { name: "c3", layer: CONNECT, behaviour: "permit" },
    ],
    filters: [
      ...Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, layer: CONNECT, sublayer: "s1", action: "block" })),
      { name: "callout", layer: CONNECT, sublayer: "s2", action: "callout-terminating", callout: "c1" },
      { name: "bad", layer: CONNECT, action: "block", flags: ["PERMIT_IF_CALLOUT_UNREGISTERED"] },
    ],
  };
  const parsed = parsePolicyDocument(doc);
  loadError(doc, "FWP_E_INVALID_FLAGS", "filters[51].flags", engine);
  assert.deepEqual(count(), before);
  for (const c of parsed.callouts) {
    assert.equal(engine.getCallout(c.key), undefined, c.name);
    assert.equal(engine.isCalloutRegistered(c.key), false, c.name);
  }
  // Everything can be added again: nothing of the failed load is left to collide with.
  const loaded = loadPolicyDocument({ ...doc, filters: doc.filters.slice(0, 51) }, { engine });
  assert.equal(loaded.filters.length, 51);
  assert.equal(engine.isCalloutRegistered(parsed.callouts[0]?.key as string), true);
});

test("formatPolicyDocument writes what parsePolicyDocument reads back to the same policy", () => {
  const loaded = loadPolicyDocument(arbitrationExample({ fw1Hard: true, fw2Callout: true }));
  const doc = formatPolicyDocument(loaded.engine, { behaviours: loaded.behaviours });
  const again = loadPolicyDocument(JSON.parse(JSON.stringify(doc)));
  const view = (p: LoadedPolicy) =>
    p.filters.map((f) => ({
      key: f.filterKey,
      layer: f.layer.runtimeId,
      sublayer: f.sublayer.subLayerKey,
      weight: f.effectiveWeight,
      action: f.action,
      flags: f.flags,
      conditions: f.conditions.map((c) => [c.fieldKey, c.matchType, c.value]),
    }));
  assert.deepEqual(view(again), view(loaded));
  assert.deepEqual([...again.behaviours.values()], [...loaded.behaviours.values()]);
  const r = classify(again, ALE, [`appId=${IIS}`, "localPort=80"]);
  assert.deepEqual([r.action, r.vetoed], ["FWP_ACTION_BLOCK", true]);
});

// ---- docs/policy.md: every complete example loads ----

test("every policy example in docs/policy.md loads", () => {
  const md = readFileSync(new URL("../../../docs/policy.md", import.meta.url), "utf8");
  const blocks = [...md.matchAll(/```(json|yaml)\n([\s\S]*?)```/g)].filter((m) => /"?filters"?\s*:/.test(m[2] ?? ""));
  assert.ok(blocks.length >= 2, "docs/policy.md has JSON and YAML examples");
  for (const [, format, text] of blocks) {
    const loaded = loadPolicyDocument(text ?? "", { format: format as "json" | "yaml" });
    assert.ok(loaded.filters.length > 0);
  }
  // The two forms of the small firewall are the same policy.
  const [json, yaml] = blocks;
  assert.deepEqual(
    parsePolicyDocument(yaml?.[2] ?? "", { format: "yaml" }),
    parsePolicyDocument(json?.[2] ?? "", { format: "json" }),
  );
});

test("the small firewall of docs/policy.md decides as its table says", () => {
  const md = readFileSync(new URL("../../../docs/policy.md", import.meta.url), "utf8");
  const json = /```json\n([\s\S]*?)```/.exec(md)?.[1] ?? "";
  const loaded = loadPolicyDocument(json);
  const table = md.slice(md.indexOf("What it decides"), md.indexOf("## Top level"));
  const rows = [...table.matchAll(/^\| `([^`]+)` \| (BLOCK|PERMIT)([^|]*)\|/gm)];
  assert.equal(rows.length, 5);
  for (const [, values, action, note] of rows) {
    const assignments = (values ?? "").split(/ (?=[a-zA-Z]+=)/);
    const r = classify(loaded, CONNECT, assignments);
    assert.equal(r.action, `FWP_ACTION_${action}`, values);
    assert.equal(r.vetoed, (note ?? "").includes("vetoed"), values);
  }
});

test("the alias table of docs/policy.md is the derived one", () => {
  const md = readFileSync(new URL("../../../docs/policy.md", import.meta.url), "utf8");
  const section = md.slice(md.indexOf("## Field aliases"));
  const documented = [...section.matchAll(/^\| `(FWPM_CONDITION_\w+)` \| (.*) \|$/gm)].flatMap(
    ([, condition, aliases]) => [...(aliases ?? "").matchAll(/`(\w+)`/g)].map(([, alias]) => `${alias}=${condition}`),
  );
  const derived = conditionAliases().map((a) => `${a.alias}=${a.condition}`);
  assert.deepEqual(documented.sort(), derived.sort());
});
