import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BfeStore, type PersistedObject } from "../bfe/index.ts";
import { main } from "./main.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-import-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURES = existsSync(new URL("../../fixtures/wfp-state/", import.meta.url))
  ? new URL("../../fixtures/wfp-state/", import.meta.url)
  : new URL("file:///work/shared/fixtures/wfp-state/");
const fixture = (name: string): string => new URL(name, FIXTURES).pathname;
const FILES = ["keploy__wfpstate.xml", "le_voile__filters.xml", "libgrabber__wfpfilters.xml"] as const;

let n = 0;
const freshStore = (): string => join(dir, `store-${++n}`, "bfe.db");

async function run(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

function storedObjects(path: string): PersistedObject[] {
  const store = BfeStore.open(path);
  try {
    return store.loadObjects();
  } finally {
    store.close();
  }
}

/** The dump's filters read by regular expression over the raw text, independently of the netsh reader. */
interface RawFilter {
  key: string;
  id: string;
  effectiveWeight: string;
  weightType: string;
  layer: string;
  /** Holds SDDL that may not be encodable off the source machine (LA alias, conditional ACEs, SACLs). */
  unencodable: boolean;
}
function rawFilters(text: string): RawFilter[] {
  const out: RawFilter[] = [];
  for (const m of text.matchAll(/<filterKey>\{([0-9a-f-]+)\}<\/filterKey>([\s\S]*?)<\/effectiveWeight>/g)) {
    const body = m[2] as string;
    out.push({
      key: m[1] as string,
      id: /<filterId>(\d+)<\/filterId>/.exec(body)?.[1] ?? "?",
      effectiveWeight: /<effectiveWeight>\s*<type>FWP_UINT64<\/type>\s*<uint64>(\d+)<\/uint64>/.exec(body)?.[1] ?? "?",
      weightType: /<weight>\s*<type>([A-Z0-9_]+)<\/type>/.exec(body)?.[1] ?? "?",
      layer: /<layerKey>([^<]+)<\/layerKey>/.exec(body)?.[1] ?? "?",
      unencodable: /<sd>[^<]*(;LA\)|\(XA;|S:NO_ACCESS_CONTROL)[^<]*<\/sd>/.test(body),
    });
  }
  return out;
}
const TEXT = Object.fromEntries(FILES.map((f) => [f, readFileSync(fixture(f), "utf8")])) as Record<string, string>;

/**
 * le_voile's dump with its first SDDL condition value replaced by one no codec can encode (ACE type "Q"):
 * the file's path, the index of the filter holding it, and the file's filter count.
 */
function brokenDump(): { path: string; index: number; total: number } {
  const text = TEXT["le_voile__filters.xml"] as string;
  const at = text.indexOf("<sd>");
  const end = text.indexOf("</sd>", at);
  const index = [...text.slice(0, at).matchAll(/<filterKey>/g)].length - 1;
  const path = join(dir, "broken-sddl.xml");
  writeFileSync(path, `${text.slice(0, at)}<sd>D:(Q;;;;;WD)</sd>${text.slice(end + 5)}`);
  return { path, index, total: rawFilters(text).length };
}

interface ImportJson {
  filters: number;
  sublayers: number;
  providers: number;
  callouts: number;
  skipped: { filterKey: string }[];
  notStored: string[];
}
interface FilterJson {
  key: string;
  id: number;
  layer: string;
  provider: string | null;
  effectiveWeight: string;
  weight: { type: string; value: unknown };
  conditions: unknown[];
}

describe("import of the real netsh dumps", () => {
  for (const f of FILES) {
    test(`${f}: import adds every filter the file holds (but unencodable SDDL), and the store keeps them with their ids and effective weights`, async () => {
      const raw = rawFilters(TEXT[f] as string);
      const store = freshStore();
      const r = await run(["import", fixture(f), "--store", store, "--skip-unsupported-sddl", "--json"]);
      assert.equal(r.code, 0, r.err);
      const report = JSON.parse(r.out) as ImportJson;
      // Only a filter whose SDDL uses what may not be encodable off its machine may be skipped.
      const unusual = new Set(raw.filter((x) => x.unencodable).map((x) => x.key));
      assert.ok(report.skipped.every((s) => unusual.has(s.filterKey)));
      const skipped = new Set(report.skipped.map((s) => s.filterKey));
      const encodable = raw.filter((x) => !skipped.has(x.key));
      assert.equal(report.filters, encodable.length);
      // Every filter not kept static is in the store file and in the BFE a later command opens.
      const notStored = new Set(report.notStored);
      const storedFilters = storedObjects(store).filter((o) => o.kind === "filter");
      assert.equal(storedFilters.length, encodable.length - notStored.size);
      const shown = await run(["show", "filters", "--json", "--store", store]);
      assert.equal(shown.code, 0, shown.err);
      const filters = JSON.parse(shown.out) as FilterJson[];
      const byKey = new Map(filters.map((x) => [x.key, x]));
      assert.equal(byKey.size, encodable.length - notStored.size);
      for (const x of encodable) {
        const got = byKey.get(x.key);
        if (notStored.has(x.key)) {
          assert.equal(got, undefined);
          continue;
        }
        assert.ok(got !== undefined, x.key);
        assert.equal(String(got.id), x.id);
        assert.equal(got.effectiveWeight, x.effectiveWeight);
        assert.equal(got.weight.type, x.weightType);
        if (x.layer.startsWith("FWPM_LAYER_")) assert.equal(got.layer, x.layer);
      }
    });
  }

  test("only filters referencing another provider's object are left static (H17), and only in the state dump", async () => {
    const store = freshStore();
    const r = await run([
      "import",
      fixture("keploy__wfpstate.xml"),
      "--store",
      store,
      "--skip-unsupported-sddl",
      "--json",
    ]);
    const report = JSON.parse(r.out) as ImportJson;
    assert.ok(report.notStored.length > 0);
    const text = TEXT["keploy__wfpstate.xml"] as string;
    for (const key of report.notStored) {
      const body = new RegExp(`<filterKey>\\{${key}\\}</filterKey>[\\s\\S]*?</effectiveWeight>`).exec(text)?.[0] ?? "";
      assert.doesNotMatch(body, /FWPM_FILTER_FLAG_PERSISTENT/, key);
      assert.match(body, /<providerContextKey>|FWP_ACTION_CALLOUT/, key);
    }
    for (const f of ["le_voile__filters.xml", "libgrabber__wfpfilters.xml"]) {
      const s = freshStore();
      const other = JSON.parse(
        (await run(["import", fixture(f), "--store", s, "--skip-unsupported-sddl", "--json"])).out,
      ) as ImportJson;
      assert.deepEqual(other.notStored, []);
    }
  });

  test("without --skip-unsupported-sddl a filter whose SDDL cannot be encoded fails the whole import, naming it; with it, only that filter is left out", async () => {
    const { path, index, total } = brokenDump();
    const store = freshStore();
    const r = await run(["import", path, "--store", store]);
    assert.equal(r.code, 1);
    assert.ok(r.err.includes(path), r.err);
    assert.match(r.err, new RegExp(`wfpdiag/filters/item\\[${index}\\]/filterCondition/item\\[\\d+\\]/conditionValue`));
    assert.deepEqual(storedObjects(store), []);
    const skipping = await run(["import", path, "--store", store, "--skip-unsupported-sddl", "--json"]);
    assert.equal(skipping.code, 0, skipping.err);
    const report = JSON.parse(skipping.out) as ImportJson;
    assert.equal(report.filters, total - 1);
    assert.equal(report.skipped.length, 1);
  });

  test("importing the same dump twice fails the second time and leaves the store as the first left it", async () => {
    const store = freshStore();
    const first = await run(["import", fixture("le_voile__filters.xml"), "--store", store, "--skip-unsupported-sddl"]);
    assert.equal(first.code, 0, first.err);
    assert.match(
      first.out,
      /^imported .*le_voile__filters\.xml into .*: \d+ providers, \d+ provider contexts, \d+ sublayers, \d+ callouts, \d+ filters\n/,
    );
    const before = storedObjects(store);
    const second = await run(["import", fixture("le_voile__filters.xml"), "--store", store, "--skip-unsupported-sddl"]);
    assert.equal(second.code, 1);
    assert.match(second.err, /FWP_E_ALREADY_EXISTS/);
    assert.deepEqual(storedObjects(store), before);
  });

  test("a file that is not netsh XML is an explained error and adds nothing", async () => {
    const store = freshStore();
    const bad = join(dir, "bad.xml");
    writeFileSync(bad, '<wfpdiag><filters numItems="1"><item><filterKey>{x}</filterKey></item>');
    const r = await run(["import", bad, "--store", store]);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.xml/);
    assert.deepEqual(storedObjects(store), []);
    const missing = await run(["import", join(dir, "nope.xml"), "--store", store]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read/);
  });
});

describe("show and export on a dump (--state) and on a store", () => {
  test("show --state reads a dump read-only: every filter with its id, and a note on what it left out", async () => {
    const f = "libgrabber__wfpfilters.xml";
    const raw = rawFilters(TEXT[f] as string);
    const r = await run(["show", "filters", "--json", "--state", fixture(f)]);
    assert.equal(r.code, 0, r.err);
    const filters = JSON.parse(r.out) as FilterJson[];
    const ids = new Map(raw.map((x) => [x.key, x.id]));
    assert.ok(filters.every((x) => ids.get(x.key) === String(x.id)));
    const unusual = raw.filter((x) => x.unencodable).length;
    assert.ok(filters.length >= raw.length - unusual && filters.length <= raw.length);
    const broken = brokenDump();
    const partial = await run(["show", "filters", "--json", "--state", broken.path]);
    assert.equal(partial.code, 0, partial.err);
    assert.equal((JSON.parse(partial.out) as unknown[]).length, broken.total - 1);
    assert.match(partial.err, /note: 1 filters of .* are not shown/);
    // Every record has the contract's keys.
    for (const x of filters) {
      assert.deepEqual(Object.keys(x).sort(), [
        "action",
        "callout",
        "conditions",
        "description",
        "effectiveWeight",
        "flags",
        "id",
        "key",
        "layer",
        "layerId",
        "name",
        "provider",
        "providerContext",
        "sublayer",
        "sublayerName",
        "weight",
      ]);
    }
    const summary = await run(["show", "state", "--state", fixture(f)]);
    assert.equal(summary.code, 0, summary.err);
    assert.match(summary.out, new RegExp(`^filters\\s+${filters.length}$`, "m"));
  });

  test("show sublayers and providers of the state dump list every sublayer and provider the file lists", async () => {
    const f = "keploy__wfpstate.xml";
    const text = TEXT[f] as string;
    const section = (name: string): string => text.slice(text.indexOf(`<${name} numItems`), text.indexOf(`</${name}>`));
    const sublayerCount = Number(/<subLayers numItems="(\d+)"/.exec(text)?.[1]);
    const providerCount = Number(/<providers numItems="(\d+)"/.exec(text)?.[1]);
    const sublayerKeys = [...section("subLayers").matchAll(/<subLayerKey>\{([0-9a-f-]+)\}<\/subLayerKey>/g)].map(
      (m) => m[1],
    );
    const state = JSON.parse((await run(["show", "state", "--json", "--state", fixture(f)])).out) as {
      sublayers: { key: string; builtin: boolean; weight: number }[];
      providers: { key: string; builtin: boolean }[];
    };
    // Third-party sublayers by key; built-in ones the file names by constant.
    const shownKeys = new Set(state.sublayers.map((s) => s.key));
    for (const k of sublayerKeys) assert.ok(shownKeys.has(k as string), k);
    const dumpBuiltinNames = [
      ...section("subLayers").matchAll(/<subLayerKey>(FWPM_SUBLAYER_[A-Z0-9_]+)<\/subLayerKey>/g),
    ].length;
    assert.equal(sublayerKeys.length + dumpBuiltinNames, sublayerCount);
    assert.equal(state.sublayers.filter((s) => !s.builtin).length, sublayerKeys.length);
    const providerKeys = [...section("providers").matchAll(/<providerKey>\{([0-9a-f-]+)\}<\/providerKey>/g)].map(
      (m) => m[1],
    );
    assert.ok(providerKeys.length < providerCount);
    assert.equal(state.providers.filter((p) => !p.builtin).length, providerKeys.length);
  });

  test("export --filters from a store imports into a new store as the same filters; --state exports without a store", async () => {
    const storeA = freshStore();
    assert.equal(
      (await run(["import", fixture("le_voile__filters.xml"), "--store", storeA, "--skip-unsupported-sddl"])).code,
      0,
    );
    const exported = await run(["export", "--filters", "--store", storeA]);
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /^\uFEFF?<\?xml[^>]*\?>\r?\n<wfpdiag>/);
    const file = join(dir, "exported.xml");
    writeFileSync(file, exported.out);
    const storeB = freshStore();
    const again = await run(["import", file, "--store", storeB]);
    assert.equal(again.code, 0, again.err);
    const a = JSON.parse((await run(["show", "filters", "--json", "--store", storeA])).out) as FilterJson[];
    const b = JSON.parse((await run(["show", "filters", "--json", "--store", storeB])).out) as FilterJson[];
    const strip = (x: FilterJson) => ({
      key: x.key,
      id: x.id,
      effectiveWeight: x.effectiveWeight,
      weight: x.weight,
      conditions: x.conditions,
    });
    assert.deepEqual(b.map(strip), a.map(strip));

    const state = await run(["export", "--state", fixture("keploy__wfpstate.xml")]);
    assert.equal(state.code, 0, state.err);
    assert.match(state.out, /<wfpstate>/);
    const exportedCount = [...state.out.matchAll(/<filterKey>/g)].length;
    const raw = rawFilters(TEXT["keploy__wfpstate.xml"] as string);
    assert.ok(exportedCount >= raw.filter((x) => !x.unencodable).length && exportedCount <= raw.length);
  });

  test("every show target answers --json on a store and on a dump, with --layer and --provider", async () => {
    const store = freshStore();
    const dump = fixture("keploy__wfpstate.xml");
    assert.equal((await run(["import", dump, "--store", store])).code, 0);
    for (const what of ["state", "filters", "sublayers", "providers", "callouts", "layers", "netevents"]) {
      for (const source of [
        ["--store", store],
        ["--state", dump],
      ]) {
        const r = await run(["show", what, "--json", ...source]);
        assert.equal(r.code, 0, `show ${what} ${source[0]}: ${r.err}`);
        const value = JSON.parse(r.out) as unknown;
        if (what === "state") assert.equal(typeof value, "object", `show state ${source[0]}`);
        else assert.ok(Array.isArray(value), `show ${what} ${source[0]}`);
        if (what !== "netevents" && what !== "state")
          assert.ok((value as unknown[]).length > 0, `show ${what} ${source[0]} is empty`);
      }
    }
    const layer = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
    for (const source of [
      ["--store", store],
      ["--state", dump],
    ]) {
      const all = JSON.parse((await run(["show", "filters", "--json", ...source])).out) as FilterJson[];
      const one = JSON.parse(
        (await run(["show", "filters", "--json", "--layer", layer, ...source])).out,
      ) as FilterJson[];
      assert.ok(one.length > 0 && one.length < all.length && one.every((f) => f.layer === layer));
      const provider = all.find((f) => f.provider !== null)?.provider as string;
      const mine = JSON.parse(
        (await run(["show", "filters", "--json", "--provider", provider, ...source])).out,
      ) as FilterJson[];
      assert.ok(mine.length > 0 && mine.every((f) => f.provider === provider));
    }
  });

  test("import refuses --state and export refuses both sources at once", async () => {
    const r = await run(["import", fixture("le_voile__filters.xml"), "--state", fixture("le_voile__filters.xml")]);
    assert.equal(r.code, 2);
    const both = await run(["export", "--store", freshStore(), "--state", fixture("le_voile__filters.xml")]);
    assert.equal(both.code, 1);
    assert.match(both.err, /exclude/);
  });
});
