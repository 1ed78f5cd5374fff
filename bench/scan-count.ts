/**
 * Child process of the capture benchmark: counts TCP packets to destination port 80 in a capture with
 * openwfp's streaming scanner and zero-copy views, the way `tcpdump 'tcp and dst port 80'` selects them
 * (IPv4 TCP of a non-fragment or first fragment, or IPv6 with TCP as the next header, destination port 80).
 * Prints one JSON line: packets, matches, seconds, peak RSS.
 */
import { scanCaptureFile } from "../src/capture/index.ts";
import { EthernetView, EtherType, IpProtocol, Ipv4View, Ipv6View, LinkType, TcpView } from "../src/wire/index.ts";

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write("usage: scan-count FILE\n");
  process.exit(2);
}
const started = process.hrtime.bigint();
let matches = 0;
const summary = await scanCaptureFile(path, (buffer, offset, capturedLength, linkType) => {
  if (linkType !== LinkType.EN10MB) return;
  const end = offset + capturedLength;
  const eth = EthernetView.check(buffer, offset, end);
  if (!eth.ok) return;
  const type = eth.value.etherType;
  if (type === EtherType.Ipv4) {
    const ip = Ipv4View.check(buffer, eth.value.payloadOffset, end);
    if (!ip.ok || ip.value.protocol !== IpProtocol.Tcp || ip.value.fragmentOffset !== 0) return;
    const tcp = TcpView.checkFixedHeader(buffer, ip.value.payloadOffset, ip.value.payloadEnd);
    if (tcp.ok && tcp.value.dstPort === 80) matches++;
  } else if (type === EtherType.Ipv6) {
    const ip = Ipv6View.check(buffer, eth.value.payloadOffset, end);
    if (!ip.ok || ip.value.nextHeader !== IpProtocol.Tcp) return;
    const tcp = TcpView.checkFixedHeader(buffer, ip.value.payloadOffset, ip.value.payloadEnd);
    if (tcp.ok && tcp.value.dstPort === 80) matches++;
  }
});
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
