/**
 * Child process of the replay benchmark: replays a capture with `openwfp replay`'s engine room
 * (host/replay) under a policy file, as the host owning the given addresses, and prints one JSON line:
 * packets, dropped, seconds, peak RSS.
 */
import { replay } from "../src/host/index.ts";

const [capture, policy, local] = process.argv.slice(2);
if (capture === undefined || policy === undefined || local === undefined) {
  process.stderr.write("usage: replay-run CAPTURE POLICY LOCAL[,LOCAL...]\n");
  process.exit(2);
}
const started = process.hrtime.bigint();
const s = await replay({ capturePath: capture, source: { kind: "policy", path: policy }, local: [local] });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(
  `${JSON.stringify({
    packets: s.packets,
    dropped: s.dropped,
    droppedByFlow: s.droppedByFlow,
    flows: s.flows,
    seconds,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  })}\n`,
);
