/**
 * The BFE's durable store (issue 4 item 5): persistent objects and engine options in SQLite, written inside
 * the BFE commit, all or nothing, durable when commit returns. MemoryStore has the same shape for engines
 * without a file. The default file (.openwfp/bfe.db) is the CLI's choice; this API takes a path.
 */
export { type BfeStoreOpenOptions, BfeStore } from "./sqlite-store.ts";
export { MemoryStore } from "./memory-store.ts";
export { StoreError, type StoreErrorCode } from "./errors.ts";
export { SCHEMA_VERSION } from "./schema.ts";
export {
  type ObjectStore,
  PERSISTED_KINDS,
  type PersistedKind,
  type PersistedObject,
  type StoreChange,
} from "./types.ts";
