/**
 * Packets as classify points hand them to callouts (layerData), and the labels the classify log gives
 * them. A packet layer's data is the packet's bytes with the offsets of its headers and the offset where
 * the NET_BUFFER data offset points at that layer (wfp-semantics.md D.8); the stream layer's is
 * FWPS_STREAM_CALLOUT_IO_PACKET0 (E1); the redirect layers' are FWPS_CONNECT_REQUEST0 /
 * FWPS_BIND_REQUEST0 (D25).
 */
import type { IpAddress } from "../base/index.ts";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/index.ts";

/**
 * What a classification carries, in flows.json's vocabulary: TCP segments by their flags, datagrams
 * (the first of a new ALE flow is "first-datagram"), ICMP echo and errors, fragments, the reassembled
 * datagram, a forwarded fragment group, or "none" for socket operations.
 */
export type PacketLabel =
  | "SYN"
  | "SYN-ACK"
  | "ACK"
  | "data"
  | "FIN"
  | "RST"
  | "first-datagram"
  | "datagram"
  | "echo-request"
  | "echo-reply"
  | "icmp-error"
  | "fragment"
  | "reassembled"
  | "fragment-group"
  | "none";

/** The label of a TCP segment: RST, SYN-ACK, SYN, FIN, data (payload), else ACK. */
export function tcpSegmentLabel(flags: number, payloadLength: number): PacketLabel {
  if (flags & TCP_RST) return "RST";
  if (flags & TCP_SYN) return flags & TCP_ACK ? "SYN-ACK" : "SYN";
  if (flags & TCP_FIN) return "FIN";
  return payloadLength > 0 ? "data" : "ACK";
}

/**
 * layerData at the IP packet, forward, transport, datagram-data, ICMP error and ALE layers that carry a
 * packet: the bytes from the IP header (`ipOffset`) to `end`, and where each header starts.
 * `dataOffset` is where the NET_BUFFER's data offset points at this layer (D.8); a callout retreats by
 * `ipHeaderSize` / `transportHeaderSize` metadata to reach earlier headers.
 */
export interface PacketLayerData {
  readonly kind: "packet";
  readonly bytes: Uint8Array;
  readonly ipOffset: number;
  /** Absent for a non-first fragment (no transport header). */
  readonly transportOffset?: number;
  /** After the transport header. */
  readonly payloadOffset?: number;
  readonly end: number;
  readonly dataOffset: number;
  /**
   * Present on every indication of a packet a callout injected (D33): which injection handle injected it,
   * with which context, and the tag the packet carried before (FwpsQueryPacketInjectionState0 reads it).
   */
  readonly injection?: InjectionTag;
}

/**
 * The injection record of an injected packet (D33): the handle and injection context given to the
 * Fwps*InjectAsync call, and `previous`, the record of the packet it was cloned from when that one had
 * been injected too (so the first injector sees PREVIOUSLY_INJECTED_BY_SELF).
 */
export interface InjectionTag {
  /** The InjectionHandle (services/injection.ts) that injected the packet. */
  readonly handle: object;
  readonly context: unknown;
  readonly previous?: InjectionTag;
}

/** FWPS_STREAM_DATA0 in model form: the stream bytes of one indication (payload only, E1). */
export interface StreamData {
  /** FWPS_STREAM_FLAG_* (RECEIVE / SEND, *_DISCONNECT, ...). */
  readonly flags: number;
  readonly data: Uint8Array;
  readonly dataLength: number;
}

/** FWPS_STREAM_CALLOUT_IO_PACKET0: what a stream callout reads (streamData, missedBytes) and writes. */
export interface StreamCalloutIoPacket {
  readonly kind: "stream";
  readonly streamData: StreamData;
  readonly missedBytes: number;
  /** out: NEED_MORE_DATA asks for this many bytes in total (E7). */
  countBytesRequired: number;
  /** out: the leading bytes the returned PERMIT/BLOCK applies to; 0 = all (E5). */
  countBytesEnforced: number;
  /** out: FWPS_STREAM_ACTION_* (E4). */
  streamAction: number;
}

/** An address and port (SOCKADDR_STORAGE in FWPS_CONNECT_REQUEST0 / FWPS_BIND_REQUEST0). */
export interface SocketAddress {
  readonly address: IpAddress;
  readonly port: number;
}

/** FWPS_CONNECT_REQUEST0 (D25): the connection as the redirect layer presents it. */
export interface ConnectRequest {
  readonly kind: "connect-request";
  localAddressAndPort: SocketAddress;
  remoteAddressAndPort: SocketAddress;
  portReservationToken: bigint;
  localRedirectTargetPID: number;
  /** The request as an earlier redirecting callout left it (D28). */
  readonly previousVersion: ConnectRequest | null;
  /** The filter of the callout that last modified the request, else 0. */
  readonly modifierFilterId: bigint;
  localRedirectHandle: unknown;
  localRedirectContext: unknown;
}

/** FWPS_BIND_REQUEST0 (D25). */
export interface BindRequest {
  readonly kind: "bind-request";
  localAddressAndPort: SocketAddress;
  portReservationToken: bigint;
  readonly previousVersion: BindRequest | null;
  readonly modifierFilterId: bigint;
}
