/**
 * Timestamps of capture files, converted to nanoseconds since the Unix epoch as a bigint.
 *
 * pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html §5): a record holds seconds (unsigned
 * 32-bit) and a fraction in µs (magic a1b2c3d4) or ns (magic a1b23c4d). A fraction of 10^6 µs / 10^9 ns or
 * more is invalid. We neither reject nor clamp it; we do what Wireshark's wiretap does (and what the tshark
 * oracles of tcpdump__timestamp_invalid_{micro,nano}.pcap show): the fraction is scaled to ns and stored in a
 * signed 32-bit integer (µs × 1000 wraps modulo 2^32), then added to the seconds. Thus µs 1 000 000 adds one
 * second, µs 0x80000000 adds nothing (2^31 × 1000 ≡ 0 mod 2^32), and ns 0x80000000 subtracts 2.147483648 s.
 *
 * pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html §4.2): a 64-bit count of units;
 * if_tsresol gives 10^-n (high bit clear) or 2^-n (high bit set) seconds per unit, default 10^-6;
 * if_tsoffset adds whole seconds. Sub-nanosecond units are truncated toward zero, as Wireshark does.
 */

const NS_PER_SECOND = 1_000_000_000n;

/** The fraction of a pcap record in ns, wrapped to a signed 32-bit integer (see above). */
export function pcapFractionNs(fraction: number, nanosecond: boolean): number {
  return nanosecond ? fraction | 0 : Math.imul(fraction, 1000);
}

export function pcapTimestampNs(seconds: number, fractionNs: number): bigint {
  return BigInt(seconds) * NS_PER_SECOND + BigInt(fractionNs);
}

/** Units per second of an if_tsresol byte: 10^n, or 2^n when the high bit is set. */
export function tsresolUnitsPerSecond(tsresol: number): bigint {
  const exponent = BigInt(tsresol & 0x7f);
  return (tsresol & 0x80) !== 0 ? 1n << exponent : 10n ** exponent;
}

/** pcapng timestamp (two 32-bit halves) in units, plus an offset in seconds, as ns since the epoch. */
export function pcapngTimestampNs(high: number, low: number, unitsPerSecond: bigint, offsetSeconds: bigint): bigint {
  const units = (BigInt(high) << 32n) | BigInt(low);
  let ns: bigint;
  if (unitsPerSecond === 1_000_000n) ns = units * 1000n;
  else if (unitsPerSecond === NS_PER_SECOND) ns = units;
  else ns = (units / unitsPerSecond) * NS_PER_SECOND + ((units % unitsPerSecond) * NS_PER_SECOND) / unitsPerSecond;
  return offsetSeconds === 0n ? ns : ns + offsetSeconds * NS_PER_SECOND;
}

/** ns since the epoch → units of a pcapng interface (truncating), the inverse of `pcapngTimestampNs`. */
export function nsToUnits(ns: bigint, unitsPerSecond: bigint): bigint {
  if (unitsPerSecond === NS_PER_SECOND) return ns;
  return (ns / NS_PER_SECOND) * unitsPerSecond + ((ns % NS_PER_SECOND) * unitsPerSecond) / NS_PER_SECOND;
}
