/**
 * The behavioural suite every Classifier must pass: the arbitration vectors of wfp-semantics.md §C.3
 * (AX1–AX7) and §C.4 (OV1–OV15), the arbitration example transcribed from the Microsoft docs, every
 * match type over every data type it accepts with edge values (§A.3), FWP_EMPTY incoming values (A6),
 * field grouping (A1–A4) and trace contents. `runClassifierConformance(classifier)` registers the tests
 * with node:test; run it from a `*.test.ts` file.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Ipv6Address } from "../base/ip.ts";
import {
  FWP_EMPTY_VALUE,
  type FwpConditionValue,
  type FwpValue,
  fwpBitmapArray64,
  fwpBitmapIndex,
  fwpByteArray6,
  fwpByteArray16,
  fwpByteBlob,
  fwpDouble,
  fwpFloat,
  fwpInt8,
  fwpInt16,
  fwpInt32,
  fwpInt64,
  fwpRange,
  fwpSecurityDescriptor,
  fwpSid,
  fwpTokenAccessInformation,
  fwpUint8,
  fwpUint16,
  fwpUint32,
  fwpUint64,
  fwpUnicodeString,
  fwpV4AddrMask,
  fwpV6AddrMask,
  parseSid,
  securityDescriptorFromSddl,
  utf16leNulTerminated,
} from "../fwp/index.ts";
import type { Classifier } from "./classifier.ts";
import { FilterEngine } from "./engine.ts";
import { answers, appId, incoming, scriptedCallout, testGuid, token } from "./engine-fixtures.testing.ts";
import type { ClassifyResult, FilterConditionSpec, FilterSpec, MatchTypeName } from "./model.ts";
import type { EngineOptions } from "./options.ts";

const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const CONNECT6 = "FWPM_LAYER_ALE_AUTH_CONNECT_V6";
const TRANSPORT = "FWPM_LAYER_INBOUND_TRANSPORT_V4";
const ACCEPT = "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4";
const MAC = "FWPM_LAYER_INBOUND_MAC_FRAME_ETHERNET";
/** A field whose data type is unpublished, so it accepts values of any type (used for INT*, FLOAT, strings). */
const ANY = "FWPM_CONDITION_ALE_PACKAGE_FAMILY_NAME";
const CLEAR_ACTION_RIGHT = 0x8;
const PERMIT_IF_CALLOUT_UNREGISTERED = 0x10;

const v6 = (text: string): Uint8Array => Ipv6Address.parse(text).bytes;
/** An incoming zero-length blob (the constructors refuse it as a condition value, V17). */
const EMPTY_BLOB: FwpValue = { type: "FWP_BYTE_BLOB_TYPE", value: new Uint8Array(0) };
const blobOfText = (text: string): FwpValue => fwpByteBlob(utf16leNulTerminated(text));

function cond(fieldKey: string, matchType: MatchTypeName, conditionValue: FwpConditionValue): FilterConditionSpec {
  return { fieldKey, matchType, conditionValue };
}

export function runClassifierConformance(classifier: Classifier): void {
  const newEngine = (options?: EngineOptions): FilterEngine =>
    new FilterEngine(options === undefined ? { classifier } : { classifier, options });

  describe(`classifier conformance: ${classifier.name}`, () => {
    describeArbitrationExample(newEngine);
    describeOverrideMatrix(newEngine);
    describeDocsFixture(newEngine);
    describeMatchTypes(newEngine);
    describeGrouping(newEngine);
    describeTrace(newEngine);
  });
}

type NewEngine = (options?: EngineOptions) => FilterEngine;

// ---------------------------------------------------------------------------------------------
// §C.3 AX1–AX7
// ---------------------------------------------------------------------------------------------

function describeArbitrationExample(newEngine: NewEngine): void {
  const IIS = "\\device\\harddiskvolume1\\windows\\system32\\inetsrv\\w3wp.exe";
  const OTHER = "\\device\\harddiskvolume1\\program files\\other\\other.exe";

  interface Variant {
    readonly fw1Hard?: boolean;
    readonly fw2Callout?: boolean;
  }

  function build(variant: Variant = {}) {
    const engine = newEngine();
    // Inbound transport: S1 {* → PERMIT}; S2 {* → ids_callout (CONTINUE), * → PERMIT}.
    const s1 = engine.addSublayer({ subLayerKey: testGuid(1), name: "S1", weight: 0x300 });
    const s2 = engine.addSublayer({ subLayerKey: testGuid(2), name: "S2", weight: 0x200 });
    // ALE recv/accept: FW1 {app == IIS → PERMIT}; FW2 {localPort == 80 → BLOCK}; S3 {* → log_callout}.
    const fw1 = engine.addSublayer({ subLayerKey: testGuid(3), name: "FW1", weight: 0x300 });
    const fw2 = engine.addSublayer({ subLayerKey: testGuid(4), name: "FW2", weight: 0x200 });
    const s3 = engine.addSublayer({ subLayerKey: testGuid(5), name: "S3", weight: 0x100 });
    const ids = scriptedCallout(engine, 1, TRANSPORT, answers.continue);
    const log = scriptedCallout(engine, 2, ACCEPT, answers.continue);
    const fw2Callout = scriptedCallout(engine, 3, ACCEPT, answers.block);
    engine.addFilter({
      name: "S1 permit",
      layer: TRANSPORT,
      sublayer: s1.subLayerKey,
      action: { type: "FWP_ACTION_PERMIT" },
    });
    engine.addFilter({
      name: "ids",
      layer: TRANSPORT,
      sublayer: s2.subLayerKey,
      weight: fwpUint64(10),
      action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: ids.key },
    });
    engine.addFilter({
      name: "S2 permit",
      layer: TRANSPORT,
      sublayer: s2.subLayerKey,
      weight: fwpUint64(5),
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const iisPermit = engine.addFilter({
      name: "IIS permit",
      layer: ACCEPT,
      sublayer: fw1.subLayerKey,
      flags: variant.fw1Hard === true ? CLEAR_ACTION_RIGHT : 0,
      conditions: [cond("FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", appId(IIS))],
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const port80 = engine.addFilter({
      name: "port 80 block",
      layer: ACCEPT,
      sublayer: fw2.subLayerKey,
      conditions: [cond("FWPM_CONDITION_IP_LOCAL_PORT", "FWP_MATCH_EQUAL", fwpUint16(80))],
      action:
        variant.fw2Callout === true
          ? { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: fw2Callout.key }
          : { type: "FWP_ACTION_BLOCK" },
    });
    engine.addFilter({
      name: "log",
      layer: ACCEPT,
      sublayer: s3.subLayerKey,
      action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: log.key },
    });
    const transport = (): ClassifyResult =>
      engine.classify({
        layer: TRANSPORT,
        incomingValues: incoming(TRANSPORT, {
          FWPM_CONDITION_IP_PROTOCOL: fwpUint8(6),
          FWPM_CONDITION_IP_LOCAL_PORT: fwpUint16(80),
        }),
      });
    const accept = (app: string, port: number): ClassifyResult =>
      engine.classify({
        layer: ACCEPT,
        incomingValues: incoming(ACCEPT, {
          FWPM_CONDITION_ALE_APP_ID: appId(app),
          FWPM_CONDITION_IP_LOCAL_PORT: fwpUint16(port),
          FWPM_CONDITION_IP_PROTOCOL: fwpUint8(6),
        }),
        trace: true,
      });
    return { engine, ids, log, fw2Callout, iisPermit, port80, transport, accept };
  }

  describe("§C.3 arbitration example (AX1–AX7)", () => {
    test("AX1: soft permit for IIS is overridden by the hard block on port 80; log callout sees no write right", () => {
      const x = build();
      const t = x.transport();
      assert.equal(t.action, "FWP_ACTION_PERMIT");
      assert.equal(x.ids.calls.length, 1);
      const r = x.accept(IIS, 80);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, x.port80);
      assert.equal(r.rights, 0);
      assert.equal(x.log.calls.length, 1);
      assert.equal(x.log.calls[0]?.rightsIn, 0);
      assert.deepEqual(
        r.terminatingFilters.map((f) => f.name),
        ["IIS permit", "port 80 block"],
      );
    });

    test("AX2: IIS on port 443 stays permitted (soft permit, no block matches)", () => {
      const x = build();
      const r = x.accept(IIS, 443);
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, x.iisPermit);
      assert.equal(x.log.calls[0]?.rightsIn, 1);
      assert.equal(x.log.calls[0]?.preloadAction, "FWP_ACTION_PERMIT");
    });

    test("AX3: another app on port 80 is blocked", () => {
      const x = build();
      const r = x.accept(OTHER, 80);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, x.port80);
    });

    test("AX4: another app on port 8080 matches no terminating filter and is permitted (C15)", () => {
      const x = build();
      const r = x.accept(OTHER, 8080);
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, null);
      assert.equal(r.trace?.noMatch, true);
      assert.equal(x.log.calls[0]?.preloadAction, "FWP_ACTION_CONTINUE");
    });

    test("AX5: with CLEAR_ACTION_RIGHT the IIS permit is hard and the static block is ignored", () => {
      const x = build({ fw1Hard: true });
      const r = x.accept(IIS, 80);
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.vetoed, false);
      assert.equal(r.decidingFilter, x.iisPermit);
      assert.equal(r.trace?.sublayers[1]?.apply, "ignored");
    });

    test("AX6: a callout block under a hard permit is a veto", () => {
      const x = build({ fw1Hard: true, fw2Callout: true });
      const r = x.accept(IIS, 80);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.vetoed, true);
      assert.equal(r.decidingFilter, x.port80);
      assert.equal(x.fw2Callout.calls[0]?.rightsIn, 0);
      assert.equal(r.trace?.sublayers[1]?.apply, "veto");
    });

    test("AX7: ids_callout and log_callout run exactly once per classification in every case", () => {
      const cases: [Variant, string, number][] = [
        [{}, IIS, 80],
        [{}, IIS, 443],
        [{}, OTHER, 80],
        [{}, OTHER, 8080],
        [{ fw1Hard: true }, IIS, 80],
        [{ fw1Hard: true, fw2Callout: true }, IIS, 80],
      ];
      for (const [variant, app, port] of cases) {
        const x = build(variant);
        x.transport();
        x.accept(app, port);
        assert.equal(x.ids.calls.length, 1);
        assert.equal(x.log.calls.length, 1);
        x.transport();
        x.accept(app, port);
        assert.equal(x.ids.calls.length, 2);
        assert.equal(x.log.calls.length, 2);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// §C.4 OV1–OV15
// ---------------------------------------------------------------------------------------------

type Side =
  | { readonly kind: "none" }
  | { readonly kind: "static"; readonly action: "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK"; readonly flags?: number }
  | {
      readonly kind: "callout";
      readonly action:
        | "FWP_ACTION_CALLOUT_TERMINATING"
        | "FWP_ACTION_CALLOUT_UNKNOWN"
        | "FWP_ACTION_CALLOUT_INSPECTION";
      readonly answer: (out: import("./model.ts").ClassifyOut) => void;
      readonly registered?: boolean;
      readonly flags?: number;
    };

function describeOverrideMatrix(newEngine: NewEngine): void {
  function run(hi: Side, lo: Side) {
    const engine = newEngine();
    const sHi = engine.addSublayer({ subLayerKey: testGuid(0x11), name: "S_hi", weight: 2 });
    const sLo = engine.addSublayer({ subLayerKey: testGuid(0x12), name: "S_lo", weight: 1 });
    const callouts = [] as ReturnType<typeof scriptedCallout>[];
    const add = (side: Side, sublayer: string, n: number) => {
      if (side.kind === "none") {
        // A filter that never matches, so the sublayer exists but contributes nothing.
        return engine.addFilter({
          name: `no match ${n}`,
          layer: CONNECT,
          sublayer,
          conditions: [cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", fwpUint16(1))],
          action: { type: "FWP_ACTION_BLOCK" },
        });
      }
      if (side.kind === "static") {
        return engine.addFilter({
          name: `static ${n}`,
          layer: CONNECT,
          sublayer,
          flags: side.flags ?? 0,
          action: { type: side.action },
        });
      }
      const c = scriptedCallout(engine, n, CONNECT, side.answer, side.registered ?? true);
      callouts.push(c);
      return engine.addFilter({
        name: `callout ${n}`,
        layer: CONNECT,
        sublayer,
        flags: side.flags ?? 0,
        action: { type: side.action, calloutKey: c.key },
      });
    };
    const fHi = add(hi, sHi.subLayerKey, 1);
    const fLo = add(lo, sLo.subLayerKey, 2);
    const r = engine.classify({
      layer: CONNECT,
      incomingValues: incoming(CONNECT, { FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(443) }),
      trace: true,
    });
    return { r, fHi, fLo, callouts };
  }
  const softPermit: Side = { kind: "static", action: "FWP_ACTION_PERMIT" };
  const hardPermit: Side = { kind: "static", action: "FWP_ACTION_PERMIT", flags: CLEAR_ACTION_RIGHT };
  const staticBlock: Side = { kind: "static", action: "FWP_ACTION_BLOCK" };
  const none: Side = { kind: "none" };

  describe("§C.4 override matrix (OV1–OV15)", () => {
    test("OV1: a static block in a lower sublayer overrides a soft permit", () => {
      const { r, fLo } = run(softPermit, staticBlock);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, fLo);
      assert.equal(r.vetoed, false);
    });
    test("OV2: a hard permit is not overridden by a static block (no static veto)", () => {
      const { r, fHi } = run(hardPermit, staticBlock);
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, fHi);
      assert.equal(r.vetoed, false);
    });
    test("OV3: a callout block under a hard permit vetoes it", () => {
      const { r, fLo, callouts } = run(hardPermit, {
        kind: "callout",
        action: "FWP_ACTION_CALLOUT_TERMINATING",
        answer: answers.block,
      });
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.vetoed, true);
      assert.equal(r.decidingFilter, fLo);
      assert.equal(callouts[0]?.calls[0]?.rightsIn, 0);
    });
    test("OV4: a soft callout block (write right left set) is overridden by a static permit", () => {
      const { r, fLo } = run(
        { kind: "callout", action: "FWP_ACTION_CALLOUT_TERMINATING", answer: answers.softBlock },
        softPermit,
      );
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, fLo);
    });
    test("OV5: a hard static block is not overridden by a hard permit", () => {
      const { r, fHi } = run(staticBlock, hardPermit);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, fHi);
    });
    test("OV6: a hard block stays; the lower callout sees rights without WRITE and its permit is ignored", () => {
      const { r, fHi, callouts } = run(staticBlock, {
        kind: "callout",
        action: "FWP_ACTION_CALLOUT_TERMINATING",
        answer: answers.permit,
      });
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, fHi);
      assert.equal(callouts[0]?.calls[0]?.rightsIn, 0);
      assert.equal(callouts[0]?.calls[0]?.preloadAction, "FWP_ACTION_BLOCK");
      assert.equal(r.trace?.sublayers[1]?.apply, "ignored");
    });
    test("OV7: soft permit then soft permit is a permit decided by the lower sublayer", () => {
      const { r, fLo } = run(softPermit, softPermit);
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, fLo);
      assert.equal(r.rights, 1);
    });
    test("OV8: no match above, static block below → BLOCK", () => {
      const { r, fLo } = run(none, staticBlock);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, fLo);
    });
    test("OV9: static block above, no match below → BLOCK", () => {
      const { r, fHi } = run(staticBlock, none);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, fHi);
    });
    test("OV10: nothing matches → PERMIT (C15) with no deciding filter", () => {
      const { r } = run(none, none);
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, null);
      assert.deepEqual(r.terminatingFilters, []);
    });
    test("OV11: an inspection callout writing BLOCK is treated as CONTINUE (C12)", () => {
      const { r, fHi, callouts } = run(softPermit, {
        kind: "callout",
        action: "FWP_ACTION_CALLOUT_INSPECTION",
        answer: answers.block,
      });
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, fHi);
      assert.equal(callouts[0]?.calls.length, 1);
    });
    test("OV12: an unregistered terminating callout acts as a hard BLOCK (C14)", () => {
      const { r, fHi, callouts } = run(
        { kind: "callout", action: "FWP_ACTION_CALLOUT_TERMINATING", answer: answers.permit, registered: false },
        softPermit,
      );
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, fHi);
      assert.equal(callouts[0]?.calls.length, 0);
      assert.equal(r.trace?.sublayers[0]?.filters[0]?.calloutUnregistered, true);
    });
    test("OV13: PERMIT_IF_CALLOUT_UNREGISTERED gives a soft PERMIT that a lower block overrides", () => {
      const { r, fLo } = run(
        {
          kind: "callout",
          action: "FWP_ACTION_CALLOUT_TERMINATING",
          answer: answers.block,
          registered: false,
          flags: PERMIT_IF_CALLOUT_UNREGISTERED,
        },
        staticBlock,
      );
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, fLo);
      assert.equal(r.trace?.sublayers[0]?.outcome?.action, "FWP_ACTION_PERMIT");
      assert.equal(r.trace?.sublayers[0]?.outcome?.hard, false);
    });

    function oneSublayer(
      first: FilterSpec["action"],
      firstWeight: number,
      secondWeight: number,
      answer = answers.continue,
    ) {
      const engine = newEngine();
      const c = scriptedCallout(engine, 7, CONNECT, answer);
      const a = engine.addFilter({
        name: "w10",
        layer: CONNECT,
        weight: fwpUint64(firstWeight),
        action: first.type === "FWP_ACTION_CALLOUT_UNKNOWN" ? { type: first.type, calloutKey: c.key } : first,
      });
      const b = engine.addFilter({
        name: "w5",
        layer: CONNECT,
        weight: fwpUint64(secondWeight),
        action: { type: "FWP_ACTION_BLOCK" },
      });
      const r = engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, {}), trace: true });
      return { r, a, b, c };
    }
    test("OV14: within one sublayer the w=10 PERMIT ends it; the w=5 BLOCK is never evaluated", () => {
      const { r, a } = oneSublayer({ type: "FWP_ACTION_PERMIT" }, 10, 5);
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      assert.equal(r.decidingFilter, a);
      assert.deepEqual(
        r.trace?.sublayers[0]?.filters.map((f) => [f.filter.name, f.status]),
        [
          ["w10", "evaluated"],
          ["w5", "skipped"],
        ],
      );
    });
    test("OV14 (order by weight, not by add order): a later-added higher weight runs first", () => {
      const { r, b } = oneSublayer({ type: "FWP_ACTION_PERMIT" }, 5, 10);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, b);
    });
    test("OV15: a w=10 UNKNOWN callout returning CONTINUE lets the w=5 BLOCK decide; the callout is invoked", () => {
      const { r, b, c } = oneSublayer({ type: "FWP_ACTION_CALLOUT_UNKNOWN" }, 10, 5);
      assert.equal(r.action, "FWP_ACTION_BLOCK");
      assert.equal(r.decidingFilter, b);
      assert.equal(c.calls.length, 1);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The Microsoft docs' arbitration example (fixtures/wfp-docs)
// ---------------------------------------------------------------------------------------------

interface DocsFixture {
  readonly scenario: {
    readonly layers: readonly {
      readonly layer: string;
      readonly sublayers: readonly {
        readonly name: string;
        readonly filters: readonly { readonly match: string; readonly action: string }[];
        readonly sublayer_result: string;
      }[];
      readonly layer_result: string;
    }[];
    readonly expected_final: string;
  };
}

function describeDocsFixture(newEngine: NewEngine): void {
  test("docs arbitration example (fwp-sub-config2.png): inbound port 80 to IIS.exe is blocked", () => {
    const url = new URL("../../fixtures/wfp-docs/arbitration_example_from_docs.json", import.meta.url);
    const fixture = JSON.parse(readFileSync(url, "utf8")) as DocsFixture;
    const layerOf: Readonly<Record<string, string>> = { "Inbound Transport": TRANSPORT, "ALE recv/accept": ACCEPT };
    const iis = appId("\\device\\harddiskvolume1\\windows\\system32\\inetsrv\\iis.exe");
    const engine = newEngine();
    const results: string[] = [];
    let n = 0;
    for (const layerSpec of fixture.scenario.layers) {
      const layer = layerOf[layerSpec.layer];
      assert.ok(layer !== undefined, layerSpec.layer);
      const count = layerSpec.sublayers.length;
      const callouts: ReturnType<typeof scriptedCallout>[] = [];
      layerSpec.sublayers.forEach((sl, si) => {
        const sub = engine.addSublayer({
          subLayerKey: testGuid(0x100 + ++n),
          name: sl.name,
          weight: 0x1000 * (count - si),
        });
        sl.filters.forEach((f, fi) => {
          const conditions: FilterConditionSpec[] =
            f.match === "*"
              ? []
              : f.match === "app == IIS.exe"
                ? [cond("FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", iis)]
                : f.match === "local port 80"
                  ? [cond("FWPM_CONDITION_IP_LOCAL_PORT", "FWP_MATCH_EQUAL", fwpUint16(80))]
                  : assert.fail(`unknown match ${f.match}`);
          const weight = fwpUint64(100 - fi);
          if (f.action.startsWith("callout")) {
            const c = scriptedCallout(engine, 0x200 + ++n, layer, answers.continue);
            callouts.push(c);
            const inspection = f.action.includes("inspection");
            engine.addFilter({
              name: f.action,
              layer,
              sublayer: sub.subLayerKey,
              weight,
              conditions,
              action: {
                type: inspection ? "FWP_ACTION_CALLOUT_INSPECTION" : "FWP_ACTION_CALLOUT_UNKNOWN",
                calloutKey: c.key,
              },
            });
          } else {
            engine.addFilter({
              name: f.action,
              layer,
              sublayer: sub.subLayerKey,
              weight,
              conditions,
              action: { type: f.action === "permit" ? "FWP_ACTION_PERMIT" : "FWP_ACTION_BLOCK" },
            });
          }
        });
      });
      const r = engine.classify({
        layer,
        incomingValues: incoming(layer, {
          FWPM_CONDITION_IP_PROTOCOL: fwpUint8(6),
          FWPM_CONDITION_IP_LOCAL_PORT: fwpUint16(80),
          ...(layer === ACCEPT ? { FWPM_CONDITION_ALE_APP_ID: iis } : {}),
        }),
        trace: true,
      });
      const trace = r.trace;
      assert.ok(trace !== undefined);
      layerSpec.sublayers.forEach((sl, si) => {
        const word = sl.sublayer_result.split(" ")[0];
        const outcome = trace.sublayers[si]?.outcome;
        if (word === "Continue") assert.equal(outcome, null, sl.name);
        else assert.equal(outcome?.action, `FWP_ACTION_${word?.toUpperCase()}`, sl.name);
        if (sl.sublayer_result.includes("(hard)")) assert.equal(outcome?.hard, true);
        if (sl.sublayer_result.includes("(soft)")) assert.equal(outcome?.hard, false);
      });
      assert.equal(r.action, `FWP_ACTION_${layerSpec.layer_result.toUpperCase()}`, layerSpec.layer);
      for (const c of callouts) assert.equal(c.calls.length, 1);
      results.push(r.action);
    }
    const final = results.includes("FWP_ACTION_BLOCK") ? "BLOCK" : "PERMIT";
    assert.equal(final, fixture.scenario.expected_final);
  });
}

// ---------------------------------------------------------------------------------------------
// §A.3 match types × data types
// ---------------------------------------------------------------------------------------------

interface MatchCase {
  readonly name: string;
  readonly layer?: string;
  readonly field: string;
  readonly matchType: MatchTypeName;
  readonly value: FwpConditionValue;
  readonly hits: readonly FwpValue[];
  readonly misses: readonly FwpValue[];
}

const SYSTEM_SD = securityDescriptorFromSddl("D:(A;;CC;;;S-1-5-18)");
const DENY_ADMINS_SD = securityDescriptorFromSddl("D:(D;;CC;;;S-1-5-32-544)(A;;CC;;;S-1-5-11)");
const PORT = "FWPM_CONDITION_IP_LOCAL_PORT";
const PROTO = "FWPM_CONDITION_IP_PROTOCOL";
const IFINDEX = "FWPM_CONDITION_INTERFACE_INDEX";
const IFLUID = "FWPM_CONDITION_IP_LOCAL_INTERFACE";
const FLAGS = "FWPM_CONDITION_FLAGS";
const REMOTE = "FWPM_CONDITION_IP_REMOTE_ADDRESS";
const APP = "FWPM_CONDITION_ALE_APP_ID";
const U64_MAX = 0xffffffffffffffffn;

export const MATCH_CASES: readonly MatchCase[] = [
  // EQUAL over every type
  {
    name: "EQUAL UINT8 0",
    field: PROTO,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint8(0),
    hits: [fwpUint8(0)],
    misses: [fwpUint8(1), fwpUint8(255)],
  },
  {
    name: "EQUAL UINT8 max",
    field: PROTO,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint8(255),
    hits: [fwpUint8(255)],
    misses: [fwpUint8(254), fwpUint8(0)],
  },
  {
    name: "EQUAL UINT16 0",
    field: PORT,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint16(0),
    hits: [fwpUint16(0)],
    misses: [fwpUint16(65535)],
  },
  {
    name: "EQUAL UINT16 max",
    field: PORT,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint16(65535),
    hits: [fwpUint16(65535)],
    misses: [fwpUint16(0), fwpUint16(65534)],
  },
  {
    name: "EQUAL UINT32 max",
    field: IFINDEX,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint32(0xffffffff),
    hits: [fwpUint32(0xffffffff)],
    misses: [fwpUint32(0), fwpUint32(0xfffffffe)],
  },
  {
    name: "EQUAL UINT32 0",
    field: IFINDEX,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint32(0),
    hits: [fwpUint32(0)],
    misses: [fwpUint32(0xffffffff)],
  },
  {
    name: "EQUAL UINT64 max",
    field: IFLUID,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint64(U64_MAX),
    hits: [fwpUint64(U64_MAX)],
    misses: [fwpUint64(0), fwpUint64(U64_MAX - 1n)],
  },
  {
    name: "EQUAL UINT64 0",
    field: IFLUID,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUint64(0),
    hits: [fwpUint64(0)],
    misses: [fwpUint64(1)],
  },
  {
    name: "EQUAL INT8 min",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpInt8(-128),
    hits: [fwpInt8(-128)],
    misses: [fwpInt8(127), fwpInt8(0)],
  },
  {
    name: "EQUAL INT16 max",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpInt16(32767),
    hits: [fwpInt16(32767)],
    misses: [fwpInt16(-32768)],
  },
  {
    name: "EQUAL INT32 min",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpInt32(-0x80000000),
    hits: [fwpInt32(-0x80000000)],
    misses: [fwpInt32(0x7fffffff)],
  },
  {
    name: "EQUAL INT64 min",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpInt64(-(2n ** 63n)),
    hits: [fwpInt64(-(2n ** 63n))],
    misses: [fwpInt64(2n ** 63n - 1n)],
  },
  {
    name: "EQUAL FLOAT",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpFloat(1.5),
    hits: [fwpFloat(1.5)],
    misses: [fwpFloat(1.25), fwpDouble(1.5)],
  },
  {
    name: "EQUAL DOUBLE",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpDouble(0.1),
    hits: [fwpDouble(0.1)],
    misses: [fwpDouble(0.2)],
  },
  {
    name: "EQUAL BYTE_ARRAY16",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpByteArray16(v6("2001:db8::1")),
    hits: [fwpByteArray16(v6("2001:db8::1"))],
    misses: [fwpByteArray16(v6("2001:db8::2")), fwpByteArray16(v6("::"))],
  },
  {
    name: "EQUAL BYTE_ARRAY6 (MAC)",
    layer: MAC,
    field: "FWPM_CONDITION_MAC_REMOTE_ADDRESS",
    matchType: "FWP_MATCH_EQUAL",
    value: fwpByteArray6(Uint8Array.of(0, 0x11, 0x22, 0x33, 0x44, 0x55)),
    hits: [fwpByteArray6(Uint8Array.of(0, 0x11, 0x22, 0x33, 0x44, 0x55))],
    misses: [fwpByteArray6(Uint8Array.of(0, 0x11, 0x22, 0x33, 0x44, 0x56)), fwpByteArray6(new Uint8Array(6))],
  },
  {
    name: "EQUAL BYTE_BLOB app id compares bytes (A13: no case folding)",
    field: APP,
    matchType: "FWP_MATCH_EQUAL",
    value: appId("\\device\\harddiskvolume1\\a.exe"),
    hits: [appId("\\DEVICE\\HARDDISKVOLUME1\\A.EXE")],
    misses: [blobOfText("\\DEVICE\\HARDDISKVOLUME1\\A.EXE"), appId("\\device\\harddiskvolume1\\a.ex"), EMPTY_BLOB],
  },
  {
    name: "EQUAL SID",
    field: "FWPM_CONDITION_ALE_PACKAGE_ID",
    matchType: "FWP_MATCH_EQUAL",
    value: fwpSid(parseSid("S-1-15-2-1")),
    hits: [fwpSid(parseSid("S-1-15-2-1"))],
    misses: [fwpSid(parseSid("S-1-0-0")), fwpSid(parseSid("S-1-15-2-2"))],
  },
  {
    name: "EQUAL security descriptor on a token field (access check for FWP_ACTRL_MATCH_FILTER)",
    field: "FWPM_CONDITION_ALE_USER_ID",
    matchType: "FWP_MATCH_EQUAL",
    value: fwpSecurityDescriptor(SYSTEM_SD),
    hits: [
      fwpTokenAccessInformation(token("S-1-5-18")),
      fwpTokenAccessInformation(token("S-1-5-21-1-2-3-1001", "S-1-5-18")),
    ],
    misses: [
      fwpTokenAccessInformation(token("S-1-5-19")),
      fwpTokenAccessInformation(token("S-1-5-21-1-2-3-1001", "S-1-5-11")),
    ],
  },
  {
    name: "EQUAL security descriptor: a deny ACE wins over a later allow",
    field: "FWPM_CONDITION_ALE_USER_ID",
    matchType: "FWP_MATCH_EQUAL",
    value: fwpSecurityDescriptor(DENY_ADMINS_SD),
    hits: [fwpTokenAccessInformation(token("S-1-5-21-1-2-3-1001", "S-1-5-11"))],
    misses: [
      fwpTokenAccessInformation(token("S-1-5-21-1-2-3-500", "S-1-5-32-544", "S-1-5-11")),
      fwpTokenAccessInformation(token("S-1-5-19")),
    ],
  },
  {
    name: "EQUAL token information (structural)",
    field: "FWPM_CONDITION_ALE_USER_ID",
    matchType: "FWP_MATCH_EQUAL",
    value: fwpTokenAccessInformation(token("S-1-5-18")),
    hits: [fwpTokenAccessInformation(token("S-1-5-18"))],
    misses: [fwpTokenAccessInformation(token("S-1-5-19"))],
  },
  {
    name: "EQUAL UNICODE_STRING is case-sensitive",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpUnicodeString("Contoso.App"),
    hits: [fwpUnicodeString("Contoso.App")],
    misses: [fwpUnicodeString("contoso.app"), fwpUnicodeString("")],
  },
  {
    name: "EQUAL BITMAP_INDEX",
    field: "FWPM_CONDITION_BITMAP_IP_LOCAL_PORT",
    matchType: "FWP_MATCH_EQUAL",
    value: fwpBitmapIndex(63),
    hits: [fwpBitmapIndex(63)],
    misses: [fwpBitmapIndex(0)],
  },
  {
    name: "EQUAL BITMAP_ARRAY64",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpBitmapArray64(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0x80)),
    hits: [fwpBitmapArray64(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0x80))],
    misses: [fwpBitmapArray64(new Uint8Array(8))],
  },
  {
    name: "EQUAL V4 mask /0 matches every address",
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV4AddrMask(0, 0),
    hits: [fwpUint32(0), fwpUint32(0xffffffff), fwpUint32(0x0a000001)],
    misses: [fwpUint16(1)],
  },
  {
    name: "EQUAL V4 mask /32 matches one address",
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV4AddrMask(0xc0a80001, 32),
    hits: [fwpUint32(0xc0a80001)],
    misses: [fwpUint32(0xc0a80000), fwpUint32(0xc0a80002)],
  },
  {
    name: "EQUAL V4 mask /8",
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV4AddrMask(0x0a000000, 8),
    hits: [fwpUint32(0x0a000000), fwpUint32(0x0affffff)],
    misses: [fwpUint32(0x09ffffff), fwpUint32(0x0b000000)],
  },
  {
    name: "EQUAL V4 mask /31 at the top of the space",
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV4AddrMask(0xfffffffe, 31),
    hits: [fwpUint32(0xfffffffe), fwpUint32(0xffffffff)],
    misses: [fwpUint32(0xfffffffd)],
  },
  {
    name: "EQUAL V6 mask /0",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV6AddrMask(new Uint8Array(16), 0),
    hits: [fwpByteArray16(v6("::")), fwpByteArray16(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))],
    misses: [],
  },
  {
    name: "EQUAL V6 mask /128",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV6AddrMask(v6("2001:db8::1"), 128),
    hits: [fwpByteArray16(v6("2001:db8::1"))],
    misses: [fwpByteArray16(v6("2001:db8::")), fwpByteArray16(v6("2001:db8::3"))],
  },
  {
    name: "EQUAL V6 mask /10 (fe80::/10)",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV6AddrMask(v6("fe80::"), 10),
    hits: [fwpByteArray16(v6("fe80::1")), fwpByteArray16(v6("febf:ffff::1"))],
    misses: [fwpByteArray16(v6("fec0::1")), fwpByteArray16(v6("fe7f::1"))],
  },
  {
    name: "EQUAL V6 mask /127",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_EQUAL",
    value: fwpV6AddrMask(v6("2001:db8::2"), 127),
    hits: [fwpByteArray16(v6("2001:db8::2")), fwpByteArray16(v6("2001:db8::3"))],
    misses: [fwpByteArray16(v6("2001:db8::4")), fwpByteArray16(v6("2001:db8::1"))],
  },
  {
    name: "EQUAL FWP_EMPTY matches only an empty incoming value (A6)",
    field: PORT,
    matchType: "FWP_MATCH_EQUAL",
    value: FWP_EMPTY_VALUE,
    hits: [FWP_EMPTY_VALUE],
    misses: [fwpUint16(0), fwpUint16(80)],
  },
  // Ordering
  {
    name: "GREATER UINT16",
    field: PORT,
    matchType: "FWP_MATCH_GREATER",
    value: fwpUint16(1000),
    hits: [fwpUint16(1001), fwpUint16(65535)],
    misses: [fwpUint16(1000), fwpUint16(0)],
  },
  {
    name: "GREATER UINT16 max never matches",
    field: PORT,
    matchType: "FWP_MATCH_GREATER",
    value: fwpUint16(65535),
    hits: [],
    misses: [fwpUint16(65535), fwpUint16(0)],
  },
  {
    name: "LESS UINT8 0 never matches",
    field: PROTO,
    matchType: "FWP_MATCH_LESS",
    value: fwpUint8(0),
    hits: [],
    misses: [fwpUint8(0), fwpUint8(255)],
  },
  {
    name: "LESS UINT32",
    field: IFINDEX,
    matchType: "FWP_MATCH_LESS",
    value: fwpUint32(0x80000000),
    hits: [fwpUint32(0), fwpUint32(0x7fffffff)],
    misses: [fwpUint32(0x80000000), fwpUint32(0xffffffff)],
  },
  {
    name: "GREATER_OR_EQUAL UINT64",
    field: IFLUID,
    matchType: "FWP_MATCH_GREATER_OR_EQUAL",
    value: fwpUint64(U64_MAX),
    hits: [fwpUint64(U64_MAX)],
    misses: [fwpUint64(U64_MAX - 1n)],
  },
  {
    name: "LESS_OR_EQUAL INT32 negative",
    field: ANY,
    matchType: "FWP_MATCH_LESS_OR_EQUAL",
    value: fwpInt32(-5),
    hits: [fwpInt32(-5), fwpInt32(-0x80000000)],
    misses: [fwpInt32(-4), fwpInt32(0)],
  },
  {
    name: "GREATER INT8",
    field: ANY,
    matchType: "FWP_MATCH_GREATER",
    value: fwpInt8(-1),
    hits: [fwpInt8(0), fwpInt8(127)],
    misses: [fwpInt8(-1), fwpInt8(-128)],
  },
  {
    name: "LESS INT16",
    field: ANY,
    matchType: "FWP_MATCH_LESS",
    value: fwpInt16(0),
    hits: [fwpInt16(-32768)],
    misses: [fwpInt16(0), fwpInt16(32767)],
  },
  {
    name: "GREATER_OR_EQUAL INT64",
    field: ANY,
    matchType: "FWP_MATCH_GREATER_OR_EQUAL",
    value: fwpInt64(0),
    hits: [fwpInt64(0), fwpInt64(2n ** 63n - 1n)],
    misses: [fwpInt64(-1)],
  },
  {
    name: "GREATER BYTE_ARRAY16 orders like the address (A11)",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_GREATER",
    value: fwpByteArray16(v6("2001:db8::ff")),
    hits: [fwpByteArray16(v6("2001:db8::100")), fwpByteArray16(v6("ffff::"))],
    misses: [fwpByteArray16(v6("2001:db8::ff")), fwpByteArray16(v6("::1"))],
  },
  {
    name: "LESS BYTE_BLOB: a proper prefix sorts first (A11)",
    field: APP,
    matchType: "FWP_MATCH_LESS",
    value: fwpByteBlob(Uint8Array.of(1, 2, 3)),
    hits: [fwpByteBlob(Uint8Array.of(1, 2)), fwpByteBlob(Uint8Array.of(1, 2, 2, 9))],
    misses: [fwpByteBlob(Uint8Array.of(1, 2, 3)), fwpByteBlob(Uint8Array.of(1, 2, 3, 0))],
  },
  {
    name: "LESS_OR_EQUAL UNICODE_STRING by UTF-16 code unit",
    field: ANY,
    matchType: "FWP_MATCH_LESS_OR_EQUAL",
    value: fwpUnicodeString("a"),
    hits: [fwpUnicodeString("B"), fwpUnicodeString("a"), fwpUnicodeString("")],
    misses: [fwpUnicodeString("b"), fwpUnicodeString("aa")],
  },
  // RANGE
  {
    name: "RANGE UINT16 inclusive bounds",
    field: PORT,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpUint16(1000), fwpUint16(2000)),
    hits: [fwpUint16(1000), fwpUint16(1500), fwpUint16(2000)],
    misses: [fwpUint16(999), fwpUint16(2001)],
  },
  {
    name: "RANGE UINT16 0-65535 matches every port",
    field: PORT,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpUint16(0), fwpUint16(65535)),
    hits: [fwpUint16(0), fwpUint16(65535)],
    misses: [fwpUint32(80)],
  },
  {
    name: "RANGE UINT8 single value",
    field: PROTO,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpUint8(6), fwpUint8(6)),
    hits: [fwpUint8(6)],
    misses: [fwpUint8(5), fwpUint8(7)],
  },
  {
    name: "RANGE UINT32 of IPv4 addresses (host order)",
    field: REMOTE,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpUint32(0x0a000001), fwpUint32(0x0a0000ff)),
    hits: [fwpUint32(0x0a000001), fwpUint32(0x0a0000ff)],
    misses: [fwpUint32(0x0a000000), fwpUint32(0x0a000100)],
  },
  {
    name: "RANGE UINT64 to max",
    field: IFLUID,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpUint64(U64_MAX - 1n), fwpUint64(U64_MAX)),
    hits: [fwpUint64(U64_MAX)],
    misses: [fwpUint64(0)],
  },
  {
    name: "RANGE INT8 across zero",
    field: ANY,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpInt8(-5), fwpInt8(5)),
    hits: [fwpInt8(-5), fwpInt8(0), fwpInt8(5)],
    misses: [fwpInt8(-6), fwpInt8(6)],
  },
  {
    name: "RANGE INT16",
    field: ANY,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpInt16(-32768), fwpInt16(-1)),
    hits: [fwpInt16(-32768)],
    misses: [fwpInt16(0)],
  },
  {
    name: "RANGE INT32",
    field: ANY,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpInt32(0), fwpInt32(0x7fffffff)),
    hits: [fwpInt32(0x7fffffff)],
    misses: [fwpInt32(-1)],
  },
  {
    name: "RANGE INT64",
    field: ANY,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpInt64(-1), fwpInt64(1)),
    hits: [fwpInt64(0)],
    misses: [fwpInt64(2)],
  },
  {
    name: "RANGE BYTE_ARRAY16 of IPv6 addresses",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpByteArray16(v6("2001:db8::")), fwpByteArray16(v6("2001:db8::ffff"))),
    hits: [fwpByteArray16(v6("2001:db8::1234"))],
    misses: [fwpByteArray16(v6("2001:db8::1:0")), fwpByteArray16(v6("2001:db7:ffff::"))],
  },
  {
    name: "RANGE BYTE_BLOB",
    field: APP,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpByteBlob(Uint8Array.of(2)), fwpByteBlob(Uint8Array.of(3))),
    hits: [fwpByteBlob(Uint8Array.of(2, 255)), fwpByteBlob(Uint8Array.of(3))],
    misses: [fwpByteBlob(Uint8Array.of(3, 0)), fwpByteBlob(Uint8Array.of(1, 9))],
  },
  {
    name: "RANGE UNICODE_STRING",
    field: ANY,
    matchType: "FWP_MATCH_RANGE",
    value: fwpRange(fwpUnicodeString("b"), fwpUnicodeString("d")),
    hits: [fwpUnicodeString("c"), fwpUnicodeString("b")],
    misses: [fwpUnicodeString("da"), fwpUnicodeString("a")],
  },
  // FLAGS (A12)
  {
    name: "FLAGS_ALL_SET UINT32",
    field: FLAGS,
    matchType: "FWP_MATCH_FLAGS_ALL_SET",
    value: fwpUint32(0x3),
    hits: [fwpUint32(0x3), fwpUint32(0xffffffff)],
    misses: [fwpUint32(0x1), fwpUint32(0)],
  },
  {
    name: "FLAGS_ANY_SET UINT32 high bit",
    field: FLAGS,
    matchType: "FWP_MATCH_FLAGS_ANY_SET",
    value: fwpUint32(0x80000001),
    hits: [fwpUint32(0x80000000), fwpUint32(1)],
    misses: [fwpUint32(0x7ffffffe), fwpUint32(0)],
  },
  {
    name: "FLAGS_NONE_SET UINT32 (0xC0000 pass-thru)",
    field: FLAGS,
    matchType: "FWP_MATCH_FLAGS_NONE_SET",
    value: fwpUint32(0xc0000),
    hits: [fwpUint32(0), fwpUint32(0x1)],
    misses: [fwpUint32(0x40000), fwpUint32(0xffffffff)],
  },
  {
    name: "FLAGS_ALL_SET mask 0 always true (A12)",
    field: FLAGS,
    matchType: "FWP_MATCH_FLAGS_ALL_SET",
    value: fwpUint32(0),
    hits: [fwpUint32(0), fwpUint32(0xffffffff)],
    misses: [],
  },
  {
    name: "FLAGS_ANY_SET mask 0 always false (A12)",
    field: FLAGS,
    matchType: "FWP_MATCH_FLAGS_ANY_SET",
    value: fwpUint32(0),
    hits: [],
    misses: [fwpUint32(0), fwpUint32(0xffffffff)],
  },
  {
    name: "FLAGS_NONE_SET mask 0 always true (A12)",
    field: FLAGS,
    matchType: "FWP_MATCH_FLAGS_NONE_SET",
    value: fwpUint32(0),
    hits: [fwpUint32(0), fwpUint32(0xffffffff)],
    misses: [],
  },
  {
    name: "FLAGS_ANY_SET UINT8",
    field: PROTO,
    matchType: "FWP_MATCH_FLAGS_ANY_SET",
    value: fwpUint8(0x80),
    hits: [fwpUint8(0xff)],
    misses: [fwpUint8(0x7f)],
  },
  {
    name: "FLAGS_ALL_SET UINT16",
    field: PORT,
    matchType: "FWP_MATCH_FLAGS_ALL_SET",
    value: fwpUint16(0xffff),
    hits: [fwpUint16(0xffff)],
    misses: [fwpUint16(0xfffe)],
  },
  {
    name: "FLAGS_NONE_SET UINT64 top bit",
    field: IFLUID,
    matchType: "FWP_MATCH_FLAGS_NONE_SET",
    value: fwpUint64(1n << 63n),
    hits: [fwpUint64(U64_MAX >> 1n)],
    misses: [fwpUint64(U64_MAX)],
  },
  // EQUAL_CASE_INSENSITIVE
  {
    name: "EQUAL_CASE_INSENSITIVE UNICODE_STRING",
    field: ANY,
    matchType: "FWP_MATCH_EQUAL_CASE_INSENSITIVE",
    value: fwpUnicodeString("Contoso.App_8wekyb3d8bbwe"),
    hits: [fwpUnicodeString("CONTOSO.APP_8WEKYB3D8BBWE"), fwpUnicodeString("contoso.app_8wekyb3d8bbwe")],
    misses: [fwpUnicodeString("contoso.app"), fwpUnicodeString("contoso.app_8wekyb3d8bbwe ")],
  },
  // NOT_EQUAL
  {
    name: "NOT_EQUAL UINT16",
    field: PORT,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpUint16(80),
    hits: [fwpUint16(0), fwpUint16(65535)],
    misses: [fwpUint16(80), fwpUint32(81)],
  },
  {
    name: "NOT_EQUAL SID S-1-0-0 (has a package)",
    field: "FWPM_CONDITION_ALE_PACKAGE_ID",
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpSid(parseSid("S-1-0-0")),
    hits: [fwpSid(parseSid("S-1-15-2-1"))],
    misses: [fwpSid(parseSid("S-1-0-0"))],
  },
  {
    name: "NOT_EQUAL V4 mask is negated EQUAL (A16)",
    field: REMOTE,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpV4AddrMask(0x7f000000, 8),
    hits: [fwpUint32(0x0a000001)],
    misses: [fwpUint32(0x7f000001)],
  },
  {
    name: "NOT_EQUAL V6 mask",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpV6AddrMask(v6("fe80::"), 10),
    hits: [fwpByteArray16(v6("2001:db8::1"))],
    misses: [fwpByteArray16(v6("fe80::1"))],
  },
  {
    name: "NOT_EQUAL UINT64",
    field: IFLUID,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpUint64(0),
    hits: [fwpUint64(U64_MAX)],
    misses: [fwpUint64(0)],
  },
  {
    name: "NOT_EQUAL INT8",
    field: ANY,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpInt8(0),
    hits: [fwpInt8(-1)],
    misses: [fwpInt8(0)],
  },
  {
    name: "NOT_EQUAL BYTE_BLOB",
    field: APP,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: appId("\\x.exe"),
    hits: [appId("\\y.exe")],
    misses: [appId("\\x.exe")],
  },
  {
    name: "NOT_EQUAL UNICODE_STRING",
    field: ANY,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpUnicodeString("a"),
    hits: [fwpUnicodeString("A")],
    misses: [fwpUnicodeString("a")],
  },
  {
    name: "NOT_EQUAL BYTE_ARRAY16",
    layer: CONNECT6,
    field: REMOTE,
    matchType: "FWP_MATCH_NOT_EQUAL",
    value: fwpByteArray16(v6("::1")),
    hits: [fwpByteArray16(v6("::2"))],
    misses: [fwpByteArray16(v6("::1"))],
  },
  // PREFIX / NOT_PREFIX are suffix tests (A13)
  {
    name: "PREFIX on an app id is a suffix test ignoring the terminating NULs",
    field: APP,
    matchType: "FWP_MATCH_PREFIX",
    value: blobOfText("\\chrome.exe"),
    hits: [
      appId("\\device\\harddiskvolume2\\program files\\google\\chrome\\application\\chrome.exe"),
      appId("\\chrome.exe"),
    ],
    misses: [
      appId("\\device\\harddiskvolume2\\chrome.exe.bak"),
      appId("\\chrome.exe\\device"),
      appId("\\device\\xchrome.exe"),
    ],
  },
  {
    name: "PREFIX blob without a NUL compares raw trailing bytes",
    field: APP,
    matchType: "FWP_MATCH_PREFIX",
    value: fwpByteBlob(Uint8Array.of(0xaa, 0xbb)),
    hits: [fwpByteBlob(Uint8Array.of(1, 0xaa, 0xbb)), fwpByteBlob(Uint8Array.of(0xaa, 0xbb))],
    misses: [fwpByteBlob(Uint8Array.of(0xaa, 0xbb, 1)), fwpByteBlob(Uint8Array.of(0xbb)), EMPTY_BLOB],
  },
  {
    name: "NOT_PREFIX on an app id",
    field: APP,
    matchType: "FWP_MATCH_NOT_PREFIX",
    value: blobOfText("\\svchost.exe"),
    hits: [appId("\\device\\harddiskvolume1\\windows\\explorer.exe"), appId("\\svchost.exe\\x")],
    misses: [appId("\\device\\harddiskvolume1\\windows\\system32\\svchost.exe"), fwpUint32(1)],
  },
  {
    name: "PREFIX UNICODE_STRING is a suffix test, not a prefix test",
    field: ANY,
    matchType: "FWP_MATCH_PREFIX",
    value: fwpUnicodeString("world"),
    hits: [fwpUnicodeString("hello world"), fwpUnicodeString("world")],
    misses: [fwpUnicodeString("world hello"), fwpUnicodeString("orld")],
  },
  {
    name: "NOT_PREFIX UNICODE_STRING",
    field: ANY,
    matchType: "FWP_MATCH_NOT_PREFIX",
    value: fwpUnicodeString("world"),
    hits: [fwpUnicodeString("world hello"), fwpUnicodeString("")],
    misses: [fwpUnicodeString("hello world")],
  },
];

function describeMatchTypes(newEngine: NewEngine): void {
  function classifyOne(
    c: MatchCase,
    value: FwpValue,
    options?: EngineOptions,
  ): { matched: boolean; conditionResult: boolean | undefined } {
    const layer = c.layer ?? CONNECT;
    const engine = newEngine(options);
    const filter = engine.addFilter({
      name: c.name,
      layer,
      conditions: [cond(c.field, c.matchType, c.value)],
      action: { type: "FWP_ACTION_BLOCK" },
    });
    const r = engine.classify({ layer, incomingValues: incoming(layer, { [c.field]: value }), trace: true });
    const untraced = engine.classify({ layer, incomingValues: incoming(layer, { [c.field]: value }) });
    assert.equal(untraced.action, r.action, "traced and untraced decisions agree");
    assert.equal(r.decidingFilter === filter, r.action === "FWP_ACTION_BLOCK");
    return {
      matched: r.action === "FWP_ACTION_BLOCK",
      conditionResult: r.trace?.sublayers[0]?.filters[0]?.conditions[0]?.result,
    };
  }

  describe("§A.3 match types × data types", () => {
    for (const c of MATCH_CASES) {
      test(c.name, () => {
        c.hits.forEach((v, i) => {
          const r = classifyOne(c, v);
          assert.equal(r.matched, true, `hit ${i}`);
          assert.equal(r.conditionResult, true, `hit ${i} condition`);
        });
        c.misses.forEach((v, i) => {
          const r = classifyOne(c, v);
          assert.equal(r.matched, false, `miss ${i}`);
          assert.equal(r.conditionResult, false, `miss ${i} condition`);
        });
      });
    }

    test("A6: an FWP_EMPTY incoming value fails every non-EMPTY condition, NOT_EQUAL included", () => {
      for (const c of MATCH_CASES) {
        if (c.value.type === "FWP_EMPTY") continue;
        assert.equal(classifyOne(c, FWP_EMPTY_VALUE).matched, false, c.name);
      }
    });

    test("A6 option emptyNoMatchForNotEqual=false: NOT_EQUAL matches an empty incoming value", () => {
      const c = MATCH_CASES.find((x) => x.name === "NOT_EQUAL UINT16") as MatchCase;
      assert.equal(classifyOne(c, FWP_EMPTY_VALUE).matched, false);
      assert.equal(classifyOne(c, FWP_EMPTY_VALUE, { emptyNoMatchForNotEqual: false }).matched, true);
    });

    test("A6: a field missing from a short incoming array counts as FWP_EMPTY", () => {
      const engine = newEngine();
      engine.addFilter({
        name: "empty port",
        layer: CONNECT,
        conditions: [cond(PORT, "FWP_MATCH_EQUAL", FWP_EMPTY_VALUE)],
        action: { type: "FWP_ACTION_BLOCK" },
      });
      assert.equal(engine.classify({ layer: CONNECT, incomingValues: [] }).action, "FWP_ACTION_BLOCK");
    });

    test("A8: an incoming value of another type never matches, whatever the match type", () => {
      const eq = MATCH_CASES.find((x) => x.name === "EQUAL UINT16 0") as MatchCase;
      assert.equal(classifyOne(eq, fwpUint32(0)).matched, false);
      const ne = MATCH_CASES.find((x) => x.name === "NOT_EQUAL UINT16") as MatchCase;
      assert.equal(classifyOne(ne, fwpUint8(1)).matched, false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// A1–A4 grouping
// ---------------------------------------------------------------------------------------------

function describeGrouping(newEngine: NewEngine): void {
  const PORT_R = "FWPM_CONDITION_IP_REMOTE_PORT";
  function matches(
    conditions: FilterConditionSpec[],
    entries: Record<string, FwpValue>,
    options?: EngineOptions,
  ): boolean {
    const engine = newEngine(options);
    engine.addFilter({ name: "f", layer: CONNECT, conditions, action: { type: "FWP_ACTION_BLOCK" } });
    return (
      engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, entries) }).action === "FWP_ACTION_BLOCK"
    );
  }
  const p = (port: number, proto: number) => ({ [PORT_R]: fwpUint16(port), [PROTO]: fwpUint8(proto) });

  describe("§A.1 condition combination", () => {
    test("A1: a filter without conditions matches everything at its layer", () => {
      assert.equal(matches([], {}), true);
      assert.equal(matches([], p(1, 17)), true);
    });
    test("A2/A3: {PORT==80, PORT==443, PROTO==6} matches (6,443) and (6,80), not (17,80) nor (6,8080)", () => {
      const cs = [
        cond(PORT_R, "FWP_MATCH_EQUAL", fwpUint16(80)),
        cond(PORT_R, "FWP_MATCH_EQUAL", fwpUint16(443)),
        cond(PROTO, "FWP_MATCH_EQUAL", fwpUint8(6)),
      ];
      assert.equal(matches(cs, p(443, 6)), true);
      assert.equal(matches(cs, p(80, 6)), true);
      assert.equal(matches(cs, p(80, 17)), false);
      assert.equal(matches(cs, p(8080, 6)), false);
    });
    test("A3: non-adjacent same-field conditions are OR-ed by default; adjacency-only grouping is an option", () => {
      const cs = [
        cond(PORT_R, "FWP_MATCH_EQUAL", fwpUint16(80)),
        cond(PROTO, "FWP_MATCH_EQUAL", fwpUint8(6)),
        cond(PORT_R, "FWP_MATCH_EQUAL", fwpUint16(443)),
      ];
      assert.equal(matches(cs, p(443, 6)), true);
      assert.equal(matches(cs, p(443, 6), { groupNonAdjacentSameField: false }), false);
      assert.equal(matches(cs, p(80, 6), { groupNonAdjacentSameField: false }), false);
    });
    test("A4: PORT!=80 OR PORT!=443 is always true", () => {
      const cs = [
        cond(PORT_R, "FWP_MATCH_NOT_EQUAL", fwpUint16(80)),
        cond(PORT_R, "FWP_MATCH_NOT_EQUAL", fwpUint16(443)),
      ];
      assert.equal(matches(cs, p(80, 6)), true);
      assert.equal(matches(cs, p(443, 6)), true);
      assert.equal(matches(cs, p(22, 6)), true);
    });
    test("A4 option andNegativeSameFieldConditions: PORT!=80 AND PORT!=443", () => {
      const cs = [
        cond(PORT_R, "FWP_MATCH_NOT_EQUAL", fwpUint16(80)),
        cond(PORT_R, "FWP_MATCH_EQUAL", fwpUint16(8080)),
        cond(PORT_R, "FWP_MATCH_NOT_EQUAL", fwpUint16(443)),
      ];
      const and = { andNegativeSameFieldConditions: true };
      assert.equal(matches(cs, p(80, 6), and), false);
      assert.equal(matches(cs, p(443, 6), and), false);
      assert.equal(matches(cs, p(22, 6), and), false);
      assert.equal(matches(cs, p(8080, 6), and), true);
      assert.equal(matches(cs, p(80, 6)), true);
    });
    test("A18: identical conditions in one filter are legal and simply OR together", () => {
      const cs = [cond(PORT_R, "FWP_MATCH_EQUAL", fwpUint16(80)), cond(PORT_R, "FWP_MATCH_EQUAL", fwpUint16(80))];
      assert.equal(matches(cs, p(80, 6)), true);
      assert.equal(matches(cs, p(81, 6)), false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function describeTrace(newEngine: NewEngine): void {
  describe("trace", () => {
    test("lists every filter per sublayer in weight order with condition results, status, actions and rights", () => {
      const engine = newEngine();
      const hi = engine.addSublayer({ subLayerKey: testGuid(0x21), name: "hi", weight: 0x9000 });
      const lo = engine.addSublayer({ subLayerKey: testGuid(0x22), name: "lo", weight: 0x10 });
      const cc = scriptedCallout(engine, 0x21, CONNECT, answers.continue);
      const bc = scriptedCallout(engine, 0x22, CONNECT, answers.block);
      const noMatch = engine.addFilter({
        name: "port 22",
        layer: CONNECT,
        sublayer: hi.subLayerKey,
        weight: fwpUint64(30),
        conditions: [
          cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", fwpUint16(22)),
          cond(PROTO, "FWP_MATCH_EQUAL", fwpUint8(6)),
        ],
        action: { type: "FWP_ACTION_BLOCK" },
      });
      const cont = engine.addFilter({
        name: "continue",
        layer: CONNECT,
        sublayer: hi.subLayerKey,
        weight: fwpUint64(20),
        action: { type: "FWP_ACTION_CALLOUT_UNKNOWN", calloutKey: cc.key },
      });
      const permit = engine.addFilter({
        name: "permit tcp",
        layer: CONNECT,
        sublayer: hi.subLayerKey,
        weight: fwpUint64(10),
        conditions: [cond(PROTO, "FWP_MATCH_EQUAL", fwpUint8(6))],
        action: { type: "FWP_ACTION_PERMIT" },
      });
      const skipped = engine.addFilter({
        name: "later",
        layer: CONNECT,
        sublayer: hi.subLayerKey,
        weight: fwpUint64(5),
        action: { type: "FWP_ACTION_BLOCK" },
      });
      const veto = engine.addFilter({
        name: "callout block",
        layer: CONNECT,
        sublayer: lo.subLayerKey,
        action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: bc.key },
      });

      const values = incoming(CONNECT, { FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(443), [PROTO]: fwpUint8(6) });
      const plain = engine.classify({ layer: CONNECT, incomingValues: values });
      assert.equal(plain.trace, undefined);
      assert.equal("trace" in plain, false);
      const r = engine.classify({ layer: CONNECT, incomingValues: values, trace: true });
      const t = r.trace;
      assert.ok(t !== undefined);
      assert.equal(t.layer.fwpmName, CONNECT);
      assert.deepEqual(
        t.sublayers.map((s) => s.sublayer.name),
        ["hi", "lo"],
      );
      const [h, l] = t.sublayers;
      assert.ok(h !== undefined && l !== undefined);
      assert.deepEqual(
        h.filters.map((f) => [f.filter, f.status, f.matched, f.action, f.terminating]),
        [
          [noMatch, "no-match", false, null, false],
          [cont, "evaluated", true, "FWP_ACTION_CONTINUE", false],
          [permit, "evaluated", true, "FWP_ACTION_PERMIT", true],
          [skipped, "skipped", true, null, false],
        ],
      );
      assert.deepEqual(
        h.filters[0]?.conditions.map((c) => c.result),
        [false, true],
      );
      assert.equal(h.filters[1]?.calloutInvoked, true);
      assert.equal(h.filters[2]?.rightsBefore, 1);
      assert.equal(h.filters[2]?.rightsAfter, 1);
      assert.equal(h.terminatingFilter, permit);
      assert.deepEqual(h.outcome, { action: "FWP_ACTION_PERMIT", hard: false, absorb: false });
      assert.equal(h.apply, "set");
      assert.equal(h.decisionBefore, null);
      assert.equal(h.decisionAfter, "FWP_ACTION_PERMIT");
      // The lower callout blocks with the write right still set on entry, clears it: a hard block, not a veto.
      const lf = l.filters[0];
      assert.equal(lf?.filter, veto);
      assert.equal(lf?.action, "FWP_ACTION_BLOCK");
      assert.equal(lf?.rightsBefore, 1);
      assert.equal(lf?.rightsAfter, 0);
      assert.equal(l.apply, "set");
      assert.equal(l.rightsAfter, 0);
      assert.equal(t.action, "FWP_ACTION_BLOCK");
      assert.equal(t.decidingFilter, veto);
      assert.equal(t.vetoed, false);
      assert.equal(t.noMatch, false);
      assert.equal(r.action, plain.action);
      assert.equal(r.decidingFilter, plain.decidingFilter);
      assert.deepEqual(r.terminatingFilters, [permit, veto]);
    });

    test("an unregistered inspection callout is listed as evaluated with CONTINUE and not invoked (C14)", () => {
      const engine = newEngine();
      const c = scriptedCallout(engine, 0x31, CONNECT, answers.block, false);
      const f = engine.addFilter({
        name: "insp",
        layer: CONNECT,
        action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: c.key },
      });
      const r = engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, {}), trace: true });
      assert.equal(r.action, "FWP_ACTION_PERMIT");
      const tf = r.trace?.sublayers[0]?.filters[0];
      assert.equal(tf?.filter, f);
      assert.equal(tf?.action, "FWP_ACTION_CONTINUE");
      assert.equal(tf?.calloutInvoked, false);
      assert.equal(tf?.calloutUnregistered, true);
    });
  });
}
