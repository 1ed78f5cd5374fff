/**
 * The benchmark capture: a deterministic Ethernet/IPv4 pcap of TCP and UDP packets (seeded RNG, fixed
 * timestamps), written with openwfp's own emitters and pcap writer. About a quarter of the TCP packets go to
 * destination port 80; sizes vary from bare ACKs to full-MSS segments.
 */
import { Ipv4Address, SeededRng } from "../src/base/index.ts";
import { FileSink, PcapWriter } from "../src/capture/index.ts";
import {
  EtherType,
  emitEthernetHeader,
  emitIpv4Header,
  emitTcpHeader,
  emitUdpHeader,
  IpProtocol,
  LinkType,
  TCP_ACK,
  TCP_PSH,
} from "../src/wire/index.ts";

export interface GeneratedCapture {
  readonly path: string;
  readonly packets: number;
  /** How many packets are TCP to destination port 80 (what the benchmark counts). */
  readonly tcpToPort80: number;
}

export function generateBenchCapture(path: string, packets: number, seed = 2026): GeneratedCapture {
  const rng = new SeededRng(seed);
  const writer = new PcapWriter(new FileSink(path, 4 * 1024 * 1024), { linkType: LinkType.EN10MB });
  const frame = new Uint8Array(1514);
  const payloadSizes = [0, 0, 0, 32, 100, 512, 1200, 1460];
  const hosts = Array.from({ length: 256 }, () => new Ipv4Address(0x0a000000 | rng.nextInt(0x1000000)));
  const servers = Array.from({ length: 64 }, () => new Ipv4Address((rng.nextU32() | 0x01000000) >>> 0));
  let tcpToPort80 = 0;
  const t0 = 1_700_000_000_000_000_000n;
  for (let i = 0; i < packets; i++) {
    const tcp = rng.chance(0.7);
    const payload = rng.pick(payloadSizes);
    const client = rng.pick(hosts);
    const server = rng.pick(servers);
    const toServer = rng.chance(0.5);
    const serverPort = tcp ? rng.pick([80, 443, 22, 8080]) : rng.pick([53, 123, 443, 5353]);
    const clientPort = 49152 + rng.nextInt(16384);
    const transportHeader = tcp ? 20 : 8;
    const ipLength = 20 + transportHeader + payload;
    let at = emitEthernetHeader(
      { dst: "00:11:22:33:44:55", src: "66:77:88:99:aa:bb", tags: [], etherType: EtherType.Ipv4 },
      frame,
      0,
    );
    const ipAt = at;
    at += emitIpv4Header(
      {
        src: toServer ? client : server,
        dst: toServer ? server : client,
        protocol: tcp ? IpProtocol.Tcp : IpProtocol.Udp,
        ttl: 64,
        identification: i & 0xffff,
        dscp: 0,
        ecn: 0,
        dontFragment: true,
        moreFragments: false,
        fragmentOffset: 0,
        options: [],
        payloadLength: transportHeader + payload,
        checksum: 0,
      },
      frame,
      ipAt,
    );
    const srcPort = toServer ? clientPort : serverPort;
    const dstPort = toServer ? serverPort : clientPort;
    if (tcp) {
      if (dstPort === 80) tcpToPort80++;
      emitTcpHeader(
        {
          srcPort,
          dstPort,
          seq: rng.nextU32(),
          ack: rng.nextU32(),
          flags: payload > 0 ? TCP_ACK | TCP_PSH : TCP_ACK,
          window: 65535,
          urgentPointer: 0,
          options: [],
          checksum: 0,
          payloadLength: payload,
        },
        frame,
        at,
      );
    } else {
      emitUdpHeader({ srcPort, dstPort, checksum: 0, payloadLength: payload }, frame, at);
    }
    const length = ipAt + ipLength;
    writer.writePacket({ timestampNs: t0 + BigInt(i) * 10_000n, data: frame.subarray(0, length) });
  }
  writer.close();
  return { path, packets, tcpToPort80 };
}

/** The client (10.0.0.0/8) and server addresses the generator draws for `seed`, in the order it draws them. */
export function benchAddresses(seed = 2026): { readonly clients: Ipv4Address[]; readonly servers: Ipv4Address[] } {
  const rng = new SeededRng(seed);
  const clients = Array.from({ length: 256 }, () => new Ipv4Address(0x0a000000 | rng.nextInt(0x1000000)));
  const servers = Array.from({ length: 64 }, () => new Ipv4Address((rng.nextU32() | 0x01000000) >>> 0));
  return { clients, servers };
}
