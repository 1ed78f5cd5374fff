import assert from "node:assert/strict";
import { test } from "node:test";
import type { Guid } from "../../base/guid.ts";
import { SeededRng } from "../../base/rng.ts";
import { type FwpValue, getLayer, type Layer, utf16leNulTerminated } from "../../fwp/index.ts";
import { type CompiledLayer, collectMatchList, type LayerPolicy } from "../classifier.ts";
import { runClassifierConformance } from "../classifier-conformance.testing.ts";
import { compileFilter, type FilterCompileContext } from "../compile-filter.ts";
import { linearClassifier } from "../linear.ts";
import type { Callout, Filter, FilterSpec, Sublayer } from "../model.ts";
import { type EngineOptions, resolveEngineOptions } from "../options.ts";
import { createIndexedClassifier, IndexedLayer, indexedClassifier } from "./index.ts";
import { RANDOM_POLICY_LAYERS, randomIncoming, randomPolicy } from "./random-policy.testing.ts";

// The shared behavioural suite (§C.3, §C.4, every match type × data type, A6, A1–A4, traces), with the
// default options and with every sublayer indexed however small (the suite's policies are small).
runClassifierConformance(indexedClassifier);
runClassifierConformance(createIndexedClassifier({ scanUpTo: 0 }));

/** Indexes every sublayer, so that the small policies below exercise the indexes, not the scan. */
const alwaysIndexed = createIndexedClassifier({ scanUpTo: 0 });

const CONNECT_V4 = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
const CONNECT_V6 = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V6");
const field = (layer: Layer, condition: string): number => {
  const f = layer.fields.find((x) => x.condition === condition);
  if (f === undefined) throw new Error(condition);
  return f.index;
};
const REMOTE_ADDRESS_V4 = field(CONNECT_V4, "FWPM_CONDITION_IP_REMOTE_ADDRESS");
const REMOTE_PORT_V4 = field(CONNECT_V4, "FWPM_CONDITION_IP_REMOTE_PORT");
const PROTOCOL_V4 = field(CONNECT_V4, "FWPM_CONDITION_IP_PROTOCOL");
const APP_ID_V4 = field(CONNECT_V4, "FWPM_CONDITION_ALE_APP_ID");
const REMOTE_ADDRESS_V6 = field(CONNECT_V6, "FWPM_CONDITION_IP_REMOTE_ADDRESS");

function sublayer(n: number, weight: number): Sublayer {
  return {
    subLayerKey: `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}` as Guid,
    name: `s${n}`,
    description: undefined,
    weight,
    flags: 0,
    providerKey: undefined,
    builtin: false,
  };
}

/** Compiles filter specs the way FilterEngine.addFilter does, and groups them into a LayerPolicy. */
class PolicyBuilder {
  readonly #filters: Filter[] = [];
  readonly #sublayers = new Map<Guid, Sublayer>();
  readonly #callouts = new Map<Guid, Callout>();
  readonly #ctx: FilterCompileContext;
  #nextId = 1n;
  #guidCounter = 0;

  constructor(
    readonly layer: Layer,
    options: EngineOptions = {},
    sublayers: readonly Sublayer[] = [sublayer(1, 0x100)],
  ) {
    for (const s of sublayers) this.#sublayers.set(s.subLayerKey, s);
    const first = sublayers[0] as Sublayer;
    const resolved = resolveEngineOptions(options);
    this.#ctx = {
      options: resolved,
      sublayer: (key) => this.#sublayers.get(key),
      defaultSublayer: () => first,
      provider: () => undefined,
      providerContext: () => undefined,
      callout: (key) => this.#callouts.get(key),
      filterKeyExists: (key) => this.#filters.some((f) => f.filterKey === key),
      newGuid: () => `10000000-0000-4000-8000-${(this.#guidCounter++).toString(16).padStart(12, "0")}` as Guid,
    };
  }

  addCallout(key: Guid): void {
    this.#callouts.set(key, {
      calloutKey: key,
      calloutId: this.#callouts.size + 1,
      name: "c",
      description: undefined,
      applicableLayer: this.layer,
      providerKey: undefined,
      flags: 0,
      builtin: false,
    });
  }

  /** Adds a filter; returns undefined when add-time validation rejects it. */
  tryAdd(spec: FilterSpec): Filter | undefined {
    try {
      const f = compileFilter(spec, this.#ctx, this.#nextId);
      this.#nextId++;
      this.#filters.push(f);
      return f;
    } catch {
      return undefined;
    }
  }

  add(spec: Omit<FilterSpec, "layer" | "name" | "action"> & Partial<FilterSpec>): Filter {
    const f = this.tryAdd({ name: "f", action: { type: "FWP_ACTION_BLOCK" }, layer: this.layer, ...spec });
    if (f === undefined) throw new Error("filter rejected");
    return f;
  }

  policy(): LayerPolicy {
    const sublayers = [...this.#sublayers.values()]
      .sort((a, b) => b.weight - a.weight || (a.subLayerKey < b.subLayerKey ? -1 : 1))
      .map((s) => ({
        sublayer: s,
        filters: this.#filters
          .filter((f) => f.sublayer === s)
          .sort((a, b) =>
            a.effectiveWeight !== b.effectiveWeight
              ? a.effectiveWeight > b.effectiveWeight
                ? -1
                : 1
              : a.filterId < b.filterId
                ? -1
                : 1,
          ),
      }));
    return { layer: this.layer, sublayers };
  }
}

function values(layer: Layer, set: Record<number, FwpValue>): FwpValue[] {
  const out: FwpValue[] = layer.fields.map(() => ({ type: "FWP_EMPTY" }));
  for (const [k, v] of Object.entries(set)) out[Number(k)] = v;
  return out;
}

/** The matches of every sublayer, as filter ids, from one compiled layer. */
function matchesOf(policy: LayerPolicy, compiled: CompiledLayer, incoming: readonly FwpValue[]): bigint[][] {
  return policy.sublayers.map((_, i) => collectMatchList(compiled, i, incoming).map((f) => f.filterId));
}

const u32 = (value: number): FwpValue => ({ type: "FWP_UINT32", value });
const u16 = (value: number): FwpValue => ({ type: "FWP_UINT16", value });
const u8 = (value: number): FwpValue => ({ type: "FWP_UINT8", value });
const cond = (fieldKey: string, matchType: string, conditionValue: unknown) =>
  ({ fieldKey, matchType, conditionValue }) as NonNullable<FilterSpec["conditions"]>[number];

test("a blocklist of remote addresses finds exactly the filter of the address, and nothing for others", () => {
  const b = new PolicyBuilder(CONNECT_V4);
  const ids: bigint[] = [];
  for (let i = 0; i < 1000; i++) {
    ids.push(
      b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", u32(0x0a000000 + i * 7))] })
        .filterId,
    );
  }
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  assert.deepEqual(matchesOf(policy, compiled, values(CONNECT_V4, { [REMOTE_ADDRESS_V4]: u32(0x0a000000 + 70) })), [
    [ids[10]],
  ]);
  assert.deepEqual(matchesOf(policy, compiled, values(CONNECT_V4, { [REMOTE_ADDRESS_V4]: u32(0x0a000001) })), [[]]);
  assert.deepEqual(matchesOf(policy, compiled, values(CONNECT_V4, {})), [[]], "EMPTY remote address matches no EQUAL");
  assert.ok(compiled instanceof IndexedLayer);
  assert.deepEqual(compiled.describe(), [{ probes: 1, residual: 0 }]);
});

test("small sublayers are scanned by default and indexed past the threshold, with the same matches", () => {
  for (const n of [8, 9]) {
    const b = new PolicyBuilder(CONNECT_V4);
    for (let i = 0; i < n; i++) {
      b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", u16(1000 + i))] });
    }
    const policy = b.policy();
    const compiled = indexedClassifier.compile(policy);
    assert.ok(compiled instanceof IndexedLayer);
    assert.deepEqual(compiled.describe(), [n <= 8 ? { probes: 0, residual: n } : { probes: 1, residual: 0 }]);
    const hit = values(CONNECT_V4, { [REMOTE_PORT_V4]: u16(1003) });
    assert.deepEqual(matchesOf(policy, compiled, hit), matchesOf(policy, linearClassifier.compile(policy), hit));
    assert.equal(matchesOf(policy, compiled, hit)[0]?.length, 1);
  }
});

test("IPv4 masks: /0 matches everything, /32 only its address, nested prefixes all match, in weight order", () => {
  const b = new PolicyBuilder(CONNECT_V4);
  const mask = (addr: number, len: number) => ({
    type: "FWP_V4_ADDR_MASK",
    addr,
    mask: len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0,
  });
  const any = b.add({
    weight: u8(1),
    conditions: [cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", mask(0x01020304, 0))],
  });
  const ten = b.add({
    weight: u8(2),
    conditions: [cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", mask(0x0a000000, 8))],
  });
  const host = b.add({
    weight: u8(3),
    conditions: [cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", mask(0x0a010203, 32))],
  });
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  const at = (addr: number) => matchesOf(policy, compiled, values(CONNECT_V4, { [REMOTE_ADDRESS_V4]: u32(addr) }))[0];
  assert.deepEqual(at(0x0a010203), [host.filterId, ten.filterId, any.filterId]);
  assert.deepEqual(at(0x0a010204), [ten.filterId, any.filterId]);
  assert.deepEqual(at(0xc0a80001), [any.filterId]);
  assert.deepEqual(at(0xffffffff), [any.filterId]);
});

test("IPv6 masks of odd lengths (fe80::/10) match on the prefix bits only", () => {
  const b = new PolicyBuilder(CONNECT_V6);
  const fe80 = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  const linkLocal = b.add({
    conditions: [
      cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", {
        type: "FWP_V6_ADDR_MASK",
        addr: fe80,
        prefixLength: 10,
      }),
    ],
  });
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  const at = (first: number, second: number) => {
    const a = new Uint8Array(16);
    a[0] = first;
    a[1] = second;
    a[15] = 1;
    return matchesOf(
      policy,
      compiled,
      values(CONNECT_V6, { [REMOTE_ADDRESS_V6]: { type: "FWP_BYTE_ARRAY16_TYPE", value: a } }),
    )[0];
  };
  assert.deepEqual(at(0xfe, 0x80), [linkLocal.filterId]);
  assert.deepEqual(at(0xfe, 0xbf), [linkLocal.filterId]);
  assert.deepEqual(at(0xfe, 0xc0), []);
  assert.deepEqual(at(0xff, 0x80), []);
});

test("port ranges and comparisons: bounds are inclusive, GREATER/LESS exclude the endpoint", () => {
  const b = new PolicyBuilder(CONNECT_V4);
  const range = b.add({
    conditions: [
      cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", {
        type: "FWP_RANGE_TYPE",
        valueLow: u16(1000),
        valueHigh: u16(2000),
      }),
    ],
  });
  const above = b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_GREATER", u16(2000))] });
  const below = b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_LESS_OR_EQUAL", u16(1000))] });
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  const at = (port: number) =>
    new Set(matchesOf(policy, compiled, values(CONNECT_V4, { [REMOTE_PORT_V4]: u16(port) }))[0]);
  assert.deepEqual(at(999), new Set([below.filterId]));
  assert.deepEqual(at(1000), new Set([range.filterId, below.filterId]));
  assert.deepEqual(at(2000), new Set([range.filterId]));
  assert.deepEqual(at(2001), new Set([above.filterId]));
  assert.deepEqual(at(65535), new Set([above.filterId]));
  assert.deepEqual(at(0), new Set([below.filterId]));
});

test("a filter is found through its most selective group and still needs every group to match (A2)", () => {
  const b = new PolicyBuilder(CONNECT_V4);
  const chrome = utf16leNulTerminated("\\device\\harddiskvolume1\\chrome.exe");
  // 50 filters share PROTOCOL == 6; each has its own port, so the port group is chosen.
  const byPort: Filter[] = [];
  for (let i = 0; i < 50; i++) {
    byPort.push(
      b.add({
        conditions: [
          cond("FWPM_CONDITION_IP_PROTOCOL", "FWP_MATCH_EQUAL", u8(6)),
          cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", u16(8000 + i)),
          cond("FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", { type: "FWP_BYTE_BLOB_TYPE", value: chrome }),
        ],
      }),
    );
  }
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  const app = { type: "FWP_BYTE_BLOB_TYPE", value: chrome } as const;
  const hit = values(CONNECT_V4, { [PROTOCOL_V4]: u8(6), [REMOTE_PORT_V4]: u16(8007), [APP_ID_V4]: app });
  assert.deepEqual(matchesOf(policy, compiled, hit), [[(byPort[7] as Filter).filterId]]);
  const wrongProtocol = values(CONNECT_V4, { [PROTOCOL_V4]: u8(17), [REMOTE_PORT_V4]: u16(8007), [APP_ID_V4]: app });
  assert.deepEqual(matchesOf(policy, compiled, wrongProtocol), [[]]);
  const noApp = values(CONNECT_V4, { [PROTOCOL_V4]: u8(6), [REMOTE_PORT_V4]: u16(8007) });
  assert.deepEqual(matchesOf(policy, compiled, noApp), [[]]);
});

test("same-field OR groups are found under each of their values and reported once (A3)", () => {
  const b = new PolicyBuilder(CONNECT_V4);
  const web = b.add({
    conditions: [
      cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", u16(80)),
      cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", u16(443)),
      cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", {
        type: "FWP_RANGE_TYPE",
        valueLow: u16(440),
        valueHigh: u16(450),
      }),
      cond("FWPM_CONDITION_IP_PROTOCOL", "FWP_MATCH_EQUAL", u8(6)),
    ],
  });
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  const at = (protocol: number, port: number) =>
    matchesOf(policy, compiled, values(CONNECT_V4, { [PROTOCOL_V4]: u8(protocol), [REMOTE_PORT_V4]: u16(port) }))[0];
  assert.deepEqual(at(6, 443), [web.filterId]);
  assert.deepEqual(at(6, 80), [web.filterId]);
  assert.deepEqual(at(6, 445), [web.filterId]);
  assert.deepEqual(at(17, 80), []);
  assert.deepEqual(at(6, 8080), []);
});

test("EMPTY incoming values: EQUAL FWP_EMPTY matches, and NOT_EQUAL follows the engine option (A6)", () => {
  for (const emptyNoMatchForNotEqual of [true, false]) {
    const b = new PolicyBuilder(CONNECT_V4, { emptyNoMatchForNotEqual });
    const isEmpty = b.add({
      conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", { type: "FWP_EMPTY" })],
    });
    const notEighty = b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_NOT_EQUAL", u16(80))] });
    const eighty = b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", u16(80))] });
    const policy = b.policy();
    const compiled = alwaysIndexed.compile(policy);
    const linear = linearClassifier.compile(policy);
    for (const incoming of [
      values(CONNECT_V4, {}),
      values(CONNECT_V4, { [REMOTE_PORT_V4]: u16(80) }),
      [],
      values(CONNECT_V4, { [REMOTE_PORT_V4]: u16(81) }),
    ]) {
      assert.deepEqual(matchesOf(policy, compiled, incoming), matchesOf(policy, linear, incoming));
    }
    const empty = new Set(matchesOf(policy, compiled, values(CONNECT_V4, {}))[0]);
    assert.equal(empty.has(isEmpty.filterId), true);
    assert.equal(empty.has(eighty.filterId), false);
    assert.equal(empty.has(notEighty.filterId), !emptyNoMatchForNotEqual);
  }
});

test("an incoming value of another type than the condition's matches nothing indexed (A8)", () => {
  const b = new PolicyBuilder(CONNECT_V4);
  b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", u16(80))] });
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  assert.deepEqual(matchesOf(policy, compiled, values(CONNECT_V4, { [REMOTE_PORT_V4]: u32(80) })), [[]]);
  assert.deepEqual(matchesOf(policy, compiled, values(CONNECT_V4, { [REMOTE_PORT_V4]: u16(80) })).flat().length, 1);
});

test("collectMatches writes the matches to the front of the caller's array and returns their count", () => {
  const b = new PolicyBuilder(CONNECT_V4);
  const eighty = b.add({ conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", u16(80))] });
  const all = b.add({ conditions: [] });
  const policy = b.policy();
  const compiled = alwaysIndexed.compile(policy);
  const stale = { stale: true } as unknown as Filter;
  const out: Filter[] = [stale, stale, stale];
  assert.equal(compiled.collectMatches(0, values(CONNECT_V4, { [REMOTE_PORT_V4]: u16(80) }), out), 2);
  assert.deepEqual(new Set(out.slice(0, 2)), new Set([eighty, all]));
  assert.equal(out[2], stale, "entries past the count are left alone");
  assert.equal(compiled.collectMatches(0, [], out), 1, "a filter without conditions matches everything (A1)");
  assert.equal(out[0], all);
  assert.equal(compiled.collectMatches(5, [], out), 0, "an unknown sublayer has no matches");
  assert.equal(alwaysIndexed.compile({ layer: CONNECT_V4, sublayers: [] }).collectMatches(0, [], out), 0);
});

test("indexed and linear classifiers agree on random policies at every layer (seeded)", () => {
  const rng = new SeededRng(0x5eed);
  let cases = 0;
  let nonEmpty = 0;
  for (let round = 0; round < 120; round++) {
    const layerName = RANDOM_POLICY_LAYERS[round % RANDOM_POLICY_LAYERS.length] as string;
    const random = randomPolicy(rng, layerName, rng.nextRange(0, 60));
    const sublayers = random.sublayers.map((s, i) => ({
      ...sublayer(i + 1, s.weight),
      subLayerKey: s.subLayerKey as Guid,
    }));
    const b = new PolicyBuilder(random.layer, random.options, sublayers);
    for (const c of random.callouts) b.addCallout(c.calloutKey as Guid);
    for (const spec of random.filters) b.tryAdd(spec);
    const policy = b.policy();
    const indexed = (round % 2 === 0 ? indexedClassifier : alwaysIndexed).compile(policy);
    const linear = linearClassifier.compile(policy);
    for (let k = 0; k < 40; k++) {
      const incoming = randomIncoming(rng, random);
      const expected = matchesOf(policy, linear, incoming);
      assert.deepEqual(matchesOf(policy, indexed, incoming), expected, `round ${round} case ${k}`);
      cases++;
      if (expected.some((m) => m.length > 0)) nonEmpty++;
    }
  }
  assert.ok(nonEmpty > cases / 2, `most cases should match something (${nonEmpty}/${cases})`);
});
