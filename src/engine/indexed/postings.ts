/**
 * Postings: lists of filter ranks (a filter's position in its sublayer's evaluation order) stored flat,
 * CSR-style — bucket `b` holds `ranks[starts[b] .. starts[b + 1])`, ascending and without repeats
 * because a builder is fed in rank order. Keyed lookups that return a bucket id live beside it:
 * `U32Table` (open addressing over unsigned 32-bit keys, for integers up to 32 bits and for hashes of
 * byte strings) and plain `Map`s for keys that are JavaScript primitives (bigint, float, string).
 *
 * An index only proposes candidates; every candidate is verified with the shared `filterMatches`, so a
 * hash collision costs a wasted check, never a wrong answer.
 */

/** Flat bucket storage: bucket b = ranks[starts[b] .. starts[b+1]). */
export interface Postings {
  readonly starts: Int32Array;
  readonly ranks: Int32Array;
}

/**
 * Collects (bucket, rank) pairs, fed in ascending rank order, and packs them into `Postings`. A rank
 * added twice in a row to one bucket (a same-field OR group naming one value twice) is kept once.
 */
export class PostingsBuilder {
  #bucketCount = 0;
  #pairBuckets: number[] = [];
  #pairRanks: number[] = [];

  /** A new, empty bucket; returns its id. */
  newBucket(): number {
    return this.#bucketCount++;
  }

  get bucketCount(): number {
    return this.#bucketCount;
  }

  add(bucket: number, rank: number): void {
    this.#pairBuckets.push(bucket);
    this.#pairRanks.push(rank);
  }

  build(): Postings {
    const n = this.#bucketCount;
    const starts = new Int32Array(n + 1);
    const last = new Int32Array(n).fill(-1);
    const pairs = this.#pairBuckets.length;
    for (let i = 0; i < pairs; i++) {
      const b = this.#pairBuckets[i] as number;
      const r = this.#pairRanks[i] as number;
      if (last[b] === r) continue;
      last[b] = r;
      starts[b + 1] = (starts[b + 1] as number) + 1;
    }
    for (let b = 0; b < n; b++) starts[b + 1] = (starts[b + 1] as number) + (starts[b] as number);
    const ranks = new Int32Array(starts[n] as number);
    const fill = starts.slice(0, n);
    last.fill(-1);
    for (let i = 0; i < pairs; i++) {
      const b = this.#pairBuckets[i] as number;
      const r = this.#pairRanks[i] as number;
      if (last[b] === r) continue;
      last[b] = r;
      const at = fill[b] as number;
      ranks[at] = r;
      fill[b] = at + 1;
    }
    this.#pairBuckets = [];
    this.#pairRanks = [];
    return { starts, ranks };
  }
}

/** Fibonacci hashing of a 32-bit key into `bits` bits. */
function slotOf(key: number, shift: number): number {
  return Math.imul(key, 0x9e3779b1) >>> shift;
}

/**
 * Open-addressing hash table (linear probing) from unsigned 32-bit keys to non-negative int32 values.
 * Key and value share one Int32Array (`[key, value]` pairs), so a lookup usually touches one cache
 * line. Built once; `get` allocates nothing.
 */
export class U32Table {
  /** slots[2i] = key (as int32), slots[2i+1] = value, -1 when the slot is free. */
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #shift: number;
  #size = 0;

  /** A table able to hold `capacity` keys at a load factor of at most 1/2. */
  constructor(capacity: number) {
    let bits = 3;
    while (1 << bits < capacity * 2) bits++;
    this.#slots = new Int32Array(2 << bits);
    for (let i = 1; i < this.#slots.length; i += 2) this.#slots[i] = -1;
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
  }

  get size(): number {
    return this.#size;
  }

  /** The value of `key`, or -1. `key` must be an unsigned 32-bit integer. */
  get(key: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const k = key | 0;
    for (let i = slotOf(key, this.#shift); ; i = (i + 1) & mask) {
      const v = slots[2 * i + 1] as number;
      if (v === -1 || slots[2 * i] === k) return v;
    }
  }

  /** The value of `key`, storing `create()` for it when absent. Values must be ≥ 0. */
  getOrAdd(key: number, create: () => number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const k = key | 0;
    for (let i = slotOf(key, this.#shift); ; i = (i + 1) & mask) {
      const v = slots[2 * i + 1] as number;
      if (v === -1) {
        if ((this.#size + 1) * 2 > mask + 1) throw new RangeError("U32Table is full");
        const created = create();
        slots[2 * i] = k;
        slots[2 * i + 1] = created;
        this.#size++;
        return created;
      }
      if (slots[2 * i] === k) return v;
    }
  }

  /** Replaces every stored value v by f(v) (f must return values ≥ 0). */
  remap(f: (value: number) => number): void {
    const slots = this.#slots;
    for (let i = 1; i < slots.length; i += 2) {
      const v = slots[i] as number;
      if (v !== -1) slots[i] = f(v);
    }
  }
}
