/**
 * `openwfp replay` against tcpdump on the shared captures: a policy that blocks outbound TCP to port 80
 * (UDP to port 53, ICMP) from a local address drops exactly the packets tcpdump selects with
 * `src host LOCAL and tcp dst port 80` (and likewise), and the permitted and dropped files together hold
 * every input packet. Bad input is counted or explained, never a crash.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runReplay } from "./replay.ts";

const captures = join(import.meta.dirname, "../../fixtures/captures");
const hasTcpdump = spawnSync("tcpdump", ["--version"]).status === 0;

function tcpdumpCount(file: string, filter?: string): number {
  const args = ["-nr", file, ...(filter !== undefined ? [filter] : [])];
  const r = spawnSync("tcpdump", args, { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l.trim() !== "").length;
}

function policyFile(dir: string, name: string, filters: unknown[]): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ filters }));
  return path;
}

interface Case {
  readonly name: string;
  readonly capture: string;
  readonly local: string;
  readonly filters: unknown[];
  readonly tcpdump: string;
}

const CASES: readonly Case[] = [
  {
    name: "TCP to port 80",
    capture: "raw_ip/pcpp__raw_ip.pcap",
    local: "10.0.0.1",
    filters: [
      {
        name: "block outbound TCP 80",
        layer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
        action: "block",
        conditions: [
          { field: "protocol", value: "tcp" },
          { field: "remotePort", value: "80" },
        ],
      },
    ],
    tcpdump: "src host 10.0.0.1 and tcp dst port 80",
  },
  {
    name: "UDP to port 53",
    capture: "udp_dns/pcpp__DnsPackets.pcap",
    local: "10.0.0.1",
    filters: [
      {
        name: "block outbound DNS",
        layer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
        action: "block",
        conditions: [
          { field: "protocol", value: "udp" },
          { field: "remotePort", value: "53" },
        ],
      },
    ],
    tcpdump: "src host 10.0.0.1 and udp dst port 53",
  },
  {
    name: "ICMP",
    capture: "icmp/zeek__icmp_5-pings.pcap",
    local: "172.16.133.2",
    filters: [
      {
        name: "block outbound ICMP",
        layer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
        action: "block",
        conditions: [{ field: "protocol", value: "icmp" }],
      },
    ],
    tcpdump: "src host 172.16.133.2 and icmp",
  },
  {
    name: "ICMPv6",
    capture: "ipv6/zeek__icmp6-ping.pcap",
    local: "2620:0:e00:400e:d1d:db37:beb:5aac",
    filters: [
      {
        name: "block outbound ICMPv6",
        layer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V6",
        action: "block",
        conditions: [{ field: "protocol", value: "58" }],
      },
    ],
    tcpdump: "src host 2620:0:e00:400e:d1d:db37:beb:5aac and icmp6",
  },
];

describe("openwfp replay against tcpdump", {
  skip: hasTcpdump ? false : "tcpdump is not installed (.ci/run installs it)",
}, () => {
  for (const c of CASES) {
    it(`a policy blocking outbound ${c.name} drops exactly what tcpdump '${c.tcpdump}' selects; both outputs hold every packet`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "openwfp-replay-"));
      const capture = join(captures, c.capture);
      const out = join(dir, "permitted.pcapng");
      const dropped = join(dir, "dropped.pcapng");
      const events = join(dir, "events.ndjson");
      const { summary } = await runReplay(capture, {
        policy: policyFile(dir, "p", c.filters),
        local: c.local,
        out,
        dropped,
        events,
        progress: false,
      });
      const expected = tcpdumpCount(capture, c.tcpdump);
      assert.ok(expected > 0, "the case selects something");
      assert.equal(summary.dropped, expected);
      assert.equal(tcpdumpCount(dropped), expected);
      assert.equal(tcpdumpCount(dropped, `not (${c.tcpdump})`), 0, "only the selected packets are dropped");
      const total = tcpdumpCount(capture);
      assert.equal(summary.packets, total);
      assert.equal(tcpdumpCount(out) + tcpdumpCount(dropped), total);
      assert.equal(summary.droppedByFilter[0]?.packets, expected);
      const lines = readFileSync(events, "utf8").trim().split("\n");
      const drops = lines
        .map((l) => JSON.parse(l) as { type: string })
        .filter((e) => e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP");
      assert.equal(drops.length, expected, "one CLASSIFY_DROP net event per dropped packet");
      // The policy has no ALE filter and no callout: the replay kept no flows. With --track-flows it keeps them
      // and must write the very same files.
      assert.ok(summary.flows.untracked > 0 && summary.flows.created === 0, JSON.stringify(summary.flows));
      const tracked = await runReplay(capture, {
        policy: policyFile(dir, "p", c.filters),
        local: c.local,
        out: join(dir, "permitted-tracked.pcapng"),
        dropped: join(dir, "dropped-tracked.pcapng"),
        events: join(dir, "events-tracked.ndjson"),
        progress: false,
        trackFlows: true,
      });
      assert.equal(tracked.summary.flows.untracked, 0);
      assert.ok(tracked.summary.flows.created > 0);
      assert.match(tracked.text, /flows +\d+ seen/);
      for (const f of ["permitted", "dropped", "events"]) {
        const ext = f === "events" ? "ndjson" : "pcapng";
        assert.ok(
          readFileSync(join(dir, `${f}.${ext}`)).equals(readFileSync(join(dir, `${f}-tracked.${ext}`))),
          `${f}: the same bytes with and without flow tracking`,
        );
      }
    });
  }
});

describe("openwfp replay on bad input", () => {
  it("a truncated capture is read up to the fault, reported, and every packet read is accounted for", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-replay-"));
    const capture = join(dir, "cut.pcap");
    copyFileSync(join(captures, "udp_dns/pcpp__DnsPackets.pcap"), capture);
    truncateSync(capture, Math.floor(statSync(capture).size / 2) + 3);
    const policy = policyFile(dir, "p", []);
    const { summary, text } = await runReplay(capture, { policy, local: "10.0.0.1", progress: false });
    assert.ok(summary.packets > 100);
    assert.equal(summary.permitted + summary.dropped, summary.packets);
    assert.equal(summary.captureErrors.length, 1);
    assert.match(text, /capture error: E_CAPTURE_TRUNCATED/);
  });

  it("frames of undecoded link types are counted as not IP and pass", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-replay-"));
    const bytes = readFileSync(join(captures, "udp_dns/tcpdump__dns_udp.pcap"));
    bytes.writeUInt32LE(147, 20); // LINKTYPE_USER0: not decoded
    const capture = join(dir, "user0.pcap");
    writeFileSync(capture, bytes);
    const { summary } = await runReplay(capture, {
      policy: policyFile(dir, "p", []),
      local: "192.168.1.11",
      progress: false,
    });
    assert.equal(summary.notIp, 2);
    assert.equal(summary.permitted, 2);
  });

  it("a malformed IP packet is counted with where it went wrong, and the rest of the file is replayed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-replay-"));
    const bytes = readFileSync(join(captures, "udp_dns/tcpdump__dns_udp.pcap"));
    // First record: 24-byte file header + 16-byte record header, then Ethernet (14): IHL of the IPv4 header.
    bytes[24 + 16 + 14] = 0x43;
    const capture = join(dir, "bad-ihl.pcap");
    writeFileSync(capture, bytes);
    const { summary } = await runReplay(capture, {
      policy: policyFile(dir, "p", []),
      local: "192.168.1.11",
      progress: false,
    });
    assert.equal(summary.malformed, 1);
    assert.match(summary.malformedExamples[0] ?? "", /packet 1: ipv4: .*offset 14.*ihl/i);
    assert.equal(summary.packets, 2);
    assert.equal(summary.directions.inbound + summary.directions.outbound, 1);
  });

  it("a malformed dump or a missing policy source is an explained error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-replay-"));
    const dump = join(dir, "bad.xml");
    writeFileSync(dump, "<wfpstate><layers><item>");
    const capture = join(captures, "udp_dns/tcpdump__dns_udp.pcap");
    await assert.rejects(
      runReplay(capture, { state: dump, local: "192.168.1.11", progress: false }),
      /XML|netsh|wfpstate/i,
    );
    await assert.rejects(runReplay(capture, { local: "192.168.1.11", progress: false }), /exactly one of --policy/);
    await assert.rejects(
      runReplay(join(dir, "missing.pcap"), { policy: dump, local: "1.2.3.4", progress: false }),
      /E_FILE: cannot read capture/,
    );
    await assert.rejects(
      runReplay(capture, { policy: policyFile(dir, "p", []), local: "not-an-address", progress: false }),
      /--local/,
    );
  });
});
