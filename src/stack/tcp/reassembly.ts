/**
 * The out-of-order queue (RFC 9293 §3.10.7.4, "seventh, process the segment text": segments beyond
 * RCV.NXT are held until the gap before them is filled). Memory is one ring of `capacity` bytes (the
 * receive buffer size, allocated on first use) whose position 0 is RCV.NXT, plus a sorted list of at most
 * `maxRanges` disjoint filled ranges. The connection only stores bytes inside the window it advertised,
 * which never exceeds the receive buffer, so nothing a peer sends can grow memory: a segment that would
 * need one range too many is refused ("full") and counted by the caller.
 */
export type ReassemblyResult = "stored" | "duplicate" | "full";

export class ReassemblyQueue {
  readonly capacity: number;
  readonly maxRanges: number;
  #ring: Uint8Array | undefined;
  /** Ring index of RCV.NXT. */
  #head = 0;
  /** Disjoint, sorted, non-adjacent ranges [start, end) as offsets from RCV.NXT, flattened. */
  #ranges: number[] = [];
  #bytes = 0;

  constructor(capacity: number, maxRanges: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`reassembly capacity ${capacity}`);
    if (!Number.isInteger(maxRanges) || maxRanges < 1) throw new RangeError(`reassembly ranges ${maxRanges}`);
    this.capacity = capacity;
    this.maxRanges = maxRanges;
  }

  /** Bytes held out of order. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of disjoint ranges held (the holes before them are what the peer still owes). */
  get rangeCount(): number {
    return this.#ranges.length / 2;
  }

  /** The held ranges as offsets from RCV.NXT (for tests and diagnostics). */
  ranges(): Array<readonly [number, number]> {
    const out: Array<readonly [number, number]> = [];
    for (let i = 0; i < this.#ranges.length; i += 2)
      out.push([this.#ranges[i] as number, this.#ranges[i + 1] as number]);
    return out;
  }

  /**
   * Stores `data` at `offset` bytes past RCV.NXT. The part beyond `capacity` is ignored (the caller trims to
   * its window first). A range already fully held is a "duplicate"; new bytes that touch no held range when
   * `maxRanges` are held are refused ("full").
   */
  insert(offset: number, data: Uint8Array): ReassemblyResult {
    const start = Math.max(0, offset);
    const end = Math.min(this.capacity, offset + data.length);
    if (end <= start) return "duplicate";
    const r = this.#ranges;
    // First range whose end reaches start (touching counts: adjacent ranges merge).
    let i = 0;
    while (i < r.length && (r[i + 1] as number) < start) i += 2;
    // Ranges i .. j-2 overlap or touch [start, end].
    let j = i;
    while (j < r.length && (r[j] as number) <= end) j += 2;
    if (j === i && r.length / 2 >= this.maxRanges) return "full";
    if (j - i === 2 && (r[i] as number) <= start && (r[i + 1] as number) >= end) return "duplicate";
    this.#write(start, data.subarray(start - offset, end - offset));
    const newStart = j > i ? Math.min(start, r[i] as number) : start;
    const newEnd = j > i ? Math.max(end, r[j - 1] as number) : end;
    let removed = 0;
    for (let k = i; k < j; k += 2) removed += (r[k + 1] as number) - (r[k] as number);
    r.splice(i, j - i, newStart, newEnd);
    this.#bytes += newEnd - newStart - removed;
    return "stored";
  }

  /** RCV.NXT moved forward by `n` bytes that arrived in order: forgets whatever they covered. */
  advance(n: number): void {
    if (n <= 0) return;
    this.#head = (this.#head + n) % this.capacity;
    const r = this.#ranges;
    const out: number[] = [];
    let bytes = 0;
    for (let i = 0; i < r.length; i += 2) {
      const s = Math.max(0, (r[i] as number) - n);
      const e = (r[i + 1] as number) - n;
      if (e <= 0) continue;
      out.push(s, e);
      bytes += e - s;
    }
    this.#ranges = out;
    this.#bytes = bytes;
  }

  /** If bytes are held starting at RCV.NXT, removes them and returns a copy (RCV.NXT advances past them). */
  takeInOrder(): Uint8Array | undefined {
    const r = this.#ranges;
    if (r.length === 0 || r[0] !== 0) return undefined;
    const n = r[1] as number;
    const out = this.#read(0, n);
    this.advance(n);
    return out;
  }

  /** Forgets everything and releases the ring. */
  clear(): void {
    this.#ring = undefined;
    this.#head = 0;
    this.#ranges = [];
    this.#bytes = 0;
  }

  #write(offset: number, data: Uint8Array): void {
    this.#ring ??= new Uint8Array(this.capacity);
    const ring = this.#ring;
    const at = (this.#head + offset) % this.capacity;
    const first = Math.min(data.length, this.capacity - at);
    ring.set(data.subarray(0, first), at);
    if (data.length > first) ring.set(data.subarray(first), 0);
  }

  #read(offset: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    const ring = this.#ring;
    if (ring === undefined) return out;
    const at = (this.#head + offset) % this.capacity;
    const first = Math.min(n, this.capacity - at);
    out.set(ring.subarray(at, at + first), 0);
    if (n > first) out.set(ring.subarray(0, n - first), first);
    return out;
  }
}
