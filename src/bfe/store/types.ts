/**
 * The shapes the durable store persists. The store does not interpret object data: bfe-core decides what a
 * persisted provider, sublayer, callout or filter looks like; the store keeps it as JSON text, with bigints
 * written as decimal strings (JSON has no 64-bit integers), and hands it back parsed.
 */
import type { Guid } from "../../base/guid.ts";

/** The management objects with a persistent lifetime (wfp-semantics.md §H: persistent and boot-time objects). */
export type PersistedKind = "provider" | "providerContext" | "sublayer" | "callout" | "filter";

/**
 * Every kind, in the order objects are loaded: an object only references kinds listed before it (a filter
 * names its provider, sublayer, callout and provider context; a provider context or sublayer names its
 * provider), so loading in this order never meets a dangling reference.
 */
export const PERSISTED_KINDS: readonly PersistedKind[] = [
  "provider",
  "providerContext",
  "sublayer",
  "callout",
  "filter",
];

export interface PersistedObject {
  kind: PersistedKind;
  key: Guid;
  /** JSON-serialisable spec incl. ids and effective weight, defined by bfe-core; bigints come back as strings. */
  data: unknown;
}

export interface StoreChange {
  op: "put" | "delete";
  kind: PersistedKind;
  key: Guid;
  /** A "put" needs this or `text` (the whole object; it replaces what the store held under kind + key). */
  data?: unknown;
  /**
   * The object already as the JSON text the store keeps: exactly what the store's encoding of the data
   * would give (bfe-core's storeTextOf writes it so, without building the data first). Kept as it is.
   */
  text?: string;
}

/** What BfeStore and MemoryStore have in common: what a Bfe needs from its store. */
export interface ObjectStore {
  /** Every persisted object, kind by kind in PERSISTED_KINDS order, then in the order each key was first put. */
  loadObjects(): PersistedObject[];
  /**
   * The objects of loadObjects, in the same order, made one at a time as they are read (a BFE start
   * loads them so: what it is done with need not wait in memory for the rest). Each object is fresh.
   * Optional: a store without it is read with loadObjects.
   */
  scanObjects?(): Iterable<PersistedObject>;
  /** Engine options as last committed (names → JSON values; bigints as decimal strings). */
  loadOptions(): Record<string, unknown>;
  /**
   * Applies `changes` in order and writes each entry of `options` (an `undefined` value removes that option),
   * all or nothing: when anything fails, nothing of this commit is kept and the error is thrown. `changes`
   * is read once, in order, during the commit (a generator may make each change as it is written).
   */
  commit(changes: Iterable<StoreChange>, options?: Record<string, unknown>): void;
  close(): void;
}
