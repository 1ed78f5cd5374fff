import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { SeededRng } from "../base/rng.ts";
import { type Filter, FilterEngine } from "../engine/index.ts";
import { RANDOM_POLICY_LAYERS, randomPolicy } from "../engine/indexed/random-policy.testing.ts";
import { fwpByteBlob, fwpRange, fwpUint64, fwpV6AddrMask } from "../fwp/index.ts";
import { blockPort, CONNECT_V4, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import { fromOwnedStoreData, fromStoreData, storeTextOf, toStoreData } from "./codec.ts";
import { importNetsh } from "./netsh/import.ts";
import { parseNetshXml } from "./netsh/read.ts";
import { filterStoreText, specOfObject } from "./objects.ts";
import { ADMINISTRATOR } from "./security/index.ts";
import { encodeValue } from "./store/codec.ts";

describe("store data codec", () => {
  it("round-trips bigints, bytes and nested values through JSON text", () => {
    const value = {
      filterId: 18_446_744_073_709_551_615n,
      weight: fwpUint64(1n << 63n),
      conditions: [
        { conditionValue: fwpByteBlob(new Uint8Array([0x5c, 0x00, 0x00, 0x00])) },
        { conditionValue: fwpV6AddrMask(new Uint8Array(16).fill(0xfe), 64) },
        { conditionValue: fwpRange(fwpUint64(1n), fwpUint64(2n)) },
      ],
      description: undefined,
      name: "x",
    };
    const text = JSON.stringify(toStoreData(value));
    const back = fromStoreData(JSON.parse(text)) as Record<string, unknown>;
    const { description: _, ...expected } = value;
    assert.deepEqual(back, expected);
    // Decoded in place (data the caller owns): the same value, in the very object parsed.
    const owned = JSON.parse(text) as unknown;
    assert.equal(fromOwnedStoreData(owned), owned);
    assert.deepEqual(owned, expected);
    assert.equal(fromOwnedStoreData(JSON.parse('{"$bigint":"7"}')), 7n);
  });

  it("refuses what JSON would alter", () => {
    assert.throws(() => toStoreData({ n: Number.NaN }), /cannot be stored/);
    assert.throws(() => toStoreData({ f: () => 1 }), /cannot be stored/);
    assert.throws(() => fromStoreData({ $bytes: "xyz" }), /bad \$bytes/);
    assert.throws(() => fromOwnedStoreData({ a: [{ $bytes: "xyz" }] }), /data\.a\[0\]: bad \$bytes/);
  });
});

describe("store text written in one pass (storeTextOf, filterStoreText)", () => {
  /** What the store would write for `value` through the general path. */
  const general = (value: unknown): string => encodeValue(toStoreData(value), "<test>", "data");

  it("storeTextOf gives the general path's text, and leaves what that path must judge to it", () => {
    const values: unknown[] = [
      { a: 1, b: "x", c: [1, "two", null, true, undefined], d: { $bigint: "5" }, e: 5n, f: new Uint8Array([0, 255]) },
      {
        quote: 'say "hi"\\',
        ctl: "a\u0001b\nc",
        pair: "\ud83d\ude00",
        lone: "\ud800x",
        sep: "\u2028",
        skip: undefined,
      },
      { 10: "ten", 2: "two", z: -0, big: 1e21, small: 1e-7, neg: -3.5 },
      Object.assign(Object.create(null) as object, { plain: "null prototype" }),
      [[[]], {}, ""],
      "text",
      42,
    ];
    for (const v of values) assert.equal(storeTextOf(v), general(v));
    const holey: unknown[] = [1, 2, 3];
    delete holey[1];
    for (const v of [{ n: Number.NaN }, { f: () => 1 }, { s: Symbol("x") }, holey, undefined]) {
      assert.equal(storeTextOf(v), undefined);
    }
    assert.equal(storeTextOf(JSON.parse('{"__proto__": {"x": 1}}')), undefined);
  });

  it("filterStoreText gives the text of the filter's complete spec, for every kind of filter", async () => {
    const filters: Filter[] = [];
    for (const layer of RANDOM_POLICY_LAYERS) {
      const rng = new SeededRng(layer.length * 7919);
      const policy = randomPolicy(rng, layer, 60);
      const engine = new FilterEngine({ options: policy.options });
      for (const s of policy.sublayers) engine.addSublayer(s);
      for (const c of policy.callouts) engine.addCallout(c);
      for (const f of policy.filters) filters.push(engine.addFilter(f));
    }
    for (const file of ["keploy__wfpstate.xml", "le_voile__filters.xml", "libgrabber__wfpfilters.xml"]) {
      const text = readFileSync(new URL(`../../fixtures/wfp-state/${file}`, import.meta.url), "utf8");
      const t = openTestBfe();
      const session = t.bfe.openSession(ADMINISTRATOR);
      await importNetsh(parseNetshXml(text), session, { unsupportedSddl: "skip" });
      filters.push(...t.bfe.engine.filters());
    }
    const e = new FilterEngine();
    const provider = e.addProvider({ providerKey: guid(1), name: "p" });
    const calloutKey = e.addCallout({ calloutKey: guid(2), name: "c", applicableLayer: CONNECT_V4 }).calloutKey;
    e.addProviderContext({ providerContextKey: guid(3), name: "pc" });
    filters.push(
      e.addFilter({
        ...blockPort(1),
        name: 'quote " backslash \\ newline \n lone \ud800 emoji \ud83d\ude00',
        description: "a description",
        providerKey: provider.providerKey,
        weight: fwpUint64(1n << 63n),
        flags: 0x4, // HAS_PROVIDER_CONTEXT
        providerContextKey: guid(3),
      }),
      e.addFilter({ ...blockPort(2), action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey } }),
      e.addFilter({ ...blockPort(3), action: { type: "FWP_ACTION_PERMIT", filterType: guid(4) }, rawContext: 7n }),
      e.addFilter({ ...blockPort(4), disabled: true }),
      e.addFilter({ ...blockPort(5), conditions: [] }),
    );
    const sd = new Uint8Array([1, 0, 4, 0x80, 0, 0, 0, 0]);
    assert.ok(filters.length > 2000);
    /** The general path's text, or undefined where it refuses the data (a NaN condition value, say). */
    const expected = (value: unknown): string | undefined => {
      try {
        return general(value);
      } catch (e) {
        assert.ok(e instanceof TypeError, String(e));
        return undefined;
      }
    };
    let refused = 0;
    for (const f of filters) {
      const spec = specOfObject("filter", f) as unknown as Record<string, unknown>;
      const want = expected(spec);
      if (want === undefined) refused++;
      assert.equal(filterStoreText(f, undefined), want, f.name);
      assert.equal(filterStoreText(f, sd), expected({ ...spec, securityDescriptor: sd }), f.name);
    }
    assert.ok(refused < filters.length / 10);
  });
});
