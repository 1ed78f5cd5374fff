/**
 * FILETIME (100-ns intervals since 1601-01-01T00:00:00Z), the unit of net event time stamps and of
 * FWPM_NET_EVENT_ENUM_TEMPLATE0.startTime/endTime, converted from the injected clock's nanoseconds since
 * the Unix epoch. Source: https://learn.microsoft.com/windows/win32/api/minwinbase/ns-minwinbase-filetime
 */

/** FILETIME of 1970-01-01T00:00:00Z. */
export const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

/** FILETIME of an instant given in nanoseconds since the Unix epoch (truncated to 100 ns). */
export function filetimeFromEpochNs(ns: bigint): bigint {
  const ticks = ns >= 0n ? ns / 100n : -((-ns + 99n) / 100n);
  return ticks + FILETIME_UNIX_EPOCH;
}

/** Nanoseconds since the Unix epoch of a FILETIME. */
export function epochNsFromFiletime(filetime: bigint): bigint {
  return (filetime - FILETIME_UNIX_EPOCH) * 100n;
}
