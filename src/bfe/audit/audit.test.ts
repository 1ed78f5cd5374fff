import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address } from "../../base/index.ts";
import type { ClassifyResult, FilterSpec } from "../../engine/index.ts";
import { fwpUint8, fwpUint16, fwpUint32 } from "../../fwp/index.ts";
import {
  blockPort,
  CONNECT_V4,
  guid,
  incoming,
  openTestBfe,
  PROTOCOL,
  REMOTE_ADDRESS,
  REMOTE_PORT,
} from "../bfe-fixtures.testing.ts";
import { ADMINISTRATOR } from "../security/index.ts";
import { MemoryStore } from "../store/index.ts";
import { type AuditEvent, AuditLog, auditFromClassify, recordClassifyAudits, reportedPermitFilterId } from "./index.ts";

const PERSISTENT = 0x1;
const POLICY = "Filtering Platform Policy Change";
const CONNECTION = "Filtering Platform Connection";
const DROP = "Filtering Platform Packet Drop";

function ids(events: readonly AuditEvent[]): number[] {
  return events.map((e) => e.eventId);
}

const OUT = {
  direction: "outbound",
  ipProtocol: 6,
  localAddr: Ipv4Address.parse("192.168.1.17"),
  localPort: 50000,
  remoteAddr: Ipv4Address.parse("20.212.88.117"),
  remotePort: 443,
  processId: 4242,
  applicationName: "\\device\\harddiskvolume3\\windows\\system32\\curl.exe",
} as const;

describe("H46 audits", () => {
  it("H46: audits are off by default — policy changes and classifications record nothing", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const f = s.addFilter(blockPort(443));
    s.deleteFilterById(f.filterId);
    const result = bfe.engine.classify({ layer: CONNECT_V4, incomingValues: incoming(CONNECT_V4, {}) });
    assert.deepEqual(recordClassifyAudits(bfe.audit, result, OUT, 0n), []);
    assert.equal(bfe.audit.size, 0);
    assert.deepEqual(bfe.audit.getPolicy(POLICY), { success: false, failure: false });
  });

  it("H46: committed run-time changes raise 5446–5450 with the subject; an aborted transaction raises nothing", async () => {
    const { bfe, clock } = openTestBfe();
    bfe.audit.setPolicy(POLICY, { success: true });
    const s = bfe.openSession(ADMINISTRATOR, { processId: 777 });
    await s.beginTransaction();
    s.addFilter(blockPort(1));
    s.abort();
    assert.equal(bfe.audit.size, 0);
    let filterId = 0n;
    await s.transact(() => {
      s.addProvider({ providerKey: guid(1), name: "p" });
      s.addSublayer({ subLayerKey: guid(2), name: "s", weight: 5, providerKey: guid(1) });
      s.addCallout({ calloutKey: guid(3), name: "c", applicableLayer: CONNECT_V4, providerKey: guid(1) });
      s.addProviderContext({ providerContextKey: guid(4), name: "pc", providerKey: guid(1) });
      filterId = s.addFilter(blockPort(443, { providerKey: guid(1), sublayer: guid(2) })).filterId;
    });
    clock.advanceNs(1_000_000n);
    s.deleteFilterById(filterId);
    const events = bfe.audit.enumerate();
    assert.deepEqual(ids(events), [5448, 5450, 5446, 5449, 5447, 5447]);
    const add = events[4]?.data;
    const del = events[5]?.data;
    assert.ok(add?.type === "policyChange" && del?.type === "policyChange");
    assert.equal(add.changeType, "add");
    assert.equal(del.changeType, "delete");
    assert.equal(add.objectId, filterId);
    assert.equal(add.layer, "FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(add.sublayerKey, guid(2));
    assert.equal(add.providerKey, guid(1));
    assert.equal(add.action, "FWP_ACTION_BLOCK");
    assert.equal(add.subject.sid, ADMINISTRATOR.sid);
    assert.equal(add.subject.processId, 777);
    assert.equal(add.subject.sessionKey, s.sessionKey);
    assert.ok((events[5]?.timeNs ?? 0n) > (events[4]?.timeNs ?? 0n));
    assert.ok(events.every((e) => e.subcategory === POLICY && e.outcome === "success"));
    assert.deepEqual(
      events.map((e) => e.recordId),
      [1, 2, 3, 4, 5, 6],
    );
  });

  it("H46: a BFE start raises 5440–5444 for the persistent and boot-time objects it adds", async () => {
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const s = first.bfe.openSession(ADMINISTRATOR);
    await s.transact(() => {
      s.addProvider({ providerKey: guid(1), name: "p", flags: PERSISTENT });
      s.addSublayer({ subLayerKey: guid(2), name: "s", weight: 5, providerKey: guid(1), flags: PERSISTENT });
      s.addCallout({
        calloutKey: guid(3),
        name: "c",
        applicableLayer: CONNECT_V4,
        providerKey: guid(1),
        flags: 0x10000,
      });
      s.addProviderContext({ providerContextKey: guid(4), name: "pc", providerKey: guid(1), flags: PERSISTENT });
      s.addFilter(blockPort(1, { providerKey: guid(1), sublayer: guid(2), flags: PERSISTENT }));
      s.addFilter(blockPort(2, { providerKey: guid(1), sublayer: guid(2), flags: 0x2 }));
      s.addFilter(blockPort(3)); // static: not reloaded, not audited
    });
    first.bfe.close();
    const audit = new AuditLog();
    audit.setPolicy(POLICY, { success: true });
    const second = openTestBfe({ audit }, store);
    assert.equal(second.bfe.audit, audit);
    const events = audit.enumerate();
    assert.deepEqual(
      ids(events).sort((a, b) => a - b),
      [5440, 5441, 5441, 5442, 5443, 5444],
    );
    assert.ok(
      events.every((e) => e.data.type === "policyChange" && e.data.atStart && e.data.subject.sid === "S-1-5-18"),
    );
    // A provider gated at start (H16) raises 5442 but its DISABLED filters raise no 5441.
    const gatedAudit = new AuditLog();
    gatedAudit.setPolicy(POLICY, { success: true });
    second.bfe.close();
    const s2 = openTestBfe({}, store).bfe.openSession(ADMINISTRATOR);
    s2.addProvider({ providerKey: guid(5), name: "svc", flags: PERSISTENT, serviceName: "IKEEXT" });
    s2.addFilter(blockPort(4, { providerKey: guid(5), flags: PERSISTENT }));
    openTestBfe({ audit: gatedAudit, serviceStartType: () => "demand" }, store);
    const gated = gatedAudit.enumerate();
    assert.equal(ids(gated).filter((x) => x === 5442).length, 2);
    assert.equal(ids(gated).filter((x) => x === 5441).length, 2); // the two filters of provider 1 only
  });

  it("H46: an ALE connect block raises 5152 and 5157; a permit raises 5156; keywords gate them", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const block = s.addFilter(blockPort(443));
    const values = incoming(CONNECT_V4, { [REMOTE_PORT]: fwpUint16(443), [PROTOCOL]: fwpUint8(6) });
    const result = bfe.engine.classify({ layer: CONNECT_V4, incomingValues: values });
    const raised = auditFromClassify(result, OUT, 5n);
    assert.deepEqual(ids(raised as AuditEvent[]), [5152, 5157]);
    const data = raised[1]?.data;
    assert.ok(data?.type === "traffic");
    assert.equal(data.filterId, block.filterId);
    assert.equal(data.layerId, 48);
    assert.equal(data.layerName, "FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(data.sourceAddress, OUT.localAddr);
    assert.equal(data.destinationPort, 443);
    assert.equal(data.processId, 4242);
    // Only failure audits of the Connection subcategory enabled: 5157 kept, 5152 (Packet Drop) not.
    bfe.audit.setPolicy(CONNECTION, { failure: true });
    assert.deepEqual(ids(recordClassifyAudits(bfe.audit, result, OUT, 5n)), [5157]);
    const permitResult = bfe.engine.classify({
      layer: CONNECT_V4,
      incomingValues: incoming(CONNECT_V4, { [REMOTE_PORT]: fwpUint16(80) }),
    });
    assert.deepEqual(ids(auditFromClassify(permitResult, OUT, 6n) as AuditEvent[]), [5156]);
    assert.deepEqual(recordClassifyAudits(bfe.audit, permitResult, OUT, 6n), []); // success not enabled
    // Inbound: source is the remote end.
    const inbound = auditFromClassify(result, { ...OUT, direction: "inbound" }, 7n)[0]?.data;
    assert.ok(inbound?.type === "traffic");
    assert.equal(inbound.sourceAddress, OUT.remoteAddr);
    assert.equal(inbound.destinationPort, OUT.localPort);
  });

  it("H46: a permitted TCP connection reports filterId 0 unless the filter uses only UserID/AppID/Protocol/RemotePort", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const permit = (conditions: NonNullable<FilterSpec["conditions"]>): bigint =>
      s.addFilter({ name: "permit", layer: CONNECT_V4, action: { type: "FWP_ACTION_PERMIT" }, conditions }).filterId;
    const byPort = permit([
      { fieldKey: REMOTE_PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(443) },
      { fieldKey: PROTOCOL, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint8(6) },
    ]);
    const byAddress = permit([
      { fieldKey: REMOTE_ADDRESS, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint32(0x14d45875) },
    ]);
    const classify = (entries: Parameters<typeof incoming>[1]) =>
      bfe.engine.classify({ layer: CONNECT_V4, incomingValues: incoming(CONNECT_V4, entries) });
    const tcpPort = classify({ [REMOTE_PORT]: fwpUint16(443), [PROTOCOL]: fwpUint8(6) });
    assert.equal(tcpPort.decidingFilter?.filterId, byPort);
    const tcpAddr = classify({ [REMOTE_ADDRESS]: fwpUint32(0x14d45875), [PROTOCOL]: fwpUint8(6) });
    assert.equal(tcpAddr.decidingFilter?.filterId, byAddress);
    const filterIdOf = (r: ClassifyResult, ipProtocol: number): bigint => {
      const d = auditFromClassify(r, { ...OUT, ipProtocol }, 0n)[0]?.data;
      assert.ok(d?.type === "traffic");
      return d.filterId;
    };
    assert.equal(filterIdOf(tcpPort, 6), byPort);
    assert.equal(filterIdOf(tcpAddr, 6), 0n);
    assert.equal(filterIdOf(tcpAddr, 17), byAddress); // UDP: always reported
    assert.equal(reportedPermitFilterId(null, 6), 0n);
  });

  it("H46: listen and bind raise 5154/5155 and 5158/5159 only; veto gives 5153; absorbed and discard layers nothing", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const LISTEN = "FWPM_LAYER_ALE_AUTH_LISTEN_V4";
    const BIND = "FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4";
    const RECV = "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4";
    const run = (layer: string) => bfe.engine.classify({ layer, incomingValues: incoming(layer, {}) });
    assert.deepEqual(ids(auditFromClassify(run(LISTEN), OUT, 0n) as AuditEvent[]), [5154]);
    for (const layer of [LISTEN, RECV]) s.addFilter({ name: "b", layer, action: { type: "FWP_ACTION_BLOCK" } });
    assert.deepEqual(ids(auditFromClassify(run(LISTEN), OUT, 0n) as AuditEvent[]), [5155]);
    assert.deepEqual(ids(auditFromClassify(run(BIND), OUT, 0n) as AuditEvent[]), [5158]);
    assert.deepEqual(ids(auditFromClassify(run(RECV), OUT, 0n) as AuditEvent[]), [5152, 5157]);
    s.addFilter({ name: "b", layer: BIND, action: { type: "FWP_ACTION_BLOCK" } });
    assert.deepEqual(ids(auditFromClassify(run(BIND), OUT, 0n) as AuditEvent[]), [5159]);
    const blocked = run(RECV);
    assert.deepEqual(ids(auditFromClassify({ ...blocked, vetoed: true }, OUT, 0n) as AuditEvent[]), [5153, 5157]);
    assert.deepEqual(auditFromClassify({ ...blocked, absorbed: true }, OUT, 0n), []);
    const transport = "FWPM_LAYER_OUTBOUND_TRANSPORT_V4";
    s.addFilter({ name: "b", layer: transport, action: { type: "FWP_ACTION_BLOCK" } });
    assert.deepEqual(ids(auditFromClassify(run(transport), OUT, 0n) as AuditEvent[]), [5152]);
    assert.deepEqual(auditFromClassify(run(`${transport}_DISCARD`), OUT, 0n), []);
    assert.deepEqual(auditFromClassify(run("FWPM_LAYER_OUTBOUND_TRANSPORT_V6"), OUT, 0n), []); // permit: no audit
  });

  it("H46: the log is bounded — the oldest records go, counted, and enumeration filters by id, subcategory, time", () => {
    const log = new AuditLog({ capacity: 3 });
    log.setPolicy(CONNECTION, { success: true, failure: true });
    log.setPolicy(DROP, { failure: true });
    const { bfe } = openTestBfe();
    const result = bfe.engine.classify({ layer: CONNECT_V4, incomingValues: incoming(CONNECT_V4, {}) });
    for (let t = 1n; t <= 5n; t++) recordClassifyAudits(log, result, OUT, t); // 5 × 5156
    assert.equal(log.size, 3);
    assert.equal(log.overwritten, 2);
    assert.deepEqual(
      log.enumerate().map((e) => e.timeNs),
      [3n, 4n, 5n],
    );
    assert.deepEqual(
      log.enumerate({ startTimeNs: 4n }).map((e) => e.recordId),
      [4, 5],
    );
    assert.deepEqual(log.enumerate({ eventIds: [5157] }), []);
    assert.deepEqual(log.enumerate({ subcategory: DROP }), []);
    log.clear();
    assert.equal(log.size, 0);
    assert.throws(() => new AuditLog({ capacity: 0 }), RangeError);
    assert.throws(() => log.record({ eventId: 4624, timeNs: 0n, data: log as never }), RangeError);
  });
});
