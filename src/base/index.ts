/** The base of openwfp: errors, results, addresses, GUIDs, clock and random numbers. Imports nothing. */
export { describeError, type ErrorPlace, OpenWfpError } from "./errors.ts";
export { err, type Err, ok, type Ok, type Result } from "./result.ts";
export {
  AddressError,
  formatIpv4,
  formatIpv6,
  type IpAddress,
  IpPrefix,
  Ipv4Address,
  ipv4PrefixMask,
  Ipv6Address,
  maskAddress,
  parseIpAddress,
  tryParseIpAddress,
} from "./ip.ts";
export {
  formatGuidBraced,
  GUID_NULL,
  type Guid,
  GuidError,
  guidFromBytes,
  guidToBytes,
  isGuidNull,
  newGuid,
  parseGuid,
  tryParseGuid,
} from "./guid.ts";
export { type Clock, formatEpochNs, ManualClock } from "./clock.ts";
export { SeededRng } from "./rng.ts";
export { lazyPackage } from "./lazy-package.ts";
