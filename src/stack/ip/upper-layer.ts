/**
 * How many bytes of an upper-layer header a first fragment must carry, shared by the sender
 * (fragment.ts: never emit a first fragment a receiver would reject) and the receiver (reassembly.ts:
 * the tiny-fragment defence).
 *
 * - IPv4, RFC 1858 §3 and RFC 3128: a first fragment too small to hold the transport header lets the
 *   port and flag fields arrive in a later fragment, past a filter that only inspects first fragments.
 * - IPv6, RFC 7112 §5: the first fragment must carry the whole IPv6 Header Chain, which ends with the
 *   upper-layer header.
 *
 * The sizes are the fixed parts a filter reads: TCP's 20 bytes (ports, flags, data offset), UDP's 8,
 * ICMP's and ICMPv6's 8 (type, code, checksum and the 4 bytes that hold echo identifier / sequence or
 * the error's unused word), SCTP's 12-byte common header, ESP's SPI and sequence number (RFC 4303 §2).
 */
import { IpProtocol } from "../../wire/ip-protocol.ts";

/** Bytes of the upper-layer header a first fragment must hold for `protocol`; 0 when none is required. */
export function minimumUpperLayerHeader(protocol: number): number {
  switch (protocol) {
    case IpProtocol.Tcp:
      return 20;
    case IpProtocol.Udp:
    case IpProtocol.Icmp:
    case IpProtocol.Icmpv6:
    case IpProtocol.Esp:
      return 8;
    case IpProtocol.Sctp:
      return 12;
    default:
      return 0;
  }
}
