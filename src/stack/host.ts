/**
 * A simulated host: NICs and a loopback interface, routes, processes, the IP layer, UDP, TCP, ICMP, and
 * the shim it calls at every classify point. Frames come in from links through NIC ports; ARP and
 * IPv6 neighbour discovery are answered below the WFP layers (the model keeps them out of the classify
 * log [INF]); IP packets go to the IP layer. Everything runs on the simulation's scheduler.
 */
import { type IpAddress, Ipv4Address, Ipv6Address, IpPrefix, SeededRng } from "../base/index.ts";
import type { Shim } from "../shim/index.ts";
import { EtherType, EthernetView, emitEthernetHeader, formatMac, IpProtocol } from "../wire/index.ts";
import type { InjectionTag, IpPacketInfo, PacketLabel } from "../shim/index.ts";
import { Forwarder, type ForwarderOptions } from "./forward.ts";
import { IcmpLayer } from "./icmp-layer.ts";
import type { ReassemblerOptions } from "./ip/reassembly.ts";
import { IpLayer } from "./ip-layer.ts";
import type { Port } from "./link/port.ts";
import { NeighborCache } from "./net/neighbor.ts";
import { IF_TYPE, NetInterface, netLuid } from "./nic.ts";
import { packetLabel } from "./packet-facts.ts";
import { Process, systemProcess } from "./process.ts";
import type { ProcessSpec } from "../shim/index.ts";
import { RouteTable } from "./route.ts";
import { HostServices } from "./services.ts";
import type { Scheduler } from "./sim/scheduler.ts";
import { TcpLayer, type TcpLayerOptions } from "./tcp-layer.ts";
import { UdpLayer } from "./udp-layer.ts";

export interface HostOptions {
  readonly reassembly?: ReassemblerOptions;
  readonly forwarding?: ForwarderOptions;
  readonly tcp?: TcpLayerOptions;
  /** Seed of the host's own randomness (ISNs, ephemeral ports, IP ids). */
  readonly seed?: number;
  /** First port of the dynamic range (Windows: 49152). */
  readonly ephemeralLow?: number;
}

const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export class Host {
  readonly interfaces: NetInterface[] = [];
  readonly loopback: NetInterface;
  readonly #routes4 = new RouteTable();
  readonly #routes6 = new RouteTable();
  readonly #neighbors = new Map<number, NeighborCache>();
  readonly rng: SeededRng;
  readonly ip: IpLayer;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;
  readonly icmp: IcmpLayer;
  readonly forwarder: Forwarder;
  readonly system: Process;
  /** The stack's side of the callout services (injection, pend completion, stream continue). */
  readonly services: HostServices;
  readonly processes: Process[] = [];
  #nextHandle = 0x1000n;
  #nextEphemeral: number;
  readonly ephemeralLow: number;

  constructor(
    readonly name: string,
    readonly scheduler: Scheduler,
    readonly shim: Shim,
    readonly options: HostOptions = {},
  ) {
    this.rng = new SeededRng(options.seed ?? hashName(name));
    this.ephemeralLow = options.ephemeralLow ?? 49152;
    this.#nextEphemeral = this.ephemeralLow + this.rng.nextInt(1000);
    // IF_INDEX 1; NET_LUID 0x0018000000000000 (IfType 24, NetLuidIndex 0), as a real machine's un-quarantine
    // filter for its loopback names it (fixtures/wfp-state keploy, filter 113452).
    this.loopback = new NetInterface(
      1,
      "Loopback Pseudo-Interface 1",
      "loopback",
      new Uint8Array(6),
      65535,
      undefined,
      {
        luid: netLuid(IF_TYPE.softwareLoopback, 0),
      },
    );
    this.loopback.addAddress("127.0.0.1/8");
    this.loopback.addAddress("::1/128");
    this.ip = new IpLayer(this);
    this.udp = new UdpLayer(this);
    this.tcp = new TcpLayer(this, options.tcp);
    this.icmp = new IcmpLayer(this);
    this.forwarder = new Forwarder(this, options.forwarding);
    this.system = systemProcess();
    this.services = new HostServices(this);
    shim.attachStack(this.services);
  }

  // ---------------------------------------------------------------------------------------------
  // Configuration
  // ---------------------------------------------------------------------------------------------

  /** An Ethernet NIC on `port` with `addresses` ("10.0.0.1/24", "fe80::1/64"); on-link routes are added. */
  addEthernet(
    name: string,
    port: Port,
    init: {
      readonly mac: Uint8Array;
      readonly addresses: readonly string[];
      readonly mtu?: number;
      readonly index?: number;
      readonly luid?: bigint;
      readonly quarantineEpoch?: bigint;
    },
  ): NetInterface {
    // IF_INDEX: 2, 3, ... by default (1 is the loopback), or as given (a real machine's index).
    const index = init.index ?? this.interfaces.length + 2;
    if (index === 1 || this.interfaces.some((n) => n.index === index))
      throw new RangeError(`interface index ${index} is taken`);
    const nic = new NetInterface(index, name, "ethernet", init.mac, init.mtu ?? 1500, port, {
      ...(init.luid !== undefined ? { luid: init.luid } : {}),
      ...(init.quarantineEpoch !== undefined ? { quarantineEpoch: init.quarantineEpoch } : {}),
    });
    for (const a of init.addresses) this.addAddress(nic, a);
    this.interfaces.push(nic);
    const neighbors = new NeighborCache({
      scheduler: this.scheduler,
      mac: init.mac,
      sendFrame: (frame: Uint8Array) => this.#sendFrame(nic, frame),
      ownsAddress: (a: IpAddress) => nic.owns(a),
      sourceAddress: (version: 4 | 6, target: IpAddress) => nic.sourceFor(version, target),
    });
    this.#neighbors.set(index, neighbors);
    port.attach((frame) => this.#receiveFrame(nic, frame));
    return nic;
  }

  /** Adds an address to a NIC with its on-link route. */
  addAddress(nic: NetInterface, text: string): void {
    const p = nic.addAddress(text);
    this.routes(p.address.version).add({ prefix: p.network(), interfaceIndex: nic.index, metric: 256 });
  }

  /** A route: `prefix` via `gateway` (or on-link) through the NIC. */
  addRoute(prefix: string, nic: NetInterface, gateway?: string, metric = 0): void {
    const p = IpPrefix.parse(prefix);
    this.routes(p.address.version).add({
      prefix: p,
      interfaceIndex: nic.index,
      ...(gateway !== undefined ? { gateway: parseAddress(gateway) } : {}),
      metric,
    });
  }

  /** A static (permanent) neighbour entry, as `netsh interface ip add neighbors` makes one. */
  addStaticNeighbor(nic: NetInterface, address: IpAddress, mac: Uint8Array): void {
    const n = this.#neighbors.get(nic.index);
    if (n === undefined) throw new RangeError(`${nic.name} has no neighbour cache`);
    n.setPermanent(address, mac);
  }

  /** The neighbour cache of a NIC (counters, entries). */
  neighborCache(nic: NetInterface): NeighborCache | undefined {
    return this.#neighbors.get(nic.index);
  }

  routes(version: 4 | 6): RouteTable {
    return version === 4 ? this.#routes4 : this.#routes6;
  }

  /** A process that will own sockets. */
  process(spec: ProcessSpec, name = spec.imagePath.split("\\").pop() ?? spec.imagePath): Process {
    const p = new Process(spec, name);
    this.processes.push(p);
    return p;
  }

  // ---------------------------------------------------------------------------------------------
  // Lookups used by the layers
  // ---------------------------------------------------------------------------------------------

  interfaceByIndex(index: number): NetInterface | undefined {
    if (index === 1) return this.loopback;
    return this.interfaces.find((n) => n.index === index);
  }

  /** The NIC (or loopback) owning `a`, if `a` is an address of this host. */
  interfaceOwning(a: IpAddress): NetInterface | undefined {
    const plain = unmapped(a);
    if (this.loopback.owns(plain)) return this.loopback;
    return this.interfaces.find((n) => n.owns(plain));
  }

  isLoopbackAddress(a: IpAddress): boolean {
    return unmapped(a).isLoopback();
  }

  /**
   * Strong host model (Windows' default): a packet is for this host when its destination is an address
   * of the arrival interface, a broadcast of it, or multicast.
   */
  isLocalDestination(iface: NetInterface, dst: IpAddress): boolean {
    if (iface.owns(dst)) return true;
    if (dst.isMulticast()) return true;
    if (dst.version === 4 && (dst.value === 0xffffffff || iface.isDirectedBroadcast(dst))) return true;
    return false;
  }

  newEndpointHandle(): bigint {
    return this.#nextHandle++;
  }

  /** The next free ephemeral port for `protocol` (49152–65535, F18). */
  ephemeralPort(inUse: (port: number) => boolean): number | undefined {
    const span = 65536 - this.ephemeralLow;
    for (let i = 0; i < span; i++) {
      const p = this.#nextEphemeral;
      this.#nextEphemeral = p + 1 > 65535 ? this.ephemeralLow : p + 1;
      if (!inUse(p)) return p;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Frames
  // ---------------------------------------------------------------------------------------------

  /** Resolves the MAC of `nextHop` on `nic` (ARP / ND), then calls `done` (undefined: unresolvable). */
  resolveNeighbor(nic: NetInterface, nextHop: IpAddress, done: (mac: Uint8Array | undefined) => void): void {
    const n = this.#neighbors.get(nic.index);
    if (n === undefined) {
      done(undefined);
      return;
    }
    if (nextHop.version === 4 && (nextHop.value === 0xffffffff || nic.isDirectedBroadcast(nextHop))) {
      done(BROADCAST_MAC);
      return;
    }
    n.resolve(nextHop, done);
  }

  /** Puts an IP packet on a NIC's link in an Ethernet frame. */
  transmit(nic: NetInterface, dstMac: Uint8Array, etherType: number, packet: Uint8Array): void {
    const frame = new Uint8Array(14 + packet.length);
    emitEthernetHeader({ dst: formatMac(dstMac), src: nic.macText, etherType, tags: [] }, frame, 0);
    frame.set(packet, 14);
    this.#sendFrame(nic, frame);
  }

  #sendFrame(nic: NetInterface, frame: Uint8Array): void {
    nic.counters.framesOut++;
    nic.counters.bytesOut += frame.length;
    nic.port?.transmit(frame);
  }

  #receiveFrame(nic: NetInterface, frame: Uint8Array): void {
    nic.counters.framesIn++;
    nic.counters.bytesIn += frame.length;
    const eth = EthernetView.check(frame, 0, frame.length);
    if (!eth.ok) {
      nic.counters.framesDropped++;
      return;
    }
    const e = eth.value;
    const dst = frame.subarray(0, 6);
    const forUs = equalBytes(dst, nic.mac) || (dst[0] as number) & 1;
    if (!forUs) {
      nic.counters.framesDropped++;
      return;
    }
    const type = e.etherType;
    const neighbors = this.#neighbors.get(nic.index);
    if (type === EtherType.Arp) {
      neighbors?.input(frame);
      return;
    }
    if (type !== EtherType.Ipv4 && type !== EtherType.Ipv6) {
      nic.counters.framesDropped++;
      return;
    }
    const packet = frame.subarray(e.payloadOffset);
    // Neighbour discovery is answered below the WFP layers in this model [INF].
    if (type === EtherType.Ipv6 && neighbors?.input(frame) === true) return;
    this.ip.receive(nic, packet.slice(), false);
  }

  /** A loopback packet goes up the inbound path at the next instant (F14). */
  loopbackDeliver(packet: Uint8Array, side?: string): void {
    this.scheduler.after(0n, () => this.ip.receive(this.loopback, packet, true, loopbackPeer(side)));
  }

  // ---------------------------------------------------------------------------------------------
  // Upcalls from the IP layer
  // ---------------------------------------------------------------------------------------------

  /** The label of an inbound packet before it is classified (datagrams that open a flow are "first-datagram"). */
  inboundLabel(info: IpPacketInfo): PacketLabel {
    if (info.protocol === IpProtocol.Udp) return this.udp.inboundLabel(info);
    if (info.protocol === IpProtocol.Icmp || info.protocol === IpProtocol.Icmpv6) return this.icmp.inboundLabel(info);
    return packetLabel(info);
  }

  /** A packet for this host after INBOUND_IPPACKET: to its transport (`injection`: an injected one's tag, D33). */
  deliver(
    iface: NetInterface,
    packet: Uint8Array,
    info: IpPacketInfo,
    flags: number,
    label: PacketLabel,
    side?: string,
    injection?: InjectionTag,
  ): void {
    this.ip.counters.delivered++;
    const p = info.protocol;
    if (p === IpProtocol.Tcp) this.tcp.input(iface, packet, info, flags, label, side, injection);
    else if (p === IpProtocol.Udp) this.udp.input(iface, packet, info, flags, label, side, injection);
    else if ((p === IpProtocol.Icmp && info.version === 4) || (p === IpProtocol.Icmpv6 && info.version === 6))
      this.icmp.input(iface, packet, info, flags, label, side, injection);
    else this.icmp.protocolUnreachable(iface, packet, info, flags, label);
  }

  /** Neighbour resolution failed for a packet this host sent: ICMP host unreachable to the local sender. */
  onUnreachable(info: IpPacketInfo, _packet: Uint8Array): void {
    this.udp.reportUnreachable(info);
    this.tcp.reportUnreachable(info);
  }

  /** A locally generated packet with DF set exceeds the MTU. */
  onFragmentationNeeded(info: IpPacketInfo, _packet: Uint8Array, mtu: number): void {
    this.tcp.reportFragmentationNeeded(info, mtu);
  }

  /** Advances timers that are not tied to an object: reassembly expiry, idle ALE flows. */
  housekeeping(): void {
    this.ip.expireReassembly();
    this.shim.flows.expire(this.scheduler.nowNs());
  }
}

function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An IPv4-mapped IPv6 address as its IPv4 address; anything else unchanged. */
export function unmapped(a: IpAddress): IpAddress {
  if (a.version === 6 && a.isV4Mapped()) return a.toV4() as Ipv4Address;
  return a;
}

export function parseAddress(text: string): IpAddress {
  return text.includes(":") ? Ipv6Address.parse(text) : Ipv4Address.parse(text);
}

function loopbackPeer(side: string | undefined): string | undefined {
  if (side === "client") return "server";
  if (side === "server") return "client";
  return side;
}
