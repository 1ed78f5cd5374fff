/**
 * A host's network interfaces: Ethernet NICs attached to a link through a Port, and the loopback
 * interface (Windows' "Loopback Pseudo-Interface 1", IF_TYPE_SOFTWARE_LOOPBACK, index 1). Each has the
 * identity WFP's interface fields use (IF_INDEX, NET_LUID, IF_TYPE), an MTU, addresses with prefix
 * lengths, and a forwarding switch (off by default, F10).
 */
import { type IpAddress, IpPrefix } from "../base/index.ts";
import type { InterfaceFacts } from "../shim/index.ts";
import type { Port } from "./link/port.ts";

/** IANA ifType values WFP reports in INTERFACE_TYPE. */
export const IF_TYPE = { ethernetCsmacd: 6, softwareLoopback: 24 } as const;

/** NET_LUID: IfType in bits 48–63, NetLuidIndex in bits 24–47 (the reserved low 24 bits are 0). */
export function netLuid(ifType: number, luidIndex: number): bigint {
  return (BigInt(ifType) << 48n) | (BigInt(luidIndex & 0xffffff) << 24n);
}

export interface InterfaceCounters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames not for this NIC's MAC, not IPv4/IPv6/ARP, or malformed. */
  framesDropped: number;
}

/** What WFP's interface fields say of a NIC beyond its index, when a real machine's values are wanted. */
export interface NetInterfaceIdentity {
  /** NET_LUID (default: IfType and NetLuidIndex = IF_INDEX). */
  readonly luid?: bigint;
  /** INTERFACE_QUARANTINE_EPOCH (default 0: not un-quarantined). */
  readonly quarantineEpoch?: bigint;
  /** The network profile id (default 1, public). */
  readonly profileId?: number;
}

export class NetInterface {
  readonly addresses: IpPrefix[] = [];
  readonly counters: InterfaceCounters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, framesDropped: 0 };
  /** Accept packets for other hosts and route them (F10); off by default as in Windows. */
  forwarding = false;
  readonly facts: InterfaceFacts;
  /** The MAC as "aa:bb:cc:dd:ee:ff". */
  readonly macText: string;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly kind: "ethernet" | "loopback",
    readonly mac: Uint8Array,
    public mtu: number,
    readonly port: Port | undefined,
    identity: NetInterfaceIdentity = {},
  ) {
    const type = kind === "loopback" ? IF_TYPE.softwareLoopback : IF_TYPE.ethernetCsmacd;
    this.macText = [...mac].map((b) => b.toString(16).padStart(2, "0")).join(":");
    this.facts = {
      index,
      luid: identity.luid ?? netLuid(type, index),
      type,
      tunnelType: 0,
      subInterfaceIndex: 0,
      profileId: identity.profileId ?? 1,
      ...(identity.quarantineEpoch !== undefined ? { quarantineEpoch: identity.quarantineEpoch } : {}),
    };
  }

  /** Assigns `address/prefixLength`. */
  addAddress(text: string): IpPrefix {
    const p = IpPrefix.parse(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
    this.addresses.push(p);
    return p;
  }

  /** True when `a` is one of this interface's addresses. */
  owns(a: IpAddress): boolean {
    return this.addresses.some((p) => p.address.version === a.version && p.address.equals(a));
  }

  /** The first address of a version (the source for packets this interface sends). */
  primary(version: 4 | 6): IpAddress | undefined {
    const linkLocal = (a: IpAddress) => a.version === 6 && a.isLinkLocal();
    return (
      this.addresses.find((p) => p.address.version === version && !linkLocal(p.address))?.address ??
      this.addresses.find((p) => p.address.version === version)?.address
    );
  }

  /** The address to send from towards `target` on this link: one on the same prefix, else the primary. */
  sourceFor(version: 4 | 6, target: IpAddress): IpAddress | undefined {
    return (
      this.addresses.find((p) => p.address.version === version && p.contains(target))?.address ?? this.primary(version)
    );
  }

  /** True when `a` is the directed broadcast address of one of this interface's IPv4 prefixes. */
  isDirectedBroadcast(a: IpAddress): boolean {
    if (a.version !== 4) return false;
    return this.addresses.some((p) => {
      if (p.address.version !== 4 || p.length >= 31) return false;
      const host = p.length === 0 ? 0xffffffff : (0xffffffff >>> p.length) >>> 0;
      return p.contains(a) && (a.value & host) >>> 0 === host;
    });
  }
}
