import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ENUM_FLAG_BOOTTIME_ONLY, EVERYONE_USER, isAccessDenied } from "../bfe/index.ts";
import { LAYERS } from "../fwp/index.ts";
import { netshFilters, parseNetshXml } from "../bfe/netsh/index.ts";
import { SystemClock, systemRandomBytes } from "./clock.ts";
import { DEFAULT_STORE_PATH, type Host, importNetshFile, openHost, persistentDocument } from "./host.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-host-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = new URL("../../fixtures/wfp-state/le_voile__filters.xml", import.meta.url).pathname;

test("without --store the host creates .openwfp/bfe.db under the working directory", async () => {
  const cwd = process.cwd();
  const work = join(dir, "cwd");
  mkdirSync(work);
  process.chdir(work);
  try {
    assert.equal(DEFAULT_STORE_PATH, ".openwfp/bfe.db");
    const host = await openHost();
    assert.equal(host.readOnly, false);
    host.close();
    assert.ok(existsSync(join(work, ".openwfp", "bfe.db")));
  } finally {
    process.chdir(cwd);
  }
});

test("the real clock reads the wall clock and never goes back; random bytes differ from call to call", () => {
  const clock = new SystemClock();
  const a = clock.nowNs();
  const b = clock.nowNs();
  assert.ok(b >= a);
  const wall = BigInt(Date.now()) * 1_000_000n;
  assert.ok(wall - a < 10_000_000_000n && wall >= a);
  const x = systemRandomBytes(16);
  const y = systemRandomBytes(16);
  assert.equal(x.length, 16);
  assert.notDeepEqual(x, y);
});

test("a host runs as an administrator by default, or as the principal given", async () => {
  const store = join(dir, "p", "bfe.db");
  const admin = await openHost({ store });
  admin.session.addProvider({ providerKey: "0a0a0a0a-0000-4000-8000-000000000001", name: "p", flags: 1 });
  admin.close();
  const user = await openHost({ store, principal: EVERYONE_USER });
  try {
    assert.throws(
      () => user.session.addProvider({ providerKey: "0a0a0a0a-0000-4000-8000-000000000002", name: "q", flags: 1 }),
      (e) => isAccessDenied(e),
    );
  } finally {
    user.close();
  }
});

test("a host on a netsh file is read-only and in memory; store and state exclude each other", async () => {
  // The fixture with one SDDL condition value no codec can encode (ACE type "Q").
  const text = readFileSync(FIXTURE, "utf8");
  const at = text.indexOf("<sd>");
  const broken = join(dir, "broken.xml");
  writeFileSync(broken, `${text.slice(0, at)}<sd>D:(Q;;;;;WD)</sd>${text.slice(text.indexOf("</sd>", at) + 5)}`);
  const host = await openHost({ state: broken });
  try {
    assert.equal(host.readOnly, true);
    assert.ok(host.document !== undefined);
    const total = netshFilters(host.document).length;
    assert.equal(host.skipped.length, 1);
    assert.equal(host.bfe.engine.filters().length + host.skipped.length, total);
  } finally {
    host.close();
  }
  await assert.rejects(openHost({ state: broken, unsupportedSddl: "error" }), /conditionValue/);
  await assert.rejects(openHost({ store: join(dir, "x.db"), state: FIXTURE }), /exclude/);
});

test("persistentDocument marks providers, sublayers, contexts and filters persistent, boot-time filters excepted", () => {
  const doc = parseNetshXml(readFileSync(FIXTURE, "utf8"));
  const { document, keptStatic } = persistentDocument(doc);
  assert.deepEqual(keptStatic, []);
  const before = netshFilters(doc);
  const afterFilters = netshFilters(document);
  assert.equal(afterFilters.length, before.length);
  afterFilters.forEach((f, i) => {
    const was = before[i]?.flags ?? 0;
    if ((was & 0x2) !== 0) assert.equal(f.flags, was, "boot-time stays boot-time");
    else assert.equal(f.flags, (was | 0x1) >>> 0);
  });
  assert.ok((document.providers ?? []).every((p) => (p.flags & 1) === 1));
  assert.ok(
    (doc.providers ?? []).some((p) => (p.flags & 1) === 0),
    "the input is not modified",
  );
});

const KEPLOY = new URL("../../fixtures/wfp-state/keploy__wfpstate.xml", import.meta.url).pathname;

/** The filter ids the host's live engine would classify at ALE_AUTH_RECV_ACCEPT_V4. */
function classifiedAtRecvAccept(host: Host): Set<bigint> {
  const policy = host.bfe.engine.layerPolicy("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
  return new Set(policy.sublayers.flatMap((s) => s.filters.map((f) => f.filterId)));
}

test("H15: a --state dump's 16 boot-time filters are objects but not classified; their persistent twins are", async () => {
  const host = await openHost({ state: KEPLOY });
  try {
    const boot = LAYERS.filter((l) => l.key !== null).flatMap((layer) =>
      host.session.enumFilters({ layer, flags: ENUM_FLAG_BOOTTIME_ONLY }),
    );
    assert.equal(boot.length, 16);
    const classified = classifiedAtRecvAccept(host);
    // "Boot Time Filter" 113554 (BOOTTIME) and its twin 113558 (PERSISTENT), V4; 113555 / 113559, V6.
    assert.ok(!classified.has(113554n) && classified.has(113558n));
    for (const f of boot) assert.ok(!classified.has(f.filterId), `boot-time filter ${f.filterId} is classified`);
  } finally {
    host.close();
  }
  const enforced = await openHost({ state: KEPLOY, bootTimeFiltersAfterStart: "enforced" });
  try {
    const classified = classifiedAtRecvAccept(enforced);
    assert.ok(classified.has(113554n) && classified.has(113558n));
  } finally {
    enforced.close();
  }
});

test("H15: a store imported from the dump starts with its boot-time filters stored and not classified", async () => {
  const store = join(dir, "boot", "bfe.db");
  const first = await openHost({ store });
  await importNetshFile(first, KEPLOY);
  first.close();
  const host = await openHost({ store });
  try {
    assert.equal(host.session.lifetimeOf("filter", 113554n), "bootTime");
    const classified = classifiedAtRecvAccept(host);
    assert.ok(!classified.has(113554n) && classified.has(113558n));
  } finally {
    host.close();
  }
});
