/**
 * What a classify point knows about one classification, in the stack's terms: addresses, ports,
 * interfaces, the process behind a socket, condition flags. `values.ts` turns these facts into a layer's
 * incomingValue[] (one table from FWPM_CONDITION_* to a fact, applied to the layer's field list), and
 * `metadata.ts` into FWPS_INCOMING_METADATA_VALUES0. Facts the stack does not know are left out and the
 * field stays FWP_EMPTY (wfp-semantics.md A6).
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/network/data-field-identifiers,
 * https://learn.microsoft.com/windows/win32/fwp/filtering-condition-identifiers-
 */
import type { IpAddress } from "../base/index.ts";
import type { FwpTokenInformation } from "../fwp/index.ts";

/** A packet's direction (FWP_DIRECTION: OUTBOUND 0, INBOUND 1). */
export type PacketDirection = "inbound" | "outbound";

/** An IP interface as WFP's fields describe it (NET_LUID, IF_INDEX, IF_TYPE, ...). */
export interface InterfaceFacts {
  /** IF_INDEX: INTERFACE_INDEX, ARRIVAL_INTERFACE_INDEX, NEXTHOP_INTERFACE_INDEX, ... */
  readonly index: number;
  /** NET_LUID as a 64-bit value: IP_LOCAL_INTERFACE, IP_ARRIVAL_INTERFACE, IP_NEXTHOP_INTERFACE, ... */
  readonly luid: bigint;
  /** IANA ifType: 6 ethernetCsmacd, 24 softwareLoopback, 131 tunnel (INTERFACE_TYPE). */
  readonly type: number;
  /** TUNNEL_TYPE (0 when the interface is no tunnel). */
  readonly tunnelType: number;
  /** SUB_INTERFACE_INDEX (the NDIS port; 0 on a simple interface). */
  readonly subInterfaceIndex: number;
  /** The network profile id the interface is in (CURRENT_PROFILE_ID, *_INTERFACE_PROFILE_ID). */
  readonly profileId: number;
  /**
   * INTERFACE_QUARANTINE_EPOCH: the epoch Windows Firewall gives an interface once it has un-quarantined it
   * (its "Interface Un-quarantine filter"s name the pair NET_LUID, epoch); 0 when absent — an interface the
   * firewall has not un-quarantined yet.
   */
  readonly quarantineEpoch?: bigint;
}

/** The process behind a socket (ALE identity fields and process metadata, §G.3). */
export interface ProcessFacts {
  /** PROCESS_ID metadata (UINT64). */
  readonly processId: bigint;
  /** The Win32 image path, e.g. `C:\Windows\System32\svchost.exe`. */
  readonly imagePath: string;
  /** ALE_APP_ID: the image path as FwpmGetAppIdFromFileName0 forms it (G16, G17). */
  readonly appId: Uint8Array;
  /** The token: its user SID first, then enabled groups (ALE_USER_ID, TOKEN metadata). */
  readonly token: FwpTokenInformation;
  /** ALE_PACKAGE_ID: the AppContainer SID; the null SID S-1-0-0 for a desktop app (G14). */
  readonly packageSid: Uint8Array;
}

/** The quoted header of an ICMP error (INBOUND/OUTBOUND_ICMP_ERROR EMBEDDED_* fields). */
export interface EmbeddedFacts {
  readonly protocol: number;
  /** The quoted packet's source as seen from this host (the local end of the failed flow). */
  readonly localAddress: IpAddress;
  /** The quoted packet's destination (the remote end of the failed flow). */
  readonly remoteAddress: IpAddress;
  readonly localPort?: number;
  readonly remotePort?: number;
}

/**
 * Everything one classification may know. At ALE and transport layers ICMP type and code travel in the
 * port slots (F16: FWPM_CONDITION_ICMP_TYPE is the IP_LOCAL_PORT key, ICMP_CODE the IP_REMOTE_PORT key).
 */
export interface ClassifyFacts {
  readonly ipVersion: 4 | 6;
  /** FWP_DIRECTION at layers with a DIRECTION field, and how LOCAL/REMOTE map to source/destination. */
  readonly direction?: PacketDirection;
  readonly protocol?: number;
  readonly localAddress?: IpAddress;
  readonly remoteAddress?: IpAddress;
  readonly localPort?: number;
  readonly remotePort?: number;
  /** NL_ADDRESS_TYPE of the local address; computed from the address when absent. */
  readonly localAddressType?: number;
  /** NL_ADDRESS_TYPE of the destination address; computed when absent. */
  readonly destinationAddressType?: number;
  /** IPFORWARD: the packet's source and destination (no local/remote there). */
  readonly sourceAddress?: IpAddress;
  readonly destinationAddress?: IpAddress;
  /** The interface of the local address (IP_LOCAL_INTERFACE, INTERFACE_INDEX, INTERFACE_TYPE, ...). */
  readonly iface?: InterfaceFacts;
  /** The interface the packet arrived on (ARRIVAL_*; IPFORWARD: source interface). */
  readonly arrivalInterface?: InterfaceFacts;
  /** The interface the packet leaves by (NEXTHOP_*; IPFORWARD: destination interface). */
  readonly nextHopInterface?: InterfaceFacts;
  /** FWP_CONDITION_FLAG_* bits (FLAGS field). */
  readonly flags?: number;
  readonly process?: ProcessFacts;
  /** FWP_CONDITION_REAUTHORIZE_REASON_* bits; 0 on a first authorization. */
  readonly reauthorizeReason?: number;
  /** ALE_PROMISCUOUS_MODE (RCVALL_VALUE: 0 off). */
  readonly promiscuousMode?: number;
  /**
   * ALE_SIO_FIREWALL_SYSTEM_PORT (alias SIO_FIREWALL_SOCKET_PROPERTY) at RESOURCE_ASSIGNMENT, AUTH_LISTEN and
   * AUTH_RECV_ACCEPT: the socket's FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits (IS_SYSTEM_PORT_RPC 1,
   * ALLOW_EDGE_TRAFFIC 2, DENY_EDGE_TRAFFIC 4); default 0, an ordinary socket [INF].
   */
  readonly socketProperties?: number;
  /** ICMP error layers: the error's type and code (ICMP_TYPE, ICMP_CODE). */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** ICMP error layers: the quoted packet. */
  readonly embedded?: EmbeddedFacts;
  /** ALE_AUTH_CONNECT / RECV_ACCEPT for ICMP: ORIGINAL_ICMP_TYPE. */
  readonly originalIcmpType?: number;
  /** COMPARTMENT_ID; default 1 (the default compartment). */
  readonly compartmentId?: number;
  /** ALE_ORIGINAL_APP_ID: the app that originated a proxied connection (D29). */
  readonly originalAppId?: Uint8Array;
}
