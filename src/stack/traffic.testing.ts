/**
 * Test traffic between simulated hosts: byte patterns whose every position differs (so a lost, doubled
 * or swapped segment changes the bytes, not only their count), a TCP exchange that sends both ways and
 * ends with the orderly close of RFC 9293 §3.6 (each side shuts down after its data and closes once it
 * has the peer's FIN), and a UDP echo.
 */
import type { IpAddress } from "../base/index.ts";
import type { TestHost } from "./net-fixtures.testing.ts";
import type { TcpSocket } from "./tcp-layer.ts";
import type { UdpSocket } from "./udp-layer.ts";

/** `length` pseudo-random bytes (xorshift32 seeded by `salt`): no period a segment size could hide in. */
export function pattern(length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (Math.imul(salt + 1, 0x9e3779b1) >>> 0) | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Bytes as they arrive, in arrival order. */
export class Collector {
  readonly #chunks: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    this.#chunks.push(bytes.slice());
    this.length += bytes.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** True when `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface TcpExchange {
  readonly listener: TcpSocket;
  readonly client: TcpSocket;
  /** The server's end, once accepted. */
  server: TcpSocket | undefined;
  /** What the server received from the client, and the client from the server. */
  readonly atServer: Collector;
  readonly atClient: Collector;
  /** The peer's FIN arrived (onEnd) at the client / at the server. */
  clientSawFin: boolean;
  serverSawFin: boolean;
}

export interface TcpExchangeSpec {
  readonly family: 4 | 6;
  readonly port: number;
  /** The server's address the client connects to. */
  readonly to: IpAddress;
  /** Client → server bytes, and server → client bytes. */
  readonly up: Uint8Array;
  readonly down: Uint8Array;
}

/**
 * A listener on `server`, a client on `client` that connects, sends `up` and shuts down; the server
 * sends `down` and shuts down; each side closes its socket once the peer's FIN arrived. Nothing runs
 * until the caller runs the network.
 */
export function tcpExchange(client: TestHost, server: TestHost, spec: TcpExchangeSpec): TcpExchange {
  const listener = server.host.tcp.socket(server.app, spec.family);
  listener.bind(undefined, spec.port);
  listener.listen();
  const c = client.host.tcp.socket(client.app, spec.family);
  const x: TcpExchange = {
    listener,
    client: c,
    server: undefined,
    atServer: new Collector(),
    atClient: new Collector(),
    clientSawFin: false,
    serverSawFin: false,
  };
  listener.onAccept = (s) => {
    x.server = s;
    s.onData = (b) => x.atServer.push(b);
    s.onEnd = () => {
      x.serverSawFin = true;
      s.close();
    };
    if (spec.down.length > 0) s.send(spec.down);
    s.shutdown();
  };
  c.onData = (b) => x.atClient.push(b);
  c.onEnd = () => {
    x.clientSawFin = true;
    c.close();
  };
  c.onConnect = () => {
    if (spec.up.length > 0) c.send(spec.up);
    c.shutdown();
  };
  c.connect(spec.to, spec.port);
  return x;
}

export interface UdpEcho {
  readonly server: UdpSocket;
  readonly client: UdpSocket;
  /** Datagrams the server got, and the echoes the client got back. */
  readonly atServer: Uint8Array[];
  readonly atClient: Uint8Array[];
}

/** A UDP server on `port` echoing every datagram, and a client that sends `datagrams` to it now. */
export function udpEcho(
  client: TestHost,
  server: TestHost,
  spec: { readonly family: 4 | 6; readonly port: number; readonly to: IpAddress; readonly datagrams: Uint8Array[] },
): UdpEcho {
  const srv = server.host.udp.socket(server.app, spec.family);
  srv.bind(undefined, spec.port);
  const cli = client.host.udp.socket(client.app, spec.family);
  const e: UdpEcho = { server: srv, client: cli, atServer: [], atClient: [] };
  srv.onMessage = (m) => {
    e.atServer.push(m.data);
    srv.sendTo(m.data, m.remoteAddress, m.remotePort);
  };
  cli.onMessage = (m) => e.atClient.push(m.data);
  for (const d of spec.datagrams) cli.sendTo(d, spec.to, spec.port);
  return e;
}
