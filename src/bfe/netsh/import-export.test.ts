import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { isFwpError } from "../../fwp/index.ts";
import { openTestBfe } from "../bfe-fixtures.testing.ts";
import { ADMINISTRATOR } from "../security/index.ts";
import { exportNetsh } from "./export.ts";
import { importNetsh } from "./import.ts";
import { netshCallouts, netshFilters } from "./model.ts";
import { parseNetshXml } from "./read.ts";
import { formatNetshXml } from "./write.ts";

const DIR = new URL("../../../fixtures/wfp-state/", import.meta.url);
const FILES = ["keploy__wfpstate.xml", "le_voile__filters.xml", "libgrabber__wfpfilters.xml"] as const;
const TEXT = Object.fromEntries(FILES.map((f) => [f, readFileSync(new URL(f, DIR), "utf8")])) as Record<string, string>;

/** The filter keys of a dump, found by regex over the raw XML, independently of the parser. */
function rawFilterKeys(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/<filterKey>\{([0-9a-f-]+)\}<\/filterKey>/g)) out.add(m[1] as string);
  return out;
}

async function imported(file: string) {
  const doc = parseNetshXml(TEXT[file] as string);
  const t = openTestBfe();
  const session = t.bfe.openSession(ADMINISTRATOR);
  const report = await importNetsh(doc, session);
  session.close();
  return { doc, bfe: t.bfe, report };
}

describe("importNetsh (issue 4 item 6, done-when)", () => {
  for (const f of FILES) {
    test(`${f}: every filter, sublayer, provider and callout is in the BFE with identical keys, ids, weights and effective weights`, async () => {
      const { doc, bfe, report } = await imported(f);
      const engine = bfe.engine;
      // Every filter of the dump, including those whose SDDL uses LA, conditional ACEs or NO_ACCESS_CONTROL.
      assert.deepEqual(report.skipped, []);
      const filters = netshFilters(doc);
      const raw = rawFilterKeys(TEXT[f] as string);
      assert.deepEqual(new Set(filters.map((x) => x.filterKey)), raw);
      assert.equal(engine.filters().length, raw.size);
      assert.equal(report.filters.added, raw.size);
      for (const x of filters) {
        const got = engine.getFilter(x.filterKey);
        assert.ok(got !== undefined, x.filterKey);
        assert.equal(got.filterId, x.filterId);
        assert.deepEqual(got.weight, x.weight);
        assert.equal(got.effectiveWeight, x.effectiveWeight);
        assert.equal(got.layer.key, x.layerKey);
        assert.equal(got.sublayer.subLayerKey, x.subLayerKey);
        assert.equal(got.conditions.length, x.conditions.length);
      }
      for (const s of doc.subLayers ?? []) {
        const got = engine.getSublayer(s.subLayerKey);
        assert.ok(got !== undefined, s.subLayerKey);
        // Built-in sublayers too: the engine's table (weight.ts) gives the weights this machine showed.
        assert.equal(got.weight, s.weight, s.subLayerKey);
      }
      assert.equal(report.sublayers.added + report.sublayers.existing, doc.subLayers?.length ?? 0);
      for (const p of doc.providers ?? []) assert.ok(engine.getProvider(p.providerKey) !== undefined, p.providerKey);
      assert.equal(report.providers.added + report.providers.existing, doc.providers?.length ?? 0);
      for (const c of netshCallouts(doc)) {
        const got = engine.getCallout(c.calloutKey);
        assert.ok(got !== undefined, c.calloutKey);
        if (!got.builtin) assert.equal(got.calloutId, c.calloutId);
      }
      assert.equal(report.callouts.added + report.callouts.existing, netshCallouts(doc).length);
      // Third-party callouts are management objects only: nothing registered a classifyFn.
      for (const c of netshCallouts(doc)) {
        if (engine.getCallout(c.calloutKey)?.builtin === false)
          assert.equal(engine.isCalloutRegistered(c.calloutKey), false);
      }
    });
  }

  test("a show-filters dump's referenced sublayers, callouts and provider contexts come in as stand-ins", async () => {
    const { doc, bfe, report } = await imported("le_voile__filters.xml");
    const referenced = new Set(netshFilters(doc).map((x) => x.subLayerKey));
    for (const s of report.standIns.sublayers) assert.ok(referenced.has(s));
    for (const s of referenced) assert.ok(bfe.engine.getSublayer(s) !== undefined);
    assert.ok(report.standIns.callouts.length > 0);
    assert.ok(report.dropped.some((d) => d.includes("FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN")));
  });

  test("by default SDDL that cannot be encoded fails the whole import, naming the condition, and adds nothing", async () => {
    // One real SDDL value broken on purpose (an ACE naming no SID).
    const broken = (TEXT["le_voile__filters.xml"] as string).replace(
      /<sd>[^<]*<\/sd>/,
      "<sd>D:(A;;CC;;;NOT-A-SID)</sd>",
    );
    const doc = parseNetshXml(broken);
    const t = openTestBfe();
    const session = t.bfe.openSession(ADMINISTRATOR);
    await assert.rejects(
      importNetsh(doc, session),
      (e) =>
        isFwpError(e) &&
        /^wfpdiag\/filters\/item\[\d+\]\/filterCondition\/item\[\d+\]\/conditionValue$/.test(e.path ?? ""),
    );
    assert.equal(t.bfe.engine.filters().length, 0);
    // With "skip", only that filter stays out.
    const report = await importNetsh(doc, session, { unsupportedSddl: "skip" });
    assert.equal(report.skipped.length, 1);
    assert.equal(t.bfe.engine.filters().length, netshFilters(doc).length - 1);
  });

  test("a dump imported twice fails on the second import and leaves the first intact (one transaction)", async () => {
    const { doc, bfe } = await imported("libgrabber__wfpfilters.xml");
    const before = bfe.engine.filters().length;
    const session = bfe.openSession(ADMINISTRATOR);
    await assert.rejects(importNetsh(doc, session), (e) => isFwpError(e, "FWP_E_ALREADY_EXISTS"));
    assert.equal(bfe.engine.filters().length, before);
  });
});

describe("exportNetsh: export → import is lossless", () => {
  for (const f of FILES) {
    for (const kind of ["state", "filters"] as const) {
      test(`H48/H49: ${f} → ${kind}: exported, imported into a fresh BFE and exported again gives the same XML`, async () => {
        const { bfe } = await imported(f);
        const first = formatNetshXml(exportNetsh(bfe, kind, { nowNs: 1_700_000_000_000_000_000n }));
        const doc = parseNetshXml(first);
        assert.equal(netshFilters(doc).length, bfe.engine.filters().length);
        const t = openTestBfe();
        const session = t.bfe.openSession(ADMINISTRATOR);
        await importNetsh(doc, session);
        session.close();
        const second = formatNetshXml(exportNetsh(t.bfe, kind, { nowNs: 1_700_000_000_000_000_000n }));
        assert.equal(second, first);
        for (const x of bfe.engine.filters()) {
          const y = t.bfe.engine.getFilter(x.filterKey);
          assert.equal(y?.filterId, x.filterId);
          assert.equal(y?.effectiveWeight, x.effectiveWeight);
          assert.deepEqual(
            y?.conditions.map((c) => c.value),
            x.conditions.map((c) => c.value),
          );
        }
      });
    }
  }
});
