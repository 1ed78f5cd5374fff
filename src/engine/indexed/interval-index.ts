/**
 * Stabbing index for closed intervals over one ordered key kind (numbers, bigints, byte strings,
 * strings): which intervals contain a point. Built once, queried without allocation.
 *
 * The distinct finite endpoints p0 < … < p(m-1) cut the key line into 2m+1 elementary slots (below p0,
 * p0 itself, between p0 and p1, p1, …, above p(m-1)). Each interval covers a contiguous run of slots and
 * is stored in the O(log m) canonical nodes of a segment tree over the slots; a point query finds its
 * slot by binary search and reads the node lists on the path from that leaf to the root — O(log m + k).
 * An interval appears at most once on any leaf-to-root path, so a query yields each interval once.
 * When the intervals overlap little (the total number of (interval, slot) pairs stays within a budget,
 * as with port ranges), the index stores each slot's list directly instead: one binary search and one
 * list read, without walking the tree's scattered nodes.
 *
 * A missing bound (`undefined`) means unbounded on that side; open comparisons (GREATER, LESS) are
 * indexed as the closed superset — verification with `filterMatches` removes the endpoint itself.
 */
import type { Postings } from "./postings.ts";

export type Compare<K> = (a: K, b: K) => number;

export interface IntervalInput<K> {
  readonly low: K | undefined;
  readonly high: K | undefined;
  readonly rank: number;
}

export class IntervalIndex<K> {
  readonly #points: readonly K[];
  readonly #compare: Compare<K>;
  /** Leaves start here (a power of two ≥ the slot count); 0 in per-slot mode. */
  readonly #leafBase: number;
  /** Segment-tree node lists, or (per-slot mode) one list per slot. */
  readonly #nodes: Postings;
  readonly size: number;

  /**
   * `inputs` must be in ascending rank order; `low <= high` when both are given. `slotBudget` caps the
   * (interval, slot) pairs of per-slot mode (default: 8 per interval + 4096); 0 forces the tree.
   */
  constructor(inputs: readonly IntervalInput<K>[], compare: Compare<K>, slotBudget = 8 * inputs.length + 4096) {
    this.#compare = compare;
    this.size = inputs.length;
    const all: K[] = [];
    for (const iv of inputs) {
      if (iv.low !== undefined) all.push(iv.low);
      if (iv.high !== undefined) all.push(iv.high);
    }
    all.sort(compare);
    const points: K[] = [];
    for (const p of all) {
      if (points.length === 0 || compare(points[points.length - 1] as K, p) !== 0) points.push(p);
    }
    this.#points = points;
    const slots = 2 * points.length + 1;
    const lo = new Int32Array(inputs.length);
    const hi = new Int32Array(inputs.length);
    let pairs = 0;
    inputs.forEach((iv, i) => {
      lo[i] = iv.low === undefined ? 0 : 2 * this.#find(iv.low) + 1;
      hi[i] = iv.high === undefined ? slots - 1 : 2 * this.#find(iv.high) + 1;
      pairs += (hi[i] as number) - (lo[i] as number) + 1;
    });
    if (pairs <= slotBudget) {
      this.#leafBase = 0;
      this.#nodes = packLists(slots, (emit) => {
        for (let i = 0; i < inputs.length; i++) {
          const rank = (inputs[i] as IntervalInput<K>).rank;
          for (let slot = lo[i] as number; slot <= (hi[i] as number); slot++) emit(slot, rank);
        }
      });
      return;
    }
    let base = 1;
    while (base < slots) base <<= 1;
    this.#leafBase = base;
    this.#nodes = packLists(2 * base, (emit) => {
      for (let i = 0; i < inputs.length; i++) {
        const rank = (inputs[i] as IntervalInput<K>).rank;
        let l = (lo[i] as number) + base;
        let r = (hi[i] as number) + base + 1;
        while (l < r) {
          if (l & 1) emit(l++, rank);
          if (r & 1) emit(--r, rank);
          l >>>= 1;
          r >>>= 1;
        }
      }
    });
  }

  /** Index of the first endpoint ≥ key (points.length when none). */
  #find(key: K): number {
    const points = this.#points;
    const compare = this.#compare;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(points[mid] as K, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Appends the ranks of every interval containing `key` to `out` from position `at`; returns the new
   * end position. `out` must have room for `size` more entries.
   */
  stab(key: K, out: Int32Array, at: number): number {
    const i = this.#find(key);
    const points = this.#points;
    const slot = i < points.length && this.#compare(points[i] as K, key) === 0 ? 2 * i + 1 : 2 * i;
    const { starts, ranks } = this.#nodes;
    let end = at;
    if (this.#leafBase === 0) {
      const e = starts[slot + 1] as number;
      for (let k = starts[slot] as number; k < e; k++) out[end++] = ranks[k] as number;
      return end;
    }
    for (let node = slot + this.#leafBase; node >= 1; node >>>= 1) {
      const s = starts[node] as number;
      const e = starts[node + 1] as number;
      for (let k = s; k < e; k++) out[end++] = ranks[k] as number;
    }
    return end;
  }
}

/**
 * Packs lists (CSR) from a generator that emits (list, rank) pairs, calling it twice (count, fill). A
 * rank emitted twice in a row for one list (overlapping intervals of one OR group arrive together) is
 * kept once.
 */
function packLists(lists: number, generate: (emit: (list: number, rank: number) => void) => void): Postings {
  const starts = new Int32Array(lists + 1);
  const lastRank = new Int32Array(lists).fill(-1);
  generate((list, rank) => {
    if (lastRank[list] === rank) return;
    lastRank[list] = rank;
    starts[list + 1] = (starts[list + 1] as number) + 1;
  });
  for (let n = 0; n < lists; n++) starts[n + 1] = (starts[n + 1] as number) + (starts[n] as number);
  const ranks = new Int32Array(starts[lists] as number);
  const fill = starts.slice(0, lists);
  lastRank.fill(-1);
  generate((list, rank) => {
    if (lastRank[list] === rank) return;
    lastRank[list] = rank;
    const at = fill[list] as number;
    ranks[at] = rank;
    fill[list] = at + 1;
  });
  return { starts, ranks };
}
