/**
 * The headers of one IP packet as plain numbers in a reused object, for the packet observer's hot path:
 * reading a packet allocates nothing. IPv4 packets that are no fragment and carry a whole TCP or UDP header
 * (nearly all traffic) are read in place, accepting only what the wire views accept, so that a packet read
 * here is one `parseIpPacket` reads, with the same fields (a test compares the two on every fixture
 * capture); every other packet goes through `parseIpPacket` (src/shim), whose fields are copied and whose
 * WireError is the answer for a malformed packet. `info()` gives the packet as `IpPacketInfo` — what
 * facts, labels and fragment keys are made from — built on first use, so only packets that some layer
 * classifies pay for it.
 */
import { type IpAddress, Ipv4Address } from "../base/index.ts";
import { type IpPacketInfo, parseIpPacket } from "../shim/index.ts";
import { IpProtocol, type WireError } from "../wire/index.ts";

const NO_BYTES = new Uint8Array(0);

export class PacketHeaders {
  bytes: Uint8Array = NO_BYTES;
  version: 4 | 6 = 4;
  protocol = 0;
  ttl = 0;
  /** Offset of the IP header in `bytes`. */
  offset = 0;
  ipHeaderLength = 0;
  /** From `offset` to the end of the datagram (total length, clamped to the bytes). */
  length = 0;
  /** IPv4 source and destination as unsigned numbers (IPv4 packets only). */
  src4 = 0;
  dst4 = 0;
  /** A fragment of a larger datagram (MF set or a non-zero offset). */
  fragment = false;
  /** The packet has a transport header (absent for a non-first fragment or an unknown protocol). */
  transport = false;
  transportOffset = 0;
  transportHeaderLength = 0;
  /** TCP / UDP ports, -1 when absent. */
  srcPort = -1;
  dstPort = -1;
  /** TCP flag bits, -1 when the packet is not TCP. */
  tcpFlags = -1;
  tcpSeq = 0;
  tcpAck = 0;
  /** ICMP type and code, -1 when the packet is not ICMP; the echo identifier, -1 when it is no echo. */
  icmpType = -1;
  icmpCode = -1;
  icmpId = -1;
  icmpError = false;
  payloadLength = 0;
  /** Read by the fast path (an unfragmented IPv4 packet with a TCP or UDP header): no IpPacketInfo yet. */
  fast = false;

  #info: IpPacketInfo | undefined = undefined;

  /** Reads the IP packet at bytes[offset, end): undefined when it is readable, else why not. */
  read(bytes: Uint8Array, offset: number, end: number): WireError | undefined {
    this.#info = undefined;
    this.fast = this.#fast(bytes, offset, end);
    return this.fast ? undefined : this.#general(bytes, offset, end);
  }

  /**
   * An unfragmented IPv4 packet with a whole TCP or UDP header, read in place; false for anything else
   * (read by `#general`). Accepts only what Ipv4View.check and TcpView.check / UdpView.check accept —
   * IHL ≥ 5 and the header captured, total length ≥ header length; TCP data offset ≥ 5 and the header
   * captured; UDP header captured and its length ≥ 8 — and takes the same fields parseIpPacket takes.
   */
  #fast(b: Uint8Array, offset: number, end: number): boolean {
    if (offset < 0 || end > b.length || end - offset < 20) return false;
    const first = b[offset] as number;
    if (first >>> 4 !== 4) return false;
    const ipHeaderLength = (first & 0x0f) * 4;
    if (ipHeaderLength < 20 || ipHeaderLength > end - offset) return false;
    const totalLength = ((b[offset + 2] as number) << 8) | (b[offset + 3] as number);
    if (totalLength < ipHeaderLength) return false;
    if ((((b[offset + 6] as number) << 8) | (b[offset + 7] as number)) & 0x3fff) return false; // MF or offset
    const protocol = b[offset + 9] as number;
    const at = offset + ipHeaderLength;
    const payloadEnd = Math.min(offset + totalLength, end);
    if (protocol === IpProtocol.Tcp) {
      if (payloadEnd - at < 20) return false;
      const words = (b[at + 12] as number) >>> 4;
      if (words < 5 || at + words * 4 > payloadEnd) return false;
      this.transportHeaderLength = words * 4;
      this.tcpFlags = (((b[at + 12] as number) & 1) << 8) | (b[at + 13] as number);
      this.tcpSeq = u32(b, at + 4);
      this.tcpAck = u32(b, at + 8);
      this.payloadLength = payloadEnd - (at + words * 4);
    } else if (protocol === IpProtocol.Udp) {
      if (payloadEnd - at < 8) return false;
      const length = ((b[at + 4] as number) << 8) | (b[at + 5] as number);
      if (length < 8) return false;
      this.transportHeaderLength = 8;
      this.tcpFlags = -1;
      this.payloadLength = Math.min(at + length, payloadEnd) - (at + 8);
    } else {
      return false;
    }
    if (this.bytes !== b) this.bytes = b;
    this.version = 4;
    this.protocol = protocol;
    this.ttl = b[offset + 8] as number;
    this.offset = offset;
    this.ipHeaderLength = ipHeaderLength;
    this.length = payloadEnd - offset;
    this.src4 = u32(b, offset + 12);
    this.dst4 = u32(b, offset + 16);
    this.fragment = false;
    this.transport = true;
    this.transportOffset = at;
    this.srcPort = ((b[at] as number) << 8) | (b[at + 1] as number);
    this.dstPort = ((b[at + 2] as number) << 8) | (b[at + 3] as number);
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpId = -1;
    this.icmpError = false;
    return true;
  }

  /** Any other packet: parseIpPacket, its fields copied. */
  #general(bytes: Uint8Array, offset: number, end: number): WireError | undefined {
    const parsed = parseIpPacket(bytes, offset, end);
    if (!parsed.ok) return parsed.error;
    const p = parsed.value;
    this.#info = p;
    if (this.bytes !== bytes) this.bytes = bytes;
    this.version = p.version;
    this.protocol = p.protocol;
    this.ttl = p.ttl;
    this.offset = p.offset;
    this.ipHeaderLength = p.ipHeaderLength;
    this.length = p.length;
    this.src4 = p.src.version === 4 ? p.src.value : 0;
    this.dst4 = p.dst.version === 4 ? p.dst.value : 0;
    this.fragment = p.fragment !== undefined;
    const t = p.transport;
    this.transport = t !== undefined;
    this.transportOffset = t?.offset ?? 0;
    this.transportHeaderLength = t?.headerLength ?? 0;
    this.srcPort = t?.srcPort ?? -1;
    this.dstPort = t?.dstPort ?? -1;
    this.tcpFlags = t?.tcpFlags ?? -1;
    this.tcpSeq = t?.tcpSeq ?? 0;
    this.tcpAck = t?.tcpAck ?? 0;
    this.icmpType = t?.icmpType ?? -1;
    this.icmpCode = t?.icmpCode ?? -1;
    this.icmpId = t?.icmpId ?? -1;
    this.icmpError = t?.icmpError === true;
    this.payloadLength = t?.payloadLength ?? 0;
    return undefined;
  }

  /** The packet as parseIpPacket gives it (built once per packet, on first use). */
  info(): IpPacketInfo {
    const cached = this.#info;
    if (cached !== undefined) return cached;
    // Only the fast path leaves it unbuilt: an unfragmented IPv4 packet with a TCP or UDP header.
    const tcp = this.tcpFlags >= 0;
    const info: IpPacketInfo = {
      version: 4,
      src: new Ipv4Address(this.src4),
      dst: new Ipv4Address(this.dst4),
      protocol: this.protocol,
      ttl: this.ttl,
      offset: this.offset,
      ipHeaderLength: this.ipHeaderLength,
      length: this.length,
      transport: tcp
        ? {
            offset: this.transportOffset,
            headerLength: this.transportHeaderLength,
            srcPort: this.srcPort,
            dstPort: this.dstPort,
            tcpFlags: this.tcpFlags,
            tcpSeq: this.tcpSeq,
            tcpAck: this.tcpAck,
            payloadLength: this.payloadLength,
          }
        : {
            offset: this.transportOffset,
            headerLength: 8,
            srcPort: this.srcPort,
            dstPort: this.dstPort,
            payloadLength: this.payloadLength,
          },
    };
    this.#info = info;
    return info;
  }

  /** Source and destination as addresses (from `info()`). */
  get src(): IpAddress {
    return this.info().src;
  }

  get dst(): IpAddress {
    return this.info().dst;
  }
}

function u32(b: Uint8Array, i: number): number {
  return (
    (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
  );
}
