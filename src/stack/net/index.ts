/** Address resolution for an Ethernet interface: ARP (RFC 826) and IPv6 Neighbor Discovery (RFC 4861). */
export {
  NeighborCache,
  type NeighborCacheOptions,
  type NeighborCounters,
  type NeighborEntryInfo,
  type NeighborState,
  type ResolveCallback,
  type ResolveFailure,
} from "./neighbor.ts";
export {
  ALL_NODES,
  BROADCAST_MAC,
  ipv6MulticastMac,
  isGroupMac,
  multicastMac,
  solicitedNodeAddress,
} from "./link-address.ts";
