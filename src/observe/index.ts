/**
 * The packet observer: drives the shims for traffic openwfp does not terminate (capture replay now, live
 * traffic later). Imports base, wire, capture, fwp and shim only.
 *
 * @example
 * ```ts
 * const observer = new PacketObserver({ shim, local: [Ipv4Address.parse("10.0.0.1")] });
 * const v = observer.observe(ipPacketBytes);
 * if (v.ok && !v.value.permit) console.log("dropped at", v.value.layer?.fwpmName);
 * ```
 */
export { LocalAddresses } from "./local.ts";
export {
  type ObservedDirection,
  type ObservedVerdict,
  type ObserverCounters,
  type ObserverOptions,
  PacketObserver,
} from "./observer.ts";
export { type NetworkStart, networkStart, simpleIpOffset } from "./link.ts";
