import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { main } from "./main.ts";

const dir = mkdtempSync(join(tmpdir(), "openwfp-eval-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function run(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

const FIREWALL = file(
  "firewall.json",
  JSON.stringify({
    sublayers: [
      { name: "admin", weight: 0xffff },
      { name: "contoso", weight: 0x9000 },
    ],
    callouts: [{ name: "veto 23", layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", behaviour: "veto" }],
    filters: [
      {
        name: "admin may reach 10.1.1.1",
        layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
        sublayer: "admin",
        action: "permit",
        flags: ["CLEAR_ACTION_RIGHT"],
        conditions: [{ field: "remoteAddress", value: "10.1.1.1" }],
      },
      {
        name: "block SMB out",
        layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
        sublayer: "contoso",
        action: "block",
        conditions: [
          { field: "remotePort", value: 445 },
          { field: "protocol", value: "tcp" },
        ],
      },
      {
        name: "no telnet",
        layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
        sublayer: "contoso",
        action: "callout-terminating",
        callout: "veto 23",
        conditions: [{ field: "remotePort", value: 23 }],
      },
    ],
  }),
);

const LAYER = ["--policy", FIREWALL, "--layer", "FWPM_LAYER_ALE_AUTH_CONNECT_V4"];

test("eval prints the decision, the deciding filter and a table per sublayer", async () => {
  const r = await run([
    "eval",
    ...LAYER,
    "--value",
    "remotePort=445",
    "--value",
    "protocol=tcp",
    "--value",
    "remoteAddress=10.9.9.9",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^decision {2}BLOCK \(hard\)$/m);
  assert.match(r.out, /^deciding {2}filter 2 "block SMB out" \{[0-9a-f-]{36}\} in sublayer "contoso"$/m);
  assert.match(r.out, /^vetoed {4}no$/m);
  assert.match(r.out, /sublayer "admin" weight 65535 .*: no outcome, none/);
  assert.match(r.out, /^ {6}2 +0x[0-9a-f]{16} +block +evaluated +BLOCK +1→0 +block SMB out {2}\[terminating\]$/m);
  // Without --trace no condition lines; with it, each condition and its result.
  assert.doesNotMatch(r.out, /✓ remotePort/);
  const traced = await run(["eval", ...LAYER, "--value", "remotePort=445", "--trace"]);
  assert.match(traced.out, /✓ remotePort equal 445/);
  assert.match(traced.out, /✗ protocol equal 6/);
  assert.match(traced.out, /^decision {2}PERMIT \(soft\)$/m);
  assert.match(traced.out, /^deciding {2}none/m);
});

test("eval --json follows the documented shape", async () => {
  const r = await run(["eval", ...LAYER, "--value", "remotePort=23", "--value", "remoteAddress=10.1.1.1", "--json"]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j), ["layer", "action", "decidingFilter", "rights", "absorbed", "vetoed", "trace"]);
  assert.equal(j.layer, "FWPM_LAYER_ALE_AUTH_CONNECT_V4");
  assert.equal(j.action, "FWP_ACTION_BLOCK");
  assert.equal(j.vetoed, true);
  assert.equal(j.rights, 0);
  assert.equal(j.absorbed, false);
  assert.deepEqual(Object.keys(j.decidingFilter), ["key", "id", "name", "sublayer"]);
  assert.equal(j.decidingFilter.name, "no telnet");
  assert.equal(j.decidingFilter.sublayer, "contoso");
  assert.deepEqual(
    j.trace.map((s: { sublayer: { name: string }; apply: string }) => [s.sublayer.name, s.apply]),
    [
      ["admin", "set"],
      ["contoso", "veto"],
    ],
  );
  const telnet = j.trace[1].filters.find((f: { name: string }) => f.name === "no telnet");
  assert.equal(telnet.action, "FWP_ACTION_CALLOUT_TERMINATING");
  assert.equal(telnet.calloutInvoked, true);
  assert.equal(telnet.rightsBefore, 0);
  assert.equal(telnet.returned, "FWP_ACTION_BLOCK");
  assert.deepEqual(telnet.conditions, [
    { field: "FWPM_CONDITION_IP_REMOTE_PORT", match: "equal", value: "23", result: true },
  ]);
  const smb = j.trace[1].filters.find((f: { name: string }) => f.name === "block SMB out");
  assert.equal(smb.status, "no-match");
  assert.equal(smb.returned, null);
});

test("a layer accepts its run-time id and GUID", async () => {
  for (const layer of ["48", "c38d57d1-05a7-4c33-904f-7fbceee60e82", "FWPS_LAYER_ALE_AUTH_CONNECT_V4"]) {
    const r = await run([
      "eval",
      "--policy",
      FIREWALL,
      "--layer",
      layer,
      "--value",
      "remotePort=445",
      "--value",
      "protocol=6",
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).action, "FWP_ACTION_BLOCK", layer);
  }
});

test("a field the layer lacks is an error naming the layer's valid fields", async () => {
  const r = await run([
    "eval",
    "--policy",
    FIREWALL,
    "--layer",
    "FWPM_LAYER_INBOUND_IPPACKET_V4",
    "--value",
    "appId=System",
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.out, "");
  assert.match(r.err, /FWP_E_CONDITION_NOT_FOUND/);
  assert.match(r.err, /FWPM_CONDITION_ALE_APP_ID is not a field of FWPM_LAYER_INBOUND_IPPACKET_V4/);
  assert.match(r.err, /FWPM_CONDITION_IP_REMOTE_ADDRESS \(remoteAddress\)/);
  assert.match(r.err, /at --value appId/);
});

test("a bad policy names the file, the code and the path; bad JSON the line and column", async () => {
  const bad = file(
    "bad.json",
    JSON.stringify({
      filters: [{ name: "f", layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", action: "block", sublayer: "missing" }],
    }),
  );
  const r = await run(["eval", "--policy", bad, "--layer", "FWPM_LAYER_ALE_AUTH_CONNECT_V4"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /bad\.json: FWP_E_SUBLAYER_NOT_FOUND: .*\(at filters\[0\]\.sublayer\)/);
  const broken = file("broken.json", '{\n  "filters": [\n    {"name": "f",}\n  ]\n}\n');
  const s = await run(["eval", "--policy", broken, "--layer", "FWPM_LAYER_ALE_AUTH_CONNECT_V4"]);
  assert.equal(s.code, 1);
  assert.match(s.err, /broken\.json: E_POLICY_SYNTAX: JSON syntax error at line 3, column 18/);
  const missing = await run(["eval", "--policy", join(dir, "nope.json"), "--layer", "48"]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read .*nope\.json/);
  const badLayer = await run(["eval", "--policy", FIREWALL, "--layer", "FWPM_LAYER_NOPE"]);
  assert.equal(badLayer.code, 1);
  assert.match(badLayer.err, /FWP_E_LAYER_NOT_FOUND/);
});

test("YAML policies load by file name; --meta is accepted and checked; usage errors exit 2", async () => {
  const yaml = file(
    "absorb.yaml",
    [
      "callouts:",
      "  - name: sink",
      "    layer: FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
      "    behaviour: absorb",
      "filters:",
      "  - name: drop to 192.0.2.0/24",
      "    layer: FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
      "    action: callout-terminating",
      "    callout: sink",
      "    conditions:",
      "      - field: remoteAddress",
      "        value: 192.0.2.0/24",
      "",
    ].join("\n"),
  );
  const r = await run([
    "eval",
    "--policy",
    yaml,
    "--layer",
    "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
    "--value",
    "remoteAddress=192.0.2.7",
    "--meta",
    "processId=4",
    "--json",
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual([j.action, j.absorbed], ["FWP_ACTION_BLOCK", true]);
  const other = await run([
    "eval",
    "--policy",
    yaml,
    "--layer",
    "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
    "--value",
    "remoteAddress=198.51.100.1",
    "--json",
  ]);
  assert.deepEqual([JSON.parse(other.out).action, JSON.parse(other.out).absorbed], ["FWP_ACTION_PERMIT", false]);
  const prefix = await run([
    "eval",
    "--policy",
    yaml,
    "--layer",
    "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
    "--value",
    "remoteAddress=192.0.2.0/24",
  ]);
  assert.equal(prefix.code, 1);
  assert.match(prefix.err, /FWP_E_TYPE_MISMATCH/);
  const badMeta = await run([
    "eval",
    "--policy",
    yaml,
    "--layer",
    "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
    "--meta",
    "processId",
  ]);
  assert.equal(badMeta.code, 1);
  assert.match(badMeta.err, /Expected NAME=VALUE/);
  const usage = await run(["eval", "--layer", "48"]);
  assert.equal(usage.code, 2);
});
