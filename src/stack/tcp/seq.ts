/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4). Sequence numbers are unsigned 32-bit integers
 * held in JavaScript numbers; comparisons are meaningful only for numbers less than 2^31 apart, which the
 * window sizes of RFC 7323 (at most 2^30) guarantee. `seqDiff(a, b)` is the signed distance from b to a.
 */

/** `a + n` modulo 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance `a - b` modulo 2^32, in [-2^31, 2^31). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a < b in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

/** a ≤ b in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return seqDiff(a, b) <= 0;
}

/** a > b in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** a ≥ b in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return seqGe(a, b) ? a : b;
}

/** The earlier of two sequence numbers. */
export function seqMin(a: number, b: number): number {
  return seqLe(a, b) ? a : b;
}

/** start ≤ x < start + length in sequence space (length ≥ 0; false when length is 0). */
export function seqInRange(x: number, start: number, length: number): boolean {
  const d = seqDiff(x, start);
  return d >= 0 && d < length;
}
