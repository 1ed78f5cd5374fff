/**
 * The send buffer: a bounded ring of bytes the application queued and the peer has not acknowledged
 * yet. Byte 0 is the oldest unacknowledged byte (SND.UNA, once the SYN is acknowledged); bytes are
 * dropped from the front as acknowledgments arrive and copied out (never handed out as views) when a
 * segment is built, so a retransmission re-reads the same bytes. Capacity is fixed at construction:
 * memory never grows with what the peer does. The ring itself starts empty and doubles (from 4 KiB)
 * up to the capacity as the application queues more, so a connection that only ever holds a short
 * request does not pay for a full-size buffer.
 */
const MIN_RING = 4096;

export class SendBuffer {
  readonly capacity: number;
  #ring = new Uint8Array(0);
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`send buffer capacity ${capacity}`);
    this.capacity = capacity;
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
    if (n === 0) return 0;
    this.#reserve(this.#length + n);
    const ring = this.#ring;
    const size = ring.length;
    const tail = (this.#head + this.#length) % size;
    const first = Math.min(n, size - tail);
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
    if (count === 0) return out;
    const ring = this.#ring;
    const size = ring.length;
    const from = (this.#head + start) % size;
    const first = Math.min(count, size - from);
    out.set(ring.subarray(from, from + first), 0);
    if (count > first) out.set(ring.subarray(0, count - first), first);
    return out;
  }

  /** Forgets the first `n` bytes (acknowledged); clipped to what is held. */
  drop(n: number): void {
    const k = Math.max(0, Math.min(n, this.#length));
    if (k === 0) return;
    this.#head = (this.#head + k) % this.#ring.length;
    this.#length -= k;
    if (this.#length === 0) this.#head = 0;
  }

  /** Forgets everything (the connection is gone). */
  clear(): void {
    this.#head = 0;
    this.#length = 0;
  }

  /** Grows the ring (doubling, at most to the capacity) to hold `need` bytes, oldest byte first. */
  #reserve(need: number): void {
    const old = this.#ring;
    if (need <= old.length) return;
    let size = Math.max(old.length, MIN_RING);
    while (size < need) size *= 2;
    const ring = new Uint8Array(Math.min(size, this.capacity));
    const first = Math.min(this.#length, old.length - this.#head);
    ring.set(old.subarray(this.#head, this.#head + first), 0);
    if (this.#length > first) ring.set(old.subarray(0, this.#length - first), first);
    this.#ring = ring;
    this.#head = 0;
  }
}
