/**
 * UDP (RFC 768) with WFP's classify points (flows.json udp-*):
 * - bind: ALE_BIND_REDIRECT, ALE_RESOURCE_ASSIGNMENT (explicit, or implicit on the first sendto);
 * - first datagram to a new remote (address, port): ALE_CONNECT_REDIRECT, ALE_AUTH_CONNECT,
 *   ALE_FLOW_ESTABLISHED, DATAGRAM_DATA, OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET; later ones skip ALE (F3);
 * - first datagram from a new remote: INBOUND_IPPACKET, INBOUND_TRANSPORT, ALE_AUTH_RECV_ACCEPT,
 *   ALE_FLOW_ESTABLISHED, DATAGRAM_DATA; a datagram to a closed port is discarded at
 *   INBOUND_IPPACKET_DISCARD (IpDiscardPortUnreachable) and answered with ICMP port unreachable unless a
 *   filter blocks there (stealth, F6);
 * - close: ALE_ENDPOINT_CLOSURE (once per socket), flowDeleteFn for its flows, ALE_RESOURCE_RELEASE (F13).
 * A flow is (local socket, remote address, remote port) (G4); it is reauthorized when its layer's policy
 * changed (G7–G12).
 * Callout services: a connect redirect (D24) sends a flow's datagrams elsewhere, and datagrams from there
 * come back as from the app's destination [INF]; a pended ALE_AUTH_CONNECT or ALE_AUTH_RECV_ACCEPT
 * (D19–D20) holds the flow — its datagrams meanwhile are flushed — and its completion creates only state.
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
  FWPS_DISCARD_MODULE,
  INET_DISCARD_REASON,
  IP_DISCARD_REASON,
  type InjectionTag,
  type IpPacketInfo,
  type PacketLabel,
  type PacketLayerData,
  type SocketAddress,
} from "../shim/index.ts";
import { IpProtocol, verifyUdpChecksum } from "../wire/index.ts";
import { buildUdp, pseudo } from "./build.ts";
import type { Host } from "./host.ts";
import { unmapped } from "./host.ts";
import type { NetInterface } from "./nic.ts";
import { packetFacts } from "./packet-facts.ts";
import type { Process } from "./process.ts";
import { anyAddress, asSocketAddress, type SocketBase, SocketFailure, sharePortSpace, socketFacts } from "./sockets.ts";
import { aleBind, aleCloseEndpoint } from "./ale.ts";
import { attempt, type Done, pendableClassify, pendableOperation, socketCall } from "./ale-pend.ts";
import type { RouteResult } from "./ip-layer.ts";

const FLAG = FWP_CONDITION_FLAG;

/** "address:port" ("[v6]:port"), the text of ORIGINAL_DESTINATION metadata. */
function endpointText(a: SocketAddress): string {
  return a.address.version === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** A datagram on its way out: where to, its bytes and layer data, the ALE facts of its flow. */
interface OutboundDatagram {
  readonly dst: IpAddress;
  readonly port: number;
  readonly route: RouteResult;
  readonly loop: number;
  readonly transport: Uint8Array;
  readonly layerData: PacketLayerData;
  readonly aleFacts: ClassifyFacts;
}

function remoteKey(address: IpAddress, port: number): string {
  return `${unmapped(address).toString()}|${port}`;
}

/** A received datagram. */
export interface UdpMessage {
  readonly data: Uint8Array;
  readonly remoteAddress: IpAddress;
  readonly remotePort: number;
}

export interface UdpSocketCounters {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
  /** Datagrams this socket sent that a filter blocked. */
  blocked: number;
  /** ICMP errors reported for this socket's traffic. */
  errors: number;
  /** Received datagrams dropped because the receive queue was full. */
  queueDrops: number;
  /** Datagrams of a flow whose ALE authorization was pended: held, then flushed (D20). */
  pendFlushed: number;
}

export class UdpSocket implements SocketBase {
  readonly protocol = IpProtocol.Udp;
  readonly endpointHandle: bigint;
  localAddress: IpAddress | undefined;
  localPort = 0;
  bound = false;
  closed = false;
  /** FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits (see SocketBase); set before bind or listen. */
  socketProperties = 0;
  readonly flows = new Map<string, AleFlow>();
  readonly counters: UdpSocketCounters = {
    sent: 0,
    received: 0,
    bytesSent: 0,
    bytesReceived: 0,
    blocked: 0,
    errors: 0,
    queueDrops: 0,
    pendFlushed: 0,
  };
  /** Connect redirects (D24): flow key → where the flow's datagrams go. */
  readonly redirects = new Map<string, SocketAddress>();
  /** Connect redirects: "address|port" a flow was redirected to → the app's destination. */
  readonly redirectedFrom = new Map<string, SocketAddress>();
  readonly queue: UdpMessage[] = [];
  /** Most datagrams kept unread (a full queue drops, counted). */
  queueLimit = 1024;
  onMessage: ((m: UdpMessage) => void) | undefined;
  onError: ((code: string) => void) | undefined;
  /** The last error reported (ICMP unreachable → WSAECONNRESET on Windows). */
  lastError: string | undefined;

  constructor(
    readonly layer: UdpLayer,
    readonly process: Process,
    readonly family: 4 | 6,
    readonly dualMode: boolean,
  ) {
    this.endpointHandle = layer.host.newEndpointHandle();
  }

  /** bind(): explicit bind to `address` (default any) and `port` (0 = ephemeral). */
  bind(address?: IpAddress, port = 0): void {
    this.layer.bind(this, address ?? anyAddress(this.family), port, false);
  }

  /** sendto(). Throws SocketFailure when the bind or the ALE authorization fails. */
  sendTo(data: Uint8Array, remoteAddress: IpAddress, remotePort: number): void {
    this.layer.sendTo(this, data, remoteAddress, remotePort);
  }

  close(): void {
    this.layer.close(this);
  }
}

export class UdpLayer {
  /** The open sockets (closesocket() removes one). */
  readonly sockets: UdpSocket[] = [];
  readonly #byHandle = new Map<bigint, UdpSocket>();
  readonly counters = { received: 0, noPort: 0, blockedIn: 0, blockedOut: 0, checksumErrors: 0 };

  constructor(readonly host: Host) {}

  socket(process: Process, family: 4 | 6 = 4, dualMode = false): UdpSocket {
    const s = new UdpSocket(this, process, family, dualMode);
    this.sockets.push(s);
    this.#byHandle.set(s.endpointHandle, s);
    return s;
  }

  /** The open socket whose TRANSPORT_ENDPOINT_HANDLE is `handle`. */
  endpoint(handle: bigint): UdpSocket | undefined {
    return this.#byHandle.get(handle);
  }

  /** A port `s` cannot take: an open socket of an overlapping port space holds it. */
  #portInUse(s: UdpSocket, port: number): boolean {
    return this.sockets.some((o) => o !== s && o.bound && !o.closed && o.localPort === port && sharePortSpace(o, s));
  }

  /** bind(): finishes at once, or — a callout pended it (D19, D21) — later, holding the socket's next calls. */
  bind(s: UdpSocket, address: IpAddress, port: number, implicit: boolean): void {
    socketCall(
      s,
      (done) => this.#bindStep(s, address, port, implicit, done),
      (f) => {
        s.lastError = f.code;
      },
    );
  }

  #bindStep(s: UdpSocket, address: IpAddress, port: number, implicit: boolean, done: Done): void {
    if (s.closed) throw new SocketFailure("WSAEINVAL", "socket closed");
    if (s.bound) throw new SocketFailure("WSAEINVAL", "already bound");
    aleBind(this.host, s, address, port, implicit, (p) => this.#portInUse(s, p), done);
  }

  /** FwpsFlowAbort0 on one of this layer's flows: the socket forgets it (its next datagram opens a new one). */
  abortFlow(flow: AleFlow): boolean {
    for (const s of this.sockets) {
      for (const [key, f] of s.flows) {
        if (f !== flow) continue;
        s.flows.delete(key);
        return true;
      }
    }
    return false;
  }

  /** The socket a datagram to (dst, port) goes to: exact address first, then the wildcard. */
  lookup(dst: IpAddress, port: number): UdpSocket | undefined {
    let wildcard: UdpSocket | undefined;
    for (const s of this.sockets) {
      if (!s.bound || s.closed || s.localPort !== port) continue;
      const fits = s.family === dst.version || (s.family === 6 && s.dualMode && dst.version === 4);
      if (!fits) continue;
      const a = s.localAddress;
      if (a === undefined || a.isUnspecified()) wildcard ??= s;
      else if (unmapped(a).equals(dst)) return s;
    }
    return wildcard;
  }

  #flowKey(s: UdpSocket, remote: IpAddress, port: number): string {
    return `udp|${this.host.name}|${s.endpointHandle}|${unmapped(remote).toString()}|${port}`;
  }

  /**
   * sendto(). `injection`: the tag of a transport-send injected datagram (D31: ALE if needed, then the send
   * path). A pended implicit bind or CONNECT_REDIRECT holds the call; a pended AUTH_CONNECT does not — the
   * datagram is flushed with the pend (D20).
   */
  sendTo(s: UdpSocket, data: Uint8Array, remote: IpAddress, remotePort: number, injection?: InjectionTag): void {
    if (s.closed) throw new SocketFailure("WSAEINVAL", "socket closed");
    const dst = unmapped(remote);
    if (s.family === 4 && dst.version === 6) throw new SocketFailure("WSAEINVAL", "IPv6 destination on an IPv4 socket");
    if (s.family === 6 && dst.version === 4 && !s.dualMode)
      throw new SocketFailure("WSAEINVAL", "IPv4 destination on an IPv6-only socket");
    socketCall(
      s,
      (done) => {
        const go = (): void => attempt(done, () => this.#send(s, data, dst, remotePort, injection, done));
        if (!s.bound) this.#bindStep(s, anyAddress(s.family), 0, true, (f) => (f !== undefined ? done(f) : go()));
        else go();
      },
      (f) => {
        s.lastError = f.code;
      },
    );
  }

  #meta(s: UdpSocket) {
    return {
      transportEndpointHandle: s.endpointHandle,
      processId: s.process.processId,
      processPath: s.process.facts.appId,
      token: s.process.facts.token,
      transportHeaderSize: 8,
      compartmentId: 1,
      packetDirection: 0,
    };
  }

  #route(s: UdpSocket, dst: IpAddress): RouteResult {
    const bound = s.localAddress === undefined || s.localAddress.isUnspecified() ? undefined : unmapped(s.localAddress);
    const route = this.host.ip.route(dst, bound);
    if (route === undefined) throw new SocketFailure("WSAENETUNREACH", `no route to ${dst}`);
    return route;
  }

  /** The datagram to `to` by `route`: its bytes, layer data and ALE facts. */
  #datagram(
    s: UdpSocket,
    route: RouteResult,
    to: SocketAddress,
    data: Uint8Array,
    extraFlags: number,
    injection?: InjectionTag,
  ): OutboundDatagram {
    const dst = unmapped(to.address);
    const loop = route.loopback ? FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0;
    const transport = buildUdp(route.src, dst, s.localPort, to.port, data);
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: transport,
      ipOffset: -1,
      transportOffset: 0,
      payloadOffset: 8,
      end: transport.length,
      dataOffset: 0,
      ...(injection !== undefined ? { injection } : {}),
    };
    const aleFacts: ClassifyFacts = {
      ...socketFacts(s, {
        localAddress: route.src,
        remoteAddress: dst,
        remotePort: to.port,
        direction: "outbound",
        iface: route.iface.facts,
        flags: loop | extraFlags,
      }),
      nextHopInterface: route.iface.facts,
    };
    return { dst, port: to.port, route, loop, transport, layerData, aleFacts };
  }

  #send(
    s: UdpSocket,
    data: Uint8Array,
    dst: IpAddress,
    remotePort: number,
    injection: InjectionTag | undefined,
    done: Done,
  ): void {
    const host = this.host;
    const key = this.#flowKey(s, dst, remotePort);
    const flow = host.shim.flows.touch(key, host.scheduler.nowNs());
    if (flow?.state === "pending") {
      // The flow's authorization is pended: the datagram is held, then flushed (D20).
      s.counters.pendFlushed++;
      done();
      return;
    }
    const meta = this.#meta(s);
    if (flow !== undefined) {
      const to = s.redirects.get(key) ?? { address: dst, port: remotePort };
      const d = this.#datagram(s, this.#route(s, unmapped(to.address)), to, data, 0, injection);
      if (host.shim.reauthorizationDue(flow)) {
        const v = host.shim.reauthorize(flow, {
          facts: d.aleFacts,
          packet: "datagram",
          metadata: meta,
          layerData: d.layerData,
        });
        if (!v.permit) {
          s.flows.delete(key);
          s.counters.blocked++;
          throw new SocketFailure("WSAEACCES", "reauthorization blocked the flow");
        }
      }
      this.#transmit(s, d, data, flow, "datagram", injection);
      done();
      return;
    }
    // The first datagram to this remote (F.2 item 11): CONNECT_REDIRECT may send the flow elsewhere (D24).
    const route = this.#route(s, dst);
    const request: ConnectRequest = {
      kind: "connect-request",
      localAddressAndPort: { address: route.src, port: s.localPort },
      remoteAddressAndPort: { address: dst, port: remotePort },
      portReservationToken: 0n,
      localRedirectTargetPID: 0,
      previousVersion: null,
      modifierFilterId: 0n,
      localRedirectHandle: undefined,
      localRedirectContext: undefined,
    };
    // CONNECT_REDIRECT runs before the route is final: no IS_LOOPBACK there (flows.json tcp-loopback-connect).
    const redirectFacts = socketFacts(s, {
      localAddress: route.src,
      remoteAddress: dst,
      remotePort,
      iface: route.iface.facts,
    });
    pendableClassify(
      (classifyContext, layerData: ConnectRequest) =>
        host.shim.classifyAt("ALE_CONNECT_REDIRECT", {
          facts: redirectFacts,
          packet: "none",
          logDirection: "none",
          metadata: meta,
          layerData,
          classifyContext,
        }),
      request,
      (final) =>
        attempt(done, () =>
          this.#firstDatagram(s, data, key, { address: dst, port: remotePort }, final, injection, done),
        ),
    );
  }

  /**
   * ALE_AUTH_CONNECT of a new flow, to where CONNECT_REDIRECT left it (D30: a redirected one carries
   * IS_CONNECTION_REDIRECTED and ORIGINAL_DESTINATION), then FLOW_ESTABLISHED and the datagram. A pended
   * authorization holds the flow; its completion classifies again and creates only state (D20).
   */
  #firstDatagram(
    s: UdpSocket,
    data: Uint8Array,
    key: string,
    original: SocketAddress,
    final: ConnectRequest,
    injection: InjectionTag | undefined,
    done: Done,
  ): void {
    const host = this.host;
    if (s.closed) {
      done();
      return;
    }
    const to = { address: unmapped(final.remoteAddressAndPort.address), port: final.remoteAddressAndPort.port };
    const redirected = !to.address.equals(original.address) || to.port !== original.port;
    const d = this.#datagram(
      s,
      this.#route(s, to.address),
      to,
      data,
      redirected ? FLAG.FWP_CONDITION_FLAG_IS_CONNECTION_REDIRECTED : 0,
      injection,
    );
    const meta = {
      ...this.#meta(s),
      ...(redirected ? { originalDestination: endpointText(original) } : {}),
      ...(redirected && final.localRedirectTargetPID !== 0
        ? { localRedirectTargetPID: final.localRedirectTargetPID }
        : {}),
    };
    const remember = (flow: AleFlow): void => {
      s.flows.set(key, flow);
      if (!redirected) return;
      s.redirects.set(key, to);
      s.redirectedFrom.set(remoteKey(to.address, to.port), original);
    };
    const flow = host.shim.beginFlow(
      key,
      host.shim.authLayer("auth-connect", d.aleFacts.ipVersion),
      d.aleFacts,
      "outbound",
      IpProtocol.Udp,
    );
    pendableOperation(
      (completionHandle) =>
        host.shim.classifyAt("ALE_AUTH_CONNECT", {
          facts: d.aleFacts,
          packet: "first-datagram",
          metadata: { ...meta, completionHandle },
          layerData: d.layerData,
          flow,
        }),
      (completionHandle) =>
        host.shim.reauthorize(
          flow,
          { facts: d.aleFacts, packet: "none", metadata: { ...meta, completionHandle } },
          FWP_CONDITION_REAUTHORIZE_REASON.FWP_CONDITION_REAUTHORIZE_REASON_CLASSIFY_COMPLETION,
        ),
      (v, late) => {
        if (v === undefined || s.closed || !v.permit) {
          host.shim.closeFlow(flow);
          if (s.flows.get(key) === flow) s.flows.delete(key);
          if (v === undefined || s.closed) {
            done();
            return;
          }
          s.counters.blocked++;
          this.counters.blockedOut++;
          if (late) s.lastError = "WSAEACCES";
          done(new SocketFailure("WSAEACCES", `ALE_AUTH_CONNECT blocked the datagram to ${d.dst}:${d.port}`));
          return;
        }
        host.shim.admitFlow(flow);
        remember(flow);
        if (late) {
          // D20: completion creates only state; the datagram pended with the operation was flushed.
          host.shim.classifyAt("ALE_FLOW_ESTABLISHED", { facts: d.aleFacts, packet: "none", metadata: meta, flow });
          return;
        }
        const established = host.shim.classifyAt("ALE_FLOW_ESTABLISHED", {
          facts: d.aleFacts,
          packet: "first-datagram",
          metadata: meta,
          flow,
          layerData: d.layerData,
        });
        if (!established.permit) {
          // A block at FLOW_ESTABLISHED drops the datagram and the flow [INF] (W-ALE advises against it).
          this.#dropBlockedFlow(s, key, flow);
          s.counters.blocked++;
          this.counters.blockedOut++;
          done();
          return;
        }
        this.#transmit(s, d, data, flow, "first-datagram", injection);
        done();
      },
      () => {
        host.shim.holdFlow(flow);
        remember(flow);
        s.counters.pendFlushed++;
        done();
      },
      () => !s.closed,
    );
  }

  #dropBlockedFlow(s: UdpSocket, key: string, flow: AleFlow): void {
    if (s.flows.get(key) === flow) s.flows.delete(key);
    this.host.shim.closeFlow(flow);
  }

  /** DATAGRAM_DATA, OUTBOUND_TRANSPORT, then the network (F.2 items 11, 13). */
  #transmit(
    s: UdpSocket,
    d: OutboundDatagram,
    data: Uint8Array,
    flow: AleFlow,
    label: PacketLabel,
    injection: InjectionTag | undefined,
  ): void {
    const host = this.host;
    const { route, dst, transport, layerData } = d;
    const meta = this.#meta(s);
    const facts: ClassifyFacts = {
      ...packetFacts(
        {
          version: route.src.version,
          src: route.src,
          dst,
          protocol: IpProtocol.Udp,
          ttl: 128,
          offset: 0,
          ipHeaderLength: 0,
          length: 0,
          transport: {
            offset: 0,
            headerLength: 8,
            srcPort: s.localPort,
            dstPort: d.port,
            payloadLength: data.length,
          },
        },
        "outbound",
        { iface: route.iface.facts, nextHopInterface: route.iface.facts, flags: d.loop },
      ),
    };
    const dd = host.shim.classifyAt("DATAGRAM_DATA", { facts, packet: label, metadata: meta, flow, layerData });
    if (!dd.permit) {
      s.counters.blocked++;
      return;
    }
    const ot = host.shim.classifyAt("OUTBOUND_TRANSPORT", { facts, packet: label, metadata: meta, flow, layerData });
    if (!ot.permit) {
      s.counters.blocked++;
      return;
    }
    s.counters.sent++;
    s.counters.bytesSent += data.length;
    host.ip.sendTransport({
      route,
      dst,
      protocol: IpProtocol.Udp,
      transport,
      label,
      flow,
      ...(injection !== undefined ? { injection } : {}),
    });
  }

  /** Whether an inbound datagram will open a new ALE flow (for its log label). */
  inboundLabel(info: IpPacketInfo): PacketLabel {
    const t = info.transport;
    if (t?.dstPort === undefined || t.srcPort === undefined) return "datagram";
    const s = this.lookup(info.dst, t.dstPort);
    if (s === undefined) return "datagram";
    const peer = s.redirectedFrom.get(remoteKey(info.src, t.srcPort)) ?? { address: info.src, port: t.srcPort };
    return this.host.shim.flows.peek(this.#flowKey(s, peer.address, peer.port)) === undefined
      ? "first-datagram"
      : "datagram";
  }

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
    if (t?.srcPort === undefined || t.dstPort === undefined) {
      host.ip.discard("MalformedHeader");
      return;
    }
    this.counters.received++;
    const payloadOffset = t.offset + 8;
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
    const facts = packetFacts(info, "inbound", { iface: iface.facts, arrivalInterface: iface.facts, flags });
    const meta = { ipHeaderSize: info.ipHeaderLength, transportHeaderSize: 8, compartmentId: 1, packetDirection: 1 };
    // RFC 768: the Length field covers header and data. More than the IP datagram holds is malformed;
    // less leaves padding after the datagram, which is not data.
    const end = t.offset + (((packet[t.offset + 4] as number) << 8) | (packet[t.offset + 5] as number));
    if (end > info.offset + info.length) {
      host.ip.discard("MalformedHeader");
      return;
    }
    // RFC 1122 §4.1.3.4 (a zero checksum over IPv4 means none was sent; over IPv6 it is invalid, RFC 8200 §8.1).
    if (verifyUdpChecksum(packet, t.offset, end, pseudo(info.src, info.dst)) === "bad") {
      this.counters.checksumErrors++;
      host.shim.discard(
        "INBOUND_TRANSPORT",
        { facts, packet: label, layerData, metadata: meta, ...(side !== undefined ? { side } : {}) },
        {
          discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_TRANSPORT,
          discardReason: INET_DISCARD_REASON.InetDiscardChecksumInvalid,
          filterId: 0n,
        },
      );
      return;
    }
    const s = this.lookup(info.dst, t.dstPort);
    if (s === undefined) {
      this.counters.noPort++;
      const r = host.shim.discard(
        "INBOUND_IPPACKET",
        { facts, packet: label, layerData, metadata: meta, ...(side !== undefined ? { side } : {}) },
        {
          discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_NETWORK,
          discardReason: IP_DISCARD_REASON.IpDiscardPortUnreachable,
          filterId: 0n,
        },
      );
      host.ip.discard("PortUnreachable");
      const castOrBroadcast =
        info.dst.isMulticast() ||
        (info.dst.version === 4 && (info.dst.value === 0xffffffff || iface.isDirectedBroadcast(info.dst)));
      if (r.action === "FWP_ACTION_PERMIT" && !castOrBroadcast)
        host.icmp.sendPortUnreachable(iface, packet, info, flags);
      return;
    }
    // A reply from where a connect redirect sent this socket's datagrams is the app's destination's (D24) [INF].
    const peer = s.redirectedFrom.get(remoteKey(info.src, t.srcPort)) ?? { address: info.src, port: t.srcPort };
    const key = this.#flowKey(s, peer.address, peer.port);
    let flow = host.shim.flows.touch(key, host.scheduler.nowNs());
    const sockMeta = {
      ...meta,
      transportEndpointHandle: s.endpointHandle,
      processId: s.process.processId,
      processPath: s.process.facts.appId,
      token: s.process.facts.token,
    };
    const tr = host.shim.classifyAt("INBOUND_TRANSPORT", {
      facts,
      packet: label,
      layerData,
      metadata: { ...sockMeta, aleClassifyRequired: flow === undefined },
      ...(flow !== undefined ? { flow } : {}),
      ...(side !== undefined ? { side } : {}),
    });
    if (!tr.permit) {
      this.counters.blockedIn++;
      return;
    }
    if (flow?.state === "pending") {
      // The flow's authorization is pended: the datagram is held, then flushed (D20).
      s.counters.pendFlushed++;
      return;
    }
    const aleFacts: ClassifyFacts = {
      ...socketFacts(s, {
        localAddress: info.dst,
        remoteAddress: info.src,
        remotePort: t.srcPort,
        direction: "inbound",
        iface: (host.interfaceOwning(info.dst) ?? iface).facts,
        flags,
      }),
      arrivalInterface: iface.facts,
    };
    if (flow === undefined) {
      // The flow exists during its authorization (FLOW_HANDLE, D14); a callout may pend it (D19–D20).
      const opening = host.shim.beginFlow(
        key,
        host.shim.authLayer("auth-recv-accept", aleFacts.ipVersion),
        aleFacts,
        "inbound",
        IpProtocol.Udp,
      );
      const completionHandle = new CompletionHandle();
      const auth = host.shim.classifyAt("ALE_AUTH_RECV_ACCEPT", {
        facts: aleFacts,
        packet: label,
        layerData,
        metadata: { ...sockMeta, completionHandle },
        flow: opening,
        ...(side !== undefined ? { side } : {}),
      });
      const pended = heldOperation(completionHandle, auth.permit);
      if (pended !== undefined) {
        // Completion creates no state here: the pend ends, held datagrams are flushed, and the callout
        // reinjects its clone, which opens the flow as a new first datagram (D20).
        host.shim.holdFlow(opening);
        s.flows.set(key, opening);
        s.counters.pendFlushed++;
        const end = (): void => {
          if (s.flows.get(key) === opening) s.flows.delete(key);
          host.shim.closeFlow(opening);
        };
        pended.whenCompleted(end);
        pended.whenCancelled(end);
        return;
      }
      if (!auth.permit) {
        host.shim.closeFlow(opening);
        this.counters.blockedIn++;
        return;
      }
      flow = opening;
      host.shim.admitFlow(flow);
      s.flows.set(key, flow);
      const established = host.shim.classifyAt("ALE_FLOW_ESTABLISHED", {
        facts: aleFacts,
        packet: label,
        layerData,
        metadata: sockMeta,
        flow,
        ...(side !== undefined ? { side } : {}),
      });
      if (!established.permit) {
        // A block at FLOW_ESTABLISHED drops the datagram and the flow [INF] (W-ALE advises against it).
        this.#dropBlockedFlow(s, key, flow);
        this.counters.blockedIn++;
        return;
      }
    } else if (host.shim.reauthorizationDue(flow)) {
      const v = host.shim.reauthorize(flow, { facts: aleFacts, packet: label, layerData, metadata: sockMeta });
      if (!v.permit) {
        s.flows.delete(key);
        this.counters.blockedIn++;
        return;
      }
    }
    const dd = host.shim.classifyAt("DATAGRAM_DATA", {
      facts,
      packet: label,
      layerData,
      metadata: sockMeta,
      flow,
      ...(side !== undefined ? { side } : {}),
    });
    if (!dd.permit) {
      this.counters.blockedIn++;
      return;
    }
    const data = packet.slice(payloadOffset, end);
    const m: UdpMessage = { data, remoteAddress: asSocketAddress(peer.address, s.family), remotePort: peer.port };
    s.counters.received++;
    s.counters.bytesReceived += data.length;
    if (s.onMessage !== undefined) s.onMessage(m);
    else if (s.queue.length < s.queueLimit) s.queue.push(m);
    else s.counters.queueDrops++;
  }

  close(s: UdpSocket): void {
    if (s.closed) return;
    s.closed = true;
    aleCloseEndpoint(this.host, s, [...s.flows.values()]);
    s.flows.clear();
    const i = this.sockets.indexOf(s);
    if (i >= 0) this.sockets.splice(i, 1);
    this.#byHandle.delete(s.endpointHandle);
  }

  /** An ICMP error (port/host unreachable) for a datagram a local socket sent. */
  reportError(localAddress: IpAddress, localPort: number, code: string): void {
    const s = this.lookup(localAddress, localPort);
    if (s === undefined) return;
    s.counters.errors++;
    s.lastError = code;
    s.onError?.(code);
  }

  reportUnreachable(info: IpPacketInfo): void {
    if (info.protocol !== IpProtocol.Udp || info.transport?.srcPort === undefined) return;
    this.reportError(info.src, info.transport.srcPort, "WSAEHOSTUNREACH");
  }
}
