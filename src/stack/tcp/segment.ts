/**
 * Small facts about segments: their length in sequence space, the SYN options a connection negotiates
 * (RFC 9293 §3.7.1 MSS, RFC 7323 §2 window scale), and how outbound reprs are formed.
 */
import { TCP_FIN, TCP_SYN, type TcpOption, type TcpRepr } from "../../wire/index.ts";

/** RFC 7323 §2.3: a shift above 14 is treated as 14. */
export const MAX_WINDOW_SHIFT = 14;

/**
 * Smallest peer MSS honoured. RFC 9293 sets no floor; a tiny value would make the sender emit one
 * segment per byte, so like Linux (tcp_min_snd_mss) we raise it.
 */
export const MIN_PEER_MSS = 64;

/** Sequence space a segment occupies: payload plus one for SYN and one for FIN (RFC 9293 §3.4). */
export function segmentLength(flags: number, payloadLength: number): number {
  return payloadLength + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
}

/** What a SYN (or SYN-ACK) announces. */
export interface SynOptions {
  readonly mss: number | undefined;
  /** The window-scale shift, already capped at 14; undefined when the option is absent. */
  readonly windowShift: number | undefined;
}

/** Reads MSS and window scale from a SYN's options (the first of each counts). */
export function readSynOptions(options: readonly TcpOption[]): SynOptions {
  let mss: number | undefined;
  let windowShift: number | undefined;
  for (const o of options) {
    if (o.kind === "mss" && mss === undefined) mss = o.value;
    else if (o.kind === "windowScale" && windowShift === undefined) windowShift = Math.min(o.shift, MAX_WINDOW_SHIFT);
  }
  return { mss, windowShift };
}

/** The shift that lets `bufferSize` be advertised in the 16-bit window field (RFC 7323 §2.2). */
export function windowShiftFor(bufferSize: number): number {
  let shift = 0;
  while (shift < MAX_WINDOW_SHIFT && Math.floor(bufferSize / 2 ** shift) > 0xffff) shift++;
  return shift;
}

/** Options of our SYN or SYN-ACK: MSS, then NOP + window scale when offered. */
export function synOptions(mss: number, windowShift: number | undefined): TcpOption[] {
  const out: TcpOption[] = [{ kind: "mss", value: mss }];
  if (windowShift !== undefined) out.push({ kind: "nop" }, { kind: "windowScale", shift: windowShift });
  return out;
}

/** A header with checksum 0 (the host fills it) and no urgent data. */
export function makeRepr(
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  payloadLength: number,
  options: readonly TcpOption[] = [],
): TcpRepr {
  return { srcPort, dstPort, seq, ack, flags, window, urgentPointer: 0, options, checksum: 0, payloadLength };
}
