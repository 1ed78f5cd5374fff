/**
 * IP reassembly on the receiving side: a host's `Reassembler` collects the fragments of IPv4 and IPv6
 * datagrams and hands back each datagram, whole, when its last missing fragment arrives. Pure and
 * deterministic: time comes in as `nowNs` arguments, nothing is scheduled, nothing is random.
 *
 * Datagrams are keyed as RFC 791 §3.2 keys them for IPv4 (source, destination, protocol,
 * identification) and as RFC 8200 §4.5 keys them for IPv6 (source, destination, identification).
 * Each keeps a hole list in the manner of RFC 815: it starts as one hole [0, ∞); every accepted
 * fragment is cut out of the holes; the last fragment (More Fragments clear) removes the hole past its
 * end; the datagram is complete when no hole is left. The rebuilt packet is an ordinary unfragmented
 * packet: for IPv4 the first fragment's header (all its options) with MF and the offset cleared and the
 * total length and checksum recomputed (RFC 791 §3.2); for IPv6 the offset-zero fragment's Unfragmentable
 * Part, the Fragment header removed, the Next Header that announced it set to the Fragment header's Next
 * Header, and Payload Length recomputed (RFC 8200 §4.5).
 *
 * Defences — each is an option, each drop is counted (`counters.dropped[reason]`), none throws. A
 * fragment refused by a check takes down the datagram it belongs to when one is held (its tombstone then
 * absorbs the rest); a refused fragment of no held datagram is dropped alone, creating nothing.
 *
 * - Overlap (`ipv4Overlap`, `ipv6Overlap`, default "drop"): RFC 5722 §4 for IPv6 — the whole datagram,
 *   and its fragments not yet received, is silently discarded; Windows does the same for IPv4. A
 *   discarded datagram stays in the table as a tombstone until its timeout, so its later fragments are
 *   dropped too (reason "discardedDatagram") instead of starting a new reassembly. "acceptFirst" keeps
 *   the bytes that arrived first and uses only the new bytes of a later fragment.
 * - Exact duplicates (`ignoreExactDuplicates`, default true): a fragment with the offset, length, More
 *   Fragments flag and bytes of one already accepted is ignored, not treated as an overlap (RFC 8200
 *   §4.5 allows this). The header of the first copy is kept.
 * - Tiny fragments (`dropTinyFragments`, default true): for IPv4, a first fragment too small for the
 *   transport header (RFC 1858 §3) and a TCP fragment at offset 8, which could rewrite the TCP flags
 *   (RFC 1858 §4 and RFC 3128: "if FO=1 and PROTOCOL=TCP then drop"); for IPv6, a first fragment without
 *   the whole header chain (RFC 7112 §5, reported for ICMPv6 Parameter Problem code 3).
 * - Length (`maxDatagramLength`, default 65535, the length fields' limit): a fragment whose offset plus
 *   length would make the reassembled IPv4 total length or IPv6 Payload Length exceed it is dropped with
 *   its datagram ("tooLong": ping of death; for IPv6 reported for Parameter Problem code 0 pointing at
 *   the Fragment Offset, RFC 8200 §4.5).
 * - Inconsistent lengths ("badLength", always on): a fragment with no data; a fragment other than the
 *   last whose length is not a multiple of 8 (RFC 791 §3.2; for IPv6 RFC 8200 §4.5 asks for Parameter
 *   Problem code 0 pointing at Payload Length); a second last fragment with a different end; data past
 *   the end set by the last fragment.
 * - Fragments per datagram (`maxFragmentsPerDatagram`, default 64): the next fragment discards the
 *   datagram ("tooManyFragments").
 * - Memory (`maxDatagrams`, default 1024, and `maxBytes`, default 4 MiB, over both IP versions): before
 *   a fragment is stored, the oldest reassemblies are dropped ("overBudget") until the new bytes and,
 *   for a new datagram, its table entry fit. Bytes are the reassembler's own accounting: every stored
 *   fragment byte, and the whole first fragment (its header is kept for the rebuilt packet).
 * - Timeout (`timeoutNs`, default 60 s, RFC 8200 §4.5; Windows uses 60 s for both versions): counted from
 *   the first-arriving fragment. `expire(nowNs)` abandons overdue reassemblies ("timeout") and reports
 *   each with its offset-zero fragment when that had arrived, for ICMP Time Exceeded code 1 (RFC 792,
 *   RFC 4443 §3.3, RFC 8200 §4.5). A fragment that arrives for an overdue datagram before `expire` runs
 *   starts a new reassembly; the overdue one is reported by the next `expire`.
 * - IPv6 atomic fragments (`isolateAtomicFragments`, default true): offset 0 with M clear is processed
 *   on its own, never merged with fragments in the table (RFC 6946 §4).
 *
 * Not checked here, because the host's IP layer does it before calling: the IPv4 header checksum, the
 * destination address, hop limits. Time must not go backwards; a smaller `nowNs` is taken as the
 * largest one seen so far.
 */
import { type IpAddress, Ipv4Address, Ipv6Address } from "../../base/ip.ts";
import { internetChecksum } from "../../wire/checksum.ts";
import { formatWireError } from "../../wire/error.ts";
import { IpProtocol } from "../../wire/ip-protocol.ts";
import { Ipv4View } from "../../wire/ipv4.ts";
import { IPV6_HEADER_LENGTH, Ipv6View } from "../../wire/ipv6.ts";
import { isIpv6ExtensionHeader, walkIpv6Extensions } from "../../wire/ipv6-ext.ts";
import { minimumUpperLayerHeader } from "./upper-layer.ts";

/** What to do when a fragment overlaps bytes already held. */
export type OverlapPolicy = "drop" | "acceptFirst";

export interface ReassemblerOptions {
  /** Reassembly timeout from the first-arriving fragment. Default 60 s (RFC 8200 §4.5). */
  readonly timeoutNs?: bigint;
  /** Fragments one datagram may have. Default 64. */
  readonly maxFragmentsPerDatagram?: number;
  /** Datagrams under reassembly (discarded ones waiting for their timeout included). Default 1024. */
  readonly maxDatagrams?: number;
  /** Bytes held for all datagrams together. Default 4 MiB. */
  readonly maxBytes?: number;
  /** Largest reassembled IPv4 total length / IPv6 Payload Length. Default and maximum 65535. */
  readonly maxDatagramLength?: number;
  /** Default "drop" (Windows). */
  readonly ipv4Overlap?: OverlapPolicy;
  /** Default "drop" (RFC 5722 §4: MUST). */
  readonly ipv6Overlap?: OverlapPolicy;
  /** RFC 1858 / RFC 3128 / RFC 7112 checks. Default true. */
  readonly dropTinyFragments?: boolean;
  /** Ignore exact duplicates instead of treating them as overlaps. Default true. */
  readonly ignoreExactDuplicates?: boolean;
  /** Process IPv6 atomic fragments on their own (RFC 6946). Default true. */
  readonly isolateAtomicFragments?: boolean;
}

/** Why a fragment (and, except for lone refusals, its whole datagram) was discarded. */
export type ReassemblyDropReason =
  /** Not a parsable IPv4/IPv6 fragment, or shorter than its length field. */
  | "malformed"
  | "overlap"
  | "tiny"
  | "badLength"
  | "tooLong"
  | "tooManyFragments"
  | "overBudget"
  | "timeout"
  /** A fragment of a datagram discarded earlier (RFC 5722: "including those not yet received"). */
  | "discardedDatagram";

/** The ICMPv6 Parameter Problem (type 4) the host should send to the fragment's source (RFC 4443 §3.4). */
export interface Icmpv6ParameterProblem {
  /** 0: erroneous header field (RFC 8200 §4.5); 3: first fragment has an incomplete header chain (RFC 7112). */
  readonly code: 0 | 3;
  /** Offset of the offending field in the fragment as received. */
  readonly pointer: number;
}

export type ReassemblyResult =
  /**
   * A whole datagram, in a new buffer the caller owns. `fragments` counts the fragments it was built
   * from: 1 for an IPv6 atomic fragment, 0 when the packet given was not a fragment at all (returned as a copy).
   */
  | { readonly kind: "complete"; readonly packet: Uint8Array; readonly fragments: number }
  /** Held; more fragments are needed. `duplicate`: this fragment was an exact duplicate and was ignored. */
  | { readonly kind: "pending"; readonly duplicate: boolean }
  | {
      readonly kind: "dropped";
      readonly reason: ReassemblyDropReason;
      readonly message: string;
      /** Fragments thrown away by this event: this one plus those its datagram held. */
      readonly fragmentsDiscarded: number;
      /** IPv6 only: the error the host should report to the source, where RFC 8200 / RFC 7112 asks for one. */
      readonly parameterProblem?: Icmpv6ParameterProblem;
    };

/** A reassembly abandoned at its timeout. */
export interface ExpiredDatagram {
  readonly version: 4 | 6;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly identification: number;
  /** IPv4: the Protocol field; IPv6: the Next Header of the first-arriving fragment's Fragment header. */
  readonly protocol: number;
  readonly fragments: number;
  /**
   * The offset-zero fragment as received, when it had arrived: the host sends ICMP Time Exceeded code 1
   * ("fragment reassembly time exceeded") quoting it. Undefined when it never arrived (no ICMP then).
   */
  readonly firstFragment: Uint8Array | undefined;
}

export interface ReassemblyCounters {
  /** IPv4/IPv6 fragments given to `input` (atomic fragments included). */
  fragmentsReceived: number;
  /** Packets given to `input` that were not fragments (returned whole). */
  notFragments: number;
  /** IPv6 atomic fragments processed on their own (RFC 6946). */
  atomicFragments: number;
  datagramsReassembled: number;
  /** Exact duplicates ignored. */
  duplicates: number;
  /** "acceptFirst": fragments that overlapped held bytes and were trimmed to their new bytes. */
  overlapsTrimmed: number;
  /** Fragments thrown away for any reason (held fragments of discarded datagrams included). */
  fragmentsDiscarded: number;
  /** Expiry reports dropped because `expire` was not called while they accumulated. */
  expiryReportsLost: number;
  /** Drop events by reason: one per discarded datagram or refused lone fragment. */
  dropped: Record<ReassemblyDropReason, number>;
}

const DEFAULTS = {
  timeoutNs: 60_000_000_000n,
  maxFragmentsPerDatagram: 64,
  maxDatagrams: 1024,
  maxBytes: 4 * 1024 * 1024,
  maxDatagramLength: 0xffff,
  ipv4Overlap: "drop" as OverlapPolicy,
  ipv6Overlap: "drop" as OverlapPolicy,
  dropTinyFragments: true,
  ignoreExactDuplicates: true,
  isolateAtomicFragments: true,
};

type Settings = typeof DEFAULTS;

const PENDING = Object.freeze({ kind: "pending", duplicate: false } as const);
const PENDING_DUPLICATE = Object.freeze({ kind: "pending", duplicate: true } as const);

/** One received fragment, located in its packet (the input bytes, cut to the packet's length). */
interface Fragment {
  readonly version: 4 | 6;
  readonly key: string;
  readonly packet: Uint8Array;
  /** In bytes. */
  readonly offset: number;
  readonly more: boolean;
  readonly identification: number;
  /** IPv4 Protocol; IPv6 Next Header of the Fragment header. */
  readonly protocol: number;
  /** IPv4: the header length; IPv6: the Fragment header's offset (the Unfragmentable Part's length). */
  readonly headerLength: number;
  /** IPv6: offset of the Next Header field that announces the Fragment header. */
  readonly nextHeaderAt: number;
  /** Start of the fragment data in `packet` (the data runs to the end of `packet`). */
  readonly dataStart: number;
  /** IPv6 first fragments: the whole header chain is present (RFC 7112). True otherwise. */
  readonly chainComplete: boolean;
}

type Classified =
  | { readonly kind: "fragment"; readonly fragment: Fragment }
  | { readonly kind: "whole"; readonly packet: Uint8Array }
  | { readonly kind: "malformed"; readonly message: string };

interface Piece {
  readonly offset: number;
  readonly data: Uint8Array;
}

interface Received {
  readonly offset: number;
  readonly end: number;
  readonly more: boolean;
}

interface Hole {
  readonly start: number;
  readonly end: number;
}

/** One datagram under reassembly (or, once `discarded` is set, its tombstone). */
class Reassembly {
  discarded: ReassemblyDropReason | undefined;
  pieces: Piece[] = [];
  received: Received[] = [];
  holes: Hole[] = [{ start: 0, end: Number.POSITIVE_INFINITY }];
  /** Set by the last fragment. */
  totalEnd: number | undefined;
  /** Highest data end held. */
  dataEnd = 0;
  /** The offset-zero fragment as received (its header is the rebuilt packet's header). */
  first: Uint8Array | undefined;
  firstHeaderLength = 0;
  firstNextHeaderAt = 0;
  fragments = 0;
  bytes = 0;

  constructor(
    readonly key: string,
    readonly version: 4 | 6,
    readonly src: IpAddress,
    readonly dst: IpAddress,
    readonly identification: number,
    readonly protocol: number,
    readonly deadlineNs: bigint,
  ) {}
}

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
}

function writeU16(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 8) & 0xff;
  out[at + 1] = value & 0xff;
}

function classifyIpv4(packet: Uint8Array): Classified {
  const checked = Ipv4View.check(packet);
  if (!checked.ok) return { kind: "malformed", message: formatWireError(checked.error) };
  const v = checked.value;
  if (v.truncated) {
    return {
      kind: "malformed",
      message: `ipv4: total length ${v.totalLength} exceeds the ${packet.length} bytes given`,
    };
  }
  const end = v.totalLength;
  if (!v.isFragment) return { kind: "whole", packet: packet.slice(0, end) };
  return {
    kind: "fragment",
    fragment: {
      version: 4,
      key: `4:${v.srcAddress}:${v.dstAddress}:${v.protocol}:${v.identification}`,
      packet: packet.subarray(0, end),
      offset: v.fragmentOffset,
      more: v.moreFragments,
      identification: v.identification,
      protocol: v.protocol,
      headerLength: v.headerLength,
      nextHeaderAt: 0,
      dataStart: v.headerLength,
      chainComplete: true,
    },
  };
}

/**
 * Finds the Fragment header in the headers before it (RFC 8200 §4.1 order: Hop-by-Hop first, then
 * Destination Options, Routing, ...). This walk is separate from walkIpv6Extensions because a first
 * fragment whose chain is cut short after the Fragment header must still be recognised as a fragment
 * (RFC 7112). Every step advances at least 8 bytes and stays below `end`.
 */
function locateFragmentHeader(
  bytes: Uint8Array,
  end: number,
): { readonly at: number; readonly nextHeaderAt: number } | "none" | "truncated" {
  let next = bytes[6] as number;
  let nextHeaderAt = 6;
  let at = IPV6_HEADER_LENGTH;
  while (next !== IpProtocol.Ipv6Frag) {
    if (!isIpv6ExtensionHeader(next) || (next === IpProtocol.HopByHop && at !== IPV6_HEADER_LENGTH)) return "none";
    if (at + 2 > end) return "none";
    const length = next === IpProtocol.Ah ? ((bytes[at + 1] as number) + 2) * 4 : ((bytes[at + 1] as number) + 1) * 8;
    if (at + length > end) return "none";
    nextHeaderAt = at;
    next = bytes[at] as number;
    at += length;
  }
  return at + 8 <= end ? { at, nextHeaderAt } : "truncated";
}

/** The source and destination addresses (bytes 8–39) as a 16-character key. */
function ipv6AddressKey(bytes: Uint8Array): string {
  let s = "";
  for (let i = 8; i < 40; i += 2) s += String.fromCharCode(u16(bytes, i));
  return s;
}

function classifyIpv6(packet: Uint8Array): Classified {
  const checked = Ipv6View.check(packet);
  if (!checked.ok) return { kind: "malformed", message: formatWireError(checked.error) };
  const v = checked.value;
  if (v.jumbogram) {
    // RFC 2675 §3: a jumbogram never carries a Fragment header.
    return locateFragmentHeader(packet, packet.length) === "none"
      ? { kind: "whole", packet: packet.slice() }
      : { kind: "malformed", message: "ipv6: a jumbogram carries a Fragment header (RFC 2675 §3)" };
  }
  if (v.truncated) {
    return {
      kind: "malformed",
      message: `ipv6: payload length ${v.payloadLength} exceeds the ${packet.length - IPV6_HEADER_LENGTH} bytes given`,
    };
  }
  const end = IPV6_HEADER_LENGTH + v.payloadLength;
  const found = locateFragmentHeader(packet, end);
  if (found === "none") return { kind: "whole", packet: packet.slice(0, end) };
  if (found === "truncated") return { kind: "malformed", message: "ipv6: Fragment header truncated" };
  const at = found.at;
  const word = u16(packet, at + 2);
  const offset = word & 0xfff8;
  const more = (word & 1) !== 0;
  const protocol = packet[at] as number;
  const identification = ((u16(packet, at + 4) << 16) | u16(packet, at + 6)) >>> 0;
  let chainComplete = true;
  if (offset === 0 && more) {
    const chain = walkIpv6Extensions(packet, at + 8, protocol, end);
    chainComplete = chain.ok && chain.value.upperOffset + minimumUpperLayerHeader(chain.value.upperProtocol) <= end;
  }
  return {
    kind: "fragment",
    fragment: {
      version: 6,
      key: `6:${ipv6AddressKey(packet)}:${identification}`,
      packet: packet.subarray(0, end),
      offset,
      more,
      identification,
      protocol,
      headerLength: at,
      nextHeaderAt: found.nextHeaderAt,
      dataStart: at + 8,
      chainComplete,
    },
  };
}

/** The IPv4 packet rebuilt from the first fragment's header and the data pieces (RFC 791 §3.2). */
function buildIpv4(first: Uint8Array, headerLength: number, pieces: readonly Piece[], dataLength: number): Uint8Array {
  const out = new Uint8Array(headerLength + dataLength);
  out.set(first.subarray(0, headerLength), 0);
  for (const p of pieces) out.set(p.data, headerLength + p.offset);
  writeU16(out, 2, headerLength + dataLength);
  // Keep the reserved and DF bits; clear MF and the fragment offset.
  out[6] = (out[6] as number) & 0xc0;
  out[7] = 0;
  writeU16(out, 10, 0);
  writeU16(out, 10, internetChecksum(out, 0, headerLength));
  return out;
}

/**
 * The IPv6 packet rebuilt from the offset-zero fragment's Unfragmentable Part (`unfragmentable` bytes)
 * and the data pieces, without the Fragment header (RFC 8200 §4.5).
 */
function buildIpv6(
  first: Uint8Array,
  unfragmentable: number,
  nextHeaderAt: number,
  pieces: readonly Piece[],
  dataLength: number,
): Uint8Array {
  const out = new Uint8Array(unfragmentable + dataLength);
  out.set(first.subarray(0, unfragmentable), 0);
  out[nextHeaderAt] = first[unfragmentable] as number;
  writeU16(out, 4, unfragmentable - IPV6_HEADER_LENGTH + dataLength);
  for (const p of pieces) out.set(p.data, unfragmentable + p.offset);
  return out;
}

/** The parts of [start, end) that fall in holes, in hole order. */
function rangesInHoles(holes: readonly Hole[], start: number, end: number): Hole[] {
  const ranges: Hole[] = [];
  for (const h of holes) {
    const a = Math.max(h.start, start);
    const b = Math.min(h.end, end);
    if (a < b) ranges.push({ start: a, end: b });
  }
  return ranges;
}

/** The holes with [start, end) cut out (RFC 815 steps 1–6). */
function cutHoles(holes: readonly Hole[], start: number, end: number): Hole[] {
  const out: Hole[] = [];
  for (const h of holes) {
    if (h.end <= start || h.start >= end) out.push(h);
    else {
      if (h.start < start) out.push({ start: h.start, end: start });
      if (end < h.end) out.push({ start: end, end: h.end });
    }
  }
  return out;
}

function validated(options: ReassemblerOptions): Settings {
  const s: Settings = {
    timeoutNs: options.timeoutNs ?? DEFAULTS.timeoutNs,
    maxFragmentsPerDatagram: options.maxFragmentsPerDatagram ?? DEFAULTS.maxFragmentsPerDatagram,
    maxDatagrams: options.maxDatagrams ?? DEFAULTS.maxDatagrams,
    maxBytes: options.maxBytes ?? DEFAULTS.maxBytes,
    maxDatagramLength: options.maxDatagramLength ?? DEFAULTS.maxDatagramLength,
    ipv4Overlap: options.ipv4Overlap ?? DEFAULTS.ipv4Overlap,
    ipv6Overlap: options.ipv6Overlap ?? DEFAULTS.ipv6Overlap,
    dropTinyFragments: options.dropTinyFragments ?? DEFAULTS.dropTinyFragments,
    ignoreExactDuplicates: options.ignoreExactDuplicates ?? DEFAULTS.ignoreExactDuplicates,
    isolateAtomicFragments: options.isolateAtomicFragments ?? DEFAULTS.isolateAtomicFragments,
  };
  if (s.timeoutNs <= 0n) throw new RangeError("reassembly: timeoutNs must be positive");
  for (const [name, value, max] of [
    ["maxFragmentsPerDatagram", s.maxFragmentsPerDatagram, Number.MAX_SAFE_INTEGER],
    ["maxDatagrams", s.maxDatagrams, Number.MAX_SAFE_INTEGER],
    ["maxBytes", s.maxBytes, Number.MAX_SAFE_INTEGER],
    ["maxDatagramLength", s.maxDatagramLength, 0xffff],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new RangeError(`reassembly: ${name} ${value} must be an integer from 1 to ${max}`);
    }
  }
  return s;
}

function zeroDropCounts(): Record<ReassemblyDropReason, number> {
  return {
    malformed: 0,
    overlap: 0,
    tiny: 0,
    badLength: 0,
    tooLong: 0,
    tooManyFragments: 0,
    overBudget: 0,
    timeout: 0,
    discardedDatagram: 0,
  };
}

interface Defect {
  readonly reason: ReassemblyDropReason;
  readonly message: string;
  readonly parameterProblem?: Icmpv6ParameterProblem;
}

/** A host's reassembly table for IPv4 and IPv6 (see the module comment). */
export class Reassembler {
  readonly #s: Settings;
  /** Insertion order is creation order, hence deadline order: the first entry is the oldest. */
  readonly #table = new Map<string, Reassembly>();
  #bytes = 0;
  #now: bigint | undefined;
  /** Reports of reassemblies that expired outside `expire` (bounded by maxDatagrams). */
  #reports: ExpiredDatagram[] = [];
  readonly #c: ReassemblyCounters = {
    fragmentsReceived: 0,
    notFragments: 0,
    atomicFragments: 0,
    datagramsReassembled: 0,
    duplicates: 0,
    overlapsTrimmed: 0,
    fragmentsDiscarded: 0,
    expiryReportsLost: 0,
    dropped: zeroDropCounts(),
  };

  /** Throws RangeError for options out of range (configuration, not data). */
  constructor(options: ReassemblerOptions = {}) {
    this.#s = validated(options);
  }

  /** The settings in force, defaults filled in. */
  get options(): Required<ReassemblerOptions> {
    return { ...this.#s };
  }

  /** A snapshot of the counters. */
  get counters(): ReassemblyCounters {
    return { ...this.#c, dropped: { ...this.#c.dropped } };
  }

  /** Datagrams in the table, tombstones of discarded ones included. */
  get datagramsHeld(): number {
    return this.#table.size;
  }

  /** Bytes held, as counted against `maxBytes`. */
  get bytesHeld(): number {
    return this.#bytes;
  }

  /**
   * When `expire` next has something to do: the oldest reassembly's deadline, the latest time seen when
   * reports are already waiting, undefined when the table is empty.
   */
  nextExpiryNs(): bigint | undefined {
    if (this.#reports.length > 0 && this.#now !== undefined) return this.#now;
    for (const e of this.#table.values()) return e.deadlineNs;
    return undefined;
  }

  /**
   * Takes one received IPv4 or IPv6 packet (the IP header first; bytes past its length field, such as
   * Ethernet padding, are ignored) and returns what became of it. The bytes are copied where kept; the
   * caller may reuse its buffer.
   */
  input(packet: Uint8Array, nowNs: bigint): ReassemblyResult {
    const now = this.#advance(nowNs);
    const version = packet.length > 0 ? (packet[0] as number) >>> 4 : -1;
    const classified =
      version === 4
        ? classifyIpv4(packet)
        : version === 6
          ? classifyIpv6(packet)
          : ({ kind: "malformed", message: "not an IPv4 or IPv6 packet" } as const);
    if (classified.kind === "malformed") return this.#refuse({ reason: "malformed", message: classified.message });
    if (classified.kind === "whole") {
      this.#c.notFragments++;
      return { kind: "complete", packet: classified.packet, fragments: 0 };
    }
    const f = classified.fragment;
    this.#c.fragmentsReceived++;
    const length = f.packet.length - f.dataStart;
    if (f.version === 6 && f.offset === 0 && !f.more && this.#s.isolateAtomicFragments) {
      this.#c.atomicFragments++;
      const piece = { offset: 0, data: f.packet.subarray(f.dataStart) };
      return {
        kind: "complete",
        packet: buildIpv6(f.packet, f.headerLength, f.nextHeaderAt, [piece], length),
        fragments: 1,
      };
    }

    const entry = this.#lookup(f.key, now);
    if (entry?.discarded !== undefined) {
      return this.#refuse({
        reason: "discardedDatagram",
        message: `a fragment of a datagram already discarded (${entry.discarded})`,
      });
    }
    const defect = this.#defect(f, length);
    if (defect !== undefined) return entry === undefined ? this.#refuse(defect) : this.#discard(entry, defect);
    return entry === undefined ? this.#start(f, length, now) : this.#add(entry, f, length);
  }

  /**
   * Abandons every reassembly whose timeout has passed at `nowNs` and returns them (with those that
   * expired earlier, inside `input`), oldest first. Discarded datagrams' tombstones go silently.
   */
  expire(nowNs: bigint): ExpiredDatagram[] {
    const now = this.#advance(nowNs);
    const out = this.#reports;
    this.#reports = [];
    this.#sweep(now, out);
    return out;
  }

  #advance(nowNs: bigint): bigint {
    if (this.#now === undefined || nowNs > this.#now) this.#now = nowNs;
    return this.#now;
  }

  /** Expires overdue entries from the front of the table (they are in deadline order). */
  #sweep(now: bigint, sink: ExpiredDatagram[] | undefined): void {
    for (const e of this.#table.values()) {
      if (now < e.deadlineNs) break;
      this.#expireEntry(e, sink);
    }
  }

  #lookup(key: string, now: bigint): Reassembly | undefined {
    const e = this.#table.get(key);
    if (e === undefined || now < e.deadlineNs) return e;
    this.#expireEntry(e, undefined);
    return undefined;
  }

  /** Removes an overdue entry; open ones are counted and reported to `sink` (or the bounded queue). */
  #expireEntry(e: Reassembly, sink: ExpiredDatagram[] | undefined): void {
    this.#remove(e);
    if (e.discarded !== undefined) return;
    this.#c.dropped.timeout++;
    this.#c.fragmentsDiscarded += e.fragments;
    const report: ExpiredDatagram = {
      version: e.version,
      src: e.src,
      dst: e.dst,
      identification: e.identification,
      protocol: e.protocol,
      fragments: e.fragments,
      firstFragment: e.first,
    };
    if (sink !== undefined) sink.push(report);
    else {
      if (this.#reports.length >= this.#s.maxDatagrams) {
        this.#reports.shift();
        this.#c.expiryReportsLost++;
      }
      this.#reports.push(report);
    }
  }

  #remove(e: Reassembly): void {
    this.#table.delete(e.key);
    this.#bytes -= e.bytes;
    e.bytes = 0;
  }

  /** Checks that need only the fragment itself. */
  #defect(f: Fragment, length: number): Defect | undefined {
    if (length === 0) return { reason: "badLength", message: "the fragment carries no data" };
    if (f.more && length % 8 !== 0) {
      return {
        reason: "badLength",
        message: `a fragment with more to follow carries ${length} bytes, not a multiple of 8`,
        ...(f.version === 6 ? { parameterProblem: { code: 0, pointer: 4 } } : {}),
      };
    }
    const declared =
      f.version === 4 ? f.headerLength + f.offset + length : f.headerLength - IPV6_HEADER_LENGTH + f.offset + length;
    if (declared > this.#s.maxDatagramLength) {
      return {
        reason: "tooLong",
        message: `offset ${f.offset} plus ${length} bytes makes a datagram of ${declared} bytes, over ${this.#s.maxDatagramLength}`,
        ...(f.version === 6 ? { parameterProblem: { code: 0, pointer: f.headerLength + 2 } } : {}),
      };
    }
    if (!this.#s.dropTinyFragments) return undefined;
    if (f.version === 4) {
      const needed = minimumUpperLayerHeader(f.protocol);
      if (f.offset === 0 && length < needed) {
        return {
          reason: "tiny",
          message: `first fragment holds ${length} bytes of a ${needed}-byte protocol ${f.protocol} header (RFC 1858)`,
        };
      }
      if (f.offset === 8 && f.protocol === IpProtocol.Tcp) {
        return { reason: "tiny", message: "TCP fragment at offset 8 (RFC 1858 §4, RFC 3128)" };
      }
    } else if (!f.chainComplete) {
      return {
        reason: "tiny",
        message: "first fragment does not hold the whole header chain (RFC 7112)",
        parameterProblem: { code: 3, pointer: 0 },
      };
    }
    return undefined;
  }

  /** Refuses a fragment that belongs to no datagram held (or a packet that is not one). */
  #refuse(defect: Defect): ReassemblyResult {
    this.#c.dropped[defect.reason]++;
    this.#c.fragmentsDiscarded++;
    return { kind: "dropped", fragmentsDiscarded: 1, ...defect };
  }

  /**
   * Discards a datagram and, unless it was already stored (`incoming` 0), the fragment that condemned
   * it; the entry stays as a tombstone until its deadline.
   */
  #discard(e: Reassembly, defect: Defect, incoming = 1): ReassemblyResult {
    const discarded = e.fragments + incoming;
    this.#c.dropped[defect.reason]++;
    this.#c.fragmentsDiscarded += discarded;
    this.#bytes -= e.bytes;
    e.bytes = 0;
    e.pieces = [];
    e.received = [];
    e.holes = [];
    e.first = undefined;
    e.discarded = defect.reason;
    return { kind: "dropped", fragmentsDiscarded: discarded, ...defect };
  }

  /**
   * Makes room for `cost` more bytes (and a table entry when `entry` is undefined) by expiring overdue
   * reassemblies, then dropping the oldest others. False when even that is not enough.
   */
  #makeRoom(cost: number, entry: Reassembly | undefined): boolean {
    const now = this.#now ?? 0n;
    this.#sweep(now, undefined);
    for (;;) {
      const overBytes = this.#bytes + cost > this.#s.maxBytes;
      const overSlots = entry === undefined && this.#table.size >= this.#s.maxDatagrams;
      if (!overBytes && !overSlots) return true;
      let victim: Reassembly | undefined;
      for (const e of this.#table.values()) {
        if (e !== entry) {
          victim = e;
          break;
        }
      }
      if (victim === undefined) return false;
      this.#remove(victim);
      if (victim.discarded === undefined) {
        this.#c.dropped.overBudget++;
        this.#c.fragmentsDiscarded += victim.fragments;
      }
    }
  }

  #start(f: Fragment, length: number, now: bigint): ReassemblyResult {
    const cost = f.offset === 0 ? f.packet.length : length;
    if (cost > this.#s.maxBytes || !this.#makeRoom(cost, undefined)) {
      return this.#refuse({ reason: "overBudget", message: `a ${cost}-byte fragment does not fit in the byte budget` });
    }
    const e = new Reassembly(
      f.key,
      f.version,
      f.version === 4 ? Ipv4Address.fromBytes(f.packet, 12) : Ipv6Address.fromBytes(f.packet, 8),
      f.version === 4 ? Ipv4Address.fromBytes(f.packet, 16) : Ipv6Address.fromBytes(f.packet, 24),
      f.identification,
      f.protocol,
      now + this.#s.timeoutNs,
    );
    this.#table.set(e.key, e);
    this.#store(e, f, [{ start: f.offset, end: f.offset + length }], f.offset === 0);
    return this.#completeIfDone(e);
  }

  #add(e: Reassembly, f: Fragment, length: number): ReassemblyResult {
    const start = f.offset;
    const end = start + length;
    if (this.#s.ignoreExactDuplicates && this.#isDuplicate(e, f, start, end)) {
      this.#c.duplicates++;
      return PENDING_DUPLICATE;
    }
    if (e.fragments >= this.#s.maxFragmentsPerDatagram) {
      return this.#discard(e, {
        reason: "tooManyFragments",
        message: `more than ${this.#s.maxFragmentsPerDatagram} fragments`,
      });
    }
    if (e.totalEnd !== undefined && end > e.totalEnd) {
      return this.#discard(e, {
        reason: "badLength",
        message: `fragment ends at ${end}, past the datagram's end at ${e.totalEnd}`,
      });
    }
    if (!f.more) {
      if (e.totalEnd !== undefined && end !== e.totalEnd) {
        return this.#discard(e, {
          reason: "badLength",
          message: `a second last fragment ends at ${end}, not ${e.totalEnd}`,
        });
      }
      if (e.dataEnd > end) {
        return this.#discard(e, {
          reason: "badLength",
          message: `the last fragment ends at ${end} but data up to ${e.dataEnd} is held`,
        });
      }
    }
    const ranges = rangesInHoles(e.holes, start, end);
    let fresh = 0;
    for (const r of ranges) fresh += r.end - r.start;
    const overlapping = fresh !== length;
    if (overlapping && (f.version === 4 ? this.#s.ipv4Overlap : this.#s.ipv6Overlap) === "drop") {
      return this.#discard(e, {
        reason: "overlap",
        message: `fragment [${start}, ${end}) overlaps data already held`,
      });
    }
    const storesFirst = start === 0 && e.first === undefined;
    const cost = storesFirst ? f.packet.length : fresh;
    if (!this.#makeRoom(cost, e)) {
      const needed = e.bytes + cost;
      this.#remove(e);
      this.#c.dropped.overBudget++;
      this.#c.fragmentsDiscarded += e.fragments + 1;
      return {
        kind: "dropped",
        reason: "overBudget",
        message: `the datagram's ${needed} bytes do not fit in the byte budget`,
        fragmentsDiscarded: e.fragments + 1,
      };
    }
    if (overlapping) this.#c.overlapsTrimmed++;
    this.#store(e, f, ranges, storesFirst);
    return this.#completeIfDone(e);
  }

  /** Same offset, end and MF as an accepted fragment, and the same bytes as those held for that range. */
  #isDuplicate(e: Reassembly, f: Fragment, start: number, end: number): boolean {
    if (!e.received.some((r) => r.offset === start && r.end === end && r.more === f.more)) return false;
    for (const p of e.pieces) {
      const a = Math.max(p.offset, start);
      const b = Math.min(p.offset + p.data.length, end);
      for (let i = a; i < b; i++) {
        if (p.data[i - p.offset] !== f.packet[f.dataStart + i - start]) return false;
      }
    }
    return true;
  }

  /** Stores the parts `ranges` of the fragment's data and cuts them out of the holes. */
  #store(e: Reassembly, f: Fragment, ranges: readonly Hole[], storesFirst: boolean): void {
    const start = f.offset;
    const end = start + (f.packet.length - f.dataStart);
    let source = f.packet;
    if (storesFirst) {
      source = f.packet.slice();
      e.first = source;
      e.firstHeaderLength = f.headerLength;
      e.firstNextHeaderAt = f.nextHeaderAt;
      e.bytes += source.length;
      this.#bytes += source.length;
    }
    for (const r of ranges) {
      const from = f.dataStart + r.start - start;
      const to = f.dataStart + r.end - start;
      if (storesFirst) e.pieces.push({ offset: r.start, data: source.subarray(from, to) });
      else {
        e.pieces.push({ offset: r.start, data: source.slice(from, to) });
        e.bytes += to - from;
        this.#bytes += to - from;
      }
    }
    e.holes = cutHoles(e.holes, start, end);
    e.received.push({ offset: start, end, more: f.more });
    e.fragments++;
    if (end > e.dataEnd) e.dataEnd = end;
    if (!f.more) {
      e.totalEnd = end;
      // RFC 815 step 7: no hole past the last fragment.
      e.holes = cutHoles(e.holes, end, Number.POSITIVE_INFINITY);
    }
  }

  #completeIfDone(e: Reassembly): ReassemblyResult {
    if (e.holes.length > 0 || e.totalEnd === undefined || e.first === undefined) return PENDING;
    const declared =
      e.version === 4 ? e.firstHeaderLength + e.totalEnd : e.firstHeaderLength - IPV6_HEADER_LENGTH + e.totalEnd;
    if (declared > this.#s.maxDatagramLength) {
      // The fragment that completed it is already stored, hence `incoming` 0.
      return this.#discard(
        e,
        {
          reason: "tooLong",
          message: `the reassembled datagram would be ${declared} bytes, over ${this.#s.maxDatagramLength}`,
        },
        0,
      );
    }
    const packet =
      e.version === 4
        ? buildIpv4(e.first, e.firstHeaderLength, e.pieces, e.totalEnd)
        : buildIpv6(e.first, e.firstHeaderLength, e.firstNextHeaderAt, e.pieces, e.totalEnd);
    this.#remove(e);
    this.#c.datagramsReassembled++;
    return { kind: "complete", packet, fragments: e.fragments };
  }
}
