/**
 * The store's schema and its migrations. Table `openwfp_schema` holds one row: which application wrote the
 * file and the schema version. Opening a file applies, in one transaction, every migration above its version;
 * a file whose version is above the newest this build knows is refused rather than misread.
 */
import type BetterSqlite3 from "better-sqlite3";
import { StoreError } from "./errors.ts";

export const STORE_APPLICATION = "openwfp-bfe";

interface Migration {
  /** The schema version the file has after this migration. */
  readonly version: number;
  readonly sql: string;
}

/** In version order; append only — a released migration never changes. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE openwfp_schema (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        application TEXT NOT NULL,
        version INTEGER NOT NULL
      );
      -- rowid order is first-put order (an upsert keeps the row), which loadObjects returns within a kind.
      CREATE TABLE objects (
        kind TEXT NOT NULL CHECK (kind IN ('provider', 'providerContext', 'sublayer', 'callout', 'filter')),
        key TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (kind, key)
      );
      CREATE TABLE options (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Brings `db` to SCHEMA_VERSION, creating the schema in an empty file. Runs under BEGIN IMMEDIATE so two
 * processes opening a fresh file do not both create it. A read-only open only checks the version.
 */
export function prepareSchema(db: BetterSqlite3.Database, file: string, readOnly: boolean): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).filter(
    (name) => !name.startsWith("sqlite_"),
  );
  let version = 0;
  if (tables.includes("openwfp_schema")) {
    const row = db.prepare("SELECT application, version FROM openwfp_schema WHERE id = 1").get() as
      | { application: unknown; version: unknown }
      | undefined;
    if (row === undefined || row.application !== STORE_APPLICATION || typeof row.version !== "number") {
      throw new StoreError("E_STORE_FOREIGN", file, "not an openwfp BFE store (openwfp_schema does not name it)");
    }
    version = row.version;
  } else if (tables.length > 0) {
    throw new StoreError("E_STORE_FOREIGN", file, `not an openwfp BFE store (it holds tables ${tables.join(", ")})`);
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      "E_STORE_NEWER_SCHEMA",
      file,
      `schema version ${version} is newer than this openwfp supports (${SCHEMA_VERSION}); upgrade openwfp`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  if (readOnly) {
    throw new StoreError(
      "E_STORE_IO",
      file,
      version === 0 ? "the store is empty and opened read-only" : `schema version ${version} needs a migration`,
    );
  }
  const migrate = db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated since the check above.
    const now = existingVersion(db);
    for (const m of MIGRATIONS) {
      if (m.version <= now) continue;
      db.exec(m.sql);
      db.prepare(
        "INSERT INTO openwfp_schema (id, application, version) VALUES (1, ?, ?) " +
          "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
      ).run(STORE_APPLICATION, m.version);
    }
  });
  migrate.immediate();
}

function currentVersion(db: BetterSqlite3.Database): number {
  const v = db.prepare("SELECT version FROM openwfp_schema WHERE id = 1").pluck().get();
  return typeof v === "number" ? v : 0;
}

/** The schema version, 0 when the file has no schema table yet. */
function existingVersion(db: BetterSqlite3.Database): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'openwfp_schema'").get();
  return has === undefined ? 0 : currentVersion(db);
}
