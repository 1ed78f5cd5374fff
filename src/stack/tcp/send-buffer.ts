/**
 * The send buffer: a bounded ring of bytes the application queued and the peer has not acknowledged
 * yet. Byte 0 is the oldest unacknowledged byte (SND.UNA, once the SYN is acknowledged); bytes are
 * dropped from the front as acknowledgments arrive and copied out (never handed out as views) when a
 * segment is built, so a retransmission re-reads the same bytes. Capacity is fixed at construction:
 * memory never grows with what the peer does.
 */
export class SendBuffer {
  readonly capacity: number;
  readonly #ring: Uint8Array;
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`send buffer capacity ${capacity}`);
    this.capacity = capacity;
    this.#ring = new Uint8Array(capacity);
  }

  /** Bytes held (unacknowledged plus not yet sent). */
  get length(): number {
    return this.#length;
  }

  /** Room left for `write`. */
  get free(): number {
    return this.capacity - this.#length;
  }

  /** Appends as many bytes as fit; returns how many were taken. */
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.free);
    const ring = this.#ring;
    const tail = (this.#head + this.#length) % this.capacity;
    const first = Math.min(n, this.capacity - tail);
    ring.set(bytes.subarray(0, first), tail);
    if (n > first) ring.set(bytes.subarray(first, n), 0);
    this.#length += n;
    return n;
  }

  /** A copy of bytes [offset, offset + n) (clipped to what is held). */
  read(offset: number, n: number): Uint8Array {
    const start = Math.max(0, Math.min(offset, this.#length));
    const count = Math.max(0, Math.min(n, this.#length - start));
    const out = new Uint8Array(count);
    const ring = this.#ring;
    const from = (this.#head + start) % this.capacity;
    const first = Math.min(count, this.capacity - from);
    out.set(ring.subarray(from, from + first), 0);
    if (count > first) out.set(ring.subarray(0, count - first), first);
    return out;
  }

  /** Forgets the first `n` bytes (acknowledged); clipped to what is held. */
  drop(n: number): void {
    const k = Math.max(0, Math.min(n, this.#length));
    this.#head = (this.#head + k) % this.capacity;
    this.#length -= k;
    if (this.#length === 0) this.#head = 0;
  }

  /** Forgets everything (the connection is gone). */
  clear(): void {
    this.#head = 0;
    this.#length = 0;
  }
}
