/**
 * Test harness: two tiny hosts joined by a channel on a Scheduler. Every segment crosses the channel
 * as real bytes (emitTcpHeader with a computed checksum, then parseTcp and verifyTcpChecksum on the far
 * side), with a configurable delay, seeded loss, jitter (reordering) and duplication. A host
 * demultiplexes by port pair, answers segments for no connection with `resetFor`, feeds SYNs to a
 * `TcpListener`, and records everything its endpoints see.
 */
import { Ipv4Address, SeededRng } from "../../base/index.ts";
import {
  emitTcpHeader,
  parseTcp,
  type PseudoHeaderAddresses,
  TCP_RST,
  type TcpRepr,
  tcpFlagLetters,
  tcpHeaderLength,
  verifyTcpChecksum,
} from "../../wire/index.ts";
import { Scheduler } from "../sim/scheduler.ts";
import { TcpConnection } from "./connection.ts";
import type { TcpCloseReason, TcpEnvironment, TcpOutSegment } from "./environment.ts";
import { listenAction, TcpListener, type TcpListenerOptions } from "./listener.ts";
import type { TcpAcceptOptions, TcpConnectOptions, TcpTuning } from "./options.ts";
import { resetFor } from "./reset.ts";

export interface ChannelOptions {
  /** One-way delay. Default 10 ms. */
  readonly delayNs?: bigint;
  /** Extra random delay in [0, jitterNs] per segment (reorders). Default 0. */
  readonly jitterNs?: bigint;
  /** Probability a segment is lost. Default 0. */
  readonly loss?: number;
  /** Probability a delivered segment is delivered twice. Default 0. */
  readonly duplicate?: number;
}

/** One segment as it went on the wire. */
export interface WireRecord {
  readonly atNs: bigint;
  readonly from: "a" | "b";
  readonly repr: TcpRepr;
  readonly payload: Uint8Array;
  readonly completesHandshake: boolean;
  /** Lost by the channel or dropped by a test's filter. */
  readonly lost: boolean;
}

export const ADDRESS_A = new Ipv4Address(0x0a000001);
export const ADDRESS_B = new Ipv4Address(0x0a000002);

/** A short text for a segment: "a>b S seq=… ack=… win=… len=…". */
export function describe(r: WireRecord): string {
  const f = tcpFlagLetters(r.repr.flags) || ".";
  return `${r.from}>${r.from === "a" ? "b" : "a"} ${f} seq=${r.repr.seq} ack=${r.repr.ack} win=${r.repr.window} len=${r.payload.length}`;
}

export class TestNet {
  readonly scheduler: Scheduler;
  readonly rng: SeededRng;
  readonly a: TestHost;
  readonly b: TestHost;
  readonly trace: WireRecord[] = [];
  channel: Required<ChannelOptions>;
  /** Return true to drop this segment (after the trace records it). */
  dropIf: ((r: WireRecord) => boolean) | undefined;
  /** Keep the trace (tests that read it); the property test turns it off to save memory. */
  recordTrace = true;
  /** Segments refused by the receiving side's parser or checksum (must stay 0). */
  wireErrors = 0;
  /** Times a connection held more than its buffers allow (must stay 0). */
  boundViolations = 0;

  constructor(seed = 1, channel: ChannelOptions = {}, startNs = 0n) {
    this.scheduler = new Scheduler(startNs);
    this.rng = new SeededRng(seed);
    this.channel = fill(channel);
    this.a = new TestHost(this, "a");
    this.b = new TestHost(this, "b");
  }

  /** Runs until nothing is scheduled (or the guard trips). */
  run(maxEvents = 2_000_000): number {
    return this.scheduler.run({ maxEvents });
  }

  runFor(ns: bigint): number {
    return this.scheduler.runFor(ns);
  }

  now(): bigint {
    return this.scheduler.nowNs();
  }

  /** Segments sent by `from` (all, or those matching `pred`). */
  sent(from: "a" | "b", pred: (r: WireRecord) => boolean = () => true): WireRecord[] {
    return this.trace.filter((r) => r.from === from && pred(r));
  }

  transmit(from: TestHost, repr: TcpRepr, payload: Uint8Array, completesHandshake = false): void {
    const to = from === this.a ? this.b : this.a;
    const c = this.channel;
    const lostByChannel = c.loss > 0 && this.rng.chance(c.loss);
    const rec: WireRecord = {
      atNs: this.now(),
      from: from.name,
      repr,
      payload,
      completesHandshake,
      lost: lostByChannel,
    };
    const filtered = this.dropIf?.(rec) ?? false;
    const record = filtered && !lostByChannel ? { ...rec, lost: true } : rec;
    if (this.recordTrace) this.trace.push(record);
    if (record.lost) return;
    // Real bytes: header + payload with the checksum over an IPv4 pseudo-header.
    const addresses: PseudoHeaderAddresses =
      from === this.a ? { version: 4, src: ADDRESS_A, dst: ADDRESS_B } : { version: 4, src: ADDRESS_B, dst: ADDRESS_A };
    const headerLength = tcpHeaderLength(repr);
    const bytes = new Uint8Array(headerLength + payload.length);
    bytes.set(payload, headerLength);
    emitTcpHeader({ ...repr, payloadLength: payload.length }, bytes, 0, addresses, "compute");
    const copies = c.duplicate > 0 && this.rng.chance(c.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const jitter = c.jitterNs > 0n ? BigInt(this.rng.nextInt(Number(c.jitterNs) + 1)) : 0n;
      this.scheduler.after(c.delayNs + jitter, () => {
        const parsed = parseTcp(bytes, 0, bytes.length);
        if (!parsed.ok || !verifyTcpChecksum(bytes, 0, bytes.length, addresses)) {
          this.wireErrors++;
          return;
        }
        to.deliver(parsed.value, bytes.subarray(tcpHeaderLength(parsed.value)));
      });
    }
  }
}

function fill(c: ChannelOptions): Required<ChannelOptions> {
  return {
    delayNs: c.delayNs ?? 10_000_000n,
    jitterNs: c.jitterNs ?? 0n,
    loss: c.loss ?? 0,
    duplicate: c.duplicate ?? 0,
  };
}

interface ListenEntry {
  readonly listener: TcpListener;
  readonly options: TcpAcceptOptions;
  readonly accepted: Endpoint[];
  readonly setup: ((e: Endpoint) => void) | undefined;
}

export class TestHost {
  readonly net: TestNet;
  readonly name: "a" | "b";
  readonly connections = new Map<string, Endpoint>();
  readonly listeners = new Map<number, ListenEntry>();
  /** RSTs this host sent for segments no connection owned. */
  resetsSent = 0;
  /** Inbound segments for no connection and no listener. */
  orphans = 0;
  readonly rng: SeededRng;

  constructor(net: TestNet, name: "a" | "b") {
    this.net = net;
    this.name = name;
    this.rng = new SeededRng(name === "a" ? 0xa : 0xb);
  }

  /** Active open; `setup` runs on the endpoint before the SYN is sent. */
  connect(options: Partial<TcpConnectOptions> & { remotePort: number }, setup?: (e: Endpoint) => void): Endpoint {
    const e = new Endpoint(this);
    setup?.(e);
    const localPort = options.localPort ?? 49152;
    e.key = `${localPort}:${options.remotePort}`;
    this.connections.set(e.key, e);
    e.sizes(options);
    e.conn = TcpConnection.connect(e.env, { rng: this.rng, ...options, localPort });
    return e;
  }

  /** Passive open on `port`; each accepted endpoint is passed to `setup` before its SYN-ACK. */
  listen(
    port: number,
    options: TcpTuning & { isn?: number } = {},
    listenerOptions: TcpListenerOptions = {},
    setup?: (e: Endpoint) => void,
  ): ListenEntry {
    const entry: ListenEntry = {
      listener: new TcpListener(listenerOptions),
      options: { rng: this.rng, ...options },
      accepted: [],
      setup,
    };
    this.listeners.set(port, entry);
    return entry;
  }

  /** A segment from the wire. */
  deliver(repr: TcpRepr, payload: Uint8Array): void {
    const key = `${repr.dstPort}:${repr.srcPort}`;
    const existing = this.connections.get(key);
    if (existing !== undefined) {
      if (existing.conn.acceptsNewSyn(repr) && this.listeners.has(repr.dstPort)) {
        existing.conn.abort(); // TIME-WAIT: a new incarnation (RFC 9293 §3.10.7.4)
      } else {
        existing.conn.input(repr, payload);
        this.#checkBounds(existing);
        return;
      }
    }
    const l = this.listeners.get(repr.dstPort);
    if (l !== undefined) {
      const action = listenAction(repr);
      if (action === "accept-syn") {
        const e = new Endpoint(this);
        e.key = key;
        l.setup?.(e);
        e.sizes(l.options);
        this.connections.set(key, e);
        const conn = l.listener.acceptSyn(e.env, repr, l.options);
        if (conn === undefined) {
          this.connections.delete(key);
          return;
        }
        e.conn = conn;
        l.accepted.push(e);
        return;
      }
      if (action === "reset") this.#reset(repr, payload.length);
      return;
    }
    this.orphans++;
    if (!(repr.flags & TCP_RST)) this.#reset(repr, payload.length);
  }

  /** Memory stays within the configured bounds whatever arrives. */
  #checkBounds(e: Endpoint): void {
    const r = e.conn.reassembly;
    if (r.bytes > e.receiveBufferSize || r.ranges > e.maxRanges) this.net.boundViolations++;
    if (e.conn.sendBufferUsed > e.sendBufferSize) this.net.boundViolations++;
  }

  #reset(repr: TcpRepr, payloadLength: number): void {
    this.resetsSent++;
    this.net.transmit(this, resetFor(repr, payloadLength), new Uint8Array(0));
  }
}

/** One side of a connection as a test sees it. */
export class Endpoint {
  readonly host: TestHost;
  conn!: TcpConnection;
  key = "";
  readonly chunks: Uint8Array[] = [];
  readonly events: string[] = [];
  established = false;
  remoteFin = false;
  resetSeen = false;
  closedReason: TcpCloseReason | undefined;
  closedAtNs: bigint | undefined;
  establishedAtNs: bigint | undefined;
  /** Consume delivered bytes at once (default), after a delay, or never (the test calls consume). */
  consumeMode: "now" | "never" | bigint = "now";
  /** The sizes the connection was opened with (for the bound checks). */
  receiveBufferSize = 65536;
  sendBufferSize = 65536;
  maxRanges = 32;
  /** Hooks a test may set. */
  onEstablished: (() => void) | undefined;
  onData: ((bytes: Uint8Array) => void) | undefined;
  onRemoteFin: (() => void) | undefined;
  /** Outputs seen by this endpoint's env, in order (with the state at the time). */
  readonly outputs: Array<{ seg: TcpOutSegment; state: string }> = [];
  #toSend: Uint8Array | undefined;
  #sendOffset = 0;
  #shutdownWhenSent = false;
  readonly env: TcpEnvironment;

  constructor(host: TestHost) {
    this.host = host;
    const net = host.net;
    this.env = {
      scheduler: net.scheduler,
      output: (seg) => {
        this.outputs.push({ seg, state: this.conn?.state ?? "SYN-SENT" });
        net.transmit(host, seg.repr, seg.payload, seg.completesHandshake);
      },
      onEstablished: () => {
        this.established = true;
        this.establishedAtNs = net.now();
        this.events.push("established");
        this.onEstablished?.();
        this.#pump();
      },
      onData: (bytes) => {
        this.chunks.push(bytes);
        this.events.push(`data:${bytes.length}`);
        this.onData?.(bytes);
        const mode = this.consumeMode;
        if (mode === "now") this.conn.consume(bytes.length);
        else if (typeof mode === "bigint") {
          net.scheduler.after(mode, () => {
            if (this.conn.state !== "CLOSED") this.conn.consume(Math.min(bytes.length, this.conn.unconsumed));
          });
        }
      },
      onRemoteFin: () => {
        this.remoteFin = true;
        this.events.push("fin");
        this.onRemoteFin?.();
      },
      onReset: () => {
        this.resetSeen = true;
        this.events.push("reset");
      },
      onClosed: (reason) => {
        this.closedReason = reason;
        this.closedAtNs = net.now();
        this.events.push(`closed:${reason}`);
        if (host.connections.get(this.key) === this) host.connections.delete(this.key);
      },
      onWritable: () => {
        this.events.push("writable");
        this.#pump();
      },
    };
  }

  sizes(t: TcpTuning): void {
    this.receiveBufferSize = t.receiveBufferSize ?? 65536;
    this.sendBufferSize = t.sendBufferSize ?? 65536;
    this.maxRanges = t.maxReassemblyRanges ?? 32;
  }

  /** Everything received, concatenated. */
  received(): Uint8Array {
    return concat(this.chunks);
  }

  /** Sends all of `data` as the buffer allows (continuing on onWritable), then shutdown() if asked. */
  sendAll(data: Uint8Array, thenShutdown = false): void {
    this.#toSend = data;
    this.#sendOffset = 0;
    this.#shutdownWhenSent = thenShutdown;
    this.#pump();
  }

  /** Bytes of sendAll's data not yet taken by the connection. */
  get unsent(): number {
    return this.#toSend === undefined ? 0 : this.#toSend.length - this.#sendOffset;
  }

  #pump(): void {
    const data = this.#toSend;
    if (data === undefined || this.conn === undefined) return;
    while (this.#sendOffset < data.length) {
      const n = this.conn.send(data.subarray(this.#sendOffset));
      if (n === 0) break;
      this.#sendOffset += n;
    }
    if (this.#sendOffset >= data.length && this.#shutdownWhenSent) {
      this.#shutdownWhenSent = false;
      this.conn.shutdown();
    }
  }
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const c of chunks) {
    out.set(c, i);
    i += c.length;
  }
  return out;
}

/** Deterministic test data: byte i = (i * 7 + seed) & 0xff. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

/** A connected pair: client a:49152 → server b:80, run until established. */
export function connectedPair(
  net: TestNet,
  clientOptions: Partial<TcpConnectOptions> = {},
  serverOptions: TcpTuning & { isn?: number } = {},
): { client: Endpoint; server: Endpoint } {
  const l = net.b.listen(80, serverOptions);
  const client = net.a.connect({ remotePort: 80, ...clientOptions });
  net.runFor(1_000_000_000n);
  const server = l.accepted[0];
  if (server === undefined || !client.established || !server.established) throw new Error("handshake did not complete");
  return { client, server };
}
