/**
 * The host side of TCP: sockets, listeners and the demultiplexing of segments to connections, with WFP's
 * classify points around the protocol machine in ./tcp (flows.json tcp-*):
 * - connect(): bind (ALE_BIND_REDIRECT, ALE_RESOURCE_ASSIGNMENT), ALE_CONNECT_REDIRECT, ALE_AUTH_CONNECT
 *   (no packet: before the SYN exists, F4); then every segment OUTBOUND_TRANSPORT and OUTBOUND_IPPACKET;
 *   the client's ALE_FLOW_ESTABLISHED comes with its final handshake ACK.
 * - listen(): bind, ALE_AUTH_LISTEN. A SYN for a listener: INBOUND_IPPACKET, INBOUND_TRANSPORT,
 *   ALE_AUTH_RECV_ACCEPT; the server's ALE_FLOW_ESTABLISHED when the final ACK arrives.
 * - data: STREAM outbound when the app sends (before segmentation), STREAM inbound when in-order bytes
 *   arrive; STREAM_PACKET around each segment only when filters exist there (E19, placed between STREAM
 *   and TRANSPORT [INF]). FIN is a zero-length stream indication with the *_DISCONNECT flag.
 * - a segment for no endpoint: INBOUND_TRANSPORT_DISCARD (InetDiscardEndpointNotFound) and a RST,
 *   unless a filter blocks there (stealth, F6).
 * - end: ALE_ENDPOINT_CLOSURE once per connection and per listener, ALE_RESOURCE_RELEASE for each
 *   endpoint that had a RESOURCE_ASSIGNMENT (F13).
 * - a policy change at the flow's ALE layer reauthorizes the next packet (G7–G12); a block tears the
 *   connection down without a RST (flows.json tcp-reauth-failure: the teardown is not indicated).
 */
import type { IpAddress } from "../base/index.ts";
import {
  type AleFlow,
  type ClassifyFacts,
  CompletionHandle,
  type ConnectRequest,
  FWP_CONDITION_FLAG,
  FWP_CONDITION_REAUTHORIZE_REASON,
  heldOperation,
  type PendedOperation,
  RedirectHandle,
  RedirectRecords,
  FWPS_DISCARD_MODULE,
  INET_DISCARD_REASON,
  type EmbeddedFacts,
  type InjectionTag,
  type IpPacketInfo,
  type PacketLabel,
  type PacketLayerData,
  type StreamEndpoint,
  type StreamFlow,
  tcpSegmentLabel,
} from "../shim/index.ts";
import { IpProtocol, parseTcp, TCP_ACK, TCP_RST, TCP_SYN, type TcpRepr, verifyTcpChecksum } from "../wire/index.ts";
import { aleBind, aleCloseEndpoint, releaseResource } from "./ale.ts";
import { attempt, type Done, pendableClassify, pendableOperation, socketCall } from "./ale-pend.ts";
import { buildTcp, pseudo } from "./build.ts";
import type { Host } from "./host.ts";
import { unmapped } from "./host.ts";
import type { RouteResult } from "./ip-layer.ts";
import type { NetInterface } from "./nic.ts";
import { packetFacts } from "./packet-facts.ts";
import type { Process } from "./process.ts";
import {
  anyAddress,
  asSocketAddress,
  type SocketBase,
  type SocketError,
  SocketFailure,
  sharePortSpace,
  socketFacts,
} from "./sockets.ts";
import {
  type TcpCloseReason,
  TcpConnection,
  type TcpEnvironment,
  TcpListener,
  type TcpOutSegment,
  type TcpTuning,
  resetFor,
} from "./tcp/index.ts";

const FLAG = FWP_CONDITION_FLAG;

export interface TcpLayerOptions {
  readonly tuning?: TcpTuning;
  /** Default listen backlog (completed connections waiting for accept). */
  readonly backlog?: number;
}

/** How a socket's life went, for scenario outcomes. */
export type TcpOutcome = "connected" | "refused" | "timed-out" | "blocked" | "reset" | "aborted" | "unreachable";

export class TcpSocket implements SocketBase {
  readonly protocol = IpProtocol.Tcp;
  readonly endpointHandle: bigint;
  localAddress: IpAddress | undefined;
  localPort = 0;
  bound = false;
  closed = false;
  /** FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits (see SocketBase); set before bind or listen. */
  socketProperties = 0;
  remoteAddress: IpAddress | undefined;
  remotePort = 0;
  connection: TcpConnection | undefined;
  flow: AleFlow | undefined;
  listener: TcpListener | undefined;
  /** "client" for a connecting socket, "server" for a listener and the connections it accepts. */
  side: "client" | "server" = "client";
  outcome: TcpOutcome | undefined;
  error: SocketError | undefined;
  bytesSent = 0;
  bytesReceived = 0;
  /** Bytes the app wrote that the send buffer could not take yet. */
  pending: Uint8Array[] = [];
  /** Received bytes not yet read (when no onData handler is set). */
  readonly received: Uint8Array[] = [];
  remoteClosed = false;
  shutdownRequested = false;
  /** The connection's stream classifier (services/stream.ts), from its first STREAM indication. */
  stream: StreamFlow | undefined;
  /** The outbound disconnect left the stream layer: TCP's FIN follows the pending bytes. */
  finReleased = false;
  onConnect: (() => void) | undefined;
  onData: ((bytes: Uint8Array) => void) | undefined;
  onEnd: (() => void) | undefined;
  onClose: ((reason: TcpCloseReason | "blocked") => void) | undefined;
  onAccept: ((s: TcpSocket) => void) | undefined;
  readonly accepted: TcpSocket[] = [];
  /** Set once ENDPOINT_CLOSURE was indicated. */
  endpointClosed = false;
  /**
   * The connection's redirect records (D29): a redirection to a local process at CONNECT_REDIRECT appends
   * one; an accepted socket has those of the connection it accepted.
   */
  redirectRecords: RedirectRecords | undefined;
  /** The localRedirectContext of the latest redirection (D29). */
  redirectContext: unknown;
  /** Records set by SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS: this socket is a proxy's outbound one (D29). */
  proxyRedirectRecords: RedirectRecords | undefined;

  constructor(
    readonly layer: TcpLayer,
    readonly process: Process,
    readonly family: 4 | 6,
    readonly dualMode: boolean,
  ) {
    this.endpointHandle = layer.host.newEndpointHandle();
  }

  bind(address?: IpAddress, port = 0): void {
    this.layer.bind(this, address ?? anyAddress(this.family), port, false);
  }

  connect(address: IpAddress, port: number): void {
    this.layer.connect(this, address, port);
  }

  listen(backlog?: number): void {
    this.layer.listen(this, backlog);
  }

  /**
   * SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS: the redirect records of a connection redirected at
   * CONNECT_REDIRECT (on the proxy's accepted socket). WSAEINVAL for a connection that was not [INF].
   */
  queryRedirectRecords(): RedirectRecords {
    if (this.redirectRecords === undefined) throw new SocketFailure("WSAEINVAL", "the connection was not redirected");
    return this.redirectRecords;
  }

  /** SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT: the redirecting callout's localRedirectContext. */
  queryRedirectContext(): unknown {
    if (this.redirectRecords === undefined) throw new SocketFailure("WSAEINVAL", "the connection was not redirected");
    return this.redirectContext;
  }

  /**
   * SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS: before connect(), the records of the connection this socket
   * proxies; its CONNECT_REDIRECT then carries them (REDIRECT_RECORD_HANDLE) and IS_PROXY_CONNECTION.
   */
  setRedirectRecords(records: RedirectRecords): void {
    if (!(records instanceof RedirectRecords)) throw new SocketFailure("WSAEINVAL", "not redirect records");
    if (this.connection !== undefined || this.listener !== undefined)
      throw new SocketFailure("WSAEINVAL", "the socket is already connected");
    this.proxyRedirectRecords = records;
  }

  /** Queues data: STREAM (outbound) first (§E). Returns the bytes the stream layer took (all, while open). */
  send(data: Uint8Array): number {
    return this.layer.send(this, data);
  }

  /** Half-close: FIN after the queued data. */
  shutdown(): void {
    this.layer.shutdown(this);
  }

  close(): void {
    this.layer.close(this);
  }

  abort(): void {
    this.layer.abort(this);
  }

  get state(): string {
    if (this.listener !== undefined && !this.closed) return "LISTEN";
    return this.connection?.state ?? "CLOSED";
  }
}

/** "address:port" ("[v6]:port"), the text of ORIGINAL_DESTINATION metadata. */
function endpointText(a: IpAddress, port: number): string {
  return a.version === 6 ? `[${a}]:${port}` : `${a}:${port}`;
}

function fourTuple(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number): string {
  return `${unmapped(localAddress).toString()}|${localPort}|${unmapped(remoteAddress).toString()}|${remotePort}`;
}

export interface TcpLayerCounters {
  segmentsIn: number;
  segmentsOut: number;
  checksumErrors: number;
  noEndpoint: number;
  resetsSent: number;
  synDropsBacklog: number;
  blockedIn: number;
  blockedOut: number;
  reauthTeardowns: number;
  /** Segments of a connection whose ALE_AUTH_RECV_ACCEPT is pended: held, then flushed (D20). */
  pendFlushed: number;
}

export class TcpLayer {
  readonly sockets: TcpSocket[] = [];
  readonly #byHandle = new Map<bigint, TcpSocket>();
  readonly #connections = new Map<string, TcpSocket>();
  /** Connections whose ALE_AUTH_RECV_ACCEPT a callout pended, by 4-tuple (D19). */
  readonly #pendedAccepts = new Map<string, AleFlow>();
  readonly counters: TcpLayerCounters = {
    segmentsIn: 0,
    segmentsOut: 0,
    checksumErrors: 0,
    noEndpoint: 0,
    resetsSent: 0,
    synDropsBacklog: 0,
    blockedIn: 0,
    blockedOut: 0,
    reauthTeardowns: 0,
    pendFlushed: 0,
  };

  constructor(
    readonly host: Host,
    readonly options: TcpLayerOptions = {},
  ) {}

  socket(process: Process, family: 4 | 6 = 4, dualMode = false): TcpSocket {
    const s = new TcpSocket(this, process, family, dualMode);
    this.#add(s);
    return s;
  }

  #add(s: TcpSocket): void {
    this.sockets.push(s);
    this.#byHandle.set(s.endpointHandle, s);
  }

  /** The socket whose TRANSPORT_ENDPOINT_HANDLE is `handle`, while the layer still knows it. */
  endpoint(handle: bigint): TcpSocket | undefined {
    return this.#byHandle.get(handle);
  }

  /** Live connections (for counters and tests). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** A port `s` cannot take: an open socket of an overlapping port space holds it. */
  #portInUse(s: TcpSocket, port: number): boolean {
    return this.sockets.some((o) => o !== s && o.bound && !o.closed && o.localPort === port && sharePortSpace(o, s));
  }

  /** bind(): finishes at once, or — a callout pended it (D19, D21) — later, holding the socket's next calls. */
  bind(s: TcpSocket, address: IpAddress, port: number, implicit: boolean): void {
    socketCall(
      s,
      (done) => this.#bindStep(s, address, port, implicit, done),
      (f) => this.#lateFailure(s, f),
    );
  }

  #bindStep(s: TcpSocket, address: IpAddress, port: number, implicit: boolean, done: Done): void {
    if (s.closed) throw new SocketFailure("WSAEINVAL", "socket closed");
    if (s.bound) throw new SocketFailure("WSAEINVAL", "already bound");
    aleBind(this.host, s, address, port, implicit, (p) => this.#portInUse(s, p), done);
  }

  /** A call that finished after a pend failed: the socket keeps the error (the app sees it as the call's). */
  #lateFailure(s: TcpSocket, f: SocketFailure): void {
    s.error = f.code;
    if (f.code === "WSAENETUNREACH") s.outcome = "unreachable";
    if (f.code === "WSAEACCES") {
      s.outcome = "blocked";
      s.onClose?.("blocked");
    }
  }

  #identity(s: TcpSocket) {
    return {
      processId: s.process.processId,
      processPath: s.process.facts.appId,
      token: s.process.facts.token,
      transportEndpointHandle: s.endpointHandle,
      compartmentId: 1,
    };
  }

  #mss(route: RouteResult): number {
    const overhead = route.src.version === 4 ? 40 : 60;
    const mtu = Math.min(
      route.iface.mtu,
      this.host.ip.pathMtu.get(route.nextHop.toString()) ?? Number.POSITIVE_INFINITY,
    );
    return Math.max(route.src.version === 4 ? 536 : 1220, Math.min(65495, mtu - overhead));
  }

  // -------------------------------------------------------------------------------------------
  // Active open
  // -------------------------------------------------------------------------------------------

  /**
   * connect(): [implicit bind] · CONNECT_REDIRECT · AUTH_CONNECT · SYN. CONNECT_REDIRECT may be pended
   * (FwpsPendClassify0) and AUTH_CONNECT (FwpsPendOperation0): connect() then returns and the SYN leaves
   * when the callout completes (D21, D20) — or the connection fails then (outcome "blocked", WSAEACCES).
   */
  connect(s: TcpSocket, address: IpAddress, port: number): void {
    if (s.closed || s.connection !== undefined || s.listener !== undefined)
      throw new SocketFailure("WSAEINVAL", "socket in use");
    const dst = unmapped(address);
    if (s.family === 4 && dst.version === 6) throw new SocketFailure("WSAEINVAL", "IPv6 address on an IPv4 socket");
    s.side = "client";
    socketCall(
      s,
      (done) => {
        const go = (): void => attempt(done, () => this.#connectRedirect(s, dst, port, done));
        if (!s.bound) this.#bindStep(s, anyAddress(s.family), 0, true, (f) => (f !== undefined ? done(f) : go()));
        else go();
      },
      (f) => this.#lateFailure(s, f),
    );
  }

  /** ALE_CONNECT_REDIRECT (D24–D29): a callout may send the connection elsewhere through the API. */
  #connectRedirect(s: TcpSocket, dst: IpAddress, port: number, done: Done): void {
    const host = this.host;
    if (s.closed || s.connection !== undefined || s.flow !== undefined)
      throw new SocketFailure("WSAEINVAL", "socket in use");
    const bound = s.localAddress === undefined || s.localAddress.isUnspecified() ? undefined : unmapped(s.localAddress);
    const route = host.ip.route(dst, bound);
    if (route === undefined) {
      s.outcome = "unreachable";
      s.error = "WSAENETUNREACH";
      throw new SocketFailure("WSAENETUNREACH", `no route to ${dst}`);
    }
    const meta = this.#identity(s);
    const request: ConnectRequest = {
      kind: "connect-request",
      localAddressAndPort: { address: route.src, port: s.localPort },
      remoteAddressAndPort: { address: dst, port },
      portReservationToken: 0n,
      localRedirectTargetPID: 0,
      previousVersion: null,
      modifierFilterId: 0n,
      localRedirectHandle: undefined,
      localRedirectContext: undefined,
    };
    // A proxy's outbound socket (SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS) carries its records (D29).
    const proxy = s.proxyRedirectRecords;
    // CONNECT_REDIRECT runs before the route is final: no IS_LOOPBACK there (flows.json tcp-loopback-connect).
    const redirectFacts = socketFacts(s, {
      localAddress: route.src,
      remoteAddress: dst,
      remotePort: port,
      iface: route.iface.facts,
      flags: proxy !== undefined ? FLAG.FWP_CONDITION_FLAG_IS_PROXY_CONNECTION : 0,
    });
    pendableClassify(
      (classifyContext, layerData: ConnectRequest) =>
        host.shim.classifyAt("ALE_CONNECT_REDIRECT", {
          facts: redirectFacts,
          packet: "none",
          logDirection: "none",
          layerData,
          classifyContext,
          metadata: proxy !== undefined ? { ...meta, redirectRecords: proxy } : meta,
          side: s.side,
        }),
      request,
      (final) => attempt(done, () => this.#authorizeConnect(s, dst, port, bound, final, done)),
    );
  }

  /**
   * ALE_AUTH_CONNECT for the connection as redirected (D30): a redirected one carries IS_CONNECTION_REDIRECTED
   * and ORIGINAL_DESTINATION / LOCAL_REDIRECT_TARGET_PID metadata (D29); a redirection to a local process
   * through a redirect handle is added to the connection's redirect records.
   */
  #authorizeConnect(
    s: TcpSocket,
    original: IpAddress,
    originalPort: number,
    bound: IpAddress | undefined,
    final: ConnectRequest,
    done: Done,
  ): void {
    const host = this.host;
    if (s.closed) {
      done();
      return;
    }
    const to = final.remoteAddressAndPort;
    const dst = unmapped(to.address);
    const port = to.port;
    const redirected = !dst.equals(original) || port !== originalPort;
    const route = host.ip.route(dst, bound);
    if (route === undefined) {
      s.outcome = "unreachable";
      s.error = "WSAENETUNREACH";
      throw new SocketFailure("WSAENETUNREACH", `no route to ${dst}`);
    }
    const proxy = s.proxyRedirectRecords;
    if (redirected && final.localRedirectHandle instanceof RedirectHandle) {
      s.redirectRecords = (proxy ?? new RedirectRecords([])).with({
        redirectHandle: final.localRedirectHandle,
        redirectContext: final.localRedirectContext,
        modifierFilterId: final.modifierFilterId,
        originalDestination: { address: original, port: originalPort },
        redirectedTo: { address: dst, port },
      });
      s.redirectContext = final.localRedirectContext;
    } else if (proxy !== undefined) {
      s.redirectRecords = proxy;
    }
    const meta = {
      ...this.#identity(s),
      ...(redirected ? { originalDestination: endpointText(original, originalPort) } : {}),
      ...(redirected && final.localRedirectTargetPID !== 0
        ? { localRedirectTargetPID: final.localRedirectTargetPID }
        : {}),
    };
    const facts: ClassifyFacts = {
      ...socketFacts(s, {
        localAddress: route.src,
        remoteAddress: dst,
        remotePort: port,
        direction: "outbound",
        iface: route.iface.facts,
        flags:
          (route.loopback ? FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0) |
          (redirected ? FLAG.FWP_CONDITION_FLAG_IS_CONNECTION_REDIRECTED : 0),
      }),
      nextHopInterface: route.iface.facts,
    };
    const flow = host.shim.beginFlow(
      "",
      host.shim.authLayer("auth-connect", facts.ipVersion),
      facts,
      "outbound",
      IpProtocol.Tcp,
    );
    s.flow = flow;
    pendableOperation(
      (completionHandle) =>
        host.shim.classifyAt("ALE_AUTH_CONNECT", {
          facts,
          packet: "none",
          metadata: { ...meta, completionHandle },
          flow,
          side: s.side,
        }),
      (completionHandle) =>
        host.shim.reauthorize(
          flow,
          { facts, packet: "none", metadata: { ...meta, completionHandle }, side: s.side },
          FWP_CONDITION_REAUTHORIZE_REASON.FWP_CONDITION_REAUTHORIZE_REASON_CLASSIFY_COMPLETION,
        ),
      (v) => {
        if (v === undefined || s.closed || !v.permit) {
          host.shim.closeFlow(flow);
          if (s.flow === flow) s.flow = undefined;
          if (s.closed) {
            done();
            return;
          }
          // connect() fails; the socket stays bound until closesocket() (RESOURCE_RELEASE then).
          s.outcome = "blocked";
          s.error = "WSAEACCES";
          done(new SocketFailure("WSAEACCES", `ALE_AUTH_CONNECT blocked the connection to ${dst}:${port}`));
          return;
        }
        host.shim.admitFlow(flow);
        this.#startConnection(s, dst, port, route);
        done();
      },
      () => host.shim.holdFlow(flow),
      () => !s.closed,
    );
  }

  /** The authorized connection's SYN leaves (F.2 item 2). */
  #startConnection(s: TcpSocket, dst: IpAddress, port: number, route: RouteResult): void {
    s.remoteAddress = dst;
    s.remotePort = port;
    const localAddress = route.src;
    this.#connections.set(fourTuple(localAddress, s.localPort, dst, port), s);
    const env = this.#environment(s, localAddress, route);
    s.connection = TcpConnection.connect(env, {
      ...this.options.tuning,
      mss: this.#mss(route),
      localPort: s.localPort,
      remotePort: port,
      rng: this.host.rng,
    });
  }

  /** FwpsFlowAbort0 on a connection's flow: the connection is reset (the flow ends with it). */
  abortFlow(flow: AleFlow): boolean {
    const s = this.sockets.find((x) => x.flow === flow);
    if (s === undefined) return false;
    if (s.connection === undefined) return true;
    s.outcome = "aborted";
    s.error = "WSAECONNABORTED";
    s.connection.abort();
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Passive open
  // -------------------------------------------------------------------------------------------

  /**
   * listen(): ALE_AUTH_LISTEN. A callout may pend it (FwpsPendOperation0, D19): the socket listens once the
   * completion's classification (IS_REAUTHORIZE, CLASSIFY_COMPLETION) permits; SYNs before are refused.
   */
  listen(s: TcpSocket, backlog?: number): void {
    socketCall(
      s,
      (done) => this.#listenStep(s, backlog, done),
      (f) => this.#lateFailure(s, f),
    );
  }

  #listenStep(s: TcpSocket, backlog: number | undefined, done: Done): void {
    const host = this.host;
    if (s.closed || s.connection !== undefined || s.listener !== undefined)
      throw new SocketFailure("WSAEINVAL", "socket in use");
    if (!s.bound) throw new SocketFailure("WSAEINVAL", "listen before bind");
    s.side = "server";
    const classify = (completionHandle: CompletionHandle, extraFlags: number) =>
      host.shim.classifyAt("ALE_AUTH_LISTEN", {
        facts: socketFacts(s, { flags: extraFlags }),
        packet: "none",
        logDirection: "none",
        metadata: { ...this.#identity(s), completionHandle },
      });
    pendableOperation(
      (h) => classify(h, 0),
      (h) => classify(h, FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE),
      (v) => {
        if (v === undefined || s.closed) {
          done();
          return;
        }
        if (!v.permit) {
          s.outcome = "blocked";
          s.error = "WSAEACCES";
          done(new SocketFailure("WSAEACCES", `ALE_AUTH_LISTEN blocked listening on port ${s.localPort}`));
          return;
        }
        s.listener = new TcpListener({ backlog: backlog ?? this.options.backlog ?? 200 });
        done();
      },
      undefined,
      () => !s.closed,
    );
  }

  #listenerFor(dst: IpAddress, port: number): TcpSocket | undefined {
    let wildcard: TcpSocket | undefined;
    for (const s of this.sockets) {
      if (s.listener === undefined || s.closed || s.localPort !== port) continue;
      const fits = s.family === dst.version || (s.family === 6 && s.dualMode && dst.version === 4);
      if (!fits) continue;
      const a = s.localAddress;
      if (a === undefined || a.isUnspecified()) wildcard ??= s;
      else if (unmapped(a).equals(dst)) return s;
    }
    return wildcard;
  }

  // -------------------------------------------------------------------------------------------
  // Segments in
  // -------------------------------------------------------------------------------------------

  input(
    iface: NetInterface,
    packet: Uint8Array,
    info: IpPacketInfo,
    flags: number,
    label: PacketLabel,
    side?: string,
    injection?: InjectionTag,
  ): void {
    const host = this.host;
    const t = info.transport;
    if (t === undefined) {
      host.ip.discard("MalformedHeader");
      return;
    }
    this.counters.segmentsIn++;
    const facts = packetFacts(info, "inbound", { iface: iface.facts, arrivalInterface: iface.facts, flags });
    const payloadOffset = t.offset + t.headerLength;
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: packet,
      ipOffset: 0,
      transportOffset: t.offset,
      payloadOffset,
      end: info.length,
      dataOffset: payloadOffset,
      ...(injection !== undefined ? { injection } : {}),
    };
    const meta = {
      ipHeaderSize: info.ipHeaderLength,
      transportHeaderSize: t.headerLength,
      compartmentId: 1,
      packetDirection: 1,
    };
    if (!verifyTcpChecksum(packet, t.offset, info.length, pseudo(info.src, info.dst))) {
      this.counters.checksumErrors++;
      host.shim.discard(
        "INBOUND_TRANSPORT",
        { facts, packet: label, layerData, metadata: meta },
        {
          discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_TRANSPORT,
          discardReason: INET_DISCARD_REASON.InetDiscardChecksumInvalid,
          filterId: 0n,
        },
      );
      return;
    }
    const parsed = parseTcp(packet, t.offset, info.length);
    if (!parsed.ok) {
      host.ip.discard("MalformedHeader");
      return;
    }
    const repr = parsed.value;
    const payload = packet.slice(payloadOffset, info.length);
    const sideOpt = side !== undefined ? { side } : {};
    const s = this.#connections.get(fourTuple(info.dst, repr.dstPort, info.src, repr.srcPort));
    if (s !== undefined && s.connection !== undefined) {
      const flow = s.flow;
      const tr = host.shim.classifyAt("INBOUND_TRANSPORT", {
        facts,
        packet: label,
        layerData,
        metadata: { ...meta, transportEndpointHandle: s.endpointHandle },
        ...(flow !== undefined ? { flow } : {}),
        ...sideOpt,
      });
      if (!tr.permit) {
        this.counters.blockedIn++;
        return;
      }
      if (flow !== undefined && host.shim.reauthorizationDue(flow)) {
        const aleFacts = this.#aleFactsIn(s, iface, info, repr, flags);
        const v = host.shim.reauthorize(flow, {
          facts: aleFacts,
          packet: label,
          layerData,
          metadata: { ...meta, ...this.#identity(s) },
          ...sideOpt,
        });
        if (!v.permit) {
          this.#teardown(s, "aborted");
          return;
        }
      }
      this.#streamPacket(s, facts, label, layerData, meta, side);
      s.connection.input(repr, payload);
      return;
    }
    const listener =
      (repr.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN ? this.#listenerFor(info.dst, repr.dstPort) : undefined;
    if (listener?.listener !== undefined) {
      this.#acceptSyn(listener, iface, info, repr, facts, label, layerData, meta, flags, side);
      return;
    }
    // No endpoint (F6): the discard layer, then a RST unless a filter there blocks (stealth).
    this.counters.noEndpoint++;
    const r = host.shim.discard(
      "INBOUND_TRANSPORT",
      { facts, packet: label, layerData, metadata: meta, ...sideOpt },
      {
        discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_TRANSPORT,
        discardReason: INET_DISCARD_REASON.InetDiscardEndpointNotFound,
        filterId: 0n,
      },
    );
    if (r.action !== "FWP_ACTION_PERMIT" || (repr.flags & TCP_RST) !== 0) return;
    this.#sendReset(info, repr, payload.length, flags, side);
  }

  #aleFactsIn(s: TcpSocket, iface: NetInterface, info: IpPacketInfo, repr: TcpRepr, flags: number): ClassifyFacts {
    return {
      ...socketFacts(s, {
        localAddress: info.dst,
        remoteAddress: info.src,
        remotePort: repr.srcPort,
        direction: "inbound",
        iface: (this.host.interfaceOwning(info.dst) ?? iface).facts,
        flags,
      }),
      localPort: repr.dstPort,
      arrivalInterface: iface.facts,
    };
  }

  #acceptSyn(
    listenSocket: TcpSocket,
    iface: NetInterface,
    info: IpPacketInfo,
    repr: TcpRepr,
    facts: ClassifyFacts,
    label: PacketLabel,
    layerData: PacketLayerData,
    meta: Record<string, unknown>,
    flags: number,
    side?: string,
  ): void {
    const host = this.host;
    const listener = listenSocket.listener as TcpListener;
    const sideOpt = side !== undefined ? { side } : {};
    const tr = host.shim.classifyAt("INBOUND_TRANSPORT", {
      facts,
      packet: label,
      layerData,
      metadata: { ...meta, aleClassifyRequired: true },
      ...sideOpt,
    });
    if (!tr.permit) {
      this.counters.blockedIn++;
      return;
    }
    const tuple = fourTuple(info.dst, repr.dstPort, info.src, repr.srcPort);
    if (this.#pendedAccepts.has(tuple)) {
      // The connection's ALE_AUTH_RECV_ACCEPT is pended: its packets are held, then flushed (D20).
      this.counters.pendFlushed++;
      return;
    }
    if (!listener.admitSyn()) {
      this.counters.synDropsBacklog++;
      return;
    }
    const child = new TcpSocket(this, listenSocket.process, listenSocket.family, listenSocket.dualMode);
    child.socketProperties = listenSocket.socketProperties;
    child.side = "server";
    child.localAddress = asSocketAddress(info.dst, listenSocket.family);
    child.localPort = repr.dstPort;
    child.remoteAddress = info.src;
    child.remotePort = repr.srcPort;
    const aleFacts = this.#aleFactsIn(child, iface, info, repr, flags);
    // The flow exists during its authorization (FLOW_HANDLE, D14); a callout may pend it (D19).
    const flow = host.shim.beginFlow(
      "",
      host.shim.authLayer("auth-recv-accept", aleFacts.ipVersion),
      aleFacts,
      "inbound",
      IpProtocol.Tcp,
    );
    const completionHandle = new CompletionHandle();
    const auth = host.shim.classifyAt("ALE_AUTH_RECV_ACCEPT", {
      facts: aleFacts,
      packet: label,
      layerData,
      metadata: { ...meta, ...this.#identity(child), completionHandle },
      flow,
      ...sideOpt,
    });
    const pended = heldOperation(completionHandle, auth.permit);
    if (pended !== undefined) {
      listener.synFailed();
      this.#holdAccept(tuple, flow, pended);
      return;
    }
    if (!auth.permit) {
      host.shim.closeFlow(flow);
      listener.synFailed();
      this.counters.blockedIn++;
      return;
    }
    const route = host.ip.route(info.src, info.dst);
    if (route === undefined) {
      host.shim.closeFlow(flow);
      listener.synFailed();
      return;
    }
    this.#add(child);
    host.shim.admitFlow(flow);
    child.flow = flow;
    // A connection redirected here by a callout (a local proxy): the accepted socket gets its records (D29).
    const peer = this.#connections.get(fourTuple(info.src, repr.srcPort, info.dst, repr.dstPort));
    if (peer?.redirectRecords !== undefined) {
      child.redirectRecords = peer.redirectRecords;
      child.redirectContext = peer.redirectContext;
    }
    this.#connections.set(tuple, child);
    const env = this.#environment(child, info.dst, route, listenSocket);
    child.connection = TcpConnection.acceptSyn(env, repr, {
      ...this.options.tuning,
      mss: this.#mss(route),
      rng: host.rng,
    });
  }

  /**
   * A pended ALE_AUTH_RECV_ACCEPT (D19–D20): the connection's packets are held until the callout completes;
   * completion ends the pend without a classification — held packets are flushed and the pended flow ends;
   * the callout reinjects its clone of the SYN, which is classified as a new first packet [INF: that the
   * clone opens a new flow].
   */
  #holdAccept(tuple: string, flow: AleFlow, op: PendedOperation): void {
    this.host.shim.holdFlow(flow);
    this.#pendedAccepts.set(tuple, flow);
    const end = (): void => {
      if (this.#pendedAccepts.get(tuple) === flow) this.#pendedAccepts.delete(tuple);
      this.host.shim.closeFlow(flow);
    };
    op.whenCompleted(end);
    op.whenCancelled(end);
  }

  #sendReset(info: IpPacketInfo, repr: TcpRepr, payloadLength: number, flags: number, side?: string): void {
    const host = this.host;
    const route = host.ip.route(info.src, info.dst);
    if (route === undefined) return;
    const rst = resetFor(repr, payloadLength);
    const transport = buildTcp(info.dst, info.src, rst, new Uint8Array(0));
    const facts: ClassifyFacts = {
      ipVersion: info.version,
      direction: "outbound",
      protocol: IpProtocol.Tcp,
      localAddress: info.dst,
      remoteAddress: info.src,
      localPort: rst.srcPort,
      remotePort: rst.dstPort,
      iface: route.iface.facts,
      nextHopInterface: route.iface.facts,
      flags,
    };
    const peerSide = side === "client" ? "server" : side === "server" ? "client" : side;
    const sideOpt = peerSide !== undefined ? { side: peerSide } : {};
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: transport,
      ipOffset: -1,
      transportOffset: 0,
      payloadOffset: transport.length,
      end: transport.length,
      dataOffset: 0,
    };
    const v = host.shim.classifyAt("OUTBOUND_TRANSPORT", {
      facts,
      packet: "RST",
      layerData,
      metadata: { transportHeaderSize: 20, compartmentId: 1 },
      ...sideOpt,
    });
    if (!v.permit) return;
    this.counters.resetsSent++;
    host.ip.sendTransport({ route, dst: info.src, protocol: IpProtocol.Tcp, transport, label: "RST", ...sideOpt });
  }

  #streamPacket(
    s: TcpSocket,
    facts: ClassifyFacts,
    label: PacketLabel,
    layerData: PacketLayerData,
    meta: Record<string, unknown>,
    side?: string,
  ): void {
    const host = this.host;
    if (!host.shim.hasFilters("STREAM_PACKET", s.family)) return;
    host.shim.classifyAt("STREAM_PACKET", {
      facts: { ...facts, ipVersion: s.family },
      packet: label,
      layerData,
      metadata: { ...meta, transportEndpointHandle: s.endpointHandle },
      ...(s.flow !== undefined ? { flow: s.flow } : {}),
      ...(side !== undefined ? { side } : {}),
    });
  }

  // -------------------------------------------------------------------------------------------
  // The connection's environment: segments out and events
  // -------------------------------------------------------------------------------------------

  #environment(s: TcpSocket, localAddress: IpAddress, route: RouteResult, parent?: TcpSocket): TcpEnvironment {
    const host = this.host;
    const loop = route.loopback ? FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0;
    const outFacts = (repr: TcpRepr, payloadLength: number): ClassifyFacts =>
      packetFacts(
        {
          version: localAddress.version,
          src: localAddress,
          dst: s.remoteAddress as IpAddress,
          protocol: IpProtocol.Tcp,
          ttl: 128,
          offset: 0,
          ipHeaderLength: 0,
          length: 0,
          transport: {
            offset: 0,
            headerLength: 20,
            srcPort: repr.srcPort,
            dstPort: repr.dstPort,
            tcpFlags: repr.flags,
            payloadLength,
          },
        },
        "outbound",
        { iface: route.iface.facts, nextHopInterface: route.iface.facts, flags: loop },
      );
    const aleFactsOut = (): ClassifyFacts =>
      ({
        ...(s.flow?.facts ?? {}),
        direction: s.side === "client" ? "outbound" : "inbound",
      }) as ClassifyFacts;
    return {
      scheduler: host.scheduler,
      output: (seg: TcpOutSegment) => {
        const label = tcpSegmentLabel(seg.repr.flags, seg.payload.length);
        const transport = buildTcp(localAddress, s.remoteAddress as IpAddress, seg.repr, seg.payload);
        const facts = outFacts(seg.repr, seg.payload.length);
        const layerData: PacketLayerData = {
          kind: "packet",
          bytes: transport,
          ipOffset: -1,
          transportOffset: 0,
          payloadOffset: transport.length - seg.payload.length,
          end: transport.length,
          dataOffset: 0,
        };
        const meta = {
          transportHeaderSize: transport.length - seg.payload.length,
          compartmentId: 1,
          transportEndpointHandle: s.endpointHandle,
          packetDirection: 0,
        };
        const flow = s.flow;
        if (flow !== undefined && host.shim.reauthorizationDue(flow)) {
          const v = host.shim.reauthorize(flow, {
            facts: { ...aleFactsOut(), direction: "outbound" },
            packet: label,
            layerData,
            metadata: { ...meta, ...this.#identity(s) },
            side: s.side,
          });
          if (!v.permit) {
            this.#teardown(s, "aborted");
            return;
          }
        }
        this.#streamPacket(s, facts, label, layerData, meta, s.side);
        const v = host.shim.classifyAt("OUTBOUND_TRANSPORT", {
          facts,
          packet: label,
          layerData,
          metadata: meta,
          ...(flow !== undefined ? { flow } : {}),
          side: s.side,
        });
        if (!v.permit) {
          this.counters.blockedOut++;
          return;
        }
        this.counters.segmentsOut++;
        host.ip.sendTransport({
          route,
          dst: s.remoteAddress as IpAddress,
          protocol: IpProtocol.Tcp,
          transport,
          label,
          ...(flow !== undefined ? { flow } : {}),
          side: s.side,
        });
      },
      onEstablished: () => {
        const flow = s.flow;
        const direction = s.side === "client" ? "outbound" : "inbound";
        if (flow !== undefined) {
          const established = host.shim.classifyAt("ALE_FLOW_ESTABLISHED", {
            facts: { ...flow.facts, direction },
            packet: "ACK",
            metadata: { ...this.#identity(s), flowHandle: flow.flowHandle },
            flow,
            side: s.side,
          });
          if (!established.permit) {
            // A block at FLOW_ESTABLISHED (not recommended, W-ALE, but what simple blocking callouts do)
            // ends the connection: the stack resets it and the app's connect or accept fails [INF].
            s.outcome = "blocked";
            s.error = "WSAECONNABORTED";
            if (direction === "outbound") this.counters.blockedOut++;
            else this.counters.blockedIn++;
            s.connection?.abort();
            return;
          }
        }
        if (parent?.listener !== undefined) {
          // The accept queue is full: the connection is refused (RST).
          if (!parent.listener.established()) {
            s.connection?.abort();
            return;
          }
          // The host hands the connection to the app at once (accept()).
          parent.listener.dequeued();
          s.outcome = "connected";
          parent.accepted.push(s);
          parent.onAccept?.(s);
        } else {
          s.outcome = "connected";
          s.onConnect?.();
        }
      },
      onData: (bytes: Uint8Array) => this.#receiveStream(s, bytes),
      onRemoteFin: () => this.#receiveStreamFin(s),
      onReset: () => {
        // RECEIVE_ABORT for an established connection's stream.
        if (s.outcome === "connected") this.#streamOf(s)?.receiveAbort();
        s.outcome = s.outcome === "connected" ? "reset" : "refused";
        s.error = s.outcome === "reset" ? "WSAECONNRESET" : "WSAECONNREFUSED";
      },
      onClosed: (reason: TcpCloseReason) => {
        if (reason === "timed-out" && s.outcome !== "connected") s.outcome = "timed-out";
        if (reason === "timed-out") s.error = "WSAETIMEDOUT";
        this.#connectionGone(s, reason, parent);
      },
      onWritable: () => this.#flushPending(s),
    };
  }

  /**
   * The connection's stream classifier, made with its first STREAM indication: inbound between TCP's
   * in-order delivery and the application, outbound between the application and TCP's send buffer (§E).
   */
  #streamOf(s: TcpSocket): StreamFlow | undefined {
    if (s.stream !== undefined || s.flow === undefined) return s.stream;
    s.stream = this.host.shim.fwps.stream.open(this.#streamEndpoint(s, s.flow), s.family);
    return s.stream;
  }

  #streamEndpoint(s: TcpSocket, flow: AleFlow): StreamEndpoint {
    return {
      flow,
      get side() {
        return s.side;
      },
      facts: (direction) => this.#streamFacts(s, direction),
      deliver: (bytes) => this.#deliver(s, bytes),
      deliverFin: () => {
        s.remoteClosed = true;
        s.onEnd?.();
      },
      transmit: (bytes) => {
        s.pending.push(bytes);
        this.#flushPending(s);
      },
      transmitFin: () => {
        s.finReleased = true;
        this.#flushPending(s);
      },
      consume: (n) => s.connection?.consume(n),
      dropConnection: () => {
        // DROP_CONNECTION (E9): the connection is reset.
        s.outcome = "aborted";
        s.error = "WSAECONNABORTED";
        s.connection?.abort();
      },
    };
  }

  /** STREAM inbound (E1): TCP's in-order bytes go through the stream layer to the app. */
  #receiveStream(s: TcpSocket, bytes: Uint8Array): void {
    const stream = this.#streamOf(s);
    if (stream !== undefined) {
      stream.receive(bytes);
      return;
    }
    s.connection?.consume(bytes.length);
    this.#deliver(s, bytes);
  }

  /** The peer's FIN: a zero-length indication with RECEIVE_DISCONNECT, after every byte before it. */
  #receiveStreamFin(s: TcpSocket): void {
    const stream = this.#streamOf(s);
    if (stream !== undefined) {
      stream.receiveFin();
      return;
    }
    s.remoteClosed = true;
    s.onEnd?.();
  }

  #deliver(s: TcpSocket, bytes: Uint8Array): void {
    s.bytesReceived += bytes.length;
    if (s.onData !== undefined) s.onData(bytes);
    else s.received.push(bytes);
  }

  #streamFacts(s: TcpSocket, direction: "inbound" | "outbound"): ClassifyFacts {
    const f = s.flow?.facts;
    return {
      ipVersion: s.family,
      direction,
      protocol: IpProtocol.Tcp,
      ...(f?.localAddress !== undefined ? { localAddress: f.localAddress } : {}),
      ...(f?.remoteAddress !== undefined ? { remoteAddress: f.remoteAddress } : {}),
      ...(f?.localPort !== undefined ? { localPort: f.localPort } : {}),
      ...(f?.remotePort !== undefined ? { remotePort: f.remotePort } : {}),
      flags: (f?.flags ?? 0) & FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK,
    };
  }

  send(s: TcpSocket, data: Uint8Array): number {
    const conn = s.connection;
    if (conn === undefined || s.closed || s.shutdownRequested) throw new SocketFailure("WSAENOTCONN", "not connected");
    if (data.length === 0) return 0;
    const stream = this.#streamOf(s);
    if (stream !== undefined) return stream.send(data);
    s.pending.push(data.slice());
    this.#flushPending(s);
    return data.length;
  }

  #flushPending(s: TcpSocket): void {
    const conn = s.connection;
    if (conn === undefined) return;
    while (s.pending.length > 0) {
      const head = s.pending[0] as Uint8Array;
      const n = conn.send(head);
      s.bytesSent += n;
      if (n < head.length) {
        s.pending[0] = head.subarray(n);
        return;
      }
      s.pending.shift();
    }
    if (s.finReleased) conn.shutdown();
  }

  /** Half-close: SEND_DISCONNECT through the stream layer; TCP's FIN follows when it comes out. */
  shutdown(s: TcpSocket): void {
    if (s.connection === undefined || s.shutdownRequested) return;
    s.shutdownRequested = true;
    const stream = this.#streamOf(s);
    if (stream !== undefined) {
      stream.sendFin();
      return;
    }
    s.finReleased = true;
    this.#flushPending(s);
  }

  close(s: TcpSocket): void {
    if (s.closed) return;
    if (s.listener !== undefined) {
      s.closed = true;
      this.#endpointClosed(s);
      for (const c of s.listener.pendingAccept?.() ?? []) void c;
      this.#release(s);
      return;
    }
    if (s.connection === undefined) {
      s.closed = true;
      this.#endpointClosed(s);
      this.#release(s);
      return;
    }
    this.shutdown(s);
    s.closed = true;
    this.#release(s);
  }

  abort(s: TcpSocket): void {
    if (s.connection === undefined) {
      this.close(s);
      return;
    }
    s.closed = true;
    // SEND_ABORT for an established connection's stream.
    if (s.outcome === "connected") this.#streamOf(s)?.sendAbort();
    s.connection?.abort();
  }

  /** Tears a connection down without a segment (a failed reauthorization, G10). */
  #teardown(s: TcpSocket, reason: TcpCloseReason): void {
    this.counters.reauthTeardowns++;
    s.outcome = "aborted";
    s.error = "WSAECONNABORTED";
    const conn = s.connection;
    if (conn !== undefined) conn.destroy();
    this.#connectionGone(s, reason);
  }

  #connectionGone(s: TcpSocket, reason: TcpCloseReason, parent?: TcpSocket): void {
    s.stream?.close();
    if (s.remoteAddress !== undefined && s.localAddress !== undefined) {
      const local = s.flow?.facts.localAddress ?? s.localAddress;
      const key = fourTuple(local, s.localPort, s.remoteAddress, s.remotePort);
      if (this.#connections.get(key) === s) this.#connections.delete(key);
    }
    if (parent?.listener !== undefined && s.outcome !== "connected") parent.listener.synFailed();
    this.#endpointClosed(s);
    s.onClose?.(reason);
    this.#release(s);
  }

  /**
   * Forgets a socket nothing needs to find any more: a closed one whose TCB is gone, or the server end of
   * a connection (created by a SYN, never bound by the app) whose TCB is gone. Otherwise every connection
   * a host ever had — each SYN of a flood that got a half-open slot — would stay in `sockets`.
   */
  #release(s: TcpSocket): void {
    if (s.listener === undefined && s.connection !== undefined && s.connection.state !== "CLOSED") return;
    const child = s.side === "server" && s.listener === undefined;
    if (!s.closed && !child) return;
    const i = this.sockets.indexOf(s);
    if (i >= 0) this.sockets.splice(i, 1);
    this.#byHandle.delete(s.endpointHandle);
  }

  /** ENDPOINT_CLOSURE once per connection and per listener; RESOURCE_RELEASE where a bind was indicated. */
  #endpointClosed(s: TcpSocket): void {
    if (s.endpointClosed) return;
    s.endpointClosed = true;
    if (s.connection === undefined && s.listener === undefined && s.flow === undefined) {
      // A socket that never connected or listened (a failed connect): its bind is released.
      releaseResource(this.host, s, s.side);
      return;
    }
    const remote = s.remoteAddress !== undefined ? { address: s.remoteAddress, port: s.remotePort } : undefined;
    aleCloseEndpoint(this.host, s, s.flow !== undefined ? [s.flow] : [], remote, s.side);
  }

  // -------------------------------------------------------------------------------------------
  // ICMP feedback
  // -------------------------------------------------------------------------------------------

  /** Does the packet an ICMP error quotes belong to one of this host's connections (by its 4-tuple)? */
  ownsEmbedded(e: EmbeddedFacts): boolean {
    return this.#byEmbedded(e) !== undefined;
  }

  #byEmbedded(e: EmbeddedFacts): TcpSocket | undefined {
    if (e.localPort === undefined || e.remotePort === undefined) return undefined;
    return this.#connections.get(fourTuple(e.localAddress, e.localPort, e.remoteAddress, e.remotePort));
  }

  /** ICMP unreachable about one of our segments: a soft error (RFC 1122 §4.2.3.9), kept for the app. */
  icmpUnreachable(e: EmbeddedFacts): void {
    const s = this.#byEmbedded(e);
    if (s !== undefined && s.outcome === undefined) s.error = "WSAEHOSTUNREACH";
  }

  /** The path MTU to a peer dropped: segments are made smaller (RFC 1191 / RFC 8201). */
  pathMtuChanged(e: EmbeddedFacts, mtu: number): void {
    const s = this.#byEmbedded(e);
    if (s?.connection === undefined) return;
    s.connection.setMss(mtu - (e.remoteAddress.version === 4 ? 40 : 60));
  }

  reportFragmentationNeeded(info: IpPacketInfo, mtu: number): void {
    if (info.transport?.srcPort === undefined || info.transport.dstPort === undefined) return;
    const s = this.#connections.get(fourTuple(info.src, info.transport.srcPort, info.dst, info.transport.dstPort));
    s?.connection?.setMss(mtu - (info.version === 4 ? 40 : 60));
  }

  reportUnreachable(info: IpPacketInfo): void {
    if (
      info.protocol !== IpProtocol.Tcp ||
      info.transport?.srcPort === undefined ||
      info.transport.dstPort === undefined
    )
      return;
    const s = this.#connections.get(fourTuple(info.src, info.transport.srcPort, info.dst, info.transport.dstPort));
    if (s !== undefined && s.outcome === undefined) s.error = "WSAEHOSTUNREACH";
  }
}
