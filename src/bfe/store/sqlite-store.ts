/**
 * The durable store: persistent BFE objects and engine options in one SQLite file (better-sqlite3).
 *
 * Durability (issue 4 item 5): the file runs in WAL mode with `synchronous=FULL`, so a commit returns only
 * after its WAL frames are on disk, and SQLite's WAL recovery discards any transaction whose commit frame was
 * not written — a process killed at any instant of a commit keeps all of it or none of it
 * (https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous). Each commit is
 * one `BEGIN IMMEDIATE` transaction that writes the object changes and the options together.
 *
 * Checkpoints (copying the WAL back into the database file, then syncing it) are maintenance, not
 * durability, so a commit does not wait for the one its own frames call for: SQLite's automatic checkpoint
 * after a commit is off, and a commit first checkpoints what earlier commits left once that passes
 * CHECKPOINT_BYTES; closing the store checkpoints the rest (SQLite does on the last close). The WAL so
 * stays within CHECKPOINT_BYTES plus one commit, and a 100k-filter commit returns once its 77 MB of WAL are
 * on disk instead of after a second 77 MB write and sync (https://www.sqlite.org/wal.html#ckpt).
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type Database from "better-sqlite3";
import type { Guid } from "../../base/guid.ts";
import { lazyPackage } from "../../base/lazy-package.ts";
import { checkChange, decodeValue, encodeValue } from "./codec.ts";
import { StoreError } from "./errors.ts";
import { prepareSchema } from "./schema.ts";
import {
  PERSISTED_KINDS,
  type ObjectStore,
  type PersistedKind,
  type PersistedObject,
  type StoreChange,
} from "./types.ts";

/** The SQLite binding (a native addon), loaded when a store is first opened. */
const sqlite = lazyPackage<typeof Database>("better-sqlite3");

export interface BfeStoreOpenOptions {
  /** Open without writing: the file must exist and hold the current schema; commit() then fails. */
  readOnly?: boolean;
  /** Run SQLite's `PRAGMA quick_check` on open (default true): a damaged file is refused before it is used. */
  integrityCheck?: boolean;
  /** How long a statement waits for another process's write lock before failing, ms (default 5000). */
  busyTimeoutMs?: number;
}

/** Page size of a new store file (bytes). */
const PAGE_SIZE = 16384;

/** WAL left by earlier commits (bytes, estimated) beyond which a commit checkpoints it first: SQLite's default of 1000 pages. */
const CHECKPOINT_BYTES = 1000 * PAGE_SIZE;

/** What a row adds to the WAL besides its text (record header, key, index entry), roughly. */
const ROW_OVERHEAD_BYTES = 128;

interface Statements {
  readonly put: Database.Statement<[string, string, string]>;
  readonly remove: Database.Statement<[string, string]>;
  readonly putOption: Database.Statement<[string, string]>;
  readonly removeOption: Database.Statement<[string]>;
  /** Raw rows [kind, key, data] in rowid order: a plain table scan, no sort. */
  readonly loadAll: Database.Statement<[], unknown[]>;
  /** Raw rows of every kind but filters (few), in rowid order. */
  readonly loadNonFilters: Database.Statement<[], unknown[]>;
  /** Raw filter rows [key, data] in rowid order: a table scan (`+kind` keeps SQLite off the (kind, key) index and its sort). */
  readonly loadFilters: Database.Statement<[], unknown[]>;
  readonly loadOptions: Database.Statement<[], { name: unknown; value: unknown }>;
}

export class BfeStore implements ObjectStore {
  /** The store file, absolute. */
  readonly path: string;
  readonly readOnly: boolean;
  #db: Database.Database | undefined;
  readonly #sql: Statements;
  readonly #commitTxn: (changes: Iterable<StoreChange>, options: [string, unknown][]) => void;
  /** Bytes (estimated) the WAL holds that no checkpoint of this connection has copied back yet. */
  #unbackfilled: number;
  /** Bytes (estimated) the commit in progress writes. */
  #writing = 0;

  private constructor(path: string, db: Database.Database, readOnly: boolean, walBytes: number) {
    this.path = path;
    this.readOnly = readOnly;
    this.#db = db;
    this.#unbackfilled = walBytes;
    this.#sql = {
      put: db.prepare(
        "INSERT INTO objects (kind, key, data) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data",
      ),
      remove: db.prepare("DELETE FROM objects WHERE kind = ? AND key = ?"),
      putOption: db.prepare(
        "INSERT INTO options (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      ),
      removeOption: db.prepare("DELETE FROM options WHERE name = ?"),
      loadAll: db.prepare<[], unknown[]>("SELECT kind, key, data FROM objects ORDER BY rowid").raw(true),
      loadNonFilters: db
        .prepare<[], unknown[]>("SELECT kind, key, data FROM objects WHERE kind <> 'filter' ORDER BY rowid")
        .raw(true),
      loadFilters: db
        .prepare<[], unknown[]>("SELECT key, data FROM objects WHERE +kind = 'filter' ORDER BY rowid")
        .raw(true),
      loadOptions: db.prepare("SELECT name, value FROM options ORDER BY name"),
    };
    const write = (changes: Iterable<StoreChange>, options: [string, unknown][]): void => {
      const file = this.path;
      let i = 0;
      let bytes = 0;
      for (const c of changes) {
        checkChange(c, i, file);
        if (c.op === "put") {
          const text = c.text ?? encodeValue(c.data, file, `changes[${i}].data`);
          this.#sql.put.run(c.kind, c.key, text);
          bytes += text.length + ROW_OVERHEAD_BYTES;
        } else {
          this.#sql.remove.run(c.kind, c.key);
          bytes += ROW_OVERHEAD_BYTES;
        }
        i++;
      }
      for (const [name, value] of options) {
        if (value === undefined) this.#sql.removeOption.run(name);
        else this.#sql.putOption.run(name, encodeValue(value, file, `options.${name}`));
        bytes += ROW_OVERHEAD_BYTES;
      }
      this.#writing = bytes;
    };
    this.#commitTxn = db.transaction(write).immediate;
  }

  /**
   * Opens (creating it and its folder when missing, unless read-only) the store at `path`. Throws StoreError
   * naming the file: E_STORE_CORRUPT (not a database, or damaged), E_STORE_NEWER_SCHEMA, E_STORE_FOREIGN,
   * E_STORE_IO (cannot open or lock).
   */
  static open(path: string, options: BfeStoreOpenOptions = {}): BfeStore {
    const file = resolve(path);
    const readOnly = options.readOnly ?? false;
    let db: Database.Database | undefined;
    try {
      if (!readOnly) mkdirSync(dirname(file), { recursive: true });
      db = new (sqlite())(file, {
        readonly: readOnly,
        fileMustExist: readOnly,
        timeout: options.busyTimeoutMs ?? 5000,
      });
      // The first statement reads the header: a file that is not a database fails here.
      if (!readOnly) {
        // A new file gets 16 KiB pages: a 100k-filter commit writes ~10% fewer bytes and runs ~40% faster,
        // and loading reads fewer pages (https://www.sqlite.org/pragma.html#pragma_page_size). Only an
        // empty file takes it (before WAL mode and the first table); an existing file keeps its own size.
        // Durability does not depend on the page size.
        db.pragma(`page_size = ${PAGE_SIZE}`);
        const mode = db.pragma("journal_mode = WAL", { simple: true });
        if (mode !== "wal") throw new StoreError("E_STORE_IO", file, `cannot switch to WAL mode (got ${String(mode)})`);
      } else {
        db.pragma("schema_version", { simple: true });
      }
      db.pragma("synchronous = FULL");
      // Checkpoints are this store's to schedule (see the module comment).
      if (!readOnly) db.pragma("wal_autocheckpoint = 0");
      if (options.integrityCheck ?? true) {
        const problems = db.pragma("quick_check", { simple: false }) as { quick_check: string }[];
        const first = problems[0]?.quick_check;
        if (first !== "ok") {
          throw new StoreError("E_STORE_CORRUPT", file, `integrity check failed: ${first ?? "no result"}`);
        }
      }
      prepareSchema(db, file, readOnly);
      return new BfeStore(file, db, readOnly, readOnly ? 0 : walSize(file));
    } catch (e) {
      db?.close();
      throw asStoreError(e, file, "cannot open the store");
    }
  }

  loadObjects(): PersistedObject[] {
    this.#assertOpen();
    const byKind = new Map<string, PersistedObject[]>(PERSISTED_KINDS.map((k) => [k, []]));
    try {
      for (const row of this.#sql.loadAll.iterate()) {
        const [kind, key, data] = row as [unknown, unknown, unknown];
        const list = byKind.get(kind as string);
        if (list === undefined || typeof key !== "string") {
          throw new StoreError("E_STORE_CORRUPT", this.path, `a row has kind ${String(kind)} and key ${String(key)}`);
        }
        list.push({
          kind: kind as PersistedKind,
          key: key as Guid,
          data: decodeValue(data, this.path, `${kind} ${key}`),
        });
      }
    } catch (e) {
      throw asStoreError(e, this.path, "cannot read objects");
    }
    return PERSISTED_KINDS.flatMap((k) => byKind.get(k) ?? []);
  }

  /**
   * loadObjects, one object at a time: the other kinds first (read together, they are few), then the
   * filters straight from a table scan, each parsed only when it is asked for.
   */
  *scanObjects(): Generator<PersistedObject> {
    this.#assertOpen();
    const byKind = new Map<string, PersistedObject[]>(PERSISTED_KINDS.map((k) => [k, []]));
    try {
      for (const row of this.#sql.loadNonFilters.iterate()) {
        const [kind, key, data] = row as [unknown, unknown, unknown];
        const list = byKind.get(kind as string);
        if (list === undefined || kind === "filter" || typeof key !== "string") {
          throw new StoreError("E_STORE_CORRUPT", this.path, `a row has kind ${String(kind)} and key ${String(key)}`);
        }
        list.push({
          kind: kind as PersistedKind,
          key: key as Guid,
          data: decodeValue(data, this.path, `${kind} ${key}`),
        });
      }
    } catch (e) {
      throw asStoreError(e, this.path, "cannot read objects");
    }
    for (const kind of PERSISTED_KINDS) if (kind !== "filter") yield* byKind.get(kind) ?? [];
    byKind.clear();
    const rows = this.#sql.loadFilters.iterate();
    try {
      for (;;) {
        let object: PersistedObject;
        try {
          const next = rows.next();
          if (next.done === true) return;
          const [key, data] = next.value as [unknown, unknown];
          if (typeof key !== "string") {
            throw new StoreError("E_STORE_CORRUPT", this.path, `a row has kind filter and key ${String(key)}`);
          }
          object = { kind: "filter", key: key as Guid, data: decodeValue(data, this.path, `filter ${key}`) };
        } catch (e) {
          throw asStoreError(e, this.path, "cannot read objects");
        }
        yield object;
      }
    } finally {
      // Also when the reader stops early (an object failed to load): the statement is let go.
      rows.return?.();
    }
  }

  loadOptions(): Record<string, unknown> {
    this.#assertOpen();
    const out: Record<string, unknown> = {};
    try {
      for (const row of this.#sql.loadOptions.all()) {
        const name = String(row.name);
        out[name] = decodeValue(row.value, this.path, `option ${name}`);
      }
    } catch (e) {
      throw asStoreError(e, this.path, "cannot read options");
    }
    return out;
  }

  /**
   * Writes `changes` (in order) and `options` in one SQLite transaction; returns once it is durable. On any
   * failure — a refused value, a SQLite error — the transaction rolls back and the error is thrown.
   */
  commit(changes: Iterable<StoreChange>, options?: Record<string, unknown>): void {
    this.#assertOpen();
    const opts = Object.entries(options ?? {});
    if (Array.isArray(changes) && changes.length === 0 && opts.length === 0) return;
    if (this.readOnly) throw new StoreError("E_STORE_IO", this.path, "the store is open read-only");
    try {
      if (this.#unbackfilled >= CHECKPOINT_BYTES) {
        // PASSIVE: copies as much as it can without waiting for any reader or writer.
        this.#db?.pragma("wal_checkpoint(PASSIVE)");
        this.#unbackfilled = 0;
      }
      this.#writing = 0;
      this.#commitTxn(changes, opts);
      this.#unbackfilled += this.#writing;
    } catch (e) {
      throw asStoreError(e, this.path, "commit failed, nothing written");
    }
  }

  /** Closes the file (SQLite checkpoints the WAL into it). Further calls throw E_STORE_CLOSED. */
  close(): void {
    const db = this.#db;
    this.#db = undefined;
    db?.close();
  }

  #assertOpen(): void {
    if (this.#db === undefined) throw new StoreError("E_STORE_CLOSED", this.path, "the store is closed");
  }
}

/** The size of the store's WAL file (0 when there is none): what the first commit may have to checkpoint. */
function walSize(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/** SQLite result codes meaning the file itself is damaged (https://www.sqlite.org/rescode.html). */
const CORRUPT_CODES = new Set(["SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CORRUPT_VTAB", "SQLITE_CORRUPT_SEQUENCE"]);

function asStoreError(e: unknown, file: string, doing: string): StoreError {
  if (e instanceof StoreError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof code === "string" && (CORRUPT_CODES.has(code) || code.startsWith("SQLITE_CORRUPT"))) {
    return new StoreError("E_STORE_CORRUPT", file, `${doing}: the file is damaged or not a database (${message})`, {
      cause: e,
    });
  }
  const suffix = typeof code === "string" ? ` [${code}]` : "";
  return new StoreError("E_STORE_IO", file, `${doing}: ${message}${suffix}`, { cause: e });
}
