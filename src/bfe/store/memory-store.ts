/**
 * A store without a file, for engines whose sessions keep nothing across restarts (tests, `--state` views).
 * It behaves as BfeStore does — same validation, same JSON round trip (bigints come back as decimal strings),
 * same order of loadObjects, all-or-nothing commits — so code tested against one runs against the other.
 */
import { checkChange, decodeValue, encodeValue } from "./codec.ts";
import { StoreError } from "./errors.ts";
import {
  PERSISTED_KINDS,
  type ObjectStore,
  type PersistedKind,
  type PersistedObject,
  type StoreChange,
} from "./types.ts";

const FILE = "<memory>";

export class MemoryStore implements ObjectStore {
  /** Kind → key → JSON text; Map order is first-put order, as rowid order is in the SQLite store. */
  readonly #objects = new Map<PersistedKind, Map<string, string>>(PERSISTED_KINDS.map((k) => [k, new Map()]));
  readonly #options = new Map<string, string>();
  #closed = false;

  /** Same shape as BfeStore.open; a MemoryStore starts empty. */
  static open(): MemoryStore {
    return new MemoryStore();
  }

  get path(): string {
    return FILE;
  }

  loadObjects(): PersistedObject[] {
    this.#assertOpen();
    const out: PersistedObject[] = [];
    for (const kind of PERSISTED_KINDS) {
      for (const [key, text] of this.#objects.get(kind) ?? []) {
        out.push({ kind, key: key as PersistedObject["key"], data: decodeValue(text, FILE, `${kind} ${key}`) });
      }
    }
    return out;
  }

  /** loadObjects, one object at a time (each parsed when it is asked for). */
  *scanObjects(): Generator<PersistedObject> {
    this.#assertOpen();
    for (const kind of PERSISTED_KINDS) {
      for (const [key, text] of [...(this.#objects.get(kind) ?? [])]) {
        yield { kind, key: key as PersistedObject["key"], data: decodeValue(text, FILE, `${kind} ${key}`) };
      }
    }
  }

  loadOptions(): Record<string, unknown> {
    this.#assertOpen();
    const out: Record<string, unknown> = {};
    for (const [name, text] of this.#options) out[name] = decodeValue(text, FILE, `option ${name}`);
    return out;
  }

  commit(changeList: Iterable<StoreChange>, options?: Record<string, unknown>): void {
    this.#assertOpen();
    // Everything that can fail happens before the first write.
    const changes: StoreChange[] = [];
    const staged: (string | undefined)[] = [];
    for (const change of changeList) {
      const i = changes.length;
      checkChange(change, i, FILE);
      changes.push(change);
      staged.push(
        change.op === "put" ? (change.text ?? encodeValue(change.data, FILE, `changes[${i}].data`)) : undefined,
      );
    }
    const stagedOptions: [string, string | undefined][] = [];
    for (const [name, value] of Object.entries(options ?? {})) {
      stagedOptions.push([name, value === undefined ? undefined : encodeValue(value, FILE, `options.${name}`)]);
    }
    changes.forEach((change, i) => {
      const table = this.#objects.get(change.kind);
      const text = staged[i];
      if (table === undefined) return;
      if (text === undefined) table.delete(change.key);
      else table.set(change.key, text);
    });
    for (const [name, text] of stagedOptions) {
      if (text === undefined) this.#options.delete(name);
      else this.#options.set(name, text);
    }
  }

  close(): void {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("E_STORE_CLOSED", FILE, "the store is closed");
  }
}
