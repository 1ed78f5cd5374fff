/**
 * The neighbor cache of one Ethernet interface: IPv4 next hops resolved with ARP (RFC 826), IPv6 next hops
 * with Neighbor Discovery (RFC 4861). Both follow RFC 4861's neighbor unreachability detection states, as
 * Windows' stack does for both families (`netsh interface ipv4|ipv6 show neighbors`: Incomplete,
 * Reachable, Stale, Delay, Probe, Permanent):
 *
 * - `resolve(nextHop, then)` calls `then(mac)` at once when the MAC is known (a STALE entry is used and
 *   moves to DELAY, RFC 4861 §7.3.3); otherwise it creates an INCOMPLETE entry, sends a broadcast ARP
 *   request or a Neighbor Solicitation to the solicited-node address, retransmits every `retransmitNs`
 *   (RETRANS_TIMER, 1 s) up to `maxMulticastSolicit` (3) times, and keeps the waiting callbacks in a small
 *   bounded queue (§7.2.2: when it overflows, the oldest is dropped). When the answer comes, every waiting
 *   `then(mac)` runs in order; when it does not, every one runs with `then(undefined, "unresolvable")` and
 *   the entry is deleted (§7.3.3).
 *
 *   The caller resolves first and classifies, builds and sends the packet inside `then`, so a packet to
 *   an unresolvable neighbor never reaches OUTBOUND_IPPACKET (the IP layer answers with ICMP host
 *   unreachable instead).
 * - A confirmation (a solicited NA, an ARP reply to us, `confirmReachable`) makes an entry REACHABLE for
 *   `reachableNs` (REACHABLE_TIME, 30 s); then it becomes STALE. A STALE entry in use waits
 *   `delayFirstProbeNs` (5 s) in DELAY for an upper-layer confirmation, then PROBEs with unicast requests
 *   (`maxUnicastSolicit`, 3) and is deleted when none is answered.
 * - `input(frame)` takes ARP frames and IPv6 Neighbor Solicitations/Advertisements. It answers requests
 *   and solicitations for this interface's addresses (NA with Solicited and Override set and our Target
 *   Link-Layer Address), learns from them (RFC 826's merge; §7.2.3 and §7.2.5 for ND), and drops and
 *   counts what is malformed, fails a validity rule (§7.1), has a bad checksum, or is not for us.
 *   Gratuitous ARP updates an existing entry only (RFC 826 merge); no ARP announcements, no duplicate
 *   address detection of our own, no proxy ARP, no router (R flag) or redirect handling.
 *
 * Broadcast and multicast next hops map directly (link-address.ts). Timers run on the injected scheduler.
 * MACs handed to callers are the cache's own arrays: read them, do not modify them.
 */
import { type IpAddress, Ipv4Address, Ipv6Address } from "../../base/index.ts";
import { ArpOperation, ArpView, EtherType, EthernetView, formatMac } from "../../wire/index.ts";
import type { Scheduler, Timer } from "../sim/scheduler.ts";
import {
  ALL_NODES,
  BROADCAST_MAC,
  ipv6MulticastMac,
  isGroupMac,
  multicastMac,
  sameMac,
  solicitedNodeAddress,
} from "./link-address.ts";
import {
  arpFrame,
  neighborAdvertisementFrame,
  neighborSolicitationFrame,
  type ReceivedAdvertisement,
  type ReceivedSolicitation,
  readNeighborDiscovery,
} from "./resolution-frames.ts";

/** RFC 4861 §7.3.2 states, plus Windows' Permanent for configured entries. */
export type NeighborState = "incomplete" | "reachable" | "stale" | "delay" | "probe" | "permanent";

/**
 * Why `resolve` gave no MAC: no answer after the retries ("unresolvable"), pushed out of a full queue
 * ("queueOverflow"), no address of ours to ask from ("noSourceAddress"), a next hop that cannot be on a
 * link (unspecified, loopback, IPv4-mapped: "invalidAddress"), or a full cache ("tableFull").
 */
export type ResolveFailure = "unresolvable" | "queueOverflow" | "noSourceAddress" | "invalidAddress" | "tableFull";

/** Receives the next hop's MAC, or undefined and why. */
export type ResolveCallback = (mac: Uint8Array | undefined, failure?: ResolveFailure) => void;

export interface NeighborCacheOptions {
  readonly scheduler: Scheduler;
  /** This interface's MAC. */
  readonly mac: Uint8Array;
  /** Puts a frame (ARP request/reply, NS/NA) on the interface's link. */
  readonly sendFrame: (frame: Uint8Array) => void;
  /** True when `ip` is an address of this interface: requests for it are answered. */
  readonly ownsAddress: (ip: IpAddress) => boolean;
  /**
   * The address of this interface to ask from (ARP's sender protocol address, the NS source; RFC 4861
   * §7.2.2), when the packet waiting for resolution does not come from one of ours. Undefined: none of
   * that version (resolution then fails with "noSourceAddress").
   */
  readonly sourceAddress: (version: 4 | 6, target: IpAddress) => IpAddress | undefined;
  /** Called when resolution of `nextHop` failed, with the packets given to `resolve` that were dropped. */
  readonly onResolutionFailed?: (nextHop: IpAddress, packets: readonly Uint8Array[]) => void;
  /** RETRANS_TIMER. Default 1 s. */
  readonly retransmitNs?: bigint;
  /** MAX_MULTICAST_SOLICIT: requests sent for an INCOMPLETE entry. Default 3. */
  readonly maxMulticastSolicit?: number;
  /** MAX_UNICAST_SOLICIT: probes sent in PROBE. Default 3. */
  readonly maxUnicastSolicit?: number;
  /** REACHABLE_TIME. Default 30 s. */
  readonly reachableNs?: bigint;
  /** DELAY_FIRST_PROBE_TIME. Default 5 s. */
  readonly delayFirstProbeNs?: bigint;
  /** Packets (callbacks) waiting per INCOMPLETE entry. Default 8. */
  readonly maxQueuedPerNeighbor?: number;
  /** Entries in the cache; when full, the oldest STALE entry makes room. Default 1024. */
  readonly maxEntries?: number;
}

export interface NeighborCounters {
  /** ARP frames and NS/NA messages taken by `input`. */
  arpIn: number;
  ndIn: number;
  arpRequestsSent: number;
  arpRepliesSent: number;
  solicitationsSent: number;
  advertisementsSent: number;
  /** Entries created, resolved, or given a new MAC by what was received. */
  learned: number;
  /** Cut short or unparsable. */
  malformed: number;
  badChecksum: number;
  /** Fails a validity rule: hop limit, code, not Ethernet/IPv4, unknown operation, group sender, ... */
  invalid: number;
  /** A request or solicitation for an address that is not ours. */
  notForUs: number;
  /** An advertisement for an address we have no entry for (RFC 4861 §7.2.5: silently discarded). */
  unsolicited: number;
  /** Someone else claims one of our addresses as theirs. */
  conflicts: number;
  /** Learning refused because the cache was full of entries it may not evict. */
  tableFull: number;
  /** Packets that waited for resolution. */
  queued: number;
  /** Waiting packets pushed out of a full queue. */
  queueDrops: number;
  resolutionFailures: number;
  /** Packets dropped because their next hop did not answer. */
  unresolvedDrops: number;
}

/** One entry as `entries()` shows it. */
export interface NeighborEntryInfo {
  readonly address: IpAddress;
  readonly state: NeighborState;
  /** "aa:bb:cc:dd:ee:ff"; absent while INCOMPLETE. */
  readonly mac?: string;
  /** Packets waiting (INCOMPLETE only). */
  readonly queued: number;
}

interface Waiting {
  readonly then: ResolveCallback;
  readonly packet: Uint8Array | undefined;
}

interface Entry {
  readonly address: IpAddress;
  readonly key: string;
  state: NeighborState;
  mac: Uint8Array | undefined;
  reachableUntilNs: bigint;
  /** Requests sent in INCOMPLETE or PROBE. */
  tries: number;
  timer: Timer | undefined;
  queue: Waiting[];
  /** Our address the requests are sent from. */
  source: IpAddress | undefined;
}

function newCounters(): NeighborCounters {
  return {
    arpIn: 0,
    ndIn: 0,
    arpRequestsSent: 0,
    arpRepliesSent: 0,
    solicitationsSent: 0,
    advertisementsSent: 0,
    learned: 0,
    malformed: 0,
    badChecksum: 0,
    invalid: 0,
    notForUs: 0,
    unsolicited: 0,
    conflicts: 0,
    tableFull: 0,
    queued: 0,
    queueDrops: 0,
    resolutionFailures: 0,
    unresolvedDrops: 0,
  };
}

/** A map key per address: "4" + the IPv4 value, or "6" + the eight 16-bit words as characters. */
function keyOf(ip: IpAddress): string {
  if (ip.version === 4) return `4${ip.value}`;
  const b = ip.bytes;
  let k = "6";
  for (let i = 0; i < 16; i += 2) k += String.fromCharCode(((b[i] as number) << 8) | (b[i + 1] as number));
  return k;
}

const ZERO_MAC = new Uint8Array(6);

export class NeighborCache {
  readonly counters: NeighborCounters = newCounters();
  readonly #scheduler: Scheduler;
  readonly #mac: Uint8Array;
  readonly #sendFrame: (frame: Uint8Array) => void;
  readonly #owns: (ip: IpAddress) => boolean;
  readonly #sourceAddress: (version: 4 | 6, target: IpAddress) => IpAddress | undefined;
  readonly #onFailed: ((nextHop: IpAddress, packets: readonly Uint8Array[]) => void) | undefined;
  readonly #retransmitNs: bigint;
  readonly #maxMulticast: number;
  readonly #maxUnicast: number;
  readonly #reachableNs: bigint;
  readonly #delayNs: bigint;
  readonly #maxQueued: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: NeighborCacheOptions) {
    this.#scheduler = options.scheduler;
    this.#mac = options.mac.slice(0, 6);
    this.#sendFrame = options.sendFrame;
    this.#owns = options.ownsAddress;
    this.#sourceAddress = options.sourceAddress;
    this.#onFailed = options.onResolutionFailed;
    this.#retransmitNs = options.retransmitNs ?? 1_000_000_000n;
    this.#maxMulticast = options.maxMulticastSolicit ?? 3;
    this.#maxUnicast = options.maxUnicastSolicit ?? 3;
    this.#reachableNs = options.reachableNs ?? 30_000_000_000n;
    this.#delayNs = options.delayFirstProbeNs ?? 5_000_000_000n;
    this.#maxQueued = options.maxQueuedPerNeighbor ?? 8;
    this.#maxEntries = options.maxEntries ?? 1024;
    if (this.#mac.length !== 6) throw new RangeError("neighbor cache: the interface MAC must be 6 bytes");
    if (this.#maxMulticast < 1 || this.#maxUnicast < 1)
      throw new RangeError("neighbor cache: at least one solicitation");
  }

  // ---------------------------------------------------------------------------------------------
  // Resolution

  /**
   * Calls `then` with the MAC of `nextHop` on this link: at once when it is known or maps directly
   * (broadcast, multicast), later when a request is answered, or with undefined and the reason when it
   * cannot be had. `packet` (the IP packet waiting, optional) is used only to pick the source address of
   * the request (RFC 4861 §7.2.2) and to be reported to `onResolutionFailed`.
   */
  resolve(nextHop: IpAddress, then: ResolveCallback, packet?: Uint8Array): void {
    const mapped = multicastMac(nextHop);
    if (mapped !== undefined) {
      then(mapped);
      return;
    }
    if (!onLinkCandidate(nextHop)) {
      then(undefined, "invalidAddress");
      return;
    }
    const existing = this.#entries.get(keyOf(nextHop));
    if (existing !== undefined) {
      const state = this.#current(existing);
      if (state === "incomplete") {
        this.#enqueue(existing, then, packet);
        return;
      }
      if (state === "stale") this.#enterDelay(existing);
      then(existing.mac as Uint8Array);
      return;
    }
    const source = this.#sourceFor(nextHop, packet);
    if (source === undefined) {
      then(undefined, "noSourceAddress");
      return;
    }
    const e = this.#create(nextHop);
    if (e === undefined) {
      then(undefined, "tableFull");
      return;
    }
    e.source = source;
    this.#enqueue(e, then, packet);
    this.#solicitIncomplete(e);
  }

  /** The MAC known for `nextHop` now (or its direct mapping), without sending anything or changing state. */
  lookup(nextHop: IpAddress): Uint8Array | undefined {
    const mapped = multicastMac(nextHop);
    if (mapped !== undefined) return mapped;
    return this.#entries.get(keyOf(nextHop))?.mac;
  }

  /** The state of the entry for `ip`, if there is one. */
  state(ip: IpAddress): NeighborState | undefined {
    const e = this.#entries.get(keyOf(ip));
    return e === undefined ? undefined : this.#current(e);
  }

  /** Every entry, in creation order. */
  entries(): NeighborEntryInfo[] {
    return [...this.#entries.values()].map((e) => ({
      address: e.address,
      state: this.#current(e),
      ...(e.mac !== undefined ? { mac: formatMac(e.mac) } : {}),
      queued: e.queue.length,
    }));
  }

  /**
   * An upper-layer reachability confirmation (RFC 4861 §7.3.1: TCP saw new data acknowledged): a known
   * entry becomes REACHABLE again.
   */
  confirmReachable(ip: IpAddress): void {
    const e = this.#entries.get(keyOf(ip));
    if (e === undefined || e.mac === undefined || e.state === "permanent") return;
    this.#makeReachable(e);
  }

  /** A configured entry (`netsh interface ipv4 add neighbors`): never solicited, never changed by input. */
  setPermanent(ip: IpAddress, mac: Uint8Array): void {
    const key = keyOf(ip);
    const old = this.#entries.get(key);
    if (old !== undefined) this.#entries.delete(key);
    old?.timer?.cancel();
    const e = newEntry(ip, key, "permanent", mac.slice(0, 6));
    this.#entries.set(key, e);
    if (old !== undefined) this.#flush(old, e.mac as Uint8Array);
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  /**
   * Takes a received frame if it is ARP or an IPv6 Neighbor Solicitation/Advertisement (answering,
   * learning, or dropping and counting it) and returns true; returns false for any other frame, which
   * the caller passes up to IP. The frame is not kept.
   */
  input(frame: Uint8Array): boolean {
    const checked = EthernetView.check(frame, 0, frame.length);
    if (!checked.ok) return false;
    const eth = checked.value;
    const type = eth.etherType;
    if (type === EtherType.Arp) {
      this.counters.arpIn++;
      this.#arpInput(frame, eth.payloadOffset);
      return true;
    }
    if (type !== EtherType.Ipv6) return false;
    const nd = readNeighborDiscovery(frame, eth.payloadOffset, frame.length);
    if (nd === undefined) return false;
    this.counters.ndIn++;
    if (!nd.ok) {
      this.counters[nd.error.reason]++;
      return true;
    }
    const m = nd.value;
    if (m.kind === "solicitation") this.#solicitationInput(m, eth.src);
    else this.#advertisementInput(m);
    return true;
  }

  /** RFC 826's packet reception algorithm, with RFC 4861 states for what is learned. */
  #arpInput(frame: Uint8Array, at: number): void {
    const c = this.counters;
    const checked = ArpView.check(frame, at, frame.length);
    if (!checked.ok) {
      c.malformed++;
      return;
    }
    const arp = checked.value;
    const op = arp.operation;
    const senderMac = arp.senderHardwareAddress;
    if (!arp.isEthernetIpv4 || (op !== ArpOperation.request && op !== ArpOperation.reply)) {
      c.invalid++;
      return;
    }
    if (isGroupMac(senderMac) || sameMac(senderMac, this.#mac)) {
      c.invalid++;
      return;
    }
    const spa = new Ipv4Address(arp.senderIpv4);
    const tpa = new Ipv4Address(arp.targetIpv4);
    const probe = spa.isUnspecified();
    if (!probe && this.#owns(spa)) {
      c.conflicts++;
      return;
    }
    if (!probe && !onLinkCandidate(spa)) {
      c.invalid++;
      return;
    }
    const forUs = this.#owns(tpa);
    if (!probe) {
      const known = this.#entries.get(keyOf(spa));
      // Merge (RFC 826): a known sender is updated whoever the target; a new one is added when we are it.
      if (known !== undefined || forUs) {
        const confirmed = op === ArpOperation.reply && forUs && known !== undefined;
        this.#learn(spa, senderMac.slice(), { confirmed, override: true, create: forUs });
      }
    }
    if (!forUs) {
      c.notForUs++;
      return;
    }
    if (op === ArpOperation.request) {
      this.#sendFrame(
        arpFrame({
          operation: ArpOperation.reply,
          ethernetDst: senderMac,
          senderMac: this.#mac,
          senderIp: tpa,
          targetMac: senderMac,
          targetIp: spa,
        }),
      );
      c.arpRepliesSent++;
    }
  }

  /** RFC 4861 §7.2.3 (and §7.2.4 for the answer). */
  #solicitationInput(m: ReceivedSolicitation, ethernetSrc: Uint8Array): void {
    const c = this.counters;
    if (!this.#owns(m.target) || !(m.dst.equals(solicitedNodeAddress(m.target)) || this.#owns(m.dst))) {
      c.notForUs++;
      return;
    }
    const dad = m.src.isUnspecified();
    if (!dad) {
      if (this.#owns(m.src)) {
        c.conflicts++;
        return;
      }
      if (
        m.src.isMulticast() ||
        (m.sourceMac !== undefined && (isGroupMac(m.sourceMac) || sameMac(m.sourceMac, this.#mac)))
      ) {
        c.invalid++;
        return;
      }
      if (m.sourceMac !== undefined)
        this.#learn(m.src, m.sourceMac, { confirmed: false, override: true, create: true });
    }
    // To a duplicate address detection probe: Solicited clear, to all nodes (§7.2.4).
    const dstMac = dad ? ipv6MulticastMac(ALL_NODES) : (m.sourceMac ?? ethernetSrc.slice());
    this.#sendFrame(
      neighborAdvertisementFrame({
        srcMac: this.#mac,
        dstMac,
        target: m.target,
        dst: dad ? ALL_NODES : m.src,
        solicited: !dad,
        override: true,
        router: false,
      }),
    );
    c.advertisementsSent++;
  }

  /** RFC 4861 §7.2.5. */
  #advertisementInput(m: ReceivedAdvertisement): void {
    const c = this.counters;
    if (this.#owns(m.target)) {
      c.conflicts++;
      return;
    }
    if (m.targetMac !== undefined && (isGroupMac(m.targetMac) || sameMac(m.targetMac, this.#mac))) {
      c.invalid++;
      return;
    }
    const e = this.#entries.get(keyOf(m.target));
    if (e === undefined) {
      c.unsolicited++;
      return;
    }
    if (e.state === "incomplete" && m.targetMac === undefined) {
      c.invalid++;
      return;
    }
    this.#learn(m.target, m.targetMac, { confirmed: m.solicited, override: m.override, create: false });
  }

  /**
   * Applies what a message said about `address`: `mac` (undefined: no address given), whether it confirms
   * reachability (a solicited answer), whether it may replace a different cached MAC, and whether it may
   * create an entry. RFC 4861 §7.2.3 and §7.2.5, used for ARP as well.
   */
  #learn(
    address: IpAddress,
    mac: Uint8Array | undefined,
    how: { readonly confirmed: boolean; readonly override: boolean; readonly create: boolean },
  ): void {
    const key = keyOf(address);
    let e = this.#entries.get(key);
    if (e !== undefined && e.state === "permanent") return;
    if (e === undefined) {
      if (!how.create || mac === undefined) return;
      e = this.#create(address);
      if (e === undefined) {
        this.counters.tableFull++;
        return;
      }
      e.mac = mac;
      this.counters.learned++;
      if (how.confirmed) this.#makeReachable(e);
      else this.#makeStale(e);
      return;
    }
    if (e.state === "incomplete") {
      if (mac === undefined) return;
      e.mac = mac;
      this.counters.learned++;
      if (how.confirmed) this.#makeReachable(e);
      else this.#makeStale(e);
      this.#flush(e, mac);
      return;
    }
    const same = mac === undefined || sameMac(mac, e.mac as Uint8Array);
    if (!same && !how.override) {
      if (this.#current(e) === "reachable") this.#makeStale(e);
      return;
    }
    if (!same) {
      e.mac = mac;
      this.counters.learned++;
    }
    if (how.confirmed) this.#makeReachable(e);
    else if (!same) this.#makeStale(e);
  }

  // ---------------------------------------------------------------------------------------------
  // States and timers

  /** The entry's state now: a REACHABLE entry whose time is up is STALE (checked lazily, no timer). */
  #current(e: Entry): NeighborState {
    if (e.state === "reachable" && this.#scheduler.nowNs() >= e.reachableUntilNs) e.state = "stale";
    return e.state;
  }

  #makeReachable(e: Entry): void {
    e.timer?.cancel();
    e.timer = undefined;
    e.tries = 0;
    e.state = "reachable";
    e.reachableUntilNs = this.#scheduler.nowNs() + this.#reachableNs;
  }

  #makeStale(e: Entry): void {
    e.timer?.cancel();
    e.timer = undefined;
    e.tries = 0;
    e.state = "stale";
  }

  /** STALE and used: wait for an upper-layer confirmation, then probe (§7.3.3). */
  #enterDelay(e: Entry): void {
    e.state = "delay";
    e.timer = this.#scheduler.after(this.#delayNs, () => {
      if (this.#entries.get(e.key) !== e || e.state !== "delay") return;
      e.state = "probe";
      e.tries = 0;
      this.#probe(e);
    });
  }

  #probe(e: Entry): void {
    if (e.tries >= this.#maxUnicast) {
      // No answer to the unicast probes: the entry is deleted; the next packet resolves afresh.
      this.#entries.delete(e.key);
      e.timer = undefined;
      return;
    }
    e.tries++;
    this.#solicit(e, e.mac);
    e.timer = this.#scheduler.after(this.#retransmitNs, () => {
      if (this.#entries.get(e.key) === e && e.state === "probe") this.#probe(e);
    });
  }

  #solicitIncomplete(e: Entry): void {
    if (e.tries >= this.#maxMulticast) {
      this.#fail(e);
      return;
    }
    e.tries++;
    this.#solicit(e, undefined);
    e.timer = this.#scheduler.after(this.#retransmitNs, () => {
      if (this.#entries.get(e.key) === e && e.state === "incomplete") this.#solicitIncomplete(e);
    });
  }

  /** Sends an ARP request or an NS for `e`: broadcast/multicast, or unicast to `unicastMac` (a probe). */
  #solicit(e: Entry, unicastMac: Uint8Array | undefined): void {
    const source = e.source ?? this.#sourceAddress(e.address.version, e.address);
    if (source === undefined) return;
    if (e.address.version === 4 && source.version === 4) {
      this.#sendFrame(
        arpFrame({
          operation: ArpOperation.request,
          ethernetDst: unicastMac ?? BROADCAST_MAC,
          senderMac: this.#mac,
          senderIp: source,
          targetMac: ZERO_MAC,
          targetIp: e.address,
        }),
      );
      this.counters.arpRequestsSent++;
    } else if (e.address.version === 6 && source.version === 6) {
      this.#sendFrame(
        neighborSolicitationFrame({
          srcMac: this.#mac,
          src: source,
          target: e.address,
          ...(unicastMac !== undefined ? { unicastMac } : {}),
        }),
      );
      this.counters.solicitationsSent++;
    }
  }

  #enqueue(e: Entry, then: ResolveCallback, packet: Uint8Array | undefined): void {
    e.queue.push({ then, packet });
    this.counters.queued++;
    while (e.queue.length > this.#maxQueued) {
      const oldest = e.queue.shift() as Waiting;
      this.counters.queueDrops++;
      oldest.then(undefined, "queueOverflow");
    }
  }

  /** Resolution answered: every waiting callback, in order, with the MAC. */
  #flush(e: Entry, mac: Uint8Array): void {
    const waiting = e.queue;
    e.queue = [];
    for (const w of waiting) w.then(mac);
  }

  /** No answer: the entry goes, and so does every packet waiting for it (RFC 4861 §7.2.2). */
  #fail(e: Entry): void {
    this.#entries.delete(e.key);
    e.timer = undefined;
    const waiting = e.queue;
    e.queue = [];
    this.counters.resolutionFailures++;
    this.counters.unresolvedDrops += waiting.length;
    const packets: Uint8Array[] = [];
    for (const w of waiting) if (w.packet !== undefined) packets.push(w.packet);
    for (const w of waiting) w.then(undefined, "unresolvable");
    this.#onFailed?.(e.address, packets);
  }

  /** A new INCOMPLETE entry, evicting the oldest STALE one when the cache is full; undefined when it cannot. */
  #create(address: IpAddress): Entry | undefined {
    if (this.#entries.size >= this.#maxEntries) {
      let victim: Entry | undefined;
      for (const e of this.#entries.values()) {
        if (this.#current(e) === "stale") {
          victim = e;
          break;
        }
      }
      if (victim === undefined) return undefined;
      this.#entries.delete(victim.key);
    }
    const key = keyOf(address);
    const e = newEntry(address, key, "incomplete", undefined);
    this.#entries.set(key, e);
    return e;
  }

  /** The waiting packet's source when it is ours, else the interface's choice. */
  #sourceFor(nextHop: IpAddress, packet: Uint8Array | undefined): IpAddress | undefined {
    if (packet !== undefined) {
      const version = (packet[0] ?? 0) >>> 4;
      let src: IpAddress | undefined;
      if (nextHop.version === 4 && version === 4 && packet.length >= 20) src = Ipv4Address.fromBytes(packet, 12);
      if (nextHop.version === 6 && version === 6 && packet.length >= 40) src = Ipv6Address.fromBytes(packet, 8);
      if (src !== undefined && this.#owns(src)) return src;
    }
    const chosen = this.#sourceAddress(nextHop.version, nextHop);
    return chosen !== undefined && chosen.version === nextHop.version ? chosen : undefined;
  }
}

function newEntry(address: IpAddress, key: string, state: NeighborState, mac: Uint8Array | undefined): Entry {
  return { address, key, state, mac, reachableUntilNs: 0n, tries: 0, timer: undefined, queue: [], source: undefined };
}

/** False for addresses no neighbor can hold: unspecified, loopback, IPv4-mapped (and multicast, mapped before). */
function onLinkCandidate(ip: IpAddress): boolean {
  if (ip.isUnspecified() || ip.isLoopback() || ip.isMulticast()) return false;
  if (ip.version === 4) return ip.value !== 0xffffffff;
  return !ip.isV4Mapped();
}
