/**
 * Link types for capture files: the LINKTYPE_* table lives in src/wire/link-type.ts (the dissector needs it
 * too); this file adds Wireshark's wiretap encapsulation numbers, used to compare with tshark.
 */
export { isDecodableLinkType, LinkType, linkTypeName } from "../wire/link-type.ts";

/**
 * Wireshark's wiretap encapsulation number (`frame.encap_type`) for a link type, for comparing with tshark.
 * Values observed with TShark 4.0.17 (one-packet pcap per link type, `-e frame.encap_type`); note that 12 and
 * 14 (DLT_RAW on BSDs) also map to raw IP there. Undefined for link types not in this table.
 */
export function wiretapEncapsulation(linkType: number): number | undefined {
  return WTAP.get(linkType);
}

const WTAP: ReadonlyMap<number, number> = new Map([
  [0, 15],
  [1, 1],
  [6, 2],
  [9, 4],
  [10, 6],
  [12, 7],
  [14, 7],
  [101, 7],
  [105, 20],
  [108, 174],
  [113, 25],
  [127, 23],
  [147, 45],
  [228, 129],
  [229, 130],
  [253, 158],
  [276, 210],
]);
