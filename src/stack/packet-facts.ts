/** Packet facts and labels live in the shim, shared with the packet observer. */
export { type PacketFactsOptions, packetFacts, packetLabel } from "../shim/index.ts";
