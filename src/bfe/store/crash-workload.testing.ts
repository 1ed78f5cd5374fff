/**
 * The workload of the crash test, shared by the child that runs it and the parent that checks what survived.
 * Transaction `t` (1, 2, 3, …) of the workload, in one BfeStore commit:
 *   - puts rowCount(t) filter rows, each tagged { txn: t, i } (keys derived from t and i);
 *   - puts a checksum row (kind "provider") { txn: t, count, sum } over those rows;
 *   - puts a ledger row (kind "callout") { txn: t } that is never deleted, so every committed transaction
 *     leaves a permanent mark;
 *   - deletes the filter and checksum rows of transaction t - WINDOW, so the store stays small;
 *   - sets option lastTxn = t.
 * A store that holds all or nothing of every transaction therefore holds, for some M: ledger rows 1..M, the
 * complete rows of transactions max(1, M - WINDOW + 1)..M and nothing of the others, and lastTxn = M.
 * Odd transactions hand their rows over as the BFE's commit does: already as JSON text, made one at a time
 * by a generator while the store writes them (crash-child.testing.ts).
 */
import type { Guid } from "../../base/guid.ts";
import { SeededRng } from "../../base/rng.ts";
import type { StoreChange } from "./types.ts";

export const WINDOW = 4;
export const MAX_ROWS = 3000;

/** Rows of transaction t: from 1 to MAX_ROWS, drawn from t so parent and child agree. */
export function rowCount(t: number): number {
  return new SeededRng(t * 7919 + 17).nextRange(1, MAX_ROWS);
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");
const rowKey = (t: number, i: number): Guid => `${hex(t, 8)}-${hex(i, 4)}-4000-8000-00000000f117` as Guid;
const checksumKey = (t: number): Guid => `${hex(t, 8)}-0000-4000-8000-0000000c4ec5` as Guid;
const ledgerKey = (t: number): Guid => `${hex(t, 8)}-0000-4000-8000-00000000ed9e` as Guid;

/** What the checksum row records over rows i = 0..count-1 of transaction t. */
export function rowSum(t: number, i: number): number {
  return (i * 2654435761 + t) % 1000003;
}

export function transaction(t: number): { changes: StoreChange[]; options: Record<string, unknown> } {
  const count = rowCount(t);
  const changes: StoreChange[] = [];
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const data = { txn: t, i, pad: "crash-test row ".repeat(4) };
    const key = rowKey(t, i);
    changes.push(
      t % 2 === 1
        ? { op: "put", kind: "filter", key, text: JSON.stringify(data) }
        : { op: "put", kind: "filter", key, data },
    );
    sum += rowSum(t, i);
  }
  changes.push({ op: "put", kind: "provider", key: checksumKey(t), data: { txn: t, count, sum } });
  changes.push({ op: "put", kind: "callout", key: ledgerKey(t), data: { txn: t } });
  const old = t - WINDOW;
  if (old >= 1) {
    for (let i = 0; i < rowCount(old); i++) changes.push({ op: "delete", kind: "filter", key: rowKey(old, i) });
    changes.push({ op: "delete", kind: "provider", key: checksumKey(old) });
  }
  return { changes, options: { lastTxn: t } };
}
