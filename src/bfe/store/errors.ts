/** Errors of the durable store: each names the store file (or "<memory>") it concerns. */
import { OpenWfpError } from "../../base/errors.ts";

export type StoreErrorCode =
  /** The file is not a SQLite database, fails SQLite's integrity check, or holds rows the store cannot read. */
  | "E_STORE_CORRUPT"
  /** The file was written by a newer openwfp (its schema version is above the one this build knows). */
  | "E_STORE_NEWER_SCHEMA"
  /** A SQLite database that is not an openwfp BFE store. */
  | "E_STORE_FOREIGN"
  /** The file could not be opened, read or written (permissions, disk full, locked). */
  | "E_STORE_IO"
  /** A change or option that cannot be stored (bad kind, bad key, missing or non-JSON data). */
  | "E_STORE_INVALID_CHANGE"
  /** The store was used after close(). */
  | "E_STORE_CLOSED";

export class StoreError extends OpenWfpError {
  /** The store file, or "<memory>" for a MemoryStore. */
  readonly file: string;

  constructor(code: StoreErrorCode, file: string, message: string, options?: { cause?: unknown; path?: string }) {
    super(
      code,
      `${file}: ${message}`,
      options?.path === undefined ? {} : { path: options.path },
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "StoreError";
    this.file = file;
  }
}
