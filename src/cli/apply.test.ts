import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { BfeStore, type PersistedObject } from "../bfe/index.ts";
import { main } from "./main.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-apply-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(text: string, ext = "json"): string {
  const path = join(dir, `policy-${++files}.${ext}`);
  writeFileSync(path, text);
  return path;
}
const freshStore = (): string => join(dir, `store-${++files}`, "bfe.db");

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

/** What the store file holds, read with the store's own API (not through the CLI or a Bfe). */
function storedObjects(path: string): PersistedObject[] {
  const store = BfeStore.open(path);
  try {
    return store.loadObjects();
  } finally {
    store.close();
  }
}
const storedKeys = (path: string, kind: string): string[] =>
  storedObjects(path)
    .filter((o) => o.kind === kind)
    .map((o) => o.key)
    .sort();

const LAYER = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const KEYS = {
  provider: "11111111-2222-3333-4444-000000000001",
  sublayer: "11111111-2222-3333-4444-000000000002",
  callout: "11111111-2222-3333-4444-000000000003",
  smb: "11111111-2222-3333-4444-000000000004",
  telnet: "11111111-2222-3333-4444-000000000005",
};

interface Doc {
  providers: object[];
  sublayers: object[];
  callouts: object[];
  filters: object[];
}

function firewall(): Doc {
  return {
    providers: [{ key: KEYS.provider, name: "Contoso" }],
    sublayers: [{ key: KEYS.sublayer, name: "contoso", weight: 0x9000, providerKey: "Contoso" }],
    callouts: [{ key: KEYS.callout, name: "veto", layer: LAYER, providerKey: "Contoso", behaviour: "veto" }],
    filters: [
      {
        key: KEYS.smb,
        name: "block SMB out",
        layer: LAYER,
        sublayer: "contoso",
        providerKey: "Contoso",
        weight: { range: 10 },
        action: "block",
        conditions: [
          { field: "remotePort", value: 445 },
          { field: "protocol", value: "tcp" },
        ],
      },
      {
        key: KEYS.telnet,
        name: "no telnet",
        layer: LAYER,
        sublayer: "contoso",
        providerKey: "Contoso",
        action: "callout-terminating",
        callout: "veto",
        conditions: [{ field: "remotePort", value: 23 }],
      },
    ],
  };
}

interface Report {
  added: number;
  removed: number;
  replaced: number;
  unchanged: number;
  objects: { kind: string; key: string; name: string; status: string; id: number | null }[];
}

async function apply(doc: unknown, store: string): Promise<Report> {
  const r = await run(["apply", file(JSON.stringify(doc)), "--store", store, "--json"]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Report;
}

test("apply adds every object of the document, persistent, in the store file", async () => {
  const store = freshStore();
  const report = await apply(firewall(), store);
  assert.deepEqual(
    { added: report.added, removed: report.removed, replaced: report.replaced, unchanged: report.unchanged },
    { added: 5, removed: 0, replaced: 0, unchanged: 0 },
  );
  assert.deepEqual(
    report.objects.map((o) => [o.kind, o.key, o.status]),
    [
      ["provider", KEYS.provider, "added"],
      ["sublayer", KEYS.sublayer, "added"],
      ["callout", KEYS.callout, "added"],
      ["filter", KEYS.smb, "added"],
      ["filter", KEYS.telnet, "added"],
    ],
  );
  const filterIds = report.objects.filter((o) => o.kind === "filter").map((o) => o.id);
  assert.ok(
    filterIds.every((id) => typeof id === "string" && /^[1-9][0-9]*$/.test(id)),
    "decimal UINT64 strings",
  );
  assert.notEqual(filterIds[0], filterIds[1]);
  // The store file itself holds them (written by the commit, read back by the store API).
  assert.deepEqual(storedKeys(store, "provider"), [KEYS.provider]);
  assert.deepEqual(storedKeys(store, "sublayer"), [KEYS.sublayer]);
  assert.deepEqual(storedKeys(store, "callout"), [KEYS.callout]);
  assert.deepEqual(storedKeys(store, "filter"), [KEYS.smb, KEYS.telnet]);
  // A later command (a new process's view: a new Bfe on the file) sees them with the same ids.
  const shown = await run(["show", "filters", "--json", "--store", store]);
  assert.equal(shown.code, 0, shown.err);
  const filters = JSON.parse(shown.out) as { key: string; id: number; flags: string[] }[];
  assert.deepEqual(
    filters.map((f) => [f.key, f.id]).sort(),
    report.objects
      .filter((o) => o.kind === "filter")
      .map((o) => [o.key, o.id])
      .sort(),
  );
  assert.ok(filters.every((f) => f.flags.includes("FWPM_FILTER_FLAG_PERSISTENT")));
});

test("applying the same document again changes nothing and keeps the filter ids", async () => {
  const store = freshStore();
  const first = await apply(firewall(), store);
  const before = storedObjects(store);
  const second = await apply(firewall(), store);
  assert.equal(second.unchanged, 5);
  assert.equal(second.added + second.removed + second.replaced, 0);
  assert.deepEqual(
    second.objects.map((o) => o.id),
    first.objects.map((o) => o.id),
  );
  assert.deepEqual(storedObjects(store), before);
});

test("a changed filter is replaced, and objects of the document's provider left out are removed", async () => {
  const store = freshStore();
  await apply(firewall(), store);
  const doc = firewall();
  doc.callouts = [];
  const smb = doc.filters[0] as Record<string, unknown>;
  doc.filters = [{ ...smb, weight: { range: 12 } }];
  const report = await apply(doc, store);
  const status = Object.fromEntries(report.objects.map((o) => [`${o.kind} ${o.key}`, o.status]));
  assert.deepEqual(status, {
    [`provider ${KEYS.provider}`]: "unchanged",
    [`sublayer ${KEYS.sublayer}`]: "unchanged",
    [`filter ${KEYS.smb}`]: "replaced",
    [`filter ${KEYS.telnet}`]: "removed",
    [`callout ${KEYS.callout}`]: "removed",
  });
  assert.deepEqual([report.added, report.removed, report.replaced, report.unchanged], [0, 2, 1, 2]);
  assert.deepEqual(storedKeys(store, "filter"), [KEYS.smb]);
  assert.deepEqual(storedKeys(store, "callout"), []);
  const shown = JSON.parse((await run(["show", "filters", "--json", "--store", store])).out) as {
    key: string;
    weight: { type: string; value: number };
  }[];
  assert.deepEqual(
    shown.map((f) => [f.key, f.weight]),
    [[KEYS.smb, { type: "FWP_UINT8", value: 12 }]],
  );
});

test("a bad object leaves the store file exactly as it was", async () => {
  const store = freshStore();
  await apply(firewall(), store);
  const before = storedObjects(store);
  assert.equal(before.length, 5);
  const doc = firewall();
  // Good changes first (a new filter, a replaced one, a removal), then a filter naming a callout that does not exist.
  doc.filters = [
    { name: "new", layer: LAYER, sublayer: "contoso", providerKey: "Contoso", action: "permit" },
    { ...(doc.filters[0] as object), weight: { range: 3 } },
    {
      name: "dangling",
      layer: LAYER,
      sublayer: "contoso",
      providerKey: "Contoso",
      action: "callout-terminating",
      callout: "0badc0de-0000-4000-8000-000000000000",
    },
  ];
  const r = await run(["apply", file(JSON.stringify(doc)), "--store", store]);
  assert.equal(r.code, 1);
  assert.match(r.err, /FWP_E_CALLOUT_NOT_FOUND/);
  assert.match(r.err, /filters\[2\]/);
  assert.equal(r.out, "");
  assert.deepEqual(storedObjects(store), before);
  // And the BFE the next command opens has the old policy.
  const shown = JSON.parse((await run(["show", "filters", "--json", "--store", store])).out) as { key: string }[];
  assert.deepEqual(shown.map((f) => f.key).sort(), [KEYS.smb, KEYS.telnet]);
});

test("a document the engine rejects part-way leaves an empty store empty", async () => {
  const store = freshStore();
  const doc = firewall();
  (doc.filters[1] as Record<string, unknown>).conditions = [{ field: "remotePort", match: "prefix", value: 23 }];
  const r = await run(["apply", file(JSON.stringify(doc)), "--store", store]);
  assert.equal(r.code, 1);
  assert.match(r.err, /filters\[1\]/);
  assert.deepEqual(storedObjects(store), []);
});

test("a policy that does not parse is an error naming the file, and the store is untouched", async () => {
  const store = freshStore();
  await apply(firewall(), store);
  const before = storedObjects(store);
  const broken = file('{ "filters": [ { "name": "x", ', "json");
  const r = await run(["apply", broken, "--store", store]);
  assert.equal(r.code, 1);
  assert.ok(r.err.includes(broken), r.err);
  assert.deepEqual(storedObjects(store), before);
  const misspelt = await run([
    "apply",
    file(JSON.stringify({ filters: [{ name: "x", colour: 1 }] })),
    "--store",
    store,
  ]);
  assert.equal(misspelt.code, 1);
  assert.match(misspelt.err, /filters\[0\]\.colour/);
  assert.deepEqual(storedObjects(store), before);
});

test("apply reads YAML and prints a line per object and a summary", async () => {
  const store = freshStore();
  const yaml = [
    "providers:",
    "  - { name: Contoso }",
    "filters:",
    `  - { name: block all, layer: ${LAYER}, providerKey: Contoso, action: block }`,
  ].join("\n");
  const r = await run(["apply", file(yaml, "yaml"), "--store", store]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? "", /^added\s+provider\s+\{[0-9a-f-]{36}\}\s+"Contoso"$/);
  assert.match(lines[1] ?? "", /^added\s+filter\s+\{[0-9a-f-]{36}\}\s+"block all"\s+id \d+$/);
  assert.match(lines[2] ?? "", /: 2 added, 0 removed, 0 replaced, 0 unchanged$/);
});

test("delete filter by id and by key removes it from the store file", async () => {
  const store = freshStore();
  const report = await apply(firewall(), store);
  const smb = report.objects.find((o) => o.key === KEYS.smb);
  assert.ok(smb?.id !== null && smb?.id !== undefined);
  const byId = await run(["delete", "filter", String(smb.id), "--store", store, "--json"]);
  assert.equal(byId.code, 0, byId.err);
  const deleted = JSON.parse(byId.out) as { key: string; id: number; name: string };
  assert.deepEqual([deleted.key, deleted.id, deleted.name], [KEYS.smb, smb.id, "block SMB out"]);
  assert.deepEqual(storedKeys(store, "filter"), [KEYS.telnet]);

  const byKey = await run(["delete", "filter", `{${KEYS.telnet.toUpperCase()}}`, "--store", store]);
  assert.equal(byKey.code, 0, byKey.err);
  assert.match(byKey.out, /^deleted filter \d+ \{11111111-2222-3333-4444-000000000005\} "no telnet"/);
  assert.deepEqual(storedKeys(store, "filter"), []);

  const again = await run(["delete", "filter", KEYS.telnet, "--store", store]);
  assert.equal(again.code, 1);
  assert.match(again.err, /FWP_E_FILTER_NOT_FOUND/);
  const junk = await run(["delete", "filter", "not-a-filter", "--store", store]);
  assert.equal(junk.code, 1);
  assert.match(junk.err, /FWP_E_INVALID_PARAMETER/);
  const what = await run(["delete", "sublayer", KEYS.sublayer, "--store", store]);
  assert.equal(what.code, 1);
  assert.deepEqual(storedKeys(store, "sublayer"), [KEYS.sublayer]);
});

test("show filters selects by layer and provider; show sublayers, providers and callouts list the store", async () => {
  const store = freshStore();
  await apply(firewall(), store);
  const other = {
    providers: [{ name: "Fabrikam" }],
    filters: [
      { name: "fabrikam v6", layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V6", providerKey: "Fabrikam", action: "permit" },
    ],
  };
  await apply(other, store);
  const all = JSON.parse((await run(["show", "filters", "--json", "--store", store])).out) as { layer: string }[];
  assert.equal(all.length, 3);
  const v4 = JSON.parse(
    (await run(["show", "filters", "--json", "--layer", "ALE_AUTH_CONNECT_V4", "--store", store])).out,
  ) as {
    layer: string;
    provider: string;
  }[];
  assert.equal(v4.length, 2);
  assert.ok(v4.every((f) => f.layer === LAYER && f.provider === KEYS.provider));
  const byProvider = JSON.parse(
    (await run(["show", "filters", "--json", "--provider", `{${KEYS.provider}}`, "--store", store])).out,
  ) as unknown[];
  assert.equal(byProvider.length, 2);

  const sublayers = JSON.parse((await run(["show", "sublayers", "--json", "--store", store])).out) as {
    key: string;
    weight: number;
    builtin: boolean;
    filters: number;
  }[];
  const mine = sublayers.find((s) => s.key === KEYS.sublayer);
  assert.deepEqual([mine?.weight, mine?.builtin, mine?.filters], [0x9000, false, 2]);
  assert.ok(
    sublayers.some((s) => s.builtin && s.filters === 1),
    "the v6 filter lives in the default sublayer",
  );

  const providers = JSON.parse((await run(["show", "providers", "--json", "--store", store])).out) as {
    name: string;
    builtin: boolean;
  }[];
  assert.deepEqual(
    providers
      .filter((p) => !p.builtin)
      .map((p) => p.name)
      .sort(),
    ["Contoso", "Fabrikam"],
  );

  const callouts = JSON.parse(
    (await run(["show", "callouts", "--json", "--provider", KEYS.provider, "--store", store])).out,
  ) as {
    id: number;
  }[];
  assert.equal(callouts.length, 1);
  const { id, ...callout } = callouts[0] as { id: number };
  assert.ok(Number.isInteger(id) && id > 0);
  assert.deepEqual(callout, {
    key: KEYS.callout,
    name: "veto",
    description: null,
    layer: LAYER,
    provider: KEYS.provider,
    flags: ["FWPM_CALLOUT_FLAG_PERSISTENT"],
    builtin: false,
    filters: 1,
  });

  const table = await run(["show", "filters", "--store", store]);
  assert.equal(table.code, 0);
  const rows = table.out.trimEnd().split("\n");
  assert.equal(rows.length, 4);
  assert.match(rows[0] ?? "", /^id\s+layer\s+sublayer\s+effective weight\s+action\s+conds\s+name$/);
  // Aligned: every row has its name column where the header has it.
  const nameAt = (rows[0] ?? "").indexOf("name");
  assert.ok(rows.slice(1).every((r) => r.length > nameAt && r[nameAt - 1] === " " && r[nameAt] !== " "));
});

test("show rejects an unknown object type, layer or provider with exit 1, and bad usage with exit 2", async () => {
  const store = freshStore();
  const what = await run(["show", "gizmos", "--store", store]);
  assert.equal(what.code, 1);
  assert.match(what.err, /gizmos/);
  const layer = await run(["show", "filters", "--layer", "NO_SUCH_LAYER", "--store", store]);
  assert.equal(layer.code, 1);
  assert.match(layer.err, /FWP_E_LAYER_NOT_FOUND/);
  const provider = await run(["show", "filters", "--provider", "nobody", "--store", store]);
  assert.equal(provider.code, 1);
  assert.match(provider.err, /FWP_E_PROVIDER_NOT_FOUND/);
  const usage = await run(["show", "filters", "--frobnicate"]);
  assert.equal(usage.code, 2);
  const both = await run(["show", "filters", "--store", store, "--state", "x.xml"]);
  assert.equal(both.code, 1);
  assert.match(both.err, /exclude/);
});

test("show layers lists every layer, or one layer's fields", async () => {
  const store = freshStore();
  await apply(firewall(), store);
  const layers = JSON.parse((await run(["show", "layers", "--json", "--store", store])).out) as {
    name: string;
    id: number;
    filters: number;
    fields: { condition: string }[];
  }[];
  const connect = layers.find((l) => l.name === LAYER);
  assert.equal(connect?.id, 48);
  assert.equal(connect?.filters, 2);
  assert.ok(connect?.fields.some((f) => f.condition === "FWPM_CONDITION_IP_REMOTE_PORT"));
  const one = await run(["show", "layers", "--layer", "48", "--store", store]);
  assert.equal(one.code, 0, one.err);
  assert.match(one.out, /^FWPM_LAYER_ALE_AUTH_CONNECT_V4 \(id 48, key [0-9a-f-]{36}\): 2 filters, /);
  assert.match(one.out, /FWPM_CONDITION_IP_REMOTE_PORT\s+FWP_UINT16/);
});

test("show netevents of a freshly opened store is an empty list", async () => {
  const store = freshStore();
  const r = await run(["show", "netevents", "--json", "--store", store]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), []);
});
