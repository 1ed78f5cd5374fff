/**
 * What a connection is given by its host, and what it hands back: time and timers, an output for
 * segments, and events. The connection never sees an address, a link or WFP; the host demultiplexes
 * inbound segments to it and wraps what it emits in IP.
 */
import type { TcpRepr } from "../../wire/index.ts";
import type { Timer } from "../sim/scheduler.ts";

/** The part of the simulator's `Scheduler` a connection uses (a `Scheduler` is one). */
export interface TcpScheduler {
  nowNs(): bigint;
  after(delayNs: bigint, fn: () => void): Timer;
}

/** One segment to send. */
export interface TcpOutSegment {
  /** The header; `checksum` is 0 (the host computes it over its pseudo-header) and `payloadLength` = payload.length. */
  readonly repr: TcpRepr;
  /** The payload, a fresh array the host may keep. */
  readonly payload: Uint8Array;
  /**
   * True only on the client's final ACK of the three-way handshake: WFP classifies the client's
   * FLOW_ESTABLISHED with this segment, before it reaches the transport layer.
   */
  readonly completesHandshake: boolean;
}

/** Why a connection's TCB went away. */
export type TcpCloseReason = "closed" | "reset" | "timed-out" | "aborted";

export interface TcpEnvironment {
  readonly scheduler: TcpScheduler;
  /** Sends one segment. May be called at any time, including from inside `input()`. */
  output(segment: TcpOutSegment): void;
  /**
   * The handshake completed. Client: when the SYN-ACK is processed, before the final ACK is output
   * (that ACK follows with `completesHandshake: true`). Server: when the final ACK is processed, before
   * any data it carries is delivered. Simultaneous open: when the peer's SYN-ACK is processed.
   */
  onEstablished(): void;
  /**
   * New in-order bytes (a fresh array). The receive window shrinks by their length until the host calls
   * `consume(n)` for them.
   */
  onData(bytes: Uint8Array): void;
  /** The peer's FIN arrived in order, after all its data: no more `onData`. */
  onRemoteFin(): void;
  /** An acceptable RST arrived (RFC 9293 §3.10.7.4, RFC 5961 §3.2); `onClosed("reset")` follows. */
  onReset(): void;
  /**
   * The TCB is gone: "closed" after an orderly close (the active closer after TIME-WAIT), "reset" after a
   * RST, "timed-out" when retransmissions (or connect) gave up, "aborted" after `abort()` or when this side
   * reset the connection itself (close() with unread data, data after close()). Called exactly once.
   */
  onClosed(reason: TcpCloseReason): void;
  /** Acknowledged data freed send-buffer space after a `send()` accepted fewer bytes than offered. */
  onWritable?(): void;
}
