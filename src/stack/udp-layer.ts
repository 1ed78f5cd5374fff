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
 */
import type { IpAddress } from "../base/index.ts";
import {
  type AleFlow,
  type ClassifyFacts,
  FWP_CONDITION_FLAG,
  FWPS_DISCARD_MODULE,
  IP_DISCARD_REASON,
  type IpPacketInfo,
  type PacketLabel,
  type PacketLayerData,
} from "../shim/index.ts";
import { IpProtocol } from "../wire/index.ts";
import { buildUdp } from "./build.ts";
import type { Host } from "./host.ts";
import { unmapped } from "./host.ts";
import type { NetInterface } from "./nic.ts";
import { packetFacts } from "./packet-facts.ts";
import type { Process } from "./process.ts";
import { anyAddress, asSocketAddress, type SocketBase, SocketFailure, socketFacts } from "./sockets.ts";
import { aleBind, aleCloseEndpoint } from "./ale.ts";

const FLAG = FWP_CONDITION_FLAG;

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
}

export class UdpSocket implements SocketBase {
  readonly protocol = IpProtocol.Udp;
  readonly endpointHandle: bigint;
  localAddress: IpAddress | undefined;
  localPort = 0;
  bound = false;
  closed = false;
  readonly flows = new Map<string, AleFlow>();
  readonly counters: UdpSocketCounters = {
    sent: 0,
    received: 0,
    bytesSent: 0,
    bytesReceived: 0,
    blocked: 0,
    errors: 0,
    queueDrops: 0,
  };
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
  readonly sockets: UdpSocket[] = [];
  readonly counters = { received: 0, noPort: 0, blockedIn: 0, blockedOut: 0, checksumErrors: 0 };

  constructor(readonly host: Host) {}

  socket(process: Process, family: 4 | 6 = 4, dualMode = false): UdpSocket {
    const s = new UdpSocket(this, process, family, dualMode);
    this.sockets.push(s);
    return s;
  }

  #portInUse = (port: number): boolean => this.sockets.some((s) => s.bound && !s.closed && s.localPort === port);

  bind(s: UdpSocket, address: IpAddress, port: number, implicit: boolean): void {
    if (s.closed) throw new SocketFailure("WSAEINVAL", "socket closed");
    if (s.bound) throw new SocketFailure("WSAEINVAL", "already bound");
    aleBind(this.host, s, address, port, implicit, this.#portInUse);
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

  sendTo(s: UdpSocket, data: Uint8Array, remote: IpAddress, remotePort: number): void {
    const host = this.host;
    if (s.closed) throw new SocketFailure("WSAEINVAL", "socket closed");
    const dst = unmapped(remote);
    if (s.family === 4 && dst.version === 6) throw new SocketFailure("WSAEINVAL", "IPv6 destination on an IPv4 socket");
    if (s.family === 6 && dst.version === 4 && !s.dualMode)
      throw new SocketFailure("WSAEINVAL", "IPv4 destination on an IPv6-only socket");
    if (!s.bound) this.bind(s, anyAddress(s.family), 0, true);
    const bound = s.localAddress === undefined || s.localAddress.isUnspecified() ? undefined : unmapped(s.localAddress);
    const route = host.ip.route(dst, bound);
    if (route === undefined) throw new SocketFailure("WSAENETUNREACH", `no route to ${dst}`);
    const loop = route.loopback ? FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0;
    const key = this.#flowKey(s, dst, remotePort);
    const now = host.scheduler.nowNs();
    let flow = host.shim.flows.touch(key, now);
    const label: PacketLabel = flow === undefined ? "first-datagram" : "datagram";
    const transport = buildUdp(route.src, dst, s.localPort, remotePort, data);
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: transport,
      ipOffset: -1,
      transportOffset: 0,
      payloadOffset: 8,
      end: transport.length,
      dataOffset: 0,
    };
    const meta = {
      transportEndpointHandle: s.endpointHandle,
      processId: s.process.processId,
      processPath: s.process.facts.appId,
      token: s.process.facts.token,
      transportHeaderSize: 8,
      compartmentId: 1,
      packetDirection: 0,
    };
    const aleFacts: ClassifyFacts = {
      ...socketFacts(s, {
        localAddress: route.src,
        remoteAddress: dst,
        remotePort,
        direction: "outbound",
        iface: route.iface.facts,
        flags: loop,
      }),
      nextHopInterface: route.iface.facts,
    };
    if (flow === undefined) {
      // CONNECT_REDIRECT runs before the route is final: no IS_LOOPBACK there (flows.json tcp-loopback-connect).
      const { direction: _d, nextHopInterface: _n, ...redirectFacts } = aleFacts;
      host.shim.classifyAt("ALE_CONNECT_REDIRECT", {
        facts: { ...redirectFacts, flags: (aleFacts.flags ?? 0) & ~FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK },
        packet: "none",
        logDirection: "none",
        metadata: meta,
      });
      const auth = host.shim.classifyAt("ALE_AUTH_CONNECT", {
        facts: aleFacts,
        packet: label,
        metadata: meta,
        layerData,
      });
      if (!auth.permit) {
        s.counters.blocked++;
        this.counters.blockedOut++;
        throw new SocketFailure("WSAEACCES", `ALE_AUTH_CONNECT blocked the datagram to ${dst}:${remotePort}`);
      }
      flow = host.shim.createFlow(key, auth.layer, aleFacts, "outbound", IpProtocol.Udp);
      s.flows.set(key, flow);
      host.shim.classifyAt("ALE_FLOW_ESTABLISHED", { facts: aleFacts, packet: label, metadata: meta, flow, layerData });
    } else if (host.shim.reauthorizationDue(flow)) {
      const v = host.shim.reauthorize(flow, { facts: aleFacts, packet: label, metadata: meta, layerData });
      if (!v.permit) {
        s.flows.delete(key);
        s.counters.blocked++;
        throw new SocketFailure("WSAEACCES", "reauthorization blocked the flow");
      }
    }
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
            dstPort: remotePort,
            payloadLength: data.length,
          },
        },
        "outbound",
        { iface: route.iface.facts, nextHopInterface: route.iface.facts, flags: loop },
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
    host.ip.sendTransport({ route, dst, protocol: IpProtocol.Udp, transport, label, flow });
  }

  /** Whether an inbound datagram will open a new ALE flow (for its log label). */
  inboundLabel(info: IpPacketInfo): PacketLabel {
    const t = info.transport;
    if (t?.dstPort === undefined || t.srcPort === undefined) return "datagram";
    const s = this.lookup(info.dst, t.dstPort);
    if (s === undefined) return "datagram";
    return this.host.shim.flows.peek(this.#flowKey(s, info.src, t.srcPort)) === undefined
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
    };
    const s = this.lookup(info.dst, t.dstPort);
    const facts = packetFacts(info, "inbound", { iface: iface.facts, arrivalInterface: iface.facts, flags });
    const meta = { ipHeaderSize: info.ipHeaderLength, transportHeaderSize: 8, compartmentId: 1, packetDirection: 1 };
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
    const key = this.#flowKey(s, info.src, t.srcPort);
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
      const auth = host.shim.classifyAt("ALE_AUTH_RECV_ACCEPT", {
        facts: aleFacts,
        packet: label,
        layerData,
        metadata: sockMeta,
        ...(side !== undefined ? { side } : {}),
      });
      if (!auth.permit) {
        this.counters.blockedIn++;
        return;
      }
      flow = host.shim.createFlow(key, auth.layer, aleFacts, "inbound", IpProtocol.Udp);
      s.flows.set(key, flow);
      host.shim.classifyAt("ALE_FLOW_ESTABLISHED", {
        facts: aleFacts,
        packet: label,
        layerData,
        metadata: sockMeta,
        flow,
        ...(side !== undefined ? { side } : {}),
      });
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
    const data = packet.slice(payloadOffset, info.length);
    const m: UdpMessage = { data, remoteAddress: asSocketAddress(info.src, s.family), remotePort: t.srcPort };
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
