import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fwpRange, fwpUint8, fwpUint16, fwpUint64, fwpV4AddrMask, isFwpError } from "../fwp/index.ts";
import {
  blockPort,
  CONNECT_V4,
  guid,
  openTestBfe,
  PROTOCOL,
  REMOTE_ADDRESS,
  REMOTE_PORT,
} from "./bfe-fixtures.testing.ts";
import {
  ENUM_FLAG_BEST_TERMINATING_MATCH,
  ENUM_FLAG_BOOTTIME_ONLY,
  ENUM_FLAG_INCLUDE_BOOTTIME,
  ENUM_FLAG_SORTED,
} from "./filter-template.ts";
import { ADMINISTRATOR } from "./security/index.ts";

const CALLOUT_FLAG = 0x4000;
const BLOCK = 0x1001;
const PERMIT = 0x1002;
const NON_TERMINATING = 0x2000;

function code(c: string): (e: unknown) => boolean {
  return (e) => isFwpError(e) && e.code === c;
}

function setup() {
  const t = openTestBfe();
  return { ...t, s: t.bfe.openSession(ADMINISTRATOR) };
}

const port = (
  matchType: "FWP_MATCH_EQUAL" | "FWP_MATCH_RANGE",
  v: Parameters<typeof fwpUint16>[0] | [number, number],
) => ({
  fieldKey: REMOTE_PORT,
  matchType,
  conditionValue: Array.isArray(v) ? fwpRange(fwpUint16(v[0]), fwpUint16(v[1])) : fwpUint16(v),
});

describe("§H.4 enumeration", () => {
  it("H22: an enumeration handle is a snapshot taken at creation, paged with next()", () => {
    const { s } = setup();
    for (let p = 1; p <= 5; p++) s.addFilter(blockPort(p));
    const h = s.createEnumHandle("filter", { layer: CONNECT_V4 });
    s.addFilter(blockPort(6));
    s.deleteFilterById(s.enumFilters()[0]?.filterId ?? 0n);
    assert.equal(h.remaining, 5);
    const pages = [h.next(2), h.next(2), h.next(2), h.next(2)].map((page) => page.map((f) => f.name));
    assert.deepEqual(pages, [["block 1", "block 2"], ["block 3", "block 4"], ["block 5"], []]);
    h.destroy();
    assert.throws(() => h.next(1));
  });

  it("H22: every object kind enumerates; sublayers and callouts by provider, callouts by layer", () => {
    const { s } = setup();
    const p = s.addProvider({ providerKey: guid(1), name: "p" });
    s.addSublayer({ subLayerKey: guid(2), name: "mine", weight: 1, providerKey: p.providerKey });
    s.addCallout({ calloutKey: guid(3), name: "co", applicableLayer: CONNECT_V4, providerKey: p.providerKey });
    s.addProviderContext({ providerContextKey: guid(4), name: "pc", providerKey: p.providerKey });
    assert.ok(s.enumProviders().some((x) => x.providerKey === guid(1)));
    assert.deepEqual(
      s.enumSublayers({ providerKey: guid(1) }).map((x) => x.name),
      ["mine"],
    );
    assert.deepEqual(
      s.enumCallouts({ providerKey: guid(1) }).map((x) => x.name),
      ["co"],
    );
    assert.ok(s.enumCallouts({ layer: CONNECT_V4 }).some((x) => x.calloutKey === guid(3)));
    assert.ok(!s.enumCallouts({ layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V6" }).some((x) => x.calloutKey === guid(3)));
    assert.deepEqual(
      s.enumProviderContexts({ providerKey: guid(1) }).map((x) => x.name),
      ["pc"],
    );
    assert.equal(s.createEnumHandle("provider").remaining, s.enumProviders().length);
  });

  it("H23: providerKey selects one provider's filters; the layer is required", () => {
    const { s } = setup();
    s.addProvider({ providerKey: guid(1), name: "a" });
    s.addFilter(blockPort(1, { providerKey: guid(1) }));
    s.addFilter(blockPort(2));
    s.addFilter(blockPort(3, { layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V6" }));
    assert.deepEqual(
      s.enumFilters({ layer: CONNECT_V4, providerKey: guid(1) }).map((f) => f.name),
      ["block 1"],
    );
    assert.deepEqual(
      s.enumFilters({ layer: CONNECT_V4 }).map((f) => f.name),
      ["block 1", "block 2"],
    );
    assert.throws(() => s.enumFilters({} as never), code("FWP_E_INVALID_PARAMETER"));
  });

  it("H23: two template conditions on one field are an error (FWP_E_DUPLICATE_CONDITION)", () => {
    const { s } = setup();
    assert.throws(
      () =>
        s.enumFilters({ layer: CONNECT_V4, conditions: [port("FWP_MATCH_EQUAL", 80), port("FWP_MATCH_EQUAL", 81)] }),
      (e) => code("FWP_E_DUPLICATE_CONDITION")(e) && (e as { path?: string }).path === "conditions[1].fieldKey",
    );
  });

  it("H23: template conditions are validated like filter conditions", () => {
    const { s } = setup();
    assert.throws(
      () =>
        s.enumFilters({
          layer: CONNECT_V4,
          conditions: [{ fieldKey: REMOTE_PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint8(1) }],
        }),
      code("FWP_E_TYPE_MISMATCH"),
    );
  });

  it("H24: filter {port=80}: template {port=80} → both; {} → OVERLAPPING only; {port∈[1,1024]} → OVERLAPPING only; {port=443} → neither", () => {
    const { s } = setup();
    const f = s.addFilter(blockPort(80));
    const select = (
      enumType: "FWP_FILTER_ENUM_FULLY_CONTAINED" | "FWP_FILTER_ENUM_OVERLAPPING",
      conditions: ReturnType<typeof port>[],
    ) => s.enumFilters({ layer: CONNECT_V4, enumType, conditions }).some((x) => x.filterKey === f.filterKey);
    const cases: [string, ReturnType<typeof port>[]][] = [
      ["{port=80}", [port("FWP_MATCH_EQUAL", 80)]],
      ["{}", []],
      ["{port∈[1,1024]}", [port("FWP_MATCH_RANGE", [1, 1024])]],
      ["{port=443}", [port("FWP_MATCH_EQUAL", 443)]],
    ];
    const got = cases.map(([name, c]) => [
      name,
      select("FWP_FILTER_ENUM_FULLY_CONTAINED", c),
      select("FWP_FILTER_ENUM_OVERLAPPING", c),
    ]);
    assert.deepEqual(got, [
      ["{port=80}", true, true],
      ["{}", false, true],
      ["{port∈[1,1024]}", false, true],
      ["{port=443}", false, false],
    ]);
  });

  it("H24: a filter without conditions is FULLY_CONTAINED for every template; address masks and ranges are modelled as sets", () => {
    const { s } = setup();
    const any = s.addFilter({ name: "any", layer: CONNECT_V4, action: { type: "FWP_ACTION_PERMIT" } });
    const net = s.addFilter({
      name: "10/8",
      layer: CONNECT_V4,
      action: { type: "FWP_ACTION_BLOCK" },
      conditions: [
        {
          fieldKey: REMOTE_ADDRESS,
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: fwpV4AddrMask(0x0a000000, 8),
        },
      ],
    });
    const contained = (addr: number, prefix: number) =>
      s
        .enumFilters({
          layer: CONNECT_V4,
          enumType: "FWP_FILTER_ENUM_FULLY_CONTAINED",
          conditions: [
            { fieldKey: REMOTE_ADDRESS, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpV4AddrMask(addr, prefix) },
          ],
        })
        .map((f) => f.name);
    assert.deepEqual(contained(0x0a010000, 16), [any.name, net.name]); // 10.1/16 ⊆ 10/8
    assert.deepEqual(contained(0x0a000000, 7), [any.name]); // 10/7 ⊄ 10/8
  });

  it("H24: a single-value template on a non-ordered field matches the filter's condition", () => {
    const { s } = setup();
    const tcp = s.addFilter({
      name: "tcp",
      layer: CONNECT_V4,
      action: { type: "FWP_ACTION_BLOCK" },
      conditions: [{ fieldKey: PROTOCOL, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint8(6) }],
    });
    const tpl = (v: number) =>
      s.enumFilters({
        layer: CONNECT_V4,
        enumType: "FWP_FILTER_ENUM_FULLY_CONTAINED",
        conditions: [{ fieldKey: PROTOCOL, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint8(v) }],
      });
    assert.deepEqual(
      tpl(6).map((f) => f.filterKey),
      [tcp.filterKey],
    );
    assert.deepEqual(tpl(17), []);
  });

  it("H25: BEST_TERMINATING_MATCH returns only the highest-priority terminating filter; SORTED orders by weight", () => {
    const { s } = setup();
    s.addSublayer({ subLayerKey: guid(9), name: "high", weight: 0xff00 });
    const low = s.addFilter(blockPort(80, { weight: fwpUint64(10n) }));
    const mid = s.addFilter(blockPort(80, { weight: fwpUint64(20n) }));
    const top = s.addFilter(blockPort(80, { weight: fwpUint64(1n), sublayer: guid(9) }));
    const tpl = { layer: CONNECT_V4, conditions: [port("FWP_MATCH_EQUAL", 80)] };
    assert.deepEqual(
      s.enumFilters({ ...tpl, flags: ENUM_FLAG_SORTED }).map((f) => f.filterKey),
      [top.filterKey, mid.filterKey, low.filterKey],
    );
    assert.deepEqual(
      s.enumFilters({ ...tpl, flags: ENUM_FLAG_BEST_TERMINATING_MATCH }).map((f) => f.filterKey),
      [top.filterKey],
    );
    assert.deepEqual(
      s.enumFilters(tpl).map((f) => f.filterKey),
      [low.filterKey, mid.filterKey, top.filterKey],
    );
  });

  it("H25: boot-time filters need INCLUDE_BOOTTIME or BOOTTIME_ONLY; the default excludes them", () => {
    const { s } = setup();
    const normal = s.addFilter(blockPort(1));
    const boot = s.addFilter(blockPort(2, { flags: 0x2 }));
    const names = (flags?: number) =>
      s.enumFilters(flags === undefined ? { layer: CONNECT_V4 } : { layer: CONNECT_V4, flags }).map((f) => f.filterKey);
    assert.deepEqual(names(), [normal.filterKey]);
    assert.deepEqual(names(ENUM_FLAG_INCLUDE_BOOTTIME), [normal.filterKey, boot.filterKey]);
    assert.deepEqual(names(ENUM_FLAG_BOOTTIME_ONLY), [boot.filterKey]);
    assert.deepEqual(
      s.enumFilters().map((f) => f.filterKey),
      [normal.filterKey],
    );
    assert.throws(() => s.enumFilters({ layer: CONNECT_V4, flags: 0x40 }), code("FWP_E_INVALID_FLAGS"));
  });

  it("H26: actionMask selects by action type; a callout-only mask needs calloutKey and selects that callout's filters", () => {
    const { s } = setup();
    const c1 = s.addCallout({ calloutKey: guid(1), name: "c1", applicableLayer: CONNECT_V4 });
    const c2 = s.addCallout({ calloutKey: guid(2), name: "c2", applicableLayer: CONNECT_V4 });
    const b = s.addFilter(blockPort(1));
    const p = s.addFilter({ name: "permit", layer: CONNECT_V4, action: { type: "FWP_ACTION_PERMIT" } });
    const f1 = s.addFilter({
      name: "f1",
      layer: CONNECT_V4,
      action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: c1.calloutKey },
    });
    const f2 = s.addFilter({
      name: "f2",
      layer: CONNECT_V4,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c2.calloutKey },
    });
    const keys = (actionMask: number, calloutKey?: string) =>
      s
        .enumFilters(
          calloutKey === undefined ? { layer: CONNECT_V4, actionMask } : { layer: CONNECT_V4, actionMask, calloutKey },
        )
        .map((f) => f.filterKey);
    // (type & mask) != 0, literally: BLOCK 0x1001 and CALLOUT_TERMINATING 0x5003 share bit 0x1.
    assert.deepEqual(keys(BLOCK & ~0x1000), [b.filterKey, f2.filterKey]);
    assert.deepEqual(keys(PERMIT & ~0x1000), [p.filterKey, f2.filterKey]);
    assert.deepEqual(keys(NON_TERMINATING), [f1.filterKey]);
    assert.equal(keys(0xffffffff).length, 4);
    assert.deepEqual(keys(CALLOUT_FLAG, c1.calloutKey), [f1.filterKey]);
    assert.throws(() => keys(CALLOUT_FLAG), code("FWP_E_INVALID_PARAMETER"));
  });

  it("H27: a template that can never match is FWP_E_NEVER_MATCH", () => {
    const { s } = setup();
    assert.throws(() => s.enumFilters({ layer: CONNECT_V4, actionMask: 0 }), code("FWP_E_NEVER_MATCH"));
    assert.throws(
      () => s.enumFilters({ layer: CONNECT_V4, actionMask: 0x1, calloutKey: guid(1) }),
      code("FWP_E_NEVER_MATCH"),
    );
  });
});
