/**
 * `openwfp explain` on the shared real dump fixtures/wfp-state/keploy__wfpstate.xml (a Windows 11 machine's
 * `netsh wfp show state`: Windows Firewall's MPSSVC sublayers, Windows Defender and NDU callouts, 1254
 * filters). Every expected verdict and deciding filter below was derived by hand from the dump's own
 * filters — sublayer order by weight (B6, B10), filter order by effective weight (B10; equal weights by
 * ascending filter id, B11), conditions, and arbitration (C.2: static BLOCK hard, static PERMIT soft — the
 * dump has no CLEAR_ACTION_RIGHT filter, so it has no hard permit; callouts run with the behaviour
 * policy-source assumes, `continue` unless documented) — and the reasoning is written beside each case.
 * The "deciding filter" is the engine's: the filter whose outcome set the final decision, i.e. for soft
 * permits from several sublayers the last (lowest-weight) one.
 *
 * Facts the dump fixes and every case relies on:
 * - Sublayers with filters at the ALE layers, highest first: MPSSVC_APP_ISOLATION 7, MPSSVC_QUARANTINE 4,
 *   MPSSVC_WSH 3 (service hardening), MPSSVC_WF 2 (the firewall rules), TEREDO 1; windefend 0x1000 and
 *   INSPECTION 0 hold only inspection callouts. The WinDivert sublayers (0xffec–0xffff) hold no filter.
 * - Every path in an ALE_APP_ID condition is on \device\harddiskvolume3 (this machine's C:), while
 *   FwpmGetAppIdFromFileName0's default map (src/fwp/app-id.ts) puts C: on harddiskvolume2; so apps are
 *   named here by their NT path, which `--app` accepts as is (`\device\…`).
 * - The simulated local interface is an Ethernet NIC in profile 1 (CURRENT/ORIGINAL_PROFILE_ID = 1, the
 *   profile the dump's "Default Outbound" / "Query User" filters test).
 * - The explain process's token holds only the `--user` SID (default S-1-5-18); service-hardening rules
 *   test the service SID (S-1-5-80-…) with ALE_USER_ID, so a service is explained with `--user` = its SID.
 *
 * Where openwfp models something differently from the machine the dump came from, the case says so,
 * asserts what openwfp does with the reason, and re-classifies the same classification with the one fact
 * Windows would have (`reclassify`), asserting the hand-derived Windows answer.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fieldIndex, type FwpValue } from "../fwp/index.ts";
import { type ExplainStep, type LoadedPolicySource, loadPolicySource, parseHostPort, walk } from "../host/index.ts";
import { type ClassifyFacts, incomingValuesFor } from "../shim/index.ts";
import { type EvalRecord, evalRecord } from "./eval.ts";
import { type ExplainLayerRecord, type ExplainOptions, type ExplainRecord, runExplain } from "./explain.ts";

const DUMP = join(import.meta.dirname, "../../fixtures/wfp-state/keploy__wfpstate.xml");

const V3 = "\\device\\harddiskvolume3";
const SVCHOST = `${V3}\\windows\\system32\\svchost.exe`;
const GOLAND = `${V3}\\program files\\jetbrains\\goland 2024.1.3\\bin\\goland64.exe`;
const MAIN_EXE = `${V3}\\users\\yashk\\appdata\\local\\temp\\go-build2587833103\\b001\\exe\\main.exe`;
const SEARCH_FILTER_HOST = `${V3}\\windows\\system32\\searchfilterhost.exe`;
const DEVICE_ENROLLER = `${V3}\\windows\\system32\\deviceenroller.exe`;
/** Service SIDs (NT SERVICE\…) as the dump's WSH rules name them. */
const LMHOSTS_SID = "S-1-5-80-172094073-716411664-54255058-185476446-2329512179";
const PNRP_SID = "S-1-5-80-372467825-374176116-1198570892-3192490889-1232022613";
const WFD_ASP_SID = "S-1-5-80-1428027539-3309602793-2678353003-1498846795-3763184142";

/** The machine's Ethernet interface as its un-quarantine filter 113460 names it: NET_LUID and epoch. */
const REAL_ETHERNET_LUID = 0x0006_0080_0600_0000n; // IfType 6, NetLuidIndex 0x8006 (= 1689399716741120)
const REAL_ETHERNET_EPOCH = 10000218n;
/** FWP_CONDITION_FLAG_IS_NON_APPCONTAINER_LOOPBACK. */
const NON_APPCONTAINER_LOOPBACK = 0x0080_0000;

let loaded: LoadedPolicySource;
before(async () => {
  loaded = await loadPolicySource({ kind: "state", path: DUMP });
});
after(() => loaded.close());

/** `openwfp explain --json …` on the shared loaded dump; returns the JSON object as printed. */
async function explainJson(
  proto: string,
  local: string,
  remote: string,
  o: ExplainOptions = {},
): Promise<ExplainRecord> {
  const { text, record } = await runExplain(proto, local, remote, { ...o, json: true }, loaded);
  const printed = JSON.parse(text) as ExplainRecord;
  assert.equal(printed.sentence, record.sentence);
  return printed;
}

/** The `n`th classification at `layer` (FWPM name without the prefix). */
function at(rec: ExplainRecord, layer: string, n = 0): ExplainLayerRecord {
  const found = rec.layers.filter((l) => l.layer === `FWPM_LAYER_${layer}`)[n];
  assert.ok(found, `no classification #${n} at ${layer} in: ${rec.layers.map((l) => l.layer).join(", ")}`);
  return found;
}

/** [id, name] of the filter that decided a classification, or null. */
function decider(l: EvalRecord): [number, string] | null {
  return l.decidingFilter === null ? null : [Number(l.decidingFilter.id), l.decidingFilter.name];
}

/**
 * Every sublayer that produced an outcome, in evaluation order, as "SUBLAYER ACTION hard|soft FILTER_ID
 * APPLY" (APPLY: set — it became the running decision; ignored — a hard decision was already made).
 */
function outcomes(l: EvalRecord): string[] {
  return l.trace
    .filter((s) => s.outcome !== null)
    .map((s) => {
      const o = s.outcome as { action: string; hard: boolean };
      const name = s.sublayer.name.replace(/^FWPM_SUBLAYER_/, "");
      return `${name} ${o.action.replace(/^FWP_ACTION_/, "")} ${o.hard ? "hard" : "soft"} ${s.terminatingFilter?.id} ${s.apply}`;
    });
}

/** One filter's trace entry in a classification. */
function traced(l: EvalRecord, id: number) {
  for (const s of l.trace) for (const f of s.filters) if (f.id === String(id)) return f;
  return assert.fail(`filter ${id} is not in the trace of ${l.layer}`);
}

/** The walk's own steps (facts included), for re-classifying one of them. */
function steps(c: Parameters<typeof walk>[0]): readonly ExplainStep[] {
  return walk(c, loaded.engine, loaded.description, loaded.assumptions).steps;
}

function stepAt(all: readonly ExplainStep[], layer: string): ExplainStep {
  const s = all.find((x) => x.record.layer.fwpmName === `FWPM_LAYER_${layer}`);
  assert.ok(s, `no step at ${layer}`);
  return s;
}

/**
 * The same classification again with the facts Windows would have had: `patch` edits the facts, `raw`
 * overrides incoming values openwfp's shim does not derive from facts (by FWPM_CONDITION_* name).
 */
function reclassify(
  step: ExplainStep,
  patch: (f: ClassifyFacts) => ClassifyFacts,
  raw: Readonly<Record<string, FwpValue>> = {},
): EvalRecord {
  const layer = step.record.layer;
  const values = incomingValuesFor(layer, patch(step.record.facts));
  for (const [condition, value] of Object.entries(raw)) {
    const i = fieldIndex(layer, condition);
    assert.ok(i !== undefined, `${layer.fwpmName} has no field ${condition}`);
    values[i] = value;
  }
  return evalRecord(loaded.engine.classify({ layer, incomingValues: values, trace: true }));
}

const u64 = (value: bigint): FwpValue => ({ type: "FWP_UINT64", value });

/** The arrival interface and quarantine epoch of the machine's real, un-quarantined Ethernet NIC. */
const REAL_ETHERNET_ARRIVAL = {
  FWPM_CONDITION_IP_ARRIVAL_INTERFACE: u64(REAL_ETHERNET_LUID),
  FWPM_CONDITION_INTERFACE_QUARANTINE_EPOCH: u64(REAL_ETHERNET_EPOCH),
};

describe("explain on the keploy dump: loopback", () => {
  it('TCP 127.0.0.1 → 127.0.0.1:8080: connect permitted by 113562; accept permitted by the loopback "Boot Time Filter" (NON_APPCONTAINER_LOOPBACK)', async () => {
    // ALE_AUTH_CONNECT_V4 (FLAGS has IS_LOOPBACK 0x1 | IS_NON_APPCONTAINER_LOOPBACK 0x800000):
    //   APP_ISOLATION (7): 67094 "AppContainerLoopback" PERMIT, FLAGS ALL_SET 0x1, weight 0xffff…ffff (the
    //     blocks 67096 — same weight, higher id, also needs remote port 137 — and 67100, weight …fffe, are
    //     never reached) → soft PERMIT.
    //   QUARANTINE (4): 113585 "Quarantine Default Inbound Loopback Exception" PERMIT, FLAGS ALL_SET 0x1 → soft.
    //   WSH (3): every filter names a service app/SID or a blocked app: nothing for svchost on volume 2.
    //   WF (2): 113562 "Boot Time Filter" PERMIT, FLAGS ALL_SET 0x1, 0xffff…ffff (before 117073, same
    //     weight, higher id) → soft PERMIT, the last one set: it decides.
    // ALE_AUTH_RECV_ACCEPT_V4 of the listener (peer.exe, same host): Windows marks desktop-app loopback
    //   FWP_CONDITION_FLAG_IS_NON_APPCONTAINER_LOOPBACK (0x800000) — the dump proves it, because the only WF
    //   permits for loopback at this layer test that flag (113554/113558 "Boot Time Filter" FLAGS ALL_SET
    //   0x800000 & PACKAGE_ID = S-1-0-0; 66919/66921 test the AppContainer flag 0x400000; 67088 in
    //   APP_ISOLATION tests 0x800000 too): without it every localhost server without an allow rule would be
    //   blocked by "Query User" 116013, which Windows does not do. The token holds Everyone (S-1-1-0), which
    //   makes 67098 (a BLOCK for loopback of anyone, weight …fffe) match — but 67088 at …ffff is first.
    //   So: 67088 soft PERMIT, 113583 soft PERMIT, WF "Boot Time Filter" soft PERMIT.
    //   113554 (BOOTTIME) and 113558 (PERSISTENT) are twins of equal weight. On the running machine BFE had
    //   removed the boot-time one from enforcement (H15), and so has the BFE the dump is loaded into: 113558
    //   decides (were both enforced, B11 would take the older 113554).
    const rec = await explainJson("tcp", "127.0.0.1:0", "127.0.0.1:8080");
    const connect = at(rec, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(decider(connect), [113562, "Boot Time Filter"]);
    assert.deepEqual(outcomes(connect), [
      "MPSSVC_APP_ISOLATION PERMIT soft 67094 set",
      "MPSSVC_QUARANTINE PERMIT soft 113585 set",
      "MPSSVC_WF PERMIT soft 113562 set",
    ]);
    assert.ok(
      (connect.flags & NON_APPCONTAINER_LOOPBACK) !== 0,
      "a desktop app's loopback carries IS_NON_APPCONTAINER_LOOPBACK",
    );
    assert.equal(rec.verdict, "permitted");
    assert.equal(rec.blockedAt, null);
    const accept = at(rec, "ALE_AUTH_RECV_ACCEPT_V4");
    const wf = outcomes(accept);
    assert.deepEqual(wf.slice(0, 2), [
      "MPSSVC_APP_ISOLATION PERMIT soft 67088 set",
      "MPSSVC_QUARANTINE PERMIT soft 113583 set",
    ]);
    assert.equal(wf[2], "MPSSVC_WF PERMIT soft 113558 set");
    assert.equal(accept.decidingFilter?.name, "Boot Time Filter");
    assert.match(rec.outcome, /^connected; 15 of 15 bytes echoed back$/);
  });

  it("TCP [::1] → [::1]:8080: connect permitted by 113563, accept by 113559 (the V6 twins' persistent one)", async () => {
    // ALE_AUTH_CONNECT_V6: 67095 APP_ISOLATION, 113584 QUARANTINE, 113563 WF "Boot Time Filter": the V6
    // twins of the case above (FLAGS ALL_SET IS_LOOPBACK, weight 0xffff…ffff) → soft permits, 113563 last.
    // ALE_AUTH_RECV_ACCEPT_V6: 67089 / 113582 / 113559 (persistent; its boot-time twin 113555 is not
    // enforced once BFE runs, H15), 0x800000.
    const rec = await explainJson("tcp", "[::1]:0", "[::1]:8080");
    const connect = at(rec, "ALE_AUTH_CONNECT_V6");
    assert.deepEqual(decider(connect), [113563, "Boot Time Filter"]);
    assert.deepEqual(outcomes(connect), [
      "MPSSVC_APP_ISOLATION PERMIT soft 67095 set",
      "MPSSVC_QUARANTINE PERMIT soft 113584 set",
      "MPSSVC_WF PERMIT soft 113563 set",
    ]);
    assert.equal(rec.verdict, "permitted");
    const accept = at(rec, "ALE_AUTH_RECV_ACCEPT_V6");
    assert.deepEqual(outcomes(accept).slice(0, 2), [
      "MPSSVC_APP_ISOLATION PERMIT soft 67089 set",
      "MPSSVC_QUARANTINE PERMIT soft 113582 set",
    ]);
    assert.equal(decider(accept)?.[0], 113559);
  });

  it("TCP 127.0.0.1:0 → GoLand listening on 127.0.0.1:8080 (--inbound, app rule): permitted by the loopback rule above GoLand's", async () => {
    // The app-specific allow rule 116168 "GoLand 2024.1.3" (ALE_AUTH_RECV_ACCEPT_V4, WF, UINT8 9 →
    // 0x9006008000000000): ALE_APP_ID = …\goland 2024.1.3\bin\goland64.exe & IP_PROTOCOL = 6, PERMIT.
    // But for loopback the WF sublayer ends earlier, at "Boot Time Filter" 113558 (the persistent twin of
    // boot-time 113554, H15; FLAGS ALL_SET 0x800000, weight 0xffff…ffff, above 116168), which the GoLand rule would only decide without that
    // flag. APP_ISOLATION 67088 and QUARANTINE 113583 give soft permits first.
    // The connecting side (peer.exe on this host) is authorized at ALE_AUTH_CONNECT_V4 by 113562, as above.
    const rec = await explainJson("tcp", "127.0.0.1:8080", "127.0.0.1:0", { inbound: true, app: GOLAND });
    assert.equal(rec.verdict, "permitted");
    assert.equal(rec.blockedAt, null);
    const accept = at(rec, "ALE_AUTH_RECV_ACCEPT_V4");
    assert.deepEqual(outcomes(accept).slice(0, 2), [
      "MPSSVC_APP_ISOLATION PERMIT soft 67088 set",
      "MPSSVC_QUARANTINE PERMIT soft 113583 set",
    ]);
    assert.equal(decider(accept)?.[0], 113558);
    assert.ok(
      accept.trace.some((sl) => sl.filters.some((f) => f.id === "116168" && f.matched && f.status === "skipped")),
      "GoLand's own rule matches but is never reached",
    );
    assert.deepEqual(decider(at(rec, "ALE_AUTH_CONNECT_V4")), [113562, "Boot Time Filter"]);
    assert.match(rec.outcome, /^connected; 15 of 15 bytes echoed back$/);
  });

  it("TCP 127.0.0.1 → 127.0.0.1:8080 from SearchFilterHost: a WSH hard block overrides two higher soft permits", async () => {
    // 117001 "Block all outbound traffic from SearchFilterHost" (ALE_AUTH_CONNECT_V4, WSH, 0x2000000000):
    // ALE_APP_ID = …\searchfilterhost.exe, BLOCK. APP_ISOLATION (7) 67094 and QUARANTINE (4) 113585 first
    // give soft permits (loopback), then WSH (3) blocks — static BLOCK is hard, so WF's 113562 permit
    // (sublayer 2, evaluated after) is ignored, not overridden.
    const rec = await explainJson("tcp", "127.0.0.1:0", "127.0.0.1:8080", { app: SEARCH_FILTER_HOST });
    assert.equal(rec.verdict, "blocked");
    assert.equal(rec.blockedAt?.layer, "FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    const connect = at(rec, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(decider(connect), [117001, "Block all outbound traffic from SearchFilterHost"]);
    assert.deepEqual(outcomes(connect), [
      "MPSSVC_APP_ISOLATION PERMIT soft 67094 set",
      "MPSSVC_QUARANTINE PERMIT soft 113585 set",
      "MPSSVC_WSH BLOCK hard 117001 set",
      "MPSSVC_WF PERMIT soft 113562 ignored",
    ]);
    assert.equal(
      rec.sentence,
      'TCP 127.0.0.1 → 127.0.0.1:8080 (outbound): blocked at FWPM_LAYER_ALE_AUTH_CONNECT_V4 by filter 117001 "Block all outbound traffic from SearchFilterHost" (sublayer FWPM_SUBLAYER_MPSSVC_WSH), overriding a soft permit from filter 67094 "AppContainerLoopback" (sublayer FWPM_SUBLAYER_MPSSVC_APP_ISOLATION) and a soft permit from filter 113585 "Quarantine Default Inbound Loopback Exception" (sublayer FWPM_SUBLAYER_MPSSVC_QUARANTINE).',
    );
    assert.match(rec.outcome, /connect\(\) failed: WSAEACCES/);
  });
});

describe("explain on the keploy dump: DNS, HTTPS and ICMP out", () => {
  it("UDP → 8.8.8.8:53 from the default app: permitted by 116027 Default Outbound", async () => {
    // ALE_AUTH_CONNECT_V4, default app C:\Windows\System32\svchost.exe (→ harddiskvolume2, matching no
    // ALE_APP_ID of the dump), user S-1-5-18 (granted by no ALE_USER_ID SD: 117068 lists only service SIDs).
    // APP_ISOLATION needs loopback or a package id, QUARANTINE loopback, WSH an app/SID: no outcome.
    // WF: 113562 (loopback) and 117073 (TCP) do not match; 116027 "Default Outbound" (UINT8 8,
    // 0x80000000000007f8: ORIGINAL_PROFILE_ID = 1 & CURRENT_PROFILE_ID = 1) PERMIT before 116031 (0x3000…,
    // no condition). The answer belongs to the flow: no ALE_AUTH_RECV_ACCEPT.
    const rec = await explainJson("udp", "192.168.1.10:0", "8.8.8.8:53");
    assert.equal(rec.verdict, "permitted");
    const connect = at(rec, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(decider(connect), [116027, "Default Outbound"]);
    assert.deepEqual(outcomes(connect), ["MPSSVC_WF PERMIT soft 116027 set"]);
    assert.equal(rec.layers.filter((l) => l.layer === "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4").length, 0);
    assert.match(rec.outcome, /answered/);
  });

  it("UDP → 8.8.8.8:53 from the LMHosts service (user-specific WSH rule 116973), then the same service to 5353 (WSH block 117068)", async () => {
    // svchost.exe on volume 3 with the LmHosts service SID (S-1-5-80-172094073-…):
    // WSH: 116973 "Allow outbound UDP traffic to LMHosts port 53" (0x381f000000000): APP_ID svchost &
    //   ALE_USER_ID SD granting CC to that SID & IP_PROTOCOL 17 & IP_REMOTE_PORT 53 → soft PERMIT (the WSH
    //   default block 117068, 0x1000000000, is below it). WF: 116027 soft PERMIT, the last set: it decides.
    const dns = await explainJson("udp", "192.168.1.10:0", "8.8.8.8:53", { app: SVCHOST, user: LMHOSTS_SID });
    assert.equal(dns.verdict, "permitted");
    const c = at(dns, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(decider(c), [116027, "Default Outbound"]);
    assert.deepEqual(outcomes(c), ["MPSSVC_WSH PERMIT soft 116973 set", "MPSSVC_WF PERMIT soft 116027 set"]);

    // To port 5353 no WSH allow rule of that SID matches; 117068 "WSH Default Outbound Block" (ALE_USER_ID
    // SD with 56 service-SID ACEs, LmHosts among them) → hard BLOCK in sublayer 3, so WF's 116027 (sublayer 2,
    // after) is ignored and the sentence names no overridden permit.
    const other = await explainJson("udp", "192.168.1.10:0", "8.8.8.8:5353", { app: SVCHOST, user: LMHOSTS_SID });
    assert.equal(other.verdict, "blocked");
    assert.equal(other.blockedAt?.layer, "FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    const o = at(other, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(decider(o), [117068, "WSH Default Outbound Block"]);
    assert.deepEqual(outcomes(o), ["MPSSVC_WSH BLOCK hard 117068 set", "MPSSVC_WF PERMIT soft 116027 ignored"]);
    assert.doesNotMatch(other.sentence, /overriding/);

    // The same svchost without the service SID: neither 116973 nor 117068 grants S-1-5-18 → WSH silent.
    const plain = await explainJson("udp", "192.168.1.10:0", "8.8.8.8:5353", { app: SVCHOST });
    assert.deepEqual(outcomes(at(plain, "ALE_AUTH_CONNECT_V4")), ["MPSSVC_WF PERMIT soft 116027 set"]);
  });

  it("TCP → 93.184.216.34:443 (Chrome) and → [2606:2800:220:1:248:1893:25c8:1946]:443: Default Outbound 116027 / 116029", async () => {
    // No filter of the dump names chrome.exe. ALE_AUTH_CONNECT_V4: WF 117073 "FTP Inspection Filter"
    // (IP_REMOTE_PORT RANGE 1024-65535) does not match 443; 116027 decides as for DNS.
    const v4 = await explainJson("tcp", "192.168.1.10:0", "93.184.216.34:443", {
      app: "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    });
    assert.equal(v4.verdict, "permitted");
    const c4 = at(v4, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(decider(c4), [116027, "Default Outbound"]);
    assert.equal(traced(c4, 117073).matched, false);
    assert.match(v4.outcome, /^connected/);
    // ALE_AUTH_CONNECT_V6: 116029 "Default Outbound" (profile 1/1, 0x80000000000003f8) before 116033;
    // 117074 (FTP, remote port ≥ 1024) does not match, 113563 needs loopback.
    const v6 = await explainJson("tcp", "[2001:db8::10]:0", "[2606:2800:220:1:248:1893:25c8:1946]:443");
    assert.equal(v6.verdict, "permitted");
    const c6 = at(v6, "ALE_AUTH_CONNECT_V6");
    assert.deepEqual(decider(c6), [116029, "Default Outbound"]);
    assert.deepEqual(outcomes(c6), ["MPSSVC_WF PERMIT soft 116029 set"]);
  });

  it("TCP → 93.184.216.34:8443: the port-range callout filter 117073 is called (assumed continue), 116027 decides", async () => {
    // 117073 "FTP Inspection Filter" (WF, 0xffff…ffff, CALLOUT_UNKNOWN, Windows Firewall callout
    // c3dbed20-…-0230): IP_PROTOCOL 6 & IP_REMOTE_PORT RANGE 1024-65535 — 8443 is inside. Its code is
    // Windows', so it gets the reported default assumption `continue`: the next filter runs, and 116027 permits.
    const rec = await explainJson("tcp", "192.168.1.10:0", "93.184.216.34:8443");
    assert.equal(rec.verdict, "permitted");
    const c = at(rec, "ALE_AUTH_CONNECT_V4");
    const ftp = traced(c, 117073);
    assert.equal(ftp.matched, true);
    assert.equal(ftp.calloutInvoked, true);
    assert.equal(ftp.returned, "FWP_ACTION_CONTINUE");
    assert.deepEqual(decider(c), [116027, "Default Outbound"]);
    const assumed = rec.assumptions.find((a) => a.calloutKey === "c3dbed20-0bb6-4bf3-828d-96732e1e0230");
    assert.deepEqual(
      assumed && { behaviour: assumed.behaviour, explicit: assumed.explicit, invoked: assumed.invoked },
      { behaviour: "continue", explicit: false, invoked: true },
    );
  });

  it("ICMP echo → 8.8.8.8 and → 2001:db8::20: permitted by Default Outbound 116027 / 116029", async () => {
    // ICMP reaches ALE_AUTH_CONNECT with type 8 / 128 in the local-port slot (F16); no filter tests ICMP
    // at AUTH_CONNECT, 117073/117074 need TCP, so the profile-1 "Default Outbound" permits.
    const v4 = await explainJson("icmp", "192.168.1.10", "8.8.8.8");
    assert.equal(v4.verdict, "permitted");
    assert.deepEqual(decider(at(v4, "ALE_AUTH_CONNECT_V4")), [116027, "Default Outbound"]);
    assert.equal(v4.outcome, "the echo request was answered");
    const v6 = await explainJson("icmp", "[2001:db8::10]", "[2001:db8::20]");
    assert.deepEqual(decider(at(v6, "ALE_AUTH_CONNECT_V6")), [116029, "Default Outbound"]);
  });
});

describe("explain on the keploy dump: app-specific, port-range and address-range rules", () => {
  it("SearchFilterHost → 93.184.216.34:443 blocked by 117001 — only with the NT path of volume 3", async () => {
    // 117001 tests ALE_APP_ID = \device\harddiskvolume3\windows\system32\searchfilterhost.exe; nothing
    // before it matches a non-loopback connection, so the sentence names no overridden permit.
    const nt = await explainJson("tcp", "192.168.1.10:0", "93.184.216.34:443", { app: SEARCH_FILTER_HOST });
    assert.equal(nt.verdict, "blocked");
    assert.deepEqual(decider(at(nt, "ALE_AUTH_CONNECT_V4")), [
      117001,
      "Block all outbound traffic from SearchFilterHost",
    ]);
    assert.deepEqual(outcomes(at(nt, "ALE_AUTH_CONNECT_V4")), [
      "MPSSVC_WSH BLOCK hard 117001 set",
      "MPSSVC_WF PERMIT soft 116027 ignored",
    ]);
    assert.doesNotMatch(nt.sentence, /overriding/);
    // C:\… becomes \device\harddiskvolume2\… (FwpmGetAppIdFromFileName0 default map): not this machine's
    // volume, so 117001 does not match and Default Outbound permits.
    const win32 = await explainJson("tcp", "192.168.1.10:0", "93.184.216.34:443", {
      app: "C:\\Windows\\System32\\SearchFilterHost.exe",
    });
    assert.equal(win32.verdict, "permitted");
    assert.deepEqual(decider(at(win32, "ALE_AUTH_CONNECT_V4")), [116027, "Default Outbound"]);
  });

  it("deviceenroller.exe: TCP permitted (WSH 116937 outweighs 116935 in the same sublayer), UDP blocked by 116935", async () => {
    // WSH: 116937 "Allow outbound TCP traffic from deviceenroller.exe" (0x3802000000000: APP_ID & TCP)
    // and 116935 "Block outbound traffic from deviceenroller.exe" (0x2000000000: APP_ID only). Within a
    // sublayer the heavier filter ends it (C4, OV14): TCP → soft PERMIT by 116937, then WF 116027 decides.
    const tcp = await explainJson("tcp", "192.168.1.10:0", "8.8.8.8:443", { app: DEVICE_ENROLLER });
    assert.equal(tcp.verdict, "permitted");
    const t = at(tcp, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(outcomes(t), ["MPSSVC_WSH PERMIT soft 116937 set", "MPSSVC_WF PERMIT soft 116027 set"]);
    assert.deepEqual(decider(t), [116027, "Default Outbound"]);
    // UDP: 116937 needs TCP, so 116935 blocks (hard) and WF's permit is ignored.
    const udp = await explainJson("udp", "192.168.1.10:0", "8.8.8.8:53", { app: DEVICE_ENROLLER });
    assert.equal(udp.verdict, "blocked");
    assert.deepEqual(decider(at(udp, "ALE_AUTH_CONNECT_V4")), [
      116935,
      "Block outbound traffic from deviceenroller.exe",
    ]);
    assert.match(udp.outcome, /sendto\(\) failed: WSAEACCES/);
  });

  it("PNRP UDP 3540 → remote port 1024 permitted (WSH 116991, RANGE 1024-65535), → 1023 blocked by 117068", async () => {
    // 116991 "Allow PNRP to send to port 3540" (WSH, 0x3c07000000000): svchost & PNRP SID & IP_LOCAL_PORT
    // 3540 & UDP & IP_REMOTE_PORT RANGE 1024-65535. At 1024 (the range's low end) it soft-permits and WF
    // 116027 decides; at 1023 it does not match and the PNRP SID falls to 117068 (hard BLOCK).
    const inside = await explainJson("udp", "192.168.1.10:3540", "8.8.8.8:1024", { app: SVCHOST, user: PNRP_SID });
    assert.equal(inside.verdict, "permitted");
    assert.deepEqual(outcomes(at(inside, "ALE_AUTH_CONNECT_V4")), [
      "MPSSVC_WSH PERMIT soft 116991 set",
      "MPSSVC_WF PERMIT soft 116027 set",
    ]);
    const below = await explainJson("udp", "192.168.1.10:3540", "8.8.8.8:1023", { app: SVCHOST, user: PNRP_SID });
    assert.equal(below.verdict, "blocked");
    assert.deepEqual(decider(at(below, "ALE_AUTH_CONNECT_V4")), [117068, "WSH Default Outbound Block"]);
  });

  it("Wi-Fi Direct ASP UDP 7235 → 172.29.239.255 permitted (WSH 117047 address range), → 172.29.240.0 blocked by 117068", async () => {
    // 117047 "Wi-Fi Direct ASP Coordination Protocol (UDP-Out)" (WSH, 0x403c1f040000000): svchost & the
    // WFDSConMgrSvc SID & local/remote port 7235 & UDP & NEXTHOP_TUNNEL_TYPE 0 & IP_REMOTE_ADDRESS in
    // 172.29.224.0-172.29.239.255 OR 192.168.1.0-192.168.1.255 OR 224.0.0.0-239.255.255.255 (same-field
    // conditions OR, A.1). Its heavier twin 117048 also needs FLAGS IS_REAUTHORIZE (0x4): not on a first
    // connect. 172.29.239.255 is the top of the first range → soft PERMIT, WF 116027 decides;
    // 172.29.240.0 is just past it → 117068 hard BLOCK.
    const o = { app: SVCHOST, user: WFD_ASP_SID };
    const inside = await explainJson("udp", "192.168.1.10:7235", "172.29.239.255:7235", o);
    assert.equal(inside.verdict, "permitted");
    const c = at(inside, "ALE_AUTH_CONNECT_V4");
    assert.deepEqual(outcomes(c), ["MPSSVC_WSH PERMIT soft 117047 set", "MPSSVC_WF PERMIT soft 116027 set"]);
    assert.equal(traced(c, 117048).matched, false);
    const outside = await explainJson("udp", "192.168.1.10:7235", "172.29.240.0:7235", o);
    assert.equal(outside.verdict, "blocked");
    assert.deepEqual(decider(at(outside, "ALE_AUTH_CONNECT_V4")), [117068, "WSH Default Outbound Block"]);
  });
});

describe("explain on the keploy dump: inbound", () => {
  it("Postman listening on TCP 9000 / bound to UDP 9000: its own WF rules permit (ALE_SIO_FIREWALL_SYSTEM_PORT of an ordinary socket)", async () => {
    // Windows Firewall's app rules at ALE_AUTH_LISTEN and ALE_RESOURCE_ASSIGNMENT (87 per layer in this dump)
    // require ALE_SIO_FIREWALL_SYSTEM_PORT FLAGS_NONE_SET 0x2 (the socket does not ALLOW_EDGE_TRAFFIC). An
    // ordinary socket's value is 0, so they match. AUTH_LISTEN_V4: 116191 "postman.exe" (WF; APP_ID of
    // app-11.2.0\postman.exe & SIO none of 0x2) PERMITs; the "Query User" callout filters 116010 / 116018
    // below it in WF are skipped (no prompt for an app the user allowed). RESOURCE_ASSIGNMENT_V4: Postman's
    // rule there, 116195, is UDP only (IP_PROTOCOL 17): for TCP nothing decides; for the UDP bind it PERMITs.
    // Both walks then end at RECV_ACCEPT in QUARANTINE's 113581 (the walk's NIC is quarantined, see below).
    const POSTMAN = `${V3}\\users\\yashk\\appdata\\local\\postman\\app-11.2.0\\postman.exe`;
    const tcp = await explainJson("tcp", "192.168.1.10:9000", "192.168.20.1:50000", { inbound: true, app: POSTMAN });
    const listen = at(tcp, "ALE_AUTH_LISTEN_V4");
    assert.deepEqual(decider(listen), [116191, "postman.exe"]);
    assert.deepEqual(
      traced(listen, 116191).conditions.map((c) => [c.field, c.result]),
      [
        ["FWPM_CONDITION_ALE_APP_ID", true],
        // The same GUID: AUTH_LISTEN's field list names it by the alias.
        ["FWPM_CONDITION_ALE_SIO_FIREWALL_SOCKET_PROPERTY", true],
      ],
    );
    for (const id of [116010, 116018]) assert.equal(traced(listen, id).status, "skipped");
    assert.equal(decider(at(tcp, "ALE_RESOURCE_ASSIGNMENT_V4")), null);
    const udp = await explainJson("udp", "192.168.1.10:9000", "192.168.20.1:50000", { inbound: true, app: POSTMAN });
    assert.deepEqual(decider(at(udp, "ALE_RESOURCE_ASSIGNMENT_V4")), [116195, "postman.exe"]);
    for (const rec of [tcp, udp]) assert.equal(rec.verdict, "blocked");

    // A socket that allows edge traversal (--socket-properties ALLOW_EDGE_TRAFFIC, bit 0x2) is not what
    // 116191 allows: its SIO condition fails, no WF rule decides, and the "Query User" callouts are reached.
    const edge = await explainJson("tcp", "192.168.1.10:9000", "192.168.20.1:50000", {
      inbound: true,
      app: POSTMAN,
      socketProperties: "ALLOW_EDGE_TRAFFIC",
    });
    const edgeListen = at(edge, "ALE_AUTH_LISTEN_V4");
    assert.equal(decider(edgeListen), null);
    assert.equal(
      edgeListen.trace.some((sl) => sl.filters.some((f) => f.id === "116191" && f.matched)),
      false,
    );
    for (const id of [116010, 116018]) assert.equal(traced(edgeListen, id).status, "evaluated");
    await assert.rejects(
      explainJson("tcp", "192.168.1.10:9000", "192.168.20.1:50000", { socketProperties: "EDGE" }),
      /E_USAGE: --socket-properties: unknown socket property "EDGE"/,
    );
  });

  it("TCP SYN to closed port 8081: stealth — SILENT_DROP filter 117087 blocks at INBOUND_TRANSPORT_V4_DISCARD, no RST", async () => {
    // No listener: the SYN is discarded (InetDiscardEndpointNotFound) and indicated at
    // INBOUND_TRANSPORT_V4_DISCARD (F6). WF there: 117083 / 117085 PERMIT (FLAGS none of IS_LOOPBACK, profile
    // 3 / 2) do not match profile 1; 117087 "Port Scanning Prevention Filter" (0xffff…ffff,
    // CALLOUT_TERMINATING FWPM_CALLOUT_WFP_TRANSPORT_LAYER_V4_SILENT_DROP; FLAGS none of IS_LOOPBACK |
    // IS_IPSEC_SECURED & CURRENT_PROFILE_ID = 1) matches. That built-in callout's documented job is to drop
    // silently (stealth mode), so it is assumed to block: the block suppresses the RST (C17), the peer's
    // SYN retransmissions meet the same filter, and its connect() times out. 117089 (any profile) is skipped.
    const rec = await explainJson("tcp", "192.168.1.10:8081", "192.168.20.1:50000", { inbound: true, closed: true });
    assert.equal(rec.verdict, "blocked");
    assert.deepEqual(rec.blockedAt, { layer: "FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD", index: 1 });
    const d = at(rec, "INBOUND_TRANSPORT_V4_DISCARD");
    assert.deepEqual(decider(d), [117087, "Port Scanning Prevention Filter"]);
    assert.equal(traced(d, 117089).status, "skipped");
    assert.equal(rec.layers.filter((l) => l.packet === "RST").length, 0);
    assert.match(rec.outcome, /timed-out/);
    assert.match(rec.sentence, /no RST or ICMP error is sent/);
    assert.deepEqual(
      rec.assumptions
        .filter((a) => a.calloutKey === "eda08606-2494-4d78-89bc-67837c03b969")
        .map((a) => [a.behaviour, a.explicit, a.invoked]),
      [["block", false, true]],
    );
  });

  it("UDP to closed port 9999: the port-unreachable is blocked at OUTBOUND_ICMP_ERROR_V4 by 117101 (ICMP_CODE RANGE 0-3)", async () => {
    // No socket: INBOUND_IPPACKET_V4_DISCARD (no filter at that layer), then the stack's ICMP type 3 code 3
    // at OUTBOUND_ICMP_ERROR_V4 (F6): 113560 (FLAGS ALL_SET IS_LOOPBACK) does not match; 117101 "Port
    // Scanning Prevention Filter" (0xffff…ffff: FLAGS none of IS_LOOPBACK & NEXTHOP_INTERFACE_PROFILE_ID = 1
    // & ICMP_TYPE = 3 & ICMP_CODE RANGE 0-3) does → hard BLOCK (117106 wants profile 0): no ICMP error leaves.
    const rec = await explainJson("udp", "192.168.1.10:9999", "192.168.20.1:50000", { inbound: true, closed: true });
    assert.equal(rec.verdict, "blocked");
    assert.equal(rec.blockedAt?.layer, "FWPM_LAYER_OUTBOUND_ICMP_ERROR_V4");
    assert.equal(at(rec, "INBOUND_IPPACKET_V4_DISCARD").action, "FWP_ACTION_PERMIT");
    assert.deepEqual(decider(at(rec, "OUTBOUND_ICMP_ERROR_V4")), [117101, "Port Scanning Prevention Filter"]);
    assert.equal(rec.outcome, "no answer");
  });

  it("TCP → main.exe listening on 8080: listen permitted by 116849; accept blocked by Quarantine 113581 (the machine: by 116850)", async () => {
    // ALE_AUTH_LISTEN_V4: 116849 "main.exe" (WF, UINT8 10 → 0xa000000000000080, APP_ID only) PERMIT.
    // ALE_AUTH_RECV_ACCEPT_V4, QUARANTINE (4): 113583 (loopback), 113591 (DHCP), 113587/113589 (tunnels) do not
    // match; the "Interface Un-quarantine filter"s (0x10000800000002) permit only the interfaces the machine
    // had: (IP_ARRIVAL_INTERFACE, INTERFACE_QUARANTINE_EPOCH) = (0x0006008006000000, 10000218) 113460,
    // (0x0047008000000000, 10000228) 113456, (0x0018000000000000, 0) 113452. openwfp's NIC has NET_LUID
    // 0x0006000002000000 (NetLuidIndex = IF_INDEX 2) and epoch 0 (src/shim/values.ts), like an interface the
    // firewall has not un-quarantined yet, so 113581 "Quarantine Default Inbound Block" (0x800000000,
    // FLAGS none of IS_LOOPBACK) blocks, hard. In WF the first match is 117071 "FTP Inspection Filter"
    // (weight 0xffffffffffffffff, CALLOUT_UNKNOWN with the Windows Firewall callout …022c, assumed continue):
    // TCP, ALE_SIO_FIREWALL_SYSTEM_PORT none of IS_SYSTEM_PORT_RPC (an ordinary socket's 0), local port 8080 in
    // 1024-65535. After QUARANTINE's hard block the callout has no write right, writes nothing and hands back
    // the running BLOCK, which ends WF and is ignored (WF's own block 116850 "main.exe", APP_ID & TCP, is not
    // reached). (The SYN is retransmitted and blocked again: 3 classifications.)
    const rec = await explainJson("tcp", "192.168.1.10:8080", "192.168.20.1:50000", { inbound: true, app: MAIN_EXE });
    assert.equal(rec.verdict, "blocked");
    assert.deepEqual(decider(at(rec, "ALE_AUTH_LISTEN_V4")), [116849, "main.exe"]);
    assert.equal(rec.blockedAt?.layer, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
    const accept = at(rec, "ALE_AUTH_RECV_ACCEPT_V4");
    assert.deepEqual(decider(accept), [113581, "Quarantine Default Inbound Block"]);
    assert.deepEqual(outcomes(accept), [
      "MPSSVC_QUARANTINE BLOCK hard 113581 set",
      "MPSSVC_WF BLOCK hard 117071 ignored",
    ]);
    const ftp = traced(accept, 117071);
    assert.equal(ftp.calloutInvoked, true);
    assert.deepEqual(
      ftp.conditions.map((c) => [c.field, c.result]),
      [
        ["FWPM_CONDITION_IP_PROTOCOL", true],
        ["FWPM_CONDITION_ALE_SIO_FIREWALL_SYSTEM_PORT", true],
        ["FWPM_CONDITION_IP_LOCAL_PORT", true],
      ],
    );
    assert.match(rec.outcome, /timed-out/);

    // On the machine's own Ethernet interface: 113460 soft PERMIT in QUARANTINE, then WF's static BLOCK
    // 116850 (hard) overrides it — the app's own rule decides.
    const conn = {
      protocol: "tcp" as const,
      inbound: true,
      app: MAIN_EXE,
      local: parseHostPort("192.168.1.10:8080", "L", true),
      remote: parseHostPort("192.168.20.1:50000", "R", false),
    };
    const machine = reclassify(stepAt(steps(conn), "ALE_AUTH_RECV_ACCEPT_V4"), (f) => f, REAL_ETHERNET_ARRIVAL);
    assert.equal(machine.action, "FWP_ACTION_BLOCK");
    assert.deepEqual(decider(machine), [116850, "main.exe"]);
    assert.deepEqual(outcomes(machine), [
      "MPSSVC_QUARANTINE PERMIT soft 113460 set",
      "MPSSVC_WF BLOCK hard 116850 set",
    ]);
    // The quarantined walk says so, and names the interfaces the dump un-quarantines.
    assert.equal(rec.notes.length, 1);
    assert.match(
      rec.notes[0] ?? "",
      /NET_LUID 0x0006000002000000, epoch 0\) is one Windows Firewall has not un-quarantined/,
    );
    for (const id of [113460, 113456, 113452]) assert.match(rec.notes[0] ?? "", new RegExp(`\\(filter ${id}\\)`));
    assert.match(rec.notes[0] ?? "", /NET_LUID 0x0006008006000000 epoch 10000218 \(filter 113460\)/);
    // Asked about the machine's NIC end to end (--interface-luid, --quarantine-epoch): WF's 116850 decides.
    const onNic = await explainJson("tcp", "192.168.1.10:8080", "192.168.20.1:50000", {
      inbound: true,
      app: MAIN_EXE,
      interfaceLuid: `0x${REAL_ETHERNET_LUID.toString(16)}`,
      quarantineEpoch: String(REAL_ETHERNET_EPOCH),
    });
    assert.equal(onNic.verdict, "blocked");
    const onNicAccept = at(onNic, "ALE_AUTH_RECV_ACCEPT_V4");
    assert.deepEqual(decider(onNicAccept), [116850, "main.exe"]);
    assert.deepEqual(outcomes(onNicAccept), [
      "MPSSVC_QUARANTINE PERMIT soft 113460 set",
      "MPSSVC_WF BLOCK hard 116850 set",
    ]);
    assert.deepEqual(onNic.notes, []);
    // GoLand's allow rule 116168 on that interface: permitted, decided by 116168.
    const goland = reclassify(
      stepAt(steps({ ...conn, app: GOLAND }), "ALE_AUTH_RECV_ACCEPT_V4"),
      (f) => f,
      REAL_ETHERNET_ARRIVAL,
    );
    assert.equal(goland.action, "FWP_ACTION_PERMIT");
    assert.deepEqual(outcomes(goland), [
      "MPSSVC_QUARANTINE PERMIT soft 113460 set",
      "MPSSVC_WF PERMIT soft 116168 set",
    ]);
  });

  it("ICMP echo in from 192.168.20.1: blocked by Quarantine 113581 (the machine: by 116013 Query User)", async () => {
    // Inbound echo at ALE_AUTH_RECV_ACCEPT_V4: quarantined interface as above → 113581. On the machine's
    // interface (113460 soft PERMIT), WF has no ICMPv4 echo rule — 116059 wants ORIGINAL_ICMP_TYPE 3, 116044
    // / 116130 protocols 41 / 2 — so 116013 "Query User" (ORIGINAL_PROFILE_ID = 1) blocks: no reply either way.
    const rec = await explainJson("icmp", "192.168.1.10", "192.168.20.1", { inbound: true });
    assert.equal(rec.verdict, "blocked");
    assert.equal(rec.blockedAt?.layer, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
    assert.deepEqual(decider(at(rec, "ALE_AUTH_RECV_ACCEPT_V4")), [113581, "Quarantine Default Inbound Block"]);
    assert.equal(rec.outcome, "no echo reply");
    const step = stepAt(
      steps({
        protocol: "icmp",
        inbound: true,
        local: parseHostPort("192.168.1.10", "L", false),
        remote: parseHostPort("192.168.20.1", "R", false),
      }),
      "ALE_AUTH_RECV_ACCEPT_V4",
    );
    const machine = reclassify(step, (f) => f, REAL_ETHERNET_ARRIVAL);
    assert.deepEqual(decider(machine), [116013, "Query User"]);
    assert.deepEqual(outcomes(machine), [
      "MPSSVC_QUARANTINE PERMIT soft 113460 set",
      "MPSSVC_WF BLOCK hard 116013 set",
    ]);
  });
});

describe("explain on the keploy dump: the command's own loading path", () => {
  it("--state with --callout SILENT_DROP=continue: the closed port answers with a RST", async () => {
    // The same closed-port SYN as above, loaded by runExplain itself, with the stealth callout assumed to
    // continue: 117087 and 117089 both continue, nothing blocks at INBOUND_TRANSPORT_V4_DISCARD (C15), and
    // the stack's RST goes out (OUTBOUND_TRANSPORT_V4, no filter there) → the peer is refused.
    const { text, record } = await runExplain("tcp", "192.168.1.10:8081", "192.168.20.1:50000", {
      state: DUMP,
      inbound: true,
      closed: true,
      callout: ["eda08606-2494-4d78-89bc-67837c03b969=continue"],
      json: true,
    });
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(record)));
    assert.equal(record.verdict, "permitted");
    const d = at(record, "INBOUND_TRANSPORT_V4_DISCARD");
    assert.equal(d.action, "FWP_ACTION_PERMIT");
    assert.equal(d.decidingFilter, null);
    assert.deepEqual(
      [traced(d, 117087).returned, traced(d, 117089).returned],
      ["FWP_ACTION_CONTINUE", "FWP_ACTION_CONTINUE"],
    );
    assert.equal(record.layers.filter((l) => l.packet === "RST" && l.direction === "outbound").length > 0, true);
    assert.match(record.outcome, /refused/);
    assert.match(
      record.sentence,
      /the stack discarded the SYN at FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD, where no filter blocked it/,
    );
    const a = record.assumptions.find((x) => x.calloutKey === "eda08606-2494-4d78-89bc-67837c03b969");
    assert.deepEqual(a && [a.behaviour, a.explicit], ["continue", true]);
  });

  it("refuses an --interface-luid or --quarantine-epoch that is no UINT64", async () => {
    for (const [o, name] of [
      [{ interfaceLuid: "0xzz" }, "--interface-luid"],
      [{ interfaceLuid: "0x10000000000000000" }, "--interface-luid"],
      [{ quarantineEpoch: "-1" }, "--quarantine-epoch"],
    ] as const) {
      await assert.rejects(
        runExplain("tcp", "192.168.1.10:0", "8.8.8.8:443", o, loaded),
        (e: Error & { code?: string }) =>
          e.code === "E_USAGE" && e.message.startsWith(`E_USAGE: ${name} must be a UINT64 in decimal or 0x hex`),
      );
    }
  });

  it("refuses --callout with a source that is already loaded", async () => {
    await assert.rejects(
      runExplain(
        "tcp",
        "192.168.1.10:0",
        "8.8.8.8:443",
        { callout: ["eda08606-2494-4d78-89bc-67837c03b969=block"] },
        loaded,
      ),
      /--callout cannot change a policy source that is already loaded/,
    );
  });
});
