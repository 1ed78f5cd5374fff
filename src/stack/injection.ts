/**
 * Where injected packets re-enter a host's stack (wfp-semantics.md D31), behind StackHooks.checkInjection
 * and StackHooks.injectPacket (src/shim/services/injection.ts makes the calls):
 * - network send: an IP packet, routed from its own addresses, re-indicated at OUTBOUND_IPPACKET only,
 *   then the wire (or the loopback);
 * - network receive and transport receive: an IP packet at the bottom of the receive path of the given
 *   interface: INBOUND_IPPACKET, the transport, ALE_AUTH_RECV_ACCEPT if the flow is new, DATAGRAM_DATA /
 *   the TCP machine (transport receive differs only in skipping IPsec checks, which the model has not);
 *   a non-local destination goes to the forwarding layer when the interface forwards (F10);
 * - forward: an IP packet out of the given interface by the forwarding path, indicated at no layer;
 * - transport send: a segment (transport header onward) at the top of a live endpoint's send path: for
 *   UDP the socket's own send path (ALE_AUTH_CONNECT and FLOW_ESTABLISHED when the remote is new,
 *   DATAGRAM_DATA, OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET); for TCP OUTBOUND_TRANSPORT then
 *   OUTBOUND_IPPACKET; for a ping socket DATAGRAM_DATA, OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET.
 * Every indication carries the request's injection tag. A dead endpoint (D36: closed socket, or a TCP
 * connection whose ENDPOINT_CLOSURE was indicated) refuses the call, and fails the completion when it dies
 * in between (STATUS_INVALID_PARAMETER, [INF]); a packet that cannot be routed completes with
 * STATUS_UNSUCCESSFUL. A filter's BLOCK of an injected packet is an ordinary classification, and the
 * injection itself completes with STATUS_SUCCESS [INF].
 */
import type { IpAddress } from "../base/index.ts";
import {
  FWP_CONDITION_FLAG,
  type InjectionRequest,
  type InjectionTag,
  type IpPacketInfo,
  type NtStatus,
  type PacketLayerData,
  parseIpPacket,
} from "../shim/index.ts";
import { IpProtocol, TcpView, UdpView } from "../wire/index.ts";
import type { Host } from "./host.ts";
import { unmapped } from "./host.ts";
import type { PingSocket } from "./icmp-layer.ts";
import type { NetInterface } from "./nic.ts";
import { packetFacts, packetLabel } from "./packet-facts.ts";
import { SocketFailure } from "./sockets.ts";
import { TcpSocket } from "./tcp-layer.ts";
import { UdpSocket } from "./udp-layer.ts";

type Endpoint = TcpSocket | UdpSocket | PingSocket;

export class StackInjection {
  constructor(readonly host: Host) {}

  check(r: InjectionRequest): NtStatus {
    switch (r.kind) {
      case "network-send":
        return this.#ipPacket(r) === undefined ? "STATUS_INVALID_PARAMETER" : "STATUS_SUCCESS";
      case "network-receive":
      case "transport-receive":
        if (this.#interface(r.interfaceIndex) === undefined) return "STATUS_INVALID_PARAMETER";
        return this.#ipPacket(r) === undefined ? "STATUS_INVALID_PARAMETER" : "STATUS_SUCCESS";
      case "forward": {
        const out = this.#interface(r.interfaceIndex);
        if (out === undefined || out.kind === "loopback") return "STATUS_INVALID_PARAMETER";
        return this.#ipPacket(r) === undefined ? "STATUS_INVALID_PARAMETER" : "STATUS_SUCCESS";
      }
      case "transport-send":
        return this.#checkTransportSend(r);
    }
  }

  inject(r: InjectionRequest): NtStatus {
    const host = this.host;
    switch (r.kind) {
      case "network-send": {
        const info = this.#ipPacket(r);
        if (info === undefined) return "STATUS_INVALID_PARAMETER";
        const route = host.ip.route(info.dst, host.interfaceOwning(info.src) !== undefined ? info.src : undefined);
        if (route === undefined) {
          host.ip.discard("NoRoute");
          return "STATUS_UNSUCCESSFUL";
        }
        host.ip.sendPacket(r.packet, route, packetLabel(info), undefined, undefined, r.tag);
        return "STATUS_SUCCESS";
      }
      case "network-receive":
      case "transport-receive": {
        const iface = this.#interface(r.interfaceIndex);
        if (iface === undefined || this.#ipPacket(r) === undefined) return "STATUS_INVALID_PARAMETER";
        host.ip.receive(iface, r.packet, iface === host.loopback, undefined, r.tag);
        return "STATUS_SUCCESS";
      }
      case "forward": {
        const out = this.#interface(r.interfaceIndex);
        const info = this.#ipPacket(r);
        if (out === undefined || info === undefined) return "STATUS_INVALID_PARAMETER";
        return host.forwarder.sendInjected(out, r.packet, info) ? "STATUS_SUCCESS" : "STATUS_UNSUCCESSFUL";
      }
      case "transport-send":
        return this.#transportSend(r);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Transport send
  // -------------------------------------------------------------------------------------------

  #checkTransportSend(r: InjectionRequest): NtStatus {
    const s = r.endpointHandle === undefined ? undefined : this.#endpoint(r.endpointHandle);
    if (s === undefined || !live(s)) return "STATUS_INVALID_PARAMETER";
    const remote = r.sendParams?.remoteAddress;
    if (remote === undefined) return "STATUS_INVALID_PARAMETER";
    // An IPv4 socket sends only IPv4; an IPv6 one IPv6, or IPv4 when dual-mode (F15).
    const v = unmapped(remote).version;
    if (v !== r.ipVersion || (s.family === 4 && v === 6) || (s.family === 6 && v === 4 && !s.dualMode))
      return "STATUS_INVALID_PARAMETER";
    const p = r.packet;
    if (s instanceof TcpSocket) return TcpView.check(p, 0, p.length).ok ? "STATUS_SUCCESS" : "STATUS_INVALID_PARAMETER";
    if (s instanceof UdpSocket) return UdpView.check(p, 0, p.length).ok ? "STATUS_SUCCESS" : "STATUS_INVALID_PARAMETER";
    return p.length >= 8 ? "STATUS_SUCCESS" : "STATUS_INVALID_PARAMETER";
  }

  #transportSend(r: InjectionRequest): NtStatus {
    const refused = this.#checkTransportSend(r);
    if (refused !== "STATUS_SUCCESS") return refused;
    const s = this.#endpoint(r.endpointHandle as bigint) as Endpoint;
    const remote = unmapped((r.sendParams as NonNullable<InjectionRequest["sendParams"]>).remoteAddress);
    if (s instanceof UdpSocket) return this.#udpSend(s, r.packet, remote, r.tag);
    return this.#segmentSend(s, r.packet, remote, r.tag);
  }

  /** UDP re-enters the socket's send path with the datagram's payload and destination port. */
  #udpSend(s: UdpSocket, datagram: Uint8Array, remote: IpAddress, tag: InjectionTag): NtStatus {
    const view = UdpView.check(datagram, 0, datagram.length);
    if (!view.ok) return "STATUS_INVALID_PARAMETER";
    const u = view.value;
    try {
      this.host.udp.sendTo(s, datagram.slice(u.payloadOffset, u.payloadEnd), remote, u.dstPort, tag);
    } catch (e) {
      if (!(e instanceof SocketFailure)) throw e;
      // An ALE block is a classification like any other; only an unroutable send fails the injection.
      return e.code === "WSAEACCES" ? "STATUS_SUCCESS" : "STATUS_UNSUCCESSFUL";
    }
    return "STATUS_SUCCESS";
  }

  /** A TCP segment or an ICMP message of a ping socket: (DATAGRAM_DATA,) OUTBOUND_TRANSPORT, then IP. */
  #segmentSend(s: TcpSocket | PingSocket, message: Uint8Array, remote: IpAddress, tag: InjectionTag): NtStatus {
    const host = this.host;
    const tcp = s instanceof TcpSocket;
    const boundLocal = tcp ? (s.flow?.facts.localAddress ?? s.localAddress) : undefined;
    const local = boundLocal === undefined || boundLocal.isUnspecified() ? undefined : unmapped(boundLocal);
    const route = host.ip.route(remote, local);
    if (route === undefined) {
      host.ip.discard("NoRoute");
      return "STATUS_UNSUCCESSFUL";
    }
    const protocol = tcp ? IpProtocol.Tcp : s.protocol;
    let headerLength = 8;
    let transport: NonNullable<IpPacketInfo["transport"]>;
    if (tcp) {
      const t = TcpView.check(message, 0, message.length);
      if (!t.ok) return "STATUS_INVALID_PARAMETER";
      headerLength = t.value.headerLength;
      transport = {
        offset: 0,
        headerLength,
        srcPort: t.value.srcPort,
        dstPort: t.value.dstPort,
        tcpFlags: t.value.flags,
        payloadLength: message.length - headerLength,
      };
    } else {
      transport = {
        offset: 0,
        headerLength: 8,
        icmpType: message[0] as number,
        icmpCode: message[1] as number,
        payloadLength: message.length - 8,
      };
    }
    const info: IpPacketInfo = {
      version: route.src.version,
      src: route.src,
      dst: remote,
      protocol,
      ttl: 128,
      offset: 0,
      ipHeaderLength: 0,
      length: 0,
      transport,
    };
    const flags = route.loopback ? FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0;
    const facts = packetFacts(info, "outbound", {
      iface: route.iface.facts,
      nextHopInterface: route.iface.facts,
      flags,
    });
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: message,
      ipOffset: -1,
      transportOffset: 0,
      payloadOffset: headerLength,
      end: message.length,
      dataOffset: 0,
      injection: tag,
    };
    const metadata = {
      transportHeaderSize: headerLength,
      compartmentId: 1,
      transportEndpointHandle: s.endpointHandle,
      packetDirection: 0,
    };
    const label = packetLabel(info);
    const flow = tcp ? s.flow : [...s.flows.values()].find((f) => f.facts.remoteAddress?.equals(remote) === true);
    const side = tcp ? { side: s.side } : {};
    const input = { facts, packet: label, layerData, metadata, ...(flow !== undefined ? { flow } : {}), ...side };
    if (!tcp && !host.shim.classifyAt("DATAGRAM_DATA", input).permit) return "STATUS_SUCCESS";
    if (!host.shim.classifyAt("OUTBOUND_TRANSPORT", input).permit) {
      if (tcp) host.tcp.counters.blockedOut++;
      return "STATUS_SUCCESS";
    }
    if (tcp) host.tcp.counters.segmentsOut++;
    host.ip.sendTransport({
      route,
      dst: remote,
      protocol,
      transport: message,
      label,
      ...(flow !== undefined ? { flow } : {}),
      ...side,
      injection: tag,
    });
    return "STATUS_SUCCESS";
  }

  // -------------------------------------------------------------------------------------------
  // Lookups
  // -------------------------------------------------------------------------------------------

  #ipPacket(r: InjectionRequest): IpPacketInfo | undefined {
    const parsed = parseIpPacket(r.packet);
    return parsed.ok && parsed.value.version === r.ipVersion ? parsed.value : undefined;
  }

  #interface(index: number | undefined): NetInterface | undefined {
    return index === undefined ? undefined : this.host.interfaceByIndex(index);
  }

  /** The socket whose TRANSPORT_ENDPOINT_HANDLE is `handle`, while its layer knows it. */
  #endpoint(handle: bigint): Endpoint | undefined {
    const h = this.host;
    return h.tcp.endpoint(handle) ?? h.udp.endpoint(handle) ?? h.icmp.endpoint(handle);
  }
}

/**
 * A transport endpoint still accepts injected sends (D36): a TCP connection from its ALE authorization (the
 * SYN is sent before connect() returns) until ENDPOINT_CLOSURE is indicated, TIME-WAIT included; a UDP or
 * ping socket until closesocket().
 */
function live(s: Endpoint): boolean {
  if (s instanceof TcpSocket) return s.flow !== undefined && !s.endpointClosed && s.connection?.state !== "CLOSED";
  return !s.closed;
}
