/**
 * The reset that answers a segment no connection owns (RFC 9293 §3.10.7.1, "If the state is CLOSED"):
 * a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>; one without gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>,
 * SEG.LEN counting SYN and FIN. The host also uses it in LISTEN for a segment with ACK (§3.10.7.2).
 * A RST is never answered: the host checks for one first (as `listenAction` does).
 */
import { TCP_ACK, TCP_RST, type TcpRepr } from "../../wire/index.ts";
import { makeRepr, segmentLength } from "./segment.ts";
import { seqAdd } from "./seq.ts";

/**
 * The RST answering `repr` (ports swapped, window 0, checksum 0). Throws RangeError when `repr` is itself
 * a RST (a host bug: nothing answers a RST).
 */
export function resetFor(repr: TcpRepr, payloadLength: number): TcpRepr {
  if (repr.flags & TCP_RST) throw new RangeError("tcp: a RST is never answered with a RST");
  if (repr.flags & TCP_ACK) return makeRepr(repr.dstPort, repr.srcPort, repr.ack, 0, TCP_RST, 0, 0);
  const ack = seqAdd(repr.seq, segmentLength(repr.flags, payloadLength));
  return makeRepr(repr.dstPort, repr.srcPort, 0, ack, TCP_RST | TCP_ACK, 0, 0);
}
