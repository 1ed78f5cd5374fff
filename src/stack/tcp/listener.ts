/**
 * A listening endpoint's bookkeeping (RFC 9293 §3.10.7.2 LISTEN): it bounds the half-open connections
 * (SYN-RECEIVED, the SYN-flood defence) and the established ones waiting for accept() (the listen()
 * backlog), and counts what it refuses. A refused SYN is dropped silently, as a full SYN queue does:
 * the client retransmits.
 *
 * Two ways to use it. Counting only, when the host keeps its own sockets: `admitSyn()` before creating a
 * connection with `TcpConnection.acceptSyn` (false = drop the SYN), then exactly one of `established()`
 * (the handshake completed; false = the accept queue overflowed, abort the connection) or `synFailed()`
 * (it ended half-open or the host gave up on it), and `dequeued()` when the application accepts.
 * Managed: `acceptSyn(env, syn, options)` does all of that by watching the connection's events, and
 * `accept()` hands out established connections. `listenAction` tells the host what LISTEN does with
 * segments that are not a SYN.
 */
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpRepr } from "../../wire/index.ts";
import { TcpConnection } from "./connection.ts";
import type { TcpEnvironment } from "./environment.ts";
import type { TcpAcceptOptions } from "./options.ts";

/** What LISTEN does with a segment: create a connection, answer with `resetFor`, or ignore it. */
export type ListenAction = "accept-syn" | "reset" | "drop";

/** RFC 9293 §3.10.7.2: RST → ignore; ACK → RST; SYN → new connection; anything else → drop. */
export function listenAction(repr: TcpRepr): ListenAction {
  if (repr.flags & TCP_RST) return "drop";
  if (repr.flags & TCP_ACK) return "reset";
  if (repr.flags & TCP_SYN) return "accept-syn";
  return "drop";
}

export interface TcpListenerOptions {
  /** Established connections waiting for accept() at most (listen()'s backlog). Default 200 (Windows' SOMAXCONN). */
  readonly backlog?: number;
  /** Half-open (SYN-RECEIVED) connections at most. Default 256. */
  readonly maxSynReceived?: number;
}

export interface TcpListenerCounters {
  /** SYNs offered (admitSyn or acceptSyn). */
  synsReceived: number;
  /** SYNs admitted (a connection was created). */
  synsAdmitted: number;
  /** SYNs refused because `maxSynReceived` half-open connections exist. */
  synDropsHalfOpenFull: number;
  /** SYNs refused because the accept queue is full. */
  synDropsAcceptQueueFull: number;
  /** Handshakes that completed when the accept queue had filled meanwhile (the connection is reset). */
  acceptQueueOverflows: number;
  /** Half-open connections that ended before completing (SYN-ACK retransmissions gave up, RST, host). */
  halfOpenFailed: number;
  /** Connections the application took from the accept queue. */
  accepted: number;
}

export class TcpListener {
  readonly backlog: number;
  readonly maxSynReceived: number;
  readonly counters: TcpListenerCounters = {
    synsReceived: 0,
    synsAdmitted: 0,
    synDropsHalfOpenFull: 0,
    synDropsAcceptQueueFull: 0,
    acceptQueueOverflows: 0,
    halfOpenFailed: 0,
    accepted: 0,
  };
  #halfOpenCount = 0;
  #queuedCount = 0;
  /** Managed mode only: the connections behind the counts. */
  readonly #halfOpen = new Set<TcpConnection>();
  readonly #queue: TcpConnection[] = [];
  #closed = false;

  constructor(options: TcpListenerOptions = {}) {
    this.backlog = options.backlog ?? 200;
    this.maxSynReceived = options.maxSynReceived ?? 256;
    if (!Number.isInteger(this.backlog) || this.backlog < 1) throw new RangeError(`tcp: backlog ${this.backlog}`);
    if (!Number.isInteger(this.maxSynReceived) || this.maxSynReceived < 1) {
      throw new RangeError(`tcp: maxSynReceived ${this.maxSynReceived}`);
    }
  }

  /** Half-open connections now. */
  get synReceivedCount(): number {
    return this.#halfOpenCount;
  }

  /** Established connections waiting for accept(). */
  get acceptQueueLength(): number {
    return this.#queuedCount;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // Counting primitives.

  /** May a SYN create a half-open connection? True reserves a slot; false is counted (drop the SYN). */
  admitSyn(): boolean {
    this.counters.synsReceived++;
    if (this.#closed) return false;
    if (this.#halfOpenCount >= this.maxSynReceived) {
      this.counters.synDropsHalfOpenFull++;
      return false;
    }
    if (this.#queuedCount >= this.backlog) {
      this.counters.synDropsAcceptQueueFull++;
      return false;
    }
    this.#halfOpenCount++;
    this.counters.synsAdmitted++;
    return true;
  }

  /** An admitted connection completed its handshake: to the accept queue. False when the queue is full. */
  established(): boolean {
    if (this.#halfOpenCount > 0) this.#halfOpenCount--;
    if (this.#closed || this.#queuedCount >= this.backlog) {
      this.counters.acceptQueueOverflows++;
      return false;
    }
    this.#queuedCount++;
    return true;
  }

  /** An admitted connection ended before completing its handshake: its slot is free. */
  synFailed(): void {
    if (this.#halfOpenCount > 0) this.#halfOpenCount--;
    this.counters.halfOpenFailed++;
  }

  /** The application took a connection from the accept queue (or it closed while queued). */
  dequeued(): void {
    if (this.#queuedCount > 0) this.#queuedCount--;
  }

  // Managed mode.

  /**
   * A SYN for this port: a new connection in SYN-RECEIVED (its SYN-ACK already emitted), or undefined when
   * a limit refuses it or it is not a SYN (counted). `env` receives the connection's events; the listener
   * sees them first to move the connection to the accept queue and to forget it when it closes.
   */
  acceptSyn(env: TcpEnvironment, syn: TcpRepr, options: TcpAcceptOptions): TcpConnection | undefined {
    if (listenAction(syn) !== "accept-syn") {
      this.counters.synsReceived++;
      return undefined;
    }
    if (!this.admitSyn()) return undefined;
    let conn: TcpConnection | undefined;
    let pendingEstablished = false;
    const promote = (c: TcpConnection): boolean => {
      this.#halfOpen.delete(c);
      if (!this.established()) return false;
      this.#queue.push(c);
      return true;
    };
    const wrapped: TcpEnvironment = {
      scheduler: env.scheduler,
      output: (segment) => env.output(segment),
      onEstablished: () => {
        if (conn === undefined) pendingEstablished = true;
        else if (!promote(conn)) {
          conn.abort();
          return;
        }
        env.onEstablished();
      },
      onData: (bytes) => env.onData(bytes),
      onRemoteFin: () => env.onRemoteFin(),
      onReset: () => env.onReset(),
      onClosed: (reason) => {
        if (conn !== undefined) this.#forget(conn);
        env.onClosed(reason);
      },
      ...(env.onWritable !== undefined ? { onWritable: () => env.onWritable?.() } : {}),
    };
    conn = TcpConnection.acceptSyn(wrapped, syn, options);
    if (conn.state === "CLOSED") {
      // Closed while being created (a host that answers synchronously): free its half-open slot.
      this.synFailed();
      return conn;
    }
    if (pendingEstablished) {
      if (!promote(conn)) conn.abort();
    } else this.#halfOpen.add(conn);
    return conn;
  }

  /** The oldest established connection not yet accepted (the application's accept()). */
  accept(): TcpConnection | undefined {
    const c = this.#queue.shift();
    if (c === undefined) return undefined;
    this.dequeued();
    this.counters.accepted++;
    return c;
  }

  /** Managed mode: the established connections waiting for accept(), oldest first. */
  pendingAccept(): readonly TcpConnection[] {
    return [...this.#queue];
  }

  /** Stops listening: later SYNs are refused; half-open and unaccepted managed connections are aborted (RST). */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#halfOpen, ...this.#queue]) c.abort();
  }

  #forget(c: TcpConnection): void {
    if (this.#halfOpen.delete(c)) this.synFailed();
    const i = this.#queue.indexOf(c);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.dequeued();
    }
  }
}
