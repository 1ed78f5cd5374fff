/**
 * Link types: the LINKTYPE_* values stored in pcap file headers and pcapng Interface Description Blocks
 * (https://www.tcpdump.org/linktypes.html). Names use the libpcap DLT_* spellings.
 * Capture files pass every link type through; `isDecodableLinkType` says which ones the dissector decodes.
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

const NAMES: ReadonlyMap<number, string> = new Map([
  [0, "NULL"],
  [1, "EN10MB"],
  [6, "IEEE802"],
  [9, "PPP"],
  [10, "FDDI"],
  [101, "RAW"],
  [104, "C_HDLC"],
  [105, "IEEE802_11"],
  [108, "LOOP"],
  [113, "LINUX_SLL"],
  [127, "IEEE802_11_RADIO"],
  [192, "PPI"],
  [220, "USB_LINUX_MMAPPED"],
  [228, "IPV4"],
  [229, "IPV6"],
  [253, "NETLINK"],
  [276, "LINUX_SLL2"],
]);

/** "EN10MB" for 1; "USER0".."USER15" for 147..162; "LINKTYPE_<n>" for a value we have no name for. */
export function linkTypeName(linkType: number): string {
  const name = NAMES.get(linkType);
  if (name !== undefined) return name;
  if (linkType >= 147 && linkType <= 162) return `USER${linkType - 147}`;
  return `LINKTYPE_${linkType}`;
}

/** True for the link types the packet decoder (`wire/`) understands; others are reported as undecoded. */
export function isDecodableLinkType(linkType: number): boolean {
  switch (linkType) {
    case LinkType.NULL:
    case LinkType.EN10MB:
    case LinkType.RAW:
    case LinkType.LOOP:
    case LinkType.LINUX_SLL:
    case LinkType.IPV4:
    case LinkType.IPV6:
    case LinkType.LINUX_SLL2:
      return true;
    default:
      return false;
  }
}
