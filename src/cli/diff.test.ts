import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runDiff } from "./diff.ts";

const root = join(import.meta.dirname, "../..");
const smallFirewall = join(root, "examples/policies/small-firewall.json");

function files() {
  const dir = mkdtempSync(join(tmpdir(), "openwfp-diff-"));
  const write = (name: string, value: unknown): string => {
    const p = join(dir, name);
    writeFileSync(p, typeof value === "string" ? value : JSON.stringify(value));
    return p;
  };
  return { dir, write };
}

const AFTER = {
  sublayers: [
    { name: "corp-hi", weight: 65535 },
    { name: "corp", weight: 4096 },
  ],
  filters: [
    {
      name: "Allow admin box",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      sublayer: "corp-hi",
      action: "permit",
      flags: ["CLEAR_ACTION_RIGHT"],
      conditions: [{ field: "remoteAddress", value: "10.9.9.10" }],
    },
    {
      name: "Block outbound 445",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      sublayer: "corp",
      action: "block",
      conditions: [
        { field: "remotePort", value: "445" },
        { field: "protocol", value: "tcp" },
      ],
    },
    {
      name: "Block outbound telnet",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      sublayer: "corp",
      action: "block",
      conditions: [{ field: "remotePort", value: "23" }],
    },
  ],
};

describe("openwfp diff", () => {
  it("lists filters added, removed and changed (with the members that changed)", async () => {
    const { write } = files();
    const b = write("after.json", AFTER);
    const { report } = await runDiff(smallFirewall, b, { json: true });
    assert.deepEqual(
      report.filters.added.map((f) => f.name),
      ["Block outbound telnet"],
    );
    assert.deepEqual(report.filters.removed, []);
    assert.equal(report.filters.changed.length, 1);
    assert.equal(report.filters.changed[0]?.name, "Allow admin box");
    assert.deepEqual(Object.keys(report.filters.changed[0]?.changes ?? {}), ["conditions"]);
    assert.match(report.filters.changed[0]?.changes?.conditions?.[1] ?? "", /10\.9\.9\.10/);
    const back = await runDiff(b, smallFirewall, {});
    assert.match(back.text, /filters: 0 added, 1 removed, 1 changed/);
  });

  it("--connections names the connections whose verdict or deciding filter changes", async () => {
    const { write } = files();
    const b = write("after.json", AFTER);
    const conns = write(
      "c.ndjson",
      [
        { protocol: "tcp", local: "10.0.0.1:0", remote: "10.9.9.9:445" },
        { protocol: "tcp", local: "10.0.0.1:0", remote: "10.1.1.1:23" },
        { protocol: "tcp", local: "10.0.0.1:0", remote: "10.1.1.1:80" },
        { protocol: "udp", local: "10.0.0.1:0", remote: "10.1.1.1:53" },
      ]
        .map((c) => JSON.stringify(c))
        .join("\n"),
    );
    const { report } = await runDiff(smallFirewall, b, { connections: conns });
    assert.equal(report.connections?.compared, 4);
    const changed = report.connections?.changed ?? [];
    assert.deepEqual(
      changed.map((c) => [c.connection, c.before.verdict, c.after.verdict, c.after.filter]),
      [
        ["TCP 10.0.0.1 → 10.9.9.9:445 (outbound)", "permitted", "blocked", '2 "Block outbound 445"'],
        ["TCP 10.0.0.1 → 10.1.1.1:23 (outbound)", "permitted", "blocked", '3 "Block outbound telnet"'],
      ],
    );
    assert.equal(changed[0]?.before.filter, '1 "Allow admin box"');
  });

  it("--capture counts the packets whose verdict changes, checked against tcpdump", async (t) => {
    if (spawnSync("tcpdump", ["--version"]).status !== 0) {
      t.skip("tcpdump is not installed (.ci/run installs it)");
      return;
    }
    const { write } = files();
    const none = write("none.json", { filters: [] });
    const block = write("block.json", {
      filters: [
        {
          name: "no web",
          layer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
          action: "block",
          conditions: [
            { field: "protocol", value: "tcp" },
            { field: "remotePort", value: "80" },
          ],
        },
      ],
    });
    const capture = join(root, "fixtures/captures/raw_ip/pcpp__raw_ip.pcap");
    const { report } = await runDiff(none, block, { capture, local: "10.0.0.1" });
    const expected = spawnSync("tcpdump", ["-nr", capture, "src host 10.0.0.1 and tcp dst port 80"], {
      encoding: "utf8",
    })
      .stdout.trim()
      .split("\n").length;
    assert.equal(report.capture?.changed, expected);
    assert.equal(report.capture?.nowDropped, expected);
    assert.equal(report.capture?.nowPermitted, 0);
    assert.match(
      report.capture?.examples[0]?.after ?? "",
      /drop at FWPM_LAYER_OUTBOUND_TRANSPORT_V4 by filter 1 "no web"/,
    );
  });

  it("a real dump against itself has no difference; dumps and policies are told apart by content", async () => {
    const dump = join(root, "fixtures/wfp-state/le_voile__filters.xml");
    const { report } = await runDiff(dump, dump, {});
    assert.equal(report.filters.added.length + report.filters.removed.length + report.filters.changed.length, 0);
    assert.match(report.a, /^netsh dump/);
  });

  it("bad arguments are explained", async () => {
    const { write, dir } = files();
    const a = write("a.json", { filters: [] });
    await assert.rejects(runDiff(a, join(dir, "missing.json"), {}), /E_FILE: cannot read/);
    await assert.rejects(runDiff(a, a, { capture: "x.pcap" }), /--capture needs --local/);
    await assert.rejects(runDiff(a, a, { connections: write("bad.json", "{nope") }), /is not JSON/);
    await assert.rejects(
      runDiff(a, a, {
        connections: write("bad2.json", '[{"protocol":"sctp","local":"1.1.1.1:1","remote":"2.2.2.2:2"}]'),
      }),
      /protocol must be/,
    );
  });
});
