/**
 * Packets as bytes: for each protocol a zero-copy view (`XxxView.check(...)`, then getters that cannot
 * fail), a parsed repr (`parseXxx`) and an emitter (`emitXxx...`), plus the Internet checksum, the
 * dissector (`decodePacket`) and the pretty-printer. Errors are values (`WireError`).
 */
export * from "./arp.ts";
export * from "./checksum.ts";
export * from "./decode.ts";
export * from "./error.ts";
export * from "./ethernet.ts";
export * from "./ethertype.ts";
export * from "./icmpv4.ts";
export * from "./icmpv6.ts";
export * from "./ip-protocol.ts";
export * from "./ipv4.ts";
export * from "./ipv6.ts";
export * from "./ipv6-ext.ts";
export * from "./link-type.ts";
export * from "./loopback.ts";
export * from "./pretty.ts";
export * from "./sll.ts";
export * from "./sll2.ts";
export * from "./tcp.ts";
export * from "./transport-checksum.ts";
export * from "./udp.ts";
