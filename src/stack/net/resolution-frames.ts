/**
 * The frames address resolution sends and accepts: ARP requests and replies (RFC 826) and IPv6 Neighbor
 * Solicitations and Advertisements (RFC 4861 §4.3, §4.4), as whole Ethernet II frames, and the receive-side
 * validity checks of RFC 4861 §7.1.1 and §7.1.2 for the latter.
 *
 * ND messages are sent with hop limit 255 (so a receiver knows they were not forwarded, RFC 4861 §3.1)
 * and a correct ICMPv6 checksum over the IPv6 pseudo-header (RFC 4443 §2.3). ARP frames are padded to the
 * 60-byte Ethernet minimum (IEEE 802.3 §4.2.3.3; the 4-byte FCS is not part of frames here).
 */
import { err, type Ipv4Address, Ipv6Address, ok, type Result } from "../../base/index.ts";
import {
  EtherType,
  ETHERNET_HEADER_LENGTH,
  emitArp,
  emitEthernetHeader,
  emitIcmpv6,
  emitIpv6Header,
  formatMac,
  type Icmpv6EmitRepr,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  icmpv6Length,
  IP_PROTOCOL_ICMPV6,
  IPV6_HEADER_LENGTH,
  Ipv6View,
  type NdOption,
  parseIcmpv6,
  parseMac,
  verifyIcmpv6Checksum,
} from "../../wire/index.ts";
import { ipv6MulticastMac, solicitedNodeAddress } from "./link-address.ts";

/** The smallest Ethernet frame without its FCS. */
export const MIN_FRAME_LENGTH = 60;
/** The hop limit every ND message carries (RFC 4861 §4.3, §4.4). */
export const ND_HOP_LIMIT = 255;

export interface ArpFrameFields {
  /** ArpOperation.request or .reply. */
  readonly operation: number;
  /** Ethernet destination: ff:ff:ff:ff:ff:ff for a request, the asker for a reply, the cached MAC for a probe. */
  readonly ethernetDst: Uint8Array;
  readonly senderMac: Uint8Array;
  readonly senderIp: Ipv4Address;
  /** All zeros in a request. */
  readonly targetMac: Uint8Array;
  readonly targetIp: Ipv4Address;
}

/** An ARP message in a 60-byte Ethernet frame from `senderMac`. */
export function arpFrame(f: ArpFrameFields): Uint8Array {
  const frame = new Uint8Array(MIN_FRAME_LENGTH);
  const senderMac = formatMac(f.senderMac);
  emitEthernetHeader({ dst: formatMac(f.ethernetDst), src: senderMac, tags: [], etherType: EtherType.Arp }, frame, 0);
  emitArp(
    {
      operation: f.operation,
      senderMac,
      senderIp: f.senderIp,
      targetMac: formatMac(f.targetMac),
      targetIp: f.targetIp,
    },
    frame,
    ETHERNET_HEADER_LENGTH,
  );
  return frame;
}

export interface SolicitationFields {
  readonly srcMac: Uint8Array;
  /** An address of the interface (the unspecified address is for duplicate address detection, not sent here). */
  readonly src: Ipv6Address;
  /** The address being resolved. */
  readonly target: Ipv6Address;
  /**
   * For a unicast probe of a known neighbor (NUD, RFC 4861 §7.3.3): its cached MAC. Absent: multicast to
   * the target's solicited-node address (RFC 4861 §7.2.2).
   */
  readonly unicastMac?: Uint8Array;
}

/** A Neighbor Solicitation for `target` with our Source Link-Layer Address option. */
export function neighborSolicitationFrame(f: SolicitationFields): Uint8Array {
  const dst = f.unicastMac === undefined ? solicitedNodeAddress(f.target) : f.target;
  const options: NdOption[] = [{ kind: "sourceLinkLayerAddress", address: formatMac(f.srcMac) }];
  return ndFrame(f.srcMac, f.unicastMac ?? ipv6MulticastMac(dst), f.src, dst, {
    kind: "neighborSolicitation",
    type: ICMPV6_NEIGHBOR_SOLICITATION,
    code: 0,
    checksum: 0,
    target: f.target,
    options,
  });
}

export interface AdvertisementFields {
  readonly srcMac: Uint8Array;
  readonly dstMac: Uint8Array;
  /** The advertised address (ours), also the source (RFC 4861 §7.2.4). */
  readonly target: Ipv6Address;
  /** The solicitation's source, or ff02::1 when it was unspecified. */
  readonly dst: Ipv6Address;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly router: boolean;
}

/** A Neighbor Advertisement for `target` with our Target Link-Layer Address option. */
export function neighborAdvertisementFrame(f: AdvertisementFields): Uint8Array {
  const options: NdOption[] = [{ kind: "targetLinkLayerAddress", address: formatMac(f.srcMac) }];
  return ndFrame(f.srcMac, f.dstMac, f.target, f.dst, {
    kind: "neighborAdvertisement",
    type: ICMPV6_NEIGHBOR_ADVERTISEMENT,
    code: 0,
    checksum: 0,
    router: f.router,
    solicited: f.solicited,
    override: f.override,
    target: f.target,
    options,
  });
}

function ndFrame(
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  src: Ipv6Address,
  dst: Ipv6Address,
  message: Icmpv6EmitRepr,
): Uint8Array {
  const length = icmpv6Length(message);
  const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + length);
  emitEthernetHeader({ dst: formatMac(dstMac), src: formatMac(srcMac), tags: [], etherType: EtherType.Ipv6 }, frame, 0);
  emitIpv6Header(
    {
      src,
      dst,
      trafficClass: 0,
      flowLabel: 0,
      hopLimit: ND_HOP_LIMIT,
      nextHeader: IP_PROTOCOL_ICMPV6,
      payloadLength: length,
      extensions: [],
      upperProtocol: IP_PROTOCOL_ICMPV6,
    },
    frame,
    ETHERNET_HEADER_LENGTH,
  );
  emitIcmpv6(message, frame, ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH, { version: 6, src, dst });
  return frame;
}

// ---------------------------------------------------------------------------------------------------
// Receiving

/** A Neighbor Solicitation that passed RFC 4861 §7.1.1. */
export interface ReceivedSolicitation {
  readonly kind: "solicitation";
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  readonly target: Ipv6Address;
  /** From the Source Link-Layer Address option. */
  readonly sourceMac?: Uint8Array;
}

/** A Neighbor Advertisement that passed RFC 4861 §7.1.2. */
export interface ReceivedAdvertisement {
  readonly kind: "advertisement";
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  readonly target: Ipv6Address;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  /** From the Target Link-Layer Address option. */
  readonly targetMac?: Uint8Array;
}

export type ReceivedNd = ReceivedSolicitation | ReceivedAdvertisement;

/** Why a received NS or NA was discarded. */
export interface NdDiscard {
  /** "malformed": cut short or unparsable; "badChecksum"; "invalid": fails a §7.1 validity rule. */
  readonly reason: "malformed" | "badChecksum" | "invalid";
  readonly detail: string;
}

/**
 * Reads the IPv6 packet at bytes[offset, end) as a Neighbor Solicitation or Advertisement. Undefined when
 * it is neither (any other packet, including ND behind extension headers, which is left to the IP layer);
 * otherwise the validated message or why it must be silently discarded.
 */
export function readNeighborDiscovery(
  bytes: Uint8Array,
  offset: number,
  end: number,
): Result<ReceivedNd, NdDiscard> | undefined {
  const checked = Ipv6View.check(bytes, offset, end);
  if (!checked.ok) return undefined;
  const ip = checked.value;
  if (ip.nextHeader !== IP_PROTOCOL_ICMPV6) return undefined;
  const start = ip.payloadOffset;
  if (start >= ip.end) return undefined;
  const type = bytes[start] as number;
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) return undefined;
  const name = type === ICMPV6_NEIGHBOR_SOLICITATION ? "neighbor solicitation" : "neighbor advertisement";
  if (ip.truncated) return discard("malformed", `${name} cut short of its IPv6 payload length`);
  const stop = ip.payloadEnd;
  // §7.1: the ICMP length (from the IP length) is 24 or more octets.
  if (stop - start < 24) return discard("malformed", `${name} of ${stop - start} bytes (need 24)`);
  const src = Ipv6Address.fromBytes(bytes, offset + 8);
  const dst = Ipv6Address.fromBytes(bytes, offset + 24);
  if (ip.hopLimit !== ND_HOP_LIMIT) return discard("invalid", `${name} with hop limit ${ip.hopLimit} (need 255)`);
  if (!verifyIcmpv6Checksum(bytes, start, stop, { version: 6, src, dst })) {
    return discard("badChecksum", `${name} with a bad ICMPv6 checksum`);
  }
  const parsed = parseIcmpv6(bytes, start, stop);
  if (!parsed.ok) return discard("malformed", `${name}: ${parsed.error.reason}`);
  const m = parsed.value;
  if (m.code !== 0) return discard("invalid", `${name} with code ${m.code} (need 0)`);
  if (m.kind === "neighborSolicitation") {
    if (m.target.isMulticast()) return discard("invalid", "neighbor solicitation for a multicast target");
    const sll = linkLayerOption(m.options, "sourceLinkLayerAddress");
    if (src.isUnspecified()) {
      if (!dst.equals(solicitedNodeAddress(m.target))) {
        return discard("invalid", "neighbor solicitation from :: not sent to the solicited-node address");
      }
      if (sll !== undefined)
        return discard("invalid", "neighbor solicitation from :: with a source link-layer address");
    }
    if (sll === null)
      return discard("invalid", "neighbor solicitation with a source link-layer address that is not a MAC");
    return ok({ kind: "solicitation", src, dst, target: m.target, ...(sll !== undefined ? { sourceMac: sll } : {}) });
  }
  if (m.kind === "neighborAdvertisement") {
    if (m.target.isMulticast()) return discard("invalid", "neighbor advertisement for a multicast target");
    if (dst.isMulticast() && m.solicited)
      return discard("invalid", "solicited neighbor advertisement to a multicast address");
    const tll = linkLayerOption(m.options, "targetLinkLayerAddress");
    if (tll === null)
      return discard("invalid", "neighbor advertisement with a target link-layer address that is not a MAC");
    return ok({
      kind: "advertisement",
      src,
      dst,
      target: m.target,
      router: m.router,
      solicited: m.solicited,
      override: m.override,
      ...(tll !== undefined ? { targetMac: tll } : {}),
    });
  }
  return discard("malformed", `${name} did not parse as one`);
}

function discard(reason: NdDiscard["reason"], detail: string): Result<never, NdDiscard> {
  return err({ reason, detail });
}

/** The first option of `kind` as a MAC; undefined when absent, null when present but not 6 bytes. */
function linkLayerOption(
  options: readonly NdOption[],
  kind: "sourceLinkLayerAddress" | "targetLinkLayerAddress",
): Uint8Array | undefined | null {
  for (const o of options) {
    if (o.kind === kind) return parseMac(o.address) ?? null;
  }
  return undefined;
}
