/**
 * Child process of the capture benchmark: counts TCP packets to destination port 80 in a capture with
 * openwfp's streaming scanner and zero-copy views (one reusable view per protocol, rechecked for every packet),
 * the way `tcpdump 'tcp and dst port 80'` selects them (IPv4 TCP of a non-fragment or first fragment, or IPv6
 * with TCP as the next header, destination port 80). Prints one JSON line: packets, matches, seconds, peak RSS.
 * No top-level await: the benchmark bundles this file as CommonJS (see capture.bench.ts).
 */
import { type ScanSummary, scanCaptureFile } from "../src/capture/index.ts";
import { EthernetView, EtherType, IpProtocol, Ipv4View, Ipv6View, LinkType, TcpView } from "../src/wire/index.ts";

const eth = EthernetView.reusable();
const ipv4 = Ipv4View.reusable();
const ipv6 = Ipv6View.reusable();
const tcp = TcpView.reusable();
let matches = 0;

/**
 * 1 when the IPv6 packet at `offset` is TCP to port 80. A function of its own: the benchmark file holds no
 * IPv6, and outside the callback this path takes none of the JIT's inlining budget for the callback.
 */
function ipv6TcpToPort80(buffer: Uint8Array, offset: number, end: number): number {
  if (!ipv6.recheck(buffer, offset, end).ok || ipv6.nextHeader !== IpProtocol.Tcp) return 0;
  return tcp.recheckFixedHeader(buffer, ipv6.payloadOffset, ipv6.payloadEnd).ok && tcp.dstPort === 80 ? 1 : 0;
}

function count(path: string): Promise<ScanSummary> {
  return scanCaptureFile(path, (buffer, offset, capturedLength, linkType) => {
    if (linkType !== LinkType.EN10MB) return;
    const end = offset + capturedLength;
    if (!eth.recheck(buffer, offset, end).ok) return;
    const type = eth.etherType;
    if (type === EtherType.Ipv4) {
      if (!ipv4.recheck(buffer, eth.payloadOffset, end).ok) return;
      if (ipv4.protocol !== IpProtocol.Tcp || ipv4.fragmentOffset !== 0) return;
      if (tcp.recheckFixedHeader(buffer, ipv4.payloadOffset, ipv4.payloadEnd).ok && tcp.dstPort === 80) matches++;
    } else if (type === EtherType.Ipv6) {
      matches += ipv6TcpToPort80(buffer, eth.payloadOffset, end);
    }
  });
}

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write("usage: scan-count FILE\n");
  process.exit(2);
}
const started = process.hrtime.bigint();
count(path).then(
  (summary) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(
      `${JSON.stringify({
        packets: summary.packets,
        matches,
        seconds,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        errors: summary.errors.map((e) => e.message),
      })}\n`,
    );
  },
  (e: unknown) => {
    process.stderr.write(`scan-count: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
