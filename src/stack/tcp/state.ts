/**
 * The connection states of RFC 9293 §3.3.2 (LISTEN belongs to `TcpListener`, not to a connection).
 */
export type TcpState =
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT"
  | "CLOSED";

/** States after the handshake in which both sequence spaces are known (RFC 9293 §3.10.7.4). */
export function isSynchronized(state: TcpState): boolean {
  return state !== "SYN-SENT" && state !== "SYN-RECEIVED" && state !== "CLOSED";
}

/** States in which the peer may still send data (its FIN has not arrived). */
export function peerMaySend(state: TcpState): boolean {
  return state === "ESTABLISHED" || state === "FIN-WAIT-1" || state === "FIN-WAIT-2";
}
