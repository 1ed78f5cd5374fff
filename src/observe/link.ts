/**
 * Where the IP packet starts in a captured frame, for the link types capture files carry (Ethernet with
 * VLAN tags, BSD loopback, raw IP, Linux cooked SLL/SLL2). Frames that carry no IPv4/IPv6 (ARP, other
 * EtherTypes, undecodable link types) are "not IP", not errors; a link header cut short is an error.
 */
import { err, ok, type Result } from "../base/index.ts";
import { EthernetView, EtherType, LinkType, LoopbackView, Sll2View, SllView, type WireError } from "../wire/index.ts";

export type NetworkStart =
  | { readonly kind: "ip"; readonly offset: number }
  | { readonly kind: "not-ip"; readonly what: string };

function byEtherType(type: number | undefined, offset: number): NetworkStart {
  if (type === EtherType.Ipv4 || type === EtherType.Ipv6) return { kind: "ip", offset };
  return {
    kind: "not-ip",
    what: type === undefined ? "unknown protocol" : `EtherType 0x${type.toString(16).padStart(4, "0")}`,
  };
}

/** The start of the IP packet in `data` for `linkType`. */
export function networkStart(linkType: number, data: Uint8Array): Result<NetworkStart, WireError> {
  switch (linkType) {
    case LinkType.EN10MB: {
      const e = EthernetView.check(data, 0, data.length);
      if (!e.ok) return err(e.error);
      return ok(byEtherType(e.value.etherType, e.value.payloadOffset));
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      const l = LoopbackView.check(data, 0, data.length, linkType === LinkType.LOOP ? "loop" : "null");
      if (!l.ok) return err(l.error);
      return ok(byEtherType(l.value.etherType, l.value.payloadOffset));
    }
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return ok({ kind: "ip", offset: 0 });
    case LinkType.LINUX_SLL: {
      const s = SllView.check(data, 0, data.length);
      if (!s.ok) return err(s.error);
      return ok(byEtherType(s.value.protocol, s.value.payloadOffset));
    }
    case LinkType.LINUX_SLL2: {
      const s = Sll2View.check(data, 0, data.length);
      if (!s.ok) return err(s.error);
      return ok(byEtherType(s.value.protocol, s.value.payloadOffset));
    }
    default:
      return ok({ kind: "not-ip", what: `link type ${linkType}` });
  }
}

/**
 * `networkStart` for the frames that need no walk, as a number and without allocating: an untagged Ethernet
 * frame carrying IPv4 or IPv6 (14), or a raw-IP link type (0). -1 for every other frame: ask
 * `networkStart` (tags, other EtherTypes, other link types, a cut header). The frame is `data[start, end)`
 * (by default all of `data`); the offset returned is from `start`.
 */
export function simpleIpOffset(linkType: number, data: Uint8Array, start = 0, end = data.length): number {
  if (linkType === LinkType.EN10MB) {
    if (end - start < 14) return -1;
    const type = ((data[start + 12] as number) << 8) | (data[start + 13] as number);
    return type === EtherType.Ipv4 || type === EtherType.Ipv6 ? 14 : -1;
  }
  return linkType === LinkType.RAW || linkType === LinkType.IPV4 || linkType === LinkType.IPV6 ? 0 : -1;
}
