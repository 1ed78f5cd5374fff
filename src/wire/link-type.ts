/**
 * Link-layer header types (tcpdump.org LINKTYPE_* values, as carried by pcap and pcapng) that openwfp
 * decodes. Other link types pass through capture files untouched and are reported as undecoded.
 */
export const LinkType = {
  NULL: 0,
  EN10MB: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export type DecodableLinkType = (typeof LinkType)[keyof typeof LinkType];

const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0, "NULL"],
  [1, "EN10MB"],
  [101, "RAW"],
  [108, "LOOP"],
  [113, "LINUX_SLL"],
  [228, "IPV4"],
  [229, "IPV6"],
  [276, "LINUX_SLL2"],
  // Known but not decoded, for readable messages.
  [105, "IEEE802_11"],
  [127, "IEEE802_11_RADIOTAP"],
  [147, "USER0"],
  [253, "NETLINK"],
]);

export function isDecodableLinkType(linkType: number): linkType is DecodableLinkType {
  return (
    linkType === 0 ||
    linkType === 1 ||
    linkType === 101 ||
    linkType === 108 ||
    linkType === 113 ||
    linkType === 228 ||
    linkType === 229 ||
    linkType === 276
  );
}

/** "EN10MB", "LINUX_SLL2", ... or "LINKTYPE_<n>" for a number we have no name for. */
export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? `LINKTYPE_${linkType}`;
}
