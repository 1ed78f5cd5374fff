import assert from "node:assert/strict";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { Guid } from "../../base/guid.ts";
import {
  BfeStore,
  MemoryStore,
  type ObjectStore,
  type PersistedObject,
  SCHEMA_VERSION,
  type StoreChange,
  StoreError,
} from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-store-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
const freshPath = (): string => join(dir, `s${++fileCount}`, "bfe.db");

/** A deterministic canonical GUID for test object `n`. */
const key = (n: number): Guid => `${n.toString(16).padStart(8, "0")}-abcd-4def-8abc-0123456789ab` as Guid;

const put = (kind: StoreChange["kind"], n: number, data: unknown): StoreChange => ({
  op: "put",
  kind,
  key: key(n),
  data,
});

function isStoreError(code: string, fileFragment?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof StoreError, `expected StoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (fileFragment !== undefined) {
      assert.ok(e.file.includes(fileFragment), `${e.file} names ${fileFragment}`);
      assert.ok(e.message.includes(fileFragment), `message "${e.message}" names the file`);
    }
    return true;
  };
}

const stores: { name: string; open: () => ObjectStore }[] = [
  { name: "BfeStore", open: () => BfeStore.open(freshPath()) },
  { name: "MemoryStore", open: () => MemoryStore.open() },
];

for (const { name, open } of stores) {
  describe(`${name}: the store contract`, () => {
    it("a new store holds no objects and no options", () => {
      const s = open();
      assert.deepEqual(s.loadObjects(), []);
      assert.deepEqual(s.loadOptions(), {});
      s.close();
    });

    it("round-trips objects and options, bigints as decimal strings", () => {
      const s = open();
      const weight = 0xffff_ffff_ffff_fffen;
      s.commit(
        [
          put("filter", 1, { name: "block 445", weight, conditions: [{ field: "ipLocalPort", value: 445 }] }),
          put("provider", 2, { name: "p", flags: 1, nested: { deep: [1, "two", null, true] } }),
          put("sublayer", 3, { weight: 0x8000 }),
        ],
        { collectNetEvents: true, monitorIpsecConnections: 0n },
      );
      const objects = s.loadObjects();
      assert.deepEqual(objects, [
        { kind: "provider", key: key(2), data: { name: "p", flags: 1, nested: { deep: [1, "two", null, true] } } },
        { kind: "sublayer", key: key(3), data: { weight: 0x8000 } },
        {
          kind: "filter",
          key: key(1),
          data: {
            name: "block 445",
            weight: "18446744073709551614",
            conditions: [{ field: "ipLocalPort", value: 445 }],
          },
        },
      ]);
      assert.equal(BigInt((objects[2]?.data as { weight: string } | undefined)?.weight ?? "0"), weight);
      assert.deepEqual(s.loadOptions(), { collectNetEvents: true, monitorIpsecConnections: "0" });
      s.close();
    });

    it("loads kind by kind (providers before what references them), each kind in first-put order", () => {
      const s = open();
      s.commit([put("filter", 10, 1), put("callout", 11, 1), put("filter", 12, 1)]);
      s.commit([put("providerContext", 13, 1), put("filter", 9, 1), put("provider", 14, 1)]);
      // Replacing an object keeps its place; deleting and putting again moves it to the end.
      s.commit([put("filter", 10, 2), { op: "delete", kind: "filter", key: key(12) }, put("filter", 12, 3)]);
      assert.deepEqual(
        s.loadObjects().map((o) => [o.kind, o.key, o.data]),
        [
          ["provider", key(14), 1],
          ["providerContext", key(13), 1],
          ["callout", key(11), 1],
          ["filter", key(10), 2],
          ["filter", key(9), 1],
          ["filter", key(12), 3],
        ],
      );
      s.close();
    });

    it("the same key under two kinds is two objects; deleting an absent key changes nothing", () => {
      const s = open();
      s.commit([put("filter", 1, "f"), put("callout", 1, "c")]);
      s.commit([{ op: "delete", kind: "sublayer", key: key(1) }]);
      s.commit([{ op: "delete", kind: "callout", key: key(1) }]);
      assert.deepEqual(s.loadObjects(), [{ kind: "filter", key: key(1), data: "f" }]);
      s.close();
    });

    it("options merge per name; an undefined value removes the option", () => {
      const s = open();
      s.commit([], { a: 1, b: "x" });
      s.commit([], { b: "y", c: [1] });
      s.commit([], { a: undefined });
      assert.deepEqual(s.loadOptions(), { b: "y", c: [1] });
      s.close();
    });

    it("loaded data is a copy: mutating it does not change the store", () => {
      const s = open();
      const data = { list: [1, 2] };
      s.commit([put("filter", 1, data)]);
      data.list.push(3);
      const loaded = s.loadObjects()[0] as PersistedObject;
      (loaded.data as { list: number[] }).list.push(4);
      assert.deepEqual(s.loadObjects()[0]?.data, { list: [1, 2] });
      s.close();
    });

    it("a value JSON would alter fails the whole commit, naming where it is", () => {
      const s = open();
      s.commit([put("filter", 1, { v: 1 })], { keep: 1 });
      const changes: StoreChange[] = [];
      for (let i = 0; i < 100; i++) changes.push(put("filter", 100 + i, { i }));
      changes.push(put("filter", 500, { ok: 1, bad: { weight: Number.NaN } }));
      changes.push(put("filter", 501, { i: 501 }));
      assert.throws(
        () => s.commit(changes, { keep: 2 }),
        (e) => isStoreError("E_STORE_INVALID_CHANGE")(e) && /changes\[100\]\.data.*"weight".*NaN/.test(String(e)),
      );
      for (const bad of [new Map(), new Uint8Array(2), () => 1, Number.POSITIVE_INFINITY, [1, undefined]]) {
        assert.throws(() => s.commit([put("filter", 7, { bad })]), isStoreError("E_STORE_INVALID_CHANGE"));
      }
      assert.throws(() => s.commit([], { opt: new Set([1]) }), isStoreError("E_STORE_INVALID_CHANGE"));
      assert.deepEqual(s.loadObjects(), [{ kind: "filter", key: key(1), data: { v: 1 } }]);
      assert.deepEqual(s.loadOptions(), { keep: 1 });
      s.close();
    });

    it("drops a property whose value is undefined, as an absent optional property", () => {
      const s = open();
      s.commit([put("filter", 1, { name: "f", description: undefined })]);
      assert.deepEqual(s.loadObjects()[0]?.data, { name: "f" });
      s.close();
    });

    it("refuses unknown kinds, non-canonical keys and puts without data", () => {
      const s = open();
      const bad: unknown[] = [
        { op: "put", kind: "layer", key: key(1), data: 1 },
        { op: "upsert", kind: "filter", key: key(1), data: 1 },
        { op: "put", kind: "filter", key: key(1).toUpperCase(), data: 1 },
        { op: "put", kind: "filter", key: `{${key(1)}}`, data: 1 },
        { op: "put", kind: "filter", key: "not-a-guid", data: 1 },
        { op: "put", kind: "filter", key: key(1) },
      ];
      for (const change of bad) {
        assert.throws(
          () => s.commit([put("filter", 2, 1), change as StoreChange]),
          (e) => isStoreError("E_STORE_INVALID_CHANGE")(e) && (e as StoreError).path === "changes[1]",
        );
      }
      assert.deepEqual(s.loadObjects(), []);
      s.close();
    });

    it("a put given as JSON text is kept as that text; changes may come from a generator", () => {
      const s = open();
      function* changes(): Generator<StoreChange> {
        yield { op: "put", kind: "provider", key: key(1), text: '{"name":"p","n":{"$bigint":"5"}}' };
        yield put("filter", 2, { name: "f" });
        yield { op: "put", kind: "filter", key: key(3), text: '{"name":"g"}' };
      }
      s.commit(changes(), { opt: 1 });
      assert.deepEqual(s.loadObjects(), [
        { kind: "provider", key: key(1), data: { name: "p", n: { $bigint: "5" } } },
        { kind: "filter", key: key(2), data: { name: "f" } },
        { kind: "filter", key: key(3), data: { name: "g" } },
      ]);
      assert.throws(
        () => s.commit([{ op: "put", kind: "filter", key: key(4), text: 7 as unknown as string }]),
        isStoreError("E_STORE_INVALID_CHANGE"),
      );
      s.close();
    });

    it("a generator of changes that throws part-way leaves the store as it was", () => {
      const s = open();
      s.commit([put("filter", 1, { v: "before" })], { opt: "before" });
      function* failing(): Generator<StoreChange> {
        yield put("filter", 1, { v: "after" });
        yield put("filter", 2, { v: "after" });
        throw new TypeError("the encoder refused object 3");
      }
      assert.throws(() => s.commit(failing(), { opt: "after" }), /refused object 3/);
      assert.deepEqual(s.loadObjects(), [{ kind: "filter", key: key(1), data: { v: "before" } }]);
      assert.deepEqual(s.loadOptions(), { opt: "before" });
      s.close();
    });

    it("scanObjects yields what loadObjects returns, in the same order, one object at a time", () => {
      const s = open();
      s.commit([put("filter", 10, 1), put("callout", 11, 1), put("filter", 12, 1), put("provider", 5, { p: 1 })]);
      s.commit([put("sublayer", 13, 1), put("filter", 9, 1), put("providerContext", 14, 1)]);
      const scan = s.scanObjects?.();
      assert.ok(scan !== undefined);
      assert.deepEqual([...scan], s.loadObjects());
      // A reader that stops early lets the store go: the store stays usable.
      for (const _ of s.scanObjects?.() ?? []) break;
      s.commit([put("filter", 20, 1)]);
      assert.equal(s.loadObjects().length, 8);
      s.close();
    });

    it("refuses every call after close", () => {
      const s = open();
      s.close();
      assert.throws(() => s.loadObjects(), isStoreError("E_STORE_CLOSED"));
      assert.throws(() => [...(s.scanObjects?.() ?? [])], isStoreError("E_STORE_CLOSED"));
      assert.throws(() => s.loadOptions(), isStoreError("E_STORE_CLOSED"));
      assert.throws(() => s.commit([put("filter", 1, 1)]), isStoreError("E_STORE_CLOSED"));
      s.close();
    });
  });
}

describe("BfeStore: the file", () => {
  it("keeps committed objects and options across close and reopen", () => {
    const path = freshPath();
    const s = BfeStore.open(path);
    s.commit([put("provider", 1, { name: "p" }), put("filter", 2, { weight: 5n })], { netEvents: true });
    s.commit([{ op: "delete", kind: "provider", key: key(1) }, put("sublayer", 3, { w: 1 })]);
    s.close();
    const r = BfeStore.open(path);
    assert.deepEqual(r.loadObjects(), [
      { kind: "sublayer", key: key(3), data: { w: 1 } },
      { kind: "filter", key: key(2), data: { weight: "5" } },
    ]);
    assert.deepEqual(r.loadOptions(), { netEvents: true });
    r.close();
  });

  it("a commit does not wait for its own checkpoint, and the WAL stays bounded across commits", () => {
    const path = freshPath();
    const s = BfeStore.open(path);
    const big = "x".repeat(4000);
    const commitMb = (t: number): void =>
      s.commit(Array.from({ length: 1000 }, (_, i) => put("filter", t * 1000 + i, { t, big })));
    commitMb(1);
    // The commit's frames are durable in the WAL; the database file has not been written yet.
    assert.ok(statSync(`${path}-wal`).size > 4_000_000);
    const before = statSync(path).size;
    assert.ok(before < 1_000_000, `database file of ${before} bytes`);
    for (let t = 2; t <= 16; t++) commitMb(t);
    // 16 commits of ~4 MB: without checkpoints the WAL would hold ~64 MB.
    assert.ok(statSync(`${path}-wal`).size < 32 * 1024 * 1024, `WAL of ${statSync(`${path}-wal`).size} bytes`);
    assert.ok(statSync(path).size > before, "earlier commits were checkpointed into the database file");
    s.close();
    assert.equal(existsSync(`${path}-wal`), false, "the last close checkpoints and removes the WAL");
    const again = BfeStore.open(path);
    assert.equal(again.loadObjects().length, 16_000);
    again.close();
  });

  it("is a WAL database recording its application and schema version", () => {
    const path = freshPath();
    BfeStore.open(path).close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    assert.deepEqual(db.prepare("SELECT application, version FROM openwfp_schema").get(), {
      application: "openwfp-bfe",
      version: SCHEMA_VERSION,
    });
    db.close();
  });

  it("a commit is all or nothing when a SQL statement fails in the middle of it", () => {
    const path = freshPath();
    const s = BfeStore.open(path);
    s.commit([put("filter", 1, { v: "before" }), put("filter", 2, { v: "before" })], { opt: "before" });
    // Inject the failure from outside: a trigger that aborts the 301st insert of this commit.
    const raw = new Database(path);
    raw.exec(`CREATE TRIGGER fail_insert BEFORE INSERT ON objects WHEN NEW.key = '${key(1300)}'
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    const changes: StoreChange[] = [put("filter", 1, { v: "after" }), { op: "delete", kind: "filter", key: key(2) }];
    for (let i = 1000; i < 1600; i++) changes.push(put("filter", i, { i }));
    assert.throws(
      () => s.commit(changes, { opt: "after" }),
      (e) => isStoreError("E_STORE_IO", path)(e) && /injected failure/.test(String(e)),
    );
    assert.deepEqual(
      s.loadObjects().map((o) => [o.key, o.data]),
      [
        [key(1), { v: "before" }],
        [key(2), { v: "before" }],
      ],
    );
    assert.deepEqual(s.loadOptions(), { opt: "before" });

    // The options are written in the same transaction: failing the option write undoes the objects too.
    raw.exec("DROP TRIGGER fail_insert");
    raw.exec(`CREATE TRIGGER fail_option BEFORE INSERT ON options WHEN NEW.name = 'poison'
              BEGIN SELECT RAISE(ABORT, 'injected option failure'); END`);
    assert.throws(() => s.commit(changes, { opt: "after", poison: 1 }), /injected option failure/);
    assert.equal(s.loadObjects().length, 2);
    assert.deepEqual(s.loadOptions(), { opt: "before" });
    raw.exec("DROP TRIGGER fail_option");
    raw.close();

    // The store is usable afterwards, and the failed commits left nothing behind on disk.
    s.commit(changes, { opt: "after" });
    s.close();
    const r = BfeStore.open(path);
    assert.equal(r.loadObjects().length, 601);
    assert.deepEqual(r.loadOptions(), { opt: "after" });
    r.close();
  });

  it("two stores on one file see each other's commits", () => {
    const path = freshPath();
    const a = BfeStore.open(path);
    const b = BfeStore.open(path);
    a.commit([put("filter", 1, 1)]);
    assert.deepEqual(b.loadObjects(), [{ kind: "filter", key: key(1), data: 1 }]);
    a.close();
    b.close();
  });

  it("read-only: reads an existing store, refuses commits and missing files", () => {
    const path = freshPath();
    const w = BfeStore.open(path);
    w.commit([put("filter", 1, 1)]);
    w.close();
    const r = BfeStore.open(path, { readOnly: true });
    assert.equal(r.loadObjects().length, 1);
    assert.throws(() => r.commit([put("filter", 2, 1)]), isStoreError("E_STORE_IO", path));
    r.close();
    const missing = join(dir, "no-such-dir", "bfe.db");
    assert.throws(() => BfeStore.open(missing, { readOnly: true }), isStoreError("E_STORE_IO", missing));
  });

  it("refuses a file that is not a database, naming it", () => {
    const path = join(dir, "garbage.db");
    writeFileSync(path, Buffer.from("this is certainly not an SQLite database file, only text\n".repeat(100)));
    assert.throws(() => BfeStore.open(path), isStoreError("E_STORE_CORRUPT", path));
  });

  it("refuses a database whose pages were damaged, naming it", () => {
    const path = freshPath();
    const s = BfeStore.open(path);
    const changes: StoreChange[] = [];
    for (let i = 0; i < 3000; i++) changes.push(put("filter", i, { name: `filter ${i}`, pad: "x".repeat(100) }));
    s.commit(changes);
    s.close();
    // Overwrite the middle of the file (b-tree pages of the objects table and its index) with junk.
    const size = readFileSync(path).length;
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    assert.throws(() => BfeStore.open(path), isStoreError("E_STORE_CORRUPT", path));
  });

  it("a row holding invalid JSON is reported as corruption naming the file, kind and key", () => {
    const path = freshPath();
    const s = BfeStore.open(path);
    s.commit([put("callout", 7, { ok: true })]);
    const raw = new Database(path);
    raw.prepare("UPDATE objects SET data = '{broken' WHERE key = ?").run(key(7));
    raw.close();
    assert.throws(
      () => s.loadObjects(),
      (e) => isStoreError("E_STORE_CORRUPT", path)(e) && String(e).includes(`callout ${key(7)}`),
    );
    s.commit([put("filter", 8, { ok: true })]);
    const damage = (n: number, data: string): void => {
      const db = new Database(path);
      db.prepare("UPDATE objects SET data = ? WHERE key = ?").run(data, key(n));
      db.close();
    };
    damage(8, "[1,");
    assert.throws(
      () => [...s.scanObjects()],
      (e) => isStoreError("E_STORE_CORRUPT", path)(e) && String(e).includes(`callout ${key(7)}`),
    );
    damage(7, "{}");
    assert.throws(
      () => [...s.scanObjects()],
      (e) => isStoreError("E_STORE_CORRUPT", path)(e) && String(e).includes(`filter ${key(8)}`),
    );
    s.close();
  });

  it("refuses a store written by a newer schema version, naming the file", () => {
    const path = freshPath();
    BfeStore.open(path).close();
    const raw = new Database(path);
    raw.prepare("UPDATE openwfp_schema SET version = ?").run(SCHEMA_VERSION + 1);
    raw.close();
    assert.throws(
      () => BfeStore.open(path),
      (e) => isStoreError("E_STORE_NEWER_SCHEMA", path)(e) && String(e).includes(`version ${SCHEMA_VERSION + 1}`),
    );
  });

  it("refuses a SQLite database of another application", () => {
    const path = join(dir, "other.db");
    const raw = new Database(path);
    raw.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
    raw.close();
    assert.throws(() => BfeStore.open(path), isStoreError("E_STORE_FOREIGN", path));
    // Untouched: no openwfp tables were added to it.
    const check = new Database(path, { readonly: true });
    assert.deepEqual(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ["invoices"]);
    check.close();
  });
});
