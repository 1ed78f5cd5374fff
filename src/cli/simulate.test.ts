import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "./main.ts";
import { runSimulate } from "./simulate.ts";

const examples = join(import.meta.dirname, "../../examples/scenarios");

interface Entry {
  time: string;
  host: string;
  layer: string;
  direction: string;
  packet: string;
  action: string;
  decidingFilter: { key: string; id: string; name: string; sublayer: string } | null;
}

async function json(path: string, extra: Record<string, string> = {}) {
  return JSON.parse(await runSimulate(path, { json: true, ...extra })) as {
    scenario: string;
    classifications: Entry[];
    apps: {
      app: string;
      host: string;
      sockets: {
        socket: string;
        protocol: string;
        outcome: string;
        error?: string;
        bytesSent: number;
        bytesReceived: number;
      }[];
    }[];
    hosts: {
      name: string;
      counters: Record<string, unknown>;
      netEvents: { type: string; classifyDrop?: { filterId: string } }[];
    }[];
  };
}

describe("openwfp simulate", () => {
  it("prints the ordered classify log with the contract's keys, and each app's outcome", async () => {
    const r = await json(join(examples, "web-echo-ping.json"));
    assert.equal(r.scenario, "web, UDP echo and ping through a small firewall");
    const first = r.classifications[0];
    assert.deepEqual(Object.keys(first ?? {}).sort(), [
      "action",
      "decidingFilter",
      "direction",
      "host",
      "layer",
      "packet",
      "time",
    ]);
    assert.match(first?.time ?? "", /^\d+\.\d{9}$/);
    const times = r.classifications.map((c) => c.time);
    assert.deepEqual(
      [...times].sort((a, b) => Number(BigInt(a.replace(".", "")) - BigInt(b.replace(".", "")))),
      times,
      "in time order",
    );
    const blocked = r.classifications.filter((c) => c.action === "FWP_ACTION_BLOCK");
    assert.deepEqual(
      blocked.map((c) => [c.host, c.layer, c.decidingFilter?.name, c.decidingFilter?.sublayer]),
      [["client", "FWPM_LAYER_ALE_AUTH_CONNECT_V4", "Block outbound 445", "corp"]],
    );
    const browser = r.apps.find((a) => a.app === "browser");
    const outcome = (s: string) => browser?.sockets.find((x) => x.socket === s);
    assert.equal(outcome("page")?.outcome, "connected");
    assert.equal(outcome("page")?.bytesReceived, 2048);
    assert.equal(outcome("share")?.outcome, "blocked");
    assert.equal(outcome("share")?.error, "WSAEACCES");
    assert.equal(outcome("echo")?.bytesReceived, "hello, echo".length);
    assert.equal(outcome("ping")?.outcome, "replied");
    const client = r.hosts.find((h) => h.name === "client");
    const drops = client?.netEvents.filter((e) => e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP") ?? [];
    assert.equal(drops.length, 1);
    assert.equal(drops[0]?.classifyDrop?.filterId, blocked[0]?.decidingFilter?.id);
    // The IPv6 ping crosses the V6 layers.
    assert.ok(
      r.classifications.some((c) => c.layer === "FWPM_LAYER_ALE_AUTH_CONNECT_V6" && c.packet === "echo-request"),
    );
  });

  it("--policy replaces the scenario's default policy; a TypeScript callout module is registered on its hosts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-sim-"));
    const policy = join(dir, "block-all-recv.json");
    writeFileSync(
      policy,
      JSON.stringify({
        filters: [{ name: "no inbound", layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", action: "block" }],
      }),
    );
    const r = await json(join(examples, "callout-module.json"), { policy });
    const curl = r.apps.find((a) => a.app === "curl");
    // Port 8080 is blocked on the client by the callout module; port 80 now by the server's --policy.
    assert.equal(curl?.sockets.find((s) => s.socket === "blocked")?.outcome, "blocked");
    assert.notEqual(curl?.sockets.find((s) => s.socket === "ok")?.outcome, "connected");
    assert.ok(
      r.classifications.some(
        (c) =>
          c.host === "server" &&
          c.layer === "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4" &&
          c.decidingFilter?.name === "no inbound",
      ),
    );
    assert.ok(r.classifications.some((c) => c.host === "client" && c.decidingFilter?.name === "block 8080 (callout)"));
    assert.ok(!r.classifications.some((c) => c.host === "server" && c.decidingFilter?.name === "block 8080 (callout)"));
  });

  it("--pcap writes a capture tshark reads with no malformed packet", async (t) => {
    if (spawnSync("tshark", ["--version"]).status !== 0) {
      t.skip("tshark is not installed (.ci/run installs it)");
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "openwfp-sim-"));
    const pcap = join(dir, "run.pcapng");
    await runSimulate(join(examples, "web-echo-ping.json"), { pcap });
    const all = spawnSync("tshark", ["-r", pcap, "-T", "fields", "-e", "frame.number"], { encoding: "utf8" });
    assert.equal(all.status, 0, all.stderr);
    assert.ok(all.stdout.trim().split("\n").length > 20);
    const bad = spawnSync("tshark", ["-r", pcap, "-Y", "_ws.malformed"], { encoding: "utf8" });
    assert.equal(bad.stdout.trim(), "");
  });

  it("receive reads what has arrived: at most `bytes`, then the rest; UDP reads count datagrams", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-sim-"));
    const path = join(dir, "receive.json");
    const nic = (name: string, address: string) => ({
      name,
      interfaces: [{ name: "eth0", link: "lan", addresses: [address] }],
    });
    writeFileSync(
      path,
      JSON.stringify({
        links: [{ name: "lan", delayMs: 1 }],
        hosts: [nic("a", "10.0.0.1/24"), nic("b", "10.0.0.2/24")],
        apps: [
          {
            name: "srv",
            host: "b",
            actions: [
              { at: 0, op: "listen", socket: "l", port: 80, serve: { send: 3000 } },
              { at: 0, op: "bind", protocol: "udp", socket: "u", port: 7, serve: { echo: true } },
            ],
          },
          {
            name: "cli",
            host: "a",
            actions: [
              { at: 10, op: "connect", socket: "c", to: "10.0.0.2:80" },
              { at: 10, op: "connect", socket: "d", to: "10.0.0.2:80" },
              { at: 10, op: "sendto", socket: "v", to: "10.0.0.2:7", text: "one" },
              { at: 11, op: "sendto", socket: "v", to: "10.0.0.2:7", text: "two" },
              { at: 500, op: "receive", socket: "c", bytes: 1000 },
              { at: 600, op: "receive", socket: "c" },
              { at: 500, op: "receive", socket: "d", bytes: 1000 },
              { at: 500, op: "receive", socket: "v", bytes: 1 },
            ],
          },
        ],
      }),
    );
    const r = await json(path);
    const cli = r.apps.find((a) => a.app === "cli");
    const read = (s: string) => (cli?.sockets.find((x) => x.socket === s) as { read?: number } | undefined)?.read;
    assert.equal(read("c"), 3000);
    assert.equal(read("d"), 1000);
    assert.equal(read("v"), 1);
    assert.match(await runSimulate(path, {}), /cli@a tcp d: .*read 1000 bytes/);
  });

  it("an interface's index, luid and quarantineEpoch are what the WFP interface fields see", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-sim-"));
    const path = join(dir, "quarantine.json");
    // As Windows Firewall's quarantine sublayer: inbound is blocked unless the arrival interface is the known
    // (NET_LUID, epoch) pair.
    const doc = (epoch: string) => ({
      links: [{ name: "lan" }],
      hosts: [
        { name: "a", interfaces: [{ name: "eth0", link: "lan", addresses: ["10.0.0.1/24"] }] },
        {
          name: "b",
          interfaces: [
            {
              name: "eth0",
              link: "lan",
              addresses: ["10.0.0.2/24"],
              index: 7,
              luid: "0x0006008006000000",
              quarantineEpoch: epoch,
            },
          ],
          policy: {
            sublayers: [{ name: "quarantine", weight: 4 }],
            filters: [
              {
                name: "un-quarantine eth0",
                layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
                sublayer: "quarantine",
                action: "permit",
                weight: 2,
                conditions: [
                  { field: "FWPM_CONDITION_IP_ARRIVAL_INTERFACE", value: "0x0006008006000000" },
                  { field: "FWPM_CONDITION_INTERFACE_QUARANTINE_EPOCH", value: "10000218" },
                  { field: "FWPM_CONDITION_INTERFACE_INDEX", value: 7 },
                ],
              },
              {
                name: "quarantine default block",
                layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
                sublayer: "quarantine",
                action: "block",
                weight: 1,
              },
            ],
          },
        },
      ],
      apps: [
        { name: "srv", host: "b", actions: [{ at: 0, op: "listen", socket: "l", port: 80 }] },
        { name: "cli", host: "a", actions: [{ at: 10, op: "connect", socket: "c", to: "10.0.0.2:80" }] },
      ],
    });
    const outcome = async (epoch: string) => {
      writeFileSync(path, JSON.stringify(doc(epoch)));
      const r = await json(path);
      const accept = r.classifications.find((c) => c.host === "b" && c.layer === "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
      return [r.apps.find((a) => a.app === "cli")?.sockets[0]?.outcome, accept?.decidingFilter?.name];
    };
    assert.deepEqual(await outcome("10000218"), ["connected", "un-quarantine eth0"]);
    assert.deepEqual((await outcome("0"))[1], "quarantine default block");
    writeFileSync(
      path,
      JSON.stringify({
        ...doc("1"),
        hosts: [
          doc("1").hosts[0],
          {
            ...doc("1").hosts[1],
            interfaces: [{ name: "eth0", link: "lan", addresses: [], luid: "0x1" + "0".repeat(16) }],
          },
        ],
      }),
    );
    await assert.rejects(
      runSimulate(path, {}),
      /E_SCENARIO: expected a UINT64.* \(at hosts\[1\]\.interfaces\[0\]\.luid\)/,
    );
  });

  it("a socket's socketProperties are what ALE_SIO_FIREWALL_SYSTEM_PORT sees at listen, bind and accept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-sim-"));
    const path = join(dir, "socket-properties.json");
    // As Windows Firewall's app rules: a listen or bind is permitted only for a socket that does not allow edge
    // traffic (FLAGS_NONE_SET ALLOW_EDGE_TRAFFIC = 2), and an accept on an RPC system port (EQUAL 1) is blocked.
    const rule = (layer: string, action: string, match: string, value: number) => ({
      name: `${action} ${layer.replace(/^FWPM_LAYER_/, "")}`,
      layer,
      action,
      weight: 2,
      conditions: [{ field: "FWPM_CONDITION_ALE_SIO_FIREWALL_SYSTEM_PORT", match, value: String(value) }],
    });
    writeFileSync(
      path,
      JSON.stringify({
        links: [{ name: "lan" }],
        hosts: [
          { name: "a", interfaces: [{ name: "eth0", link: "lan", addresses: ["10.0.0.1/24"] }] },
          {
            name: "b",
            interfaces: [{ name: "eth0", link: "lan", addresses: ["10.0.0.2/24"] }],
            policy: {
              filters: [
                rule("FWPM_LAYER_ALE_AUTH_LISTEN_V4", "permit", "flags-none-set", 2),
                { name: "block listen", layer: "FWPM_LAYER_ALE_AUTH_LISTEN_V4", action: "block", weight: 1 },
                rule("FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4", "permit", "flags-none-set", 2),
                { name: "block bind", layer: "FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4", action: "block", weight: 1 },
                rule("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "block", "equal", 1),
              ],
            },
          },
        ],
        apps: [
          {
            name: "srv",
            host: "b",
            actions: [
              { at: 0, op: "listen", socket: "plain", port: 80 },
              { at: 0, op: "listen", socket: "edge", port: 81, socketProperties: ["ALLOW_EDGE_TRAFFIC"] },
              { at: 0, op: "listen", socket: "rpc", port: 135, socketProperties: ["IS_SYSTEM_PORT_RPC"] },
              { at: 0, op: "bind", protocol: "udp", socket: "u-plain", port: 53 },
              { at: 0, op: "bind", protocol: "udp", socket: "u-edge", port: 3544, socketProperties: 2 },
            ],
          },
          {
            name: "cli",
            host: "a",
            actions: [
              { at: 10, op: "connect", socket: "to-plain", to: "10.0.0.2:80" },
              { at: 10, op: "connect", socket: "to-rpc", to: "10.0.0.2:135" },
            ],
          },
        ],
      }),
    );
    const r = await json(path);
    const outcome = (app: string, socket: string) =>
      r.apps.find((a) => a.app === app)?.sockets.find((s) => s.socket === socket)?.outcome;
    assert.deepEqual(
      ["plain", "edge", "rpc", "u-plain", "u-edge"].map((s) => outcome("srv", s)),
      ["listening", "blocked", "listening", "bound", "blocked"],
    );
    assert.equal(outcome("cli", "to-plain"), "connected");
    assert.notEqual(outcome("cli", "to-rpc"), "connected");
    const accepts = r.classifications.filter((c) => c.layer === "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
    assert.deepEqual([...new Set(accepts.map((c) => `${c.action} ${c.decidingFilter?.name ?? "-"}`))].sort(), [
      "FWP_ACTION_BLOCK block ALE_AUTH_RECV_ACCEPT_V4",
      "FWP_ACTION_PERMIT -",
    ]);
    // A property name that does not exist is an error naming the member.
    const bad = JSON.parse(JSON.stringify({ links: [{ name: "lan" }], hosts: [{ name: "h", interfaces: [] }] }));
    bad.apps = [
      { name: "x", host: "h", actions: [{ at: 0, op: "listen", socket: "s", port: 1, socketProperties: ["EDGE"] }] },
    ];
    writeFileSync(path, JSON.stringify(bad));
    await assert.rejects(
      runSimulate(path, {}),
      /unknown socket property "EDGE" \(one of IS_SYSTEM_PORT_RPC, ALLOW_EDGE_TRAFFIC, DENY_EDGE_TRAFFIC\).*apps\[0\]\.actions\[0\]\.socketProperties\[0\]/,
    );
  });

  it("a bad scenario is an explained error naming the member at fault, with exit code 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openwfp-sim-"));
    const path = join(dir, "bad.json");
    writeFileSync(
      path,
      JSON.stringify({
        links: [{ name: "lan" }],
        hosts: [{ name: "a", interfaces: [{ name: "eth0", link: "wan", addresses: [] }] }],
      }),
    );
    await assert.rejects(
      runSimulate(path, {}),
      /E_SCENARIO: no link named wan \(at hosts\[0\]\.interfaces\[0\]\.link\)/,
    );
    const bad2 = join(dir, "bad2.json");
    writeFileSync(
      bad2,
      JSON.stringify({
        hosts: [],
        apps: [],
        links: [],
        policy: { filters: [{ name: "x", layer: "FWPM_LAYER_NOPE", action: "block" }] },
      }),
    );
    await assert.rejects(runSimulate(bad2, {}), /FWP_E_LAYER_NOT_FOUND/);
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => {
      errors.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    try {
      assert.equal(await main(["simulate", join(dir, "missing.json")]), 1);
    } finally {
      process.stderr.write = write;
    }
    assert.match(errors.join(""), /E_FILE: cannot read scenario/);
  });
});
