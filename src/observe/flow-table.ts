/**
 * The packet observer's flow table: flow keys (numbers, see `FLOW_KEY_WORDS`) to slots 0..capacity-1, in
 * least-recently-used order, with what the observer knows of each flow — a state word, a policy serial and
 * the time of its last packet — and no object per flow. The index is open addressing with linear probing
 * over an Int32Array of (slot + 1, hash) pairs: probing and deletion (which shifts entries back, so no
 * tombstones build up under churn) read only that array. Each slot is one 40-byte record of a single
 * buffer — the key's first four words, the previous and next slot in use order (a doubly linked list),
 * the state, the serial and the time — so that a flow is a cache line or two, not one entry in each of
 * several arrays; IPv6 keys keep their other six words aside. Every operation is O(1) expected and
 * nothing is allocated after construction. A full table takes a new flow in the oldest flow's slot
 * (`replaceOldest`: one step, the slot moves to the young end); since under churn nearly every lookup in
 * a full table is followed by that, `find` reads the oldest flow's bucket ahead, so that the memory
 * fetches the two random buckets at once rather than one after the other.
 */

/**
 * Words of a key: [0] IP version (bit 31), ICMP echo (bit 30) and protocol (low byte); [1] local port << 16
 * | remote port, or the echo identifier; [2] and [3] the local and remote IPv4 address, or [2..5] and
 * [6..9] the local and remote IPv6 address. Unused words of an IPv6 key are 0; an IPv4 key's words 4..9 are
 * never read (a caller need not clear them).
 */
export const FLOW_KEY_WORDS = 10;

const V6 = 0x80000000 | 0;
const PREV = 4;
const NEXT = 5;
const STATE = 6;
const SERIAL = 7;
/** Record size in 32-bit words; words 8–9 hold the time as a float64. */
const RECORD = 10;
const EXTRA = FLOW_KEY_WORDS - 4;
const NONE = -1;

export class FlowTable {
  readonly capacity: number;
  /** The key to find or insert: the caller writes it here first. */
  readonly key = new Int32Array(FLOW_KEY_WORDS);
  readonly #records: Int32Array;
  /** The records' float64 view: a slot's time is at s * RECORD / 2 + 4. */
  readonly #times: Float64Array;
  /** IPv6 keys: words 4..9, per slot. */
  readonly #extra: Int32Array;
  /** Per bucket: slot + 1 (0: empty), hash. */
  readonly #buckets: Int32Array;
  readonly #mask: number;
  /** Oldest and youngest slot in use. */
  #head = NONE;
  #tail = NONE;
  /** Freed slots (linked through their next), then slots never used (from #fresh up). */
  #free = NONE;
  #fresh = 0;
  #size = 0;
  /**
   * What `find` read ahead in a full table: the oldest slot, its home bucket and that bucket's entry. While
   * the slot stays filed the entry tells whether it sits at its home (entries at home never move).
   */
  #warmSlot = NONE;
  #warmHome = 0;
  #warmEntry = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
    let buckets = 8;
    while (buckets < this.capacity * 2) buckets *= 2;
    this.#mask = buckets - 1;
    this.#buckets = new Int32Array(buckets * 2);
    const buffer = new ArrayBuffer(this.capacity * RECORD * 4);
    this.#records = new Int32Array(buffer);
    this.#times = new Float64Array(buffer);
    this.#extra = new Int32Array(this.capacity * EXTRA);
  }

  get size(): number {
    return this.#size;
  }

  /** The slot holding `key`, or -1. */
  find(): number {
    const h = hashWords(this.key, 0, this.key, 4);
    const buckets = this.#buckets;
    const mask = this.#mask;
    if (this.#size >= this.capacity) {
      // Full: a miss will likely replace the oldest flow, whose bucket is somewhere else in the index.
      // Reading it now lets the memory fetch it while this probe waits for its own bucket.
      const o = this.#head;
      const home = hashWords(this.#records, o * RECORD, this.#extra, o * EXTRA) & mask;
      this.#warmSlot = o;
      this.#warmHome = home;
      this.#warmEntry = buckets[home * 2] as number;
    }
    for (let b = h & mask; ; b = (b + 1) & mask) {
      const s = (buckets[b * 2] as number) - 1;
      if (s < 0) return NONE;
      if (buckets[b * 2 + 1] === h && this.#matches(s)) return s;
    }
  }

  /**
   * Files `key` (which must be absent) at the young end with `state` (serial and time 0); the table must not
   * be full. Returns its slot.
   */
  insert(state: number): number {
    if (this.#size >= this.capacity) throw new RangeError("flow table full: evict first");
    const records = this.#records;
    let s = this.#free;
    if (s !== NONE) this.#free = records[s * RECORD + NEXT] as number;
    else s = this.#fresh++;
    this.#file(s, state);
    this.#append(s);
    this.#size++;
    return s;
  }

  /**
   * Files `key` (which must be absent) in the oldest slot of a full table, in place of that slot's key: the
   * same as `remove(oldest())` then `insert(state)`, in one step that reuses the slot. Returns the slot.
   */
  replaceOldest(state: number): number {
    const s = this.#head;
    if (this.#size < this.capacity || s === NONE) throw new RangeError("flow table not full: insert instead");
    this.#unindex(s);
    this.#file(s, state);
    if (s !== this.#tail) {
      // The head moves to the young end.
      const records = this.#records;
      const n = records[s * RECORD + NEXT] as number;
      this.#head = n;
      records[n * RECORD + PREV] = NONE;
      records[s * RECORD + PREV] = this.#tail;
      records[s * RECORD + NEXT] = NONE;
      records[this.#tail * RECORD + NEXT] = s;
      this.#tail = s;
    }
    return s;
  }

  /** Writes `key` and `state` (serial and time 0) into slot `s` and files the key in the index. */
  #file(s: number, state: number): void {
    const records = this.#records;
    const key = this.key;
    const at = s * RECORD;
    records[at] = key[0] as number;
    records[at + 1] = key[1] as number;
    records[at + 2] = key[2] as number;
    records[at + 3] = key[3] as number;
    records[at + STATE] = state;
    records[at + SERIAL] = 0;
    this.#times[at / 2 + 4] = 0;
    if (((key[0] as number) & V6) !== 0) this.#extra.set(key.subarray(4), s * EXTRA);
    const h = hashWords(key, 0, key, 4);
    const buckets = this.#buckets;
    const mask = this.#mask;
    let b = h & mask;
    while (buckets[b * 2] !== 0) b = (b + 1) & mask;
    buckets[b * 2] = s + 1;
    buckets[b * 2 + 1] = h;
  }

  /** Moves a slot to the young end. */
  touch(s: number): void {
    if (s === this.#tail) return;
    this.#unlink(s);
    this.#append(s);
  }

  /** The least recently used slot, or -1 when empty. */
  oldest(): number {
    return this.#head;
  }

  /** The next younger slot after `s`, or -1. */
  younger(s: number): number {
    return this.#records[s * RECORD + NEXT] as number;
  }

  /** The IP protocol of the slot's key. */
  protocolOf(s: number): number {
    return (this.#records[s * RECORD] as number) & 0xff;
  }

  state(s: number): number {
    return this.#records[s * RECORD + STATE] as number;
  }

  setState(s: number, state: number): void {
    this.#records[s * RECORD + STATE] = state;
  }

  serial(s: number): number {
    return this.#records[s * RECORD + SERIAL] as number;
  }

  setSerial(s: number, serial: number): void {
    this.#records[s * RECORD + SERIAL] = serial;
  }

  time(s: number): number {
    return this.#times[s * (RECORD / 2) + 4] as number;
  }

  setTime(s: number, time: number): void {
    this.#times[s * (RECORD / 2) + 4] = time;
  }

  /** Frees a slot (its key leaves the index; its state reads 0). */
  remove(s: number): void {
    this.#unindex(s);
    this.#unlink(s);
    const records = this.#records;
    records[s * RECORD + STATE] = 0;
    records[s * RECORD + NEXT] = this.#free;
    this.#free = s;
    this.#size--;
  }

  /** Takes slot `s`'s key out of the index. */
  #unindex(s: number): void {
    const buckets = this.#buckets;
    const mask = this.#mask;
    let i: number;
    if (s === this.#warmSlot && this.#warmEntry === s + 1) i = this.#warmHome;
    else {
      i = hashWords(this.#records, s * RECORD, this.#extra, s * EXTRA) & mask;
      while (buckets[i * 2] !== s + 1) i = (i + 1) & mask;
    }
    this.#warmSlot = NONE;
    // Backward-shift deletion: pull later entries of the probe run into the hole when their home allows.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const t = buckets[j * 2] as number;
      if (t === 0) break;
      const home = (buckets[j * 2 + 1] as number) & mask;
      const movable = i <= j ? home <= i || home > j : home <= i && home > j;
      if (movable) {
        buckets[i * 2] = t;
        buckets[i * 2 + 1] = buckets[j * 2 + 1] as number;
        i = j;
      }
    }
    buckets[i * 2] = 0;
  }

  #matches(s: number): boolean {
    const records = this.#records;
    const key = this.key;
    const at = s * RECORD;
    if (
      records[at] !== key[0] ||
      records[at + 1] !== key[1] ||
      records[at + 2] !== key[2] ||
      records[at + 3] !== key[3]
    )
      return false;
    if (((key[0] as number) & V6) === 0) return true;
    const extra = this.#extra;
    const e = s * EXTRA;
    for (let i = 0; i < EXTRA; i++) if (extra[e + i] !== key[4 + i]) return false;
    return true;
  }

  #append(s: number): void {
    const records = this.#records;
    records[s * RECORD + PREV] = this.#tail;
    records[s * RECORD + NEXT] = NONE;
    if (this.#tail !== NONE) records[this.#tail * RECORD + NEXT] = s;
    else this.#head = s;
    this.#tail = s;
  }

  #unlink(s: number): void {
    const records = this.#records;
    const p = records[s * RECORD + PREV] as number;
    const n = records[s * RECORD + NEXT] as number;
    if (p !== NONE) records[p * RECORD + NEXT] = n;
    else this.#head = n;
    if (n !== NONE) records[n * RECORD + PREV] = p;
    else this.#tail = p;
  }
}

/**
 * A 31-bit mix of a key: words `a[at..at+4)` then, for an IPv6 key, `b[bt..bt+6)` (a multiply-xor chain,
 * then Murmur3's finaliser).
 */
function hashWords(a: Int32Array, at: number, b: Int32Array, bt: number): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ (a[at + i] as number), 0x85ebca6b);
    h ^= h >>> 13;
  }
  if (((a[at] as number) & V6) !== 0) {
    for (let i = 0; i < EXTRA; i++) {
      h = Math.imul(h ^ (b[bt + i] as number), 0x85ebca6b);
      h ^= h >>> 13;
    }
  }
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x7fffffff;
}
