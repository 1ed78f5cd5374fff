/**
 * ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) with WFP's classify points:
 * - echo: a ping socket's first request with an identifier is authorized at ALE_AUTH_CONNECT (ICMP type
 *   and code in the port slots, F16) then ALE_FLOW_ESTABLISHED, DATAGRAM_DATA, OUTBOUND_TRANSPORT,
 *   OUTBOUND_IPPACKET; its replies come back on that flow (INBOUND_IPPACKET, INBOUND_TRANSPORT,
 *   DATAGRAM_DATA). A request to this host is authorized at ALE_AUTH_RECV_ACCEPT for the System process
 *   and answered by the stack (OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET) [flows.json icmp-echo-*, INF].
 * - errors: inbound ones are indicated at INBOUND_ICMP_ERROR with the quoted packet in the EMBEDDED_*
 *   fields and reported to the socket they concern; ones this host sends go through OUTBOUND_ICMP_ERROR,
 *   OUTBOUND_TRANSPORT and OUTBOUND_IPPACKET, and a block at OUTBOUND_ICMP_ERROR suppresses them (F6).
 *   Errors are never sent about ICMP errors, non-first fragments, or multicast/broadcast (RFC 1122
 *   §3.2.2, RFC 4443 §2.4), and are rate-limited (RFC 4443 §2.4 f) so floods cannot amplify.
 */
import type { IpAddress, Ipv6Address } from "../base/index.ts";
import {
  type AleFlow,
  type ClassifyFacts,
  FWP_CONDITION_REAUTHORIZE_REASON,
  type MetadataInput,
  type EmbeddedFacts,
  FWPS_DISCARD_MODULE,
  INET_DISCARD_REASON,
  IP_DISCARD_REASON,
  type InjectionTag,
  type IpPacketInfo,
  type PacketLabel,
  type PacketLayerData,
  parseIpPacket,
} from "../shim/index.ts";
import {
  type Icmpv4EmitRepr,
  type Icmpv6EmitRepr,
  IpProtocol,
  parseQuotedIpv4,
  parseQuotedIpv6,
  verifyIcmpv4Checksum,
  verifyIcmpv6Checksum,
} from "../wire/index.ts";
import { buildIcmpv4, buildIcmpv6 } from "./build.ts";
import type { Host } from "./host.ts";
import { unmapped } from "./host.ts";
import type { RouteResult } from "./ip-layer.ts";
import type { NetInterface } from "./nic.ts";
import { packetFacts } from "./packet-facts.ts";
import type { Process } from "./process.ts";
import { SocketFailure, socketFacts } from "./sockets.ts";
import { pendableOperation } from "./ale-pend.ts";

/** An echo reply a ping socket received. */
export interface EchoReply {
  readonly from: IpAddress;
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Uint8Array;
  /** Nanoseconds since the request was sent. */
  readonly rttNs: bigint | undefined;
}

/** A raw ICMP socket as IcmpSendEcho / ping use it. */
export class PingSocket {
  readonly protocol: number;
  readonly endpointHandle: bigint;
  localAddress: IpAddress | undefined;
  localPort = 0;
  bound = true;
  closed = false;
  /** FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits (see SocketBase); set before bind or listen. */
  socketProperties = 0;
  readonly dualMode = false;
  readonly flows = new Map<string, AleFlow>();
  readonly sent = new Map<number, bigint>();
  readonly replies: EchoReply[] = [];
  onReply: ((r: EchoReply) => void) | undefined;
  /** pendFlushed: requests flushed while the echo flow's authorization was pended (D20). */
  readonly counters = { sent: 0, replies: 0, blocked: 0, errors: 0, pendFlushed: 0 };
  /** WSAEACCES when a pended authorization was refused at its completion (no call was waiting to fail). */
  lastError: string | undefined;

  constructor(
    readonly layer: IcmpLayer,
    readonly process: Process,
    readonly family: 4 | 6,
  ) {
    this.protocol = family === 4 ? IpProtocol.Icmp : IpProtocol.Icmpv6;
    this.endpointHandle = layer.host.newEndpointHandle();
  }

  /** Sends one echo request. Throws SocketFailure when ALE_AUTH_CONNECT blocks it or there is no route. */
  ping(dst: IpAddress, identifier: number, sequence: number, data: Uint8Array = new Uint8Array(32)): void {
    this.layer.sendEcho(this, dst, identifier, sequence, data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.flows.values()) this.layer.host.shim.closeFlow(f);
    this.flows.clear();
    this.layer.forget(this);
  }
}

export interface IcmpCounters {
  echoRequestsIn: number;
  echoRepliesOut: number;
  errorsIn: number;
  errorsOut: number;
  /** Errors not sent because of the rate limit. */
  rateLimited: number;
  /** Errors suppressed by a filter (stealth). */
  suppressed: number;
  /** Inbound errors quoting a packet no local endpoint sent (ignored). */
  foreignQuotes: number;
  /** Inbound errors whose quoted packet could not be read. */
  badQuotes: number;
  /** Inbound messages whose checksum did not verify (dropped). */
  checksumErrors: number;
}

/** Path MTUs remembered at most (the oldest is forgotten first). */
const PATH_MTU_ENTRIES = 1024;

const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;

export class IcmpLayer {
  /** The open ping sockets (close() removes one). */
  readonly sockets: PingSocket[] = [];
  readonly #byHandle = new Map<bigint, PingSocket>();
  readonly counters: IcmpCounters = {
    echoRequestsIn: 0,
    echoRepliesOut: 0,
    errorsIn: 0,
    errorsOut: 0,
    rateLimited: 0,
    suppressed: 0,
    foreignQuotes: 0,
    badQuotes: 0,
    checksumErrors: 0,
  };
  /** Token bucket for outbound errors: `errorBurst` tokens, refilled at `errorsPerSecond`. */
  errorsPerSecond = 100;
  errorBurst = 100;
  #tokens = 100;
  #refilledAt = 0n;

  constructor(readonly host: Host) {}

  socket(process: Process, family: 4 | 6 = 4): PingSocket {
    const s = new PingSocket(this, process, family);
    this.sockets.push(s);
    this.#byHandle.set(s.endpointHandle, s);
    return s;
  }

  /** The open ping socket whose TRANSPORT_ENDPOINT_HANDLE is `handle`. */
  endpoint(handle: bigint): PingSocket | undefined {
    return this.#byHandle.get(handle);
  }

  /** A closed socket leaves the layer's lists. */
  forget(s: PingSocket): void {
    const i = this.sockets.indexOf(s);
    if (i >= 0) this.sockets.splice(i, 1);
    this.#byHandle.delete(s.endpointHandle);
  }

  #echoKey(remote: IpAddress, identifier: number): string {
    return `icmp|${this.host.name}|${unmapped(remote).toString()}|${identifier}`;
  }

  inboundLabel(info: IpPacketInfo): PacketLabel {
    const t = info.transport;
    if (t?.icmpType === undefined) return info.fragment !== undefined ? "fragment" : "datagram";
    if (t.icmpError === true) return "icmp-error";
    if (t.icmpType === ECHO_REQUEST[info.version]) return "echo-request";
    if (t.icmpType === ECHO_REPLY[info.version]) return "echo-reply";
    return "datagram";
  }

  // -------------------------------------------------------------------------------------------
  // Echo
  // -------------------------------------------------------------------------------------------

  sendEcho(s: PingSocket, dst: IpAddress, identifier: number, sequence: number, data: Uint8Array): void {
    const host = this.host;
    const route = host.ip.route(dst);
    if (route === undefined) throw new SocketFailure("WSAENETUNREACH", `no route to ${dst}`);
    const v = dst.version;
    const type = ECHO_REQUEST[v];
    const message =
      v === 4
        ? buildIcmpv4({
            kind: "echoRequest",
            type: 8,
            code: 0,
            checksum: 0,
            identifier,
            sequence,
            data,
          } as Icmpv4EmitRepr)
        : buildIcmpv6(
            route.src as Ipv6Address,
            dst as Ipv6Address,
            {
              kind: "echoRequest",
              type: 128,
              code: 0,
              checksum: 0,
              identifier,
              sequence,
              data,
            } as Icmpv6EmitRepr,
          );
    const key = this.#echoKey(dst, identifier);
    let flow = host.shim.flows.touch(key, host.scheduler.nowNs());
    const loop = route.loopback ? 1 : 0;
    const facts: ClassifyFacts = {
      ...socketFacts(s, {
        localAddress: route.src,
        remoteAddress: dst,
        remotePort: 0,
        direction: "outbound",
        iface: route.iface.facts,
        flags: loop,
      }),
      localPort: type,
      nextHopInterface: route.iface.facts,
      originalIcmpType: type,
    };
    const meta = {
      processId: s.process.processId,
      processPath: s.process.facts.appId,
      token: s.process.facts.token,
      transportEndpointHandle: s.endpointHandle,
      transportHeaderSize: 8,
      compartmentId: 1,
      icmpIdAndSequence: ((identifier << 16) | sequence) >>> 0,
      packetDirection: 0,
    };
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: message,
      ipOffset: -1,
      transportOffset: 0,
      payloadOffset: 8,
      end: message.length,
      dataOffset: 0,
    };
    if (flow?.state === "pending") {
      // The flow's authorization is pended (D19): what the socket sends meanwhile is flushed, as for UDP.
      s.counters.pendFlushed++;
      return;
    }
    if (flow === undefined) {
      flow = this.#authorizeEcho(s, key, facts, meta, layerData, dst);
      if (flow === undefined) return;
    } else if (host.shim.reauthorizationDue(flow)) {
      if (!host.shim.reauthorize(flow, { facts, packet: "echo-request", metadata: meta, layerData }).permit) {
        s.flows.delete(key);
        s.counters.blocked++;
        throw new SocketFailure("WSAEACCES", "reauthorization blocked the echo flow");
      }
    }
    const { process: _owner, ...tf } = facts;
    if (
      !host.shim.classifyAt("DATAGRAM_DATA", { facts: tf, packet: "echo-request", metadata: meta, flow, layerData })
        .permit
    ) {
      s.counters.blocked++;
      return;
    }
    if (
      !host.shim.classifyAt("OUTBOUND_TRANSPORT", {
        facts: tf,
        packet: "echo-request",
        metadata: meta,
        flow,
        layerData,
      }).permit
    ) {
      s.counters.blocked++;
      return;
    }
    s.counters.sent++;
    s.sent.set(sequence, host.scheduler.nowNs());
    host.ip.sendTransport({ route, dst, protocol: s.protocol, transport: message, label: "echo-request", flow });
  }

  /**
   * ALE_AUTH_CONNECT of a new echo flow, with its completion handle and flow (D19–D20, as a UDP socket's
   * first datagram): PERMIT gives the established flow (ALE_FLOW_ESTABLISHED classified), BLOCK throws
   * WSAEACCES. A pended authorization holds the flow and flushes this request; the completion classifies
   * ALE_AUTH_CONNECT again (IS_REAUTHORIZE, CLASSIFY_COMPLETION) and creates only state — the socket's next
   * request goes out on the flow — or, refused, leaves WSAEACCES as the socket's last error [INF].
   * Returns undefined when the request is not to be sent.
   */
  #authorizeEcho(
    s: PingSocket,
    key: string,
    facts: ClassifyFacts,
    meta: MetadataInput,
    layerData: PacketLayerData,
    dst: IpAddress,
  ): AleFlow | undefined {
    const host = this.host;
    const flow = host.shim.beginFlow(
      key,
      host.shim.authLayer("auth-connect", facts.ipVersion ?? dst.version),
      facts,
      "outbound",
      s.protocol,
    );
    let admitted: AleFlow | undefined;
    let refused = false;
    pendableOperation(
      (completionHandle) =>
        host.shim.classifyAt("ALE_AUTH_CONNECT", {
          facts,
          packet: "echo-request",
          metadata: { ...meta, completionHandle },
          layerData,
          flow,
        }),
      (completionHandle) =>
        host.shim.reauthorize(
          flow,
          { facts, packet: "none", metadata: { ...meta, completionHandle } },
          FWP_CONDITION_REAUTHORIZE_REASON.FWP_CONDITION_REAUTHORIZE_REASON_CLASSIFY_COMPLETION,
        ),
      (v, late) => {
        if (v === undefined || s.closed || !v.permit) {
          host.shim.closeFlow(flow);
          if (s.flows.get(key) === flow) s.flows.delete(key);
          if (v === undefined || s.closed) return;
          s.counters.blocked++;
          if (late) s.lastError = "WSAEACCES";
          else refused = true;
          return;
        }
        host.shim.admitFlow(flow);
        s.flows.set(key, flow);
        if (late) {
          // D20: the completion creates only state; the request pended with the operation was flushed.
          host.shim.classifyAt("ALE_FLOW_ESTABLISHED", { facts, packet: "none", metadata: meta, flow });
          return;
        }
        host.shim.classifyAt("ALE_FLOW_ESTABLISHED", {
          facts,
          packet: "echo-request",
          metadata: meta,
          flow,
          layerData,
        });
        admitted = flow;
      },
      () => {
        host.shim.holdFlow(flow);
        s.flows.set(key, flow);
        s.counters.pendFlushed++;
      },
      () => !s.closed,
    );
    if (refused) throw new SocketFailure("WSAEACCES", `ALE_AUTH_CONNECT blocked the echo request to ${dst}`);
    return admitted;
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
    const t = info.transport;
    if (t?.icmpType === undefined) {
      this.host.ip.discard("MalformedHeader");
      return;
    }
    const end = info.offset + info.length;
    const sound =
      info.version === 4
        ? verifyIcmpv4Checksum(packet, t.offset, end)
        : verifyIcmpv6Checksum(packet, t.offset, end, {
            version: 6,
            src: info.src as Ipv6Address,
            dst: info.dst as Ipv6Address,
          });
    if (!sound) {
      // RFC 1122 §3.2.2 / RFC 4443 §2.4: a message whose checksum fails is discarded (never answered).
      this.counters.checksumErrors++;
      this.host.shim.discard(
        "INBOUND_TRANSPORT",
        {
          facts: packetFacts(info, "inbound", { iface: iface.facts, arrivalInterface: iface.facts, flags }),
          packet: label,
          ...(side !== undefined ? { side } : {}),
        },
        {
          discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_TRANSPORT,
          discardReason: INET_DISCARD_REASON.InetDiscardChecksumInvalid,
          filterId: 0n,
        },
      );
      return;
    }
    if (t.icmpError === true) {
      this.#inputError(iface, packet, info, flags, side, injection);
      return;
    }
    const host = this.host;
    const facts = packetFacts(info, "inbound", { iface: iface.facts, arrivalInterface: iface.facts, flags });
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: packet,
      ipOffset: 0,
      transportOffset: t.offset,
      payloadOffset: t.offset + 8,
      end: info.length,
      dataOffset: t.offset,
      ...(injection !== undefined ? { injection } : {}),
    };
    const isRequest = t.icmpType === ECHO_REQUEST[info.version];
    const isReply = t.icmpType === ECHO_REPLY[info.version];
    const meta = {
      ipHeaderSize: info.ipHeaderLength,
      transportHeaderSize: 8,
      compartmentId: 1,
      packetDirection: 1,
      ...(t.icmpId !== undefined ? { icmpIdAndSequence: ((t.icmpId << 16) | (t.icmpSeq ?? 0)) >>> 0 } : {}),
    };
    const key = t.icmpId !== undefined ? this.#echoKey(info.src, t.icmpId) : "";
    let flow = key === "" ? undefined : host.shim.flows.touch(key, host.scheduler.nowNs());
    const extra = side !== undefined ? { side } : {};
    if (
      !host.shim.classifyAt("INBOUND_TRANSPORT", {
        facts,
        packet: label,
        layerData,
        metadata: { ...meta, aleClassifyRequired: flow === undefined && (isRequest || isReply) },
        ...(flow !== undefined ? { flow } : {}),
        ...extra,
      }).permit
    )
      return;
    if (!isRequest && !isReply) return; // other informational messages: nothing to do
    const owner: Process = isRequest ? host.system : (this.#socketFor(key)?.process ?? host.system);
    const aleFacts: ClassifyFacts = {
      ...facts,
      iface: (host.interfaceOwning(info.dst) ?? iface).facts,
      process: owner.facts,
      originalIcmpType: t.icmpType,
    };
    const identity = {
      ...meta,
      processId: owner.processId,
      processPath: owner.facts.appId,
      token: owner.facts.token,
    };
    if (flow === undefined) {
      const auth = host.shim.classifyAt("ALE_AUTH_RECV_ACCEPT", {
        facts: aleFacts,
        packet: label,
        layerData,
        metadata: identity,
        ...extra,
      });
      if (!auth.permit) return;
      flow = host.shim.createFlow(key, auth.layer, aleFacts, "inbound", info.protocol);
      host.shim.classifyAt("ALE_FLOW_ESTABLISHED", {
        facts: aleFacts,
        packet: label,
        layerData,
        metadata: identity,
        flow,
        ...extra,
      });
    } else if (host.shim.reauthorizationDue(flow)) {
      if (!host.shim.reauthorize(flow, { facts: aleFacts, packet: label, layerData, metadata: identity }).permit)
        return;
    }
    if (
      !host.shim.classifyAt("DATAGRAM_DATA", { facts, packet: label, layerData, metadata: identity, flow, ...extra })
        .permit
    )
      return;
    if (isRequest) {
      this.counters.echoRequestsIn++;
      this.#reply(info, packet, t.icmpId ?? 0, t.icmpSeq ?? 0, flow, flags, side);
      return;
    }
    const s = this.#socketFor(key);
    if (s === undefined) return;
    const sentAt = s.sent.get(t.icmpSeq ?? -1);
    const r: EchoReply = {
      from: info.src,
      identifier: t.icmpId ?? 0,
      sequence: t.icmpSeq ?? 0,
      data: packet.slice(t.offset + 8, info.length),
      rttNs: sentAt === undefined ? undefined : host.scheduler.nowNs() - sentAt,
    };
    s.counters.replies++;
    s.replies.push(r);
    s.onReply?.(r);
  }

  /**
   * The ping socket whose echo flow is `key` (remote address and identifier): the one that sent the
   * request. Matching the identifier alone would hand every socket's replies to the first socket using
   * that identifier (ping.exe uses the same one for every destination).
   */
  /** Does a TCP connection, a bound UDP socket or a ping socket of this host own the quoted packet? */
  #quotesOurEndpoint(e: EmbeddedFacts): boolean {
    const host = this.host;
    if (e.protocol === IpProtocol.Tcp) return host.tcp.ownsEmbedded(e);
    if (e.protocol === IpProtocol.Udp)
      return e.localPort !== undefined && host.udp.lookup(e.localAddress, e.localPort) !== undefined;
    if (e.protocol === IpProtocol.Icmp || e.protocol === IpProtocol.Icmpv6) {
      const prefix = `icmp|${host.name}|${unmapped(e.remoteAddress).toString()}|`;
      return this.sockets.some((s) => !s.closed && [...s.flows.keys()].some((k) => k.startsWith(prefix)));
    }
    return false;
  }

  #socketFor(key: string): PingSocket | undefined {
    if (key === "") return undefined;
    return this.sockets.find((s) => !s.closed && s.flows.has(key));
  }

  /** The stack answers an echo request (OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET). */
  #reply(
    info: IpPacketInfo,
    packet: Uint8Array,
    identifier: number,
    sequence: number,
    flow: AleFlow,
    flags: number,
    side?: string,
  ): void {
    const host = this.host;
    const route = host.ip.route(info.src, info.dst);
    if (route === undefined) return;
    const data = packet.slice((info.transport?.offset ?? 0) + 8, info.length);
    const message =
      info.version === 4
        ? buildIcmpv4({
            kind: "echoReply",
            type: 0,
            code: 0,
            checksum: 0,
            identifier,
            sequence,
            data,
          } as Icmpv4EmitRepr)
        : buildIcmpv6(
            route.src as Ipv6Address,
            info.src as Ipv6Address,
            {
              kind: "echoReply",
              type: 129,
              code: 0,
              checksum: 0,
              identifier,
              sequence,
              data,
            } as Icmpv6EmitRepr,
          );
    const facts: ClassifyFacts = {
      ipVersion: info.version,
      direction: "outbound",
      protocol: info.protocol,
      localAddress: route.src,
      remoteAddress: info.src,
      localPort: ECHO_REPLY[info.version],
      remotePort: 0,
      iface: route.iface.facts,
      nextHopInterface: route.iface.facts,
      flags,
    };
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: message,
      ipOffset: -1,
      transportOffset: 0,
      payloadOffset: 8,
      end: message.length,
      dataOffset: 0,
    };
    const extra =
      side !== undefined ? { side: side === "client" ? "server" : side === "server" ? "client" : side } : {};
    const v = host.shim.classifyAt("OUTBOUND_TRANSPORT", {
      facts,
      packet: "echo-reply",
      layerData,
      metadata: { transportHeaderSize: 8, compartmentId: 1, icmpIdAndSequence: ((identifier << 16) | sequence) >>> 0 },
      flow,
      ...extra,
    });
    if (!v.permit) return;
    this.counters.echoRepliesOut++;
    host.ip.sendTransport({
      route,
      dst: info.src,
      protocol: info.protocol,
      transport: message,
      label: "echo-reply",
      flow,
      ...extra,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Errors in
  // -------------------------------------------------------------------------------------------

  #inputError(
    iface: NetInterface,
    packet: Uint8Array,
    info: IpPacketInfo,
    flags: number,
    side?: string,
    injection?: InjectionTag,
  ): void {
    const host = this.host;
    const t = info.transport as NonNullable<IpPacketInfo["transport"]>;
    this.counters.errorsIn++;
    const quoteStart = t.offset + 8;
    const q =
      info.version === 4
        ? parseQuotedIpv4(packet, quoteStart, info.length)
        : parseQuotedIpv6(packet, quoteStart, info.length);
    const base = packetFacts(info, "inbound", { iface: iface.facts, arrivalInterface: iface.facts, flags });
    let embedded: EmbeddedFacts | undefined;
    let quotedProtocol: number | undefined;
    if (q.ok) {
      const ip = q.value.ip;
      quotedProtocol = "upperProtocol" in ip ? ip.upperProtocol : ip.protocol;
      embedded = {
        protocol: quotedProtocol,
        localAddress: ip.src,
        remoteAddress: ip.dst,
        ...(q.value.srcPort !== undefined ? { localPort: q.value.srcPort } : {}),
        ...(q.value.dstPort !== undefined ? { remotePort: q.value.dstPort } : {}),
      };
    } else this.counters.badQuotes++;
    const facts: ClassifyFacts = {
      ...base,
      icmpType: t.icmpType ?? 0,
      icmpCode: t.icmpCode ?? 0,
      ...(embedded !== undefined ? { embedded } : {}),
    };
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: packet,
      ipOffset: 0,
      transportOffset: t.offset,
      payloadOffset: quoteStart,
      end: info.length,
      dataOffset: quoteStart,
      ...(injection !== undefined ? { injection } : {}),
    };
    const v = host.shim.classifyAt("INBOUND_ICMP_ERROR", {
      facts,
      packet: "icmp-error",
      layerData,
      metadata: { ipHeaderSize: info.ipHeaderLength, transportHeaderSize: 8, compartmentId: 1 },
      ...(side !== undefined ? { side } : {}),
    });
    if (!v.permit || embedded === undefined) return;
    // Only errors about packets one of this host's endpoints sent are acted on: anyone can forge an
    // error, and one about a flow we do not have must not lower a path MTU or fail a socket (RFC 5927).
    if (host.interfaceOwning(embedded.localAddress) === undefined || !this.#quotesOurEndpoint(embedded)) {
      this.counters.foreignQuotes++;
      return;
    }
    const type = t.icmpType ?? 0;
    const code = t.icmpCode ?? 0;
    const fragNeeded = (info.version === 4 && type === 3 && code === 4) || (info.version === 6 && type === 2);
    if (fragNeeded) {
      const mtuField =
        info.version === 4
          ? ((packet[t.offset + 6] as number) << 8) | (packet[t.offset + 7] as number)
          : readU32(packet, t.offset + 4);
      const floor = info.version === 4 ? 68 : 1280;
      if (mtuField >= floor) {
        const pmtu = host.ip.pathMtu;
        const key = embedded.remoteAddress.toString();
        pmtu.delete(key);
        if (pmtu.size >= PATH_MTU_ENTRIES) pmtu.delete(pmtu.keys().next().value as string);
        pmtu.set(key, mtuField);
        host.tcp.pathMtuChanged(embedded, mtuField);
      }
      return;
    }
    const unreachable = (info.version === 4 && type === 3) || (info.version === 6 && type === 1);
    if (!unreachable) return;
    if (quotedProtocol === IpProtocol.Udp && embedded.localPort !== undefined) {
      const portUnreachable = (info.version === 4 && code === 3) || (info.version === 6 && code === 4);
      host.udp.reportError(
        embedded.localAddress,
        embedded.localPort,
        portUnreachable ? "WSAECONNRESET" : "WSAEHOSTUNREACH",
      );
    } else if (quotedProtocol === IpProtocol.Tcp) {
      host.tcp.icmpUnreachable(embedded);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Errors out
  // -------------------------------------------------------------------------------------------

  #allowError(): boolean {
    const now = this.host.scheduler.nowNs();
    const elapsed = Number(now - this.#refilledAt) / 1e9;
    this.#refilledAt = now;
    this.#tokens = Math.min(this.errorBurst, this.#tokens + elapsed * this.errorsPerSecond);
    if (this.#tokens < 1) {
      this.counters.rateLimited++;
      return false;
    }
    this.#tokens -= 1;
    return true;
  }

  /**
   * Sends an ICMP error about `offending` (a packet this host received) to its source. Never about an
   * ICMP error, a non-first fragment, or a multicast/broadcast packet.
   */
  sendError(offending: Uint8Array, info: IpPacketInfo, type: number, code: number, rest = 0, flags = 0): void {
    if (info.transport?.icmpError === true) return;
    if (info.fragment !== undefined && info.fragment.offset !== 0) return;
    if (info.dst.isMulticast() || info.src.isMulticast() || info.src.isUnspecified()) return;
    if (info.dst.version === 4 && info.dst.value === 0xffffffff) return;
    if (!this.#allowError()) return;
    const host = this.host;
    const route = host.ip.route(info.src, host.interfaceOwning(info.dst) !== undefined ? info.dst : undefined);
    if (route === undefined) return;
    let message: Uint8Array;
    if (info.version === 4) {
      const quoted = offending.slice(0, Math.min(info.length, info.ipHeaderLength + 8));
      const repr =
        type === 3
          ? { kind: "destinationUnreachable", type: 3, code, checksum: 0, nextHopMtu: rest & 0xffff, data: quoted }
          : type === 11
            ? { kind: "timeExceeded", type: 11, code, checksum: 0, data: quoted }
            : { kind: "other", type, code, checksum: 0, rest, data: quoted };
      message = buildIcmpv4(repr as Icmpv4EmitRepr);
    } else {
      const quoted = offending.slice(0, Math.min(info.length, 1280 - 48));
      const repr =
        type === 1
          ? { kind: "destinationUnreachable", type: 1, code, checksum: 0, data: quoted }
          : type === 2
            ? { kind: "packetTooBig", type: 2, code: 0, checksum: 0, mtu: rest, data: quoted }
            : type === 3
              ? { kind: "timeExceeded", type: 3, code, checksum: 0, data: quoted }
              : { kind: "other", type, code, checksum: 0, rest, data: quoted };
      message = buildIcmpv6(route.src as Ipv6Address, info.src as Ipv6Address, repr as Icmpv6EmitRepr);
    }
    const protocol = info.version === 4 ? IpProtocol.Icmp : IpProtocol.Icmpv6;
    const facts: ClassifyFacts = {
      ipVersion: info.version,
      direction: "outbound",
      protocol,
      localAddress: route.src,
      remoteAddress: info.src,
      iface: route.iface.facts,
      nextHopInterface: route.iface.facts,
      icmpType: type,
      icmpCode: code,
      flags,
    };
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: message,
      ipOffset: -1,
      transportOffset: 0,
      payloadOffset: 8,
      end: message.length,
      dataOffset: 0,
    };
    const meta = { transportHeaderSize: 8, compartmentId: 1 };
    if (
      !host.shim.classifyAt("OUTBOUND_ICMP_ERROR", { facts, packet: "icmp-error", layerData, metadata: meta }).permit
    ) {
      this.counters.suppressed++;
      return;
    }
    const tf: ClassifyFacts = { ...facts, localPort: type, remotePort: code };
    if (
      !host.shim.classifyAt("OUTBOUND_TRANSPORT", { facts: tf, packet: "icmp-error", layerData, metadata: meta }).permit
    ) {
      this.counters.suppressed++;
      return;
    }
    this.counters.errorsOut++;
    host.ip.sendTransport({
      route: route as RouteResult,
      dst: info.src,
      protocol,
      transport: message,
      label: "icmp-error",
    });
  }

  sendPortUnreachable(_iface: NetInterface, packet: Uint8Array, info: IpPacketInfo, flags: number): void {
    this.sendError(packet, info, info.version === 4 ? 3 : 1, info.version === 4 ? 3 : 4, 0, flags);
  }

  /** A protocol no transport handles: IPPACKET_DISCARD (ProtocolUnreachable), then ICMP protocol unreachable. */
  protocolUnreachable(
    iface: NetInterface,
    packet: Uint8Array,
    info: IpPacketInfo,
    flags: number,
    label: PacketLabel,
  ): void {
    const host = this.host;
    const r = host.shim.discard(
      "INBOUND_IPPACKET",
      { facts: packetFacts(info, "inbound", { iface: iface.facts, flags }), packet: label },
      {
        discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_NETWORK,
        discardReason: IP_DISCARD_REASON.IpDiscardProtocolUnreachable,
        filterId: 0n,
      },
    );
    host.ip.discard("ProtocolUnreachable");
    if (r.action !== "FWP_ACTION_PERMIT") return;
    if (info.version === 4) this.sendError(packet, info, 3, 2, 0, flags);
    // Parameter problem, unrecognized Next Header; the pointer names the base header's Next Header field
    // (the model does not locate the last extension header's field).
    else this.sendError(packet, info, 4, 1, 6, flags);
  }

  sendTimeExceeded(packet: Uint8Array, info: IpPacketInfo, code: number): void {
    this.sendError(packet, info, info.version === 4 ? 11 : 3, code);
  }

  sendReassemblyTimeout(firstFragment: Uint8Array): void {
    const p = parseIpPacket(firstFragment);
    if (p.ok) this.sendTimeExceeded(firstFragment, p.value, 1);
  }

  sendFragmentationNeeded(packet: Uint8Array, info: IpPacketInfo, mtu: number): void {
    if (info.version === 4) this.sendError(packet, info, 3, 4, mtu);
    else this.sendError(packet, info, 2, 0, mtu);
  }

  sendUnreachable(packet: Uint8Array, info: IpPacketInfo, hostUnreachable: boolean): void {
    if (info.version === 4) this.sendError(packet, info, 3, hostUnreachable ? 1 : 0);
    else this.sendError(packet, info, 1, hostUnreachable ? 3 : 0);
  }
}

function readU32(b: Uint8Array, i: number): number {
  return (
    (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
  );
}
