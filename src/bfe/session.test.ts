import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GUID_NULL } from "../base/guid.ts";
import { FwpError, isFwpError } from "../fwp/index.ts";
import { blockPort, connectAction, guid, openTestBfe } from "./bfe-fixtures.testing.ts";
import { DEFAULT_TXN_WAIT_MS } from "./core.ts";
import { BfeNotRunningError } from "./errors.ts";
import {
  ADMINISTRATOR,
  AccessDeniedError,
  EVERYONE_USER,
  KERNEL_MODE,
  LOCAL_SYSTEM,
  AccessControl,
} from "./security/index.ts";

const DYNAMIC = 0x1;

function code(c: string): (e: unknown) => boolean {
  return (e) => isFwpError(e) && e.code === c;
}

describe("§H.1 sessions", () => {
  it("H1: a zero or absent session key is generated; the BFE fills sid, username and kernelMode", () => {
    const { bfe } = openTestBfe();
    const a = bfe.openSession(ADMINISTRATOR, { sessionKey: GUID_NULL, displayName: "a", processId: 4242 });
    const b = bfe.openSession(KERNEL_MODE);
    assert.notEqual(a.sessionKey, GUID_NULL);
    assert.notEqual(a.sessionKey, b.sessionKey);
    const infos = a.enumSessions();
    const mine = infos.find((i) => i.sessionKey === a.sessionKey);
    assert.equal(mine?.sid, ADMINISTRATOR.sid);
    assert.equal(mine?.processId, 4242);
    assert.equal(mine?.kernelMode, false);
    assert.equal(infos.find((i) => i.sessionKey === b.sessionKey)?.kernelMode, true);
  });

  it("H1: reusing the key of an open session is FWP_E_ALREADY_EXISTS; after close the key is free again", () => {
    const { bfe } = openTestBfe();
    const a = bfe.openSession(ADMINISTRATOR, { sessionKey: guid(7) });
    assert.throws(() => bfe.openSession(ADMINISTRATOR, { sessionKey: guid(7) }), code("FWP_E_ALREADY_EXISTS"));
    a.close();
    assert.equal(bfe.openSession(ADMINISTRATOR, { sessionKey: guid(7) }).sessionKey, guid(7));
  });

  it("H1/H42: opening needs FWPM_ACTRL_OPEN on the engine; administrators always get it", () => {
    const { bfe } = openTestBfe({ access: new AccessControl({ engineSecurity: "O:SYD:(A;;GA;;;SY)" }) });
    assert.throws(
      () => bfe.openSession(EVERYONE_USER),
      (e) => e instanceof AccessDeniedError && e.hresult === 0x80070005,
    );
    assert.ok(bfe.openSession(ADMINISTRATOR));
    assert.ok(bfe.openSession(LOCAL_SYSTEM));
  });

  it("H2: closing a session aborts its open transaction", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    s.addFilter(blockPort(23));
    s.close();
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    assert.equal(bfe.lockHolder, undefined);
    assert.throws(() => s.enumFilters(), code("FWP_E_SESSION_ABORTED"));
  });

  it("H3: objects added through a dynamic session are deleted when it closes; static ones stay", () => {
    const { bfe } = openTestBfe();
    const dyn = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const other = bfe.openSession(ADMINISTRATOR);
    const sub = dyn.addSublayer({ subLayerKey: guid(1), name: "dyn", weight: 9 });
    dyn.addFilter(blockPort(23, { sublayer: sub.subLayerKey }));
    other.addFilter(blockPort(24));
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    dyn.close();
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    assert.equal(connectAction(bfe, 24), "FWP_ACTION_BLOCK");
    assert.throws(() => other.getSublayerByKey(guid(1)), code("FWP_E_SUBLAYER_NOT_FOUND"));
  });

  it("H3: a dynamic session closing while another holds the lock is cleaned up when the lock is released", async () => {
    const { bfe } = openTestBfe();
    const dyn = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    dyn.addFilter(blockPort(23));
    const writer = bfe.openSession(ADMINISTRATOR);
    await writer.beginTransaction();
    dyn.close();
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    writer.commit();
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
  });

  it("H5: a dynamic session deletes only its own dynamic objects (WRONG_SESSION, DYNAMIC_SESSION_IN_PROGRESS)", () => {
    const { bfe } = openTestBfe();
    const d1 = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const d2 = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const st = bfe.openSession(ADMINISTRATOR);
    const f1 = d1.addFilter(blockPort(1));
    const fs = st.addFilter(blockPort(2));
    assert.throws(() => d2.deleteFilterByKey(f1.filterKey), code("FWP_E_WRONG_SESSION"));
    assert.throws(() => d2.deleteFilterByKey(fs.filterKey), code("FWP_E_DYNAMIC_SESSION_IN_PROGRESS"));
    d1.deleteFilterByKey(f1.filterKey);
    st.deleteFilterByKey(fs.filterKey);
    assert.equal(st.enumFilters().length, 0);
  });

  it("H5: engine options cannot be set from a dynamic session", () => {
    const { bfe } = openTestBfe();
    const d = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    assert.throws(
      () => d.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 0),
      code("FWP_E_DYNAMIC_SESSION_IN_PROGRESS"),
    );
  });

  it("H5: a dynamic session sets security only on its own dynamic objects", () => {
    const { bfe } = openTestBfe();
    const d = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    const st = bfe.openSession(ADMINISTRATOR);
    const mine = d.addFilter(blockPort(1));
    const theirs = st.addFilter(blockPort(2));
    const sd = "O:BAD:(A;;GA;;;BA)";
    d.setSecurityInfo("filter", mine.filterKey, sd);
    assert.throws(() => d.setSecurityInfo("filter", theirs.filterKey, sd), code("FWP_E_DYNAMIC_SESSION_IN_PROGRESS"));
  });

  it("inferred default: a dynamic session cannot add persistent objects (FWP_E_DYNAMIC_SESSION_IN_PROGRESS)", () => {
    const { bfe } = openTestBfe();
    const d = bfe.openSession(ADMINISTRATOR, { flags: DYNAMIC });
    assert.throws(
      () => d.addProvider({ providerKey: guid(1), name: "p", flags: 1 }),
      code("FWP_E_DYNAMIC_SESSION_IN_PROGRESS"),
    );
  });

  it("bad session flags and timeouts are refused", () => {
    const { bfe } = openTestBfe();
    assert.throws(() => bfe.openSession(ADMINISTRATOR, { flags: 0x4 }), code("FWP_E_INVALID_FLAGS"));
    assert.throws(() => bfe.openSession(ADMINISTRATOR, { txnWaitTimeoutInMSec: -1 }), code("FWP_E_INVALID_PARAMETER"));
    assert.throws(() => bfe.openSession(ADMINISTRATOR, { sessionKey: "nope" }), code("FWP_E_INVALID_PARAMETER"));
  });
});

describe("H4: the transaction lock wait (clock and timer injected)", () => {
  it("a second writer waits and gets the lock when the first commits", async () => {
    const { bfe, timer } = openTestBfe();
    const a = bfe.openSession(ADMINISTRATOR);
    const b = bfe.openSession(ADMINISTRATOR, { txnWaitTimeoutInMSec: 1000 });
    await a.beginTransaction();
    let got = false;
    const waiting = b.beginTransaction().then(() => {
      got = true;
    });
    timer.advanceMs(999);
    await Promise.resolve();
    assert.equal(got, false);
    a.commit();
    await waiting;
    assert.equal(got, true);
    assert.equal(bfe.lockHolder, b.sessionKey);
  });

  it("a writer that waits longer than txnWaitTimeoutInMSec gets FWP_E_TIMEOUT", async () => {
    const { bfe, timer } = openTestBfe();
    const a = bfe.openSession(ADMINISTRATOR);
    const b = bfe.openSession(ADMINISTRATOR, { txnWaitTimeoutInMSec: 250 });
    await a.beginTransaction();
    const waiting = b.beginTransaction();
    timer.advanceMs(250);
    await assert.rejects(
      waiting,
      (e) => e instanceof FwpError && e.code === "FWP_E_TIMEOUT" && e.hresult === 0x80320012,
    );
    assert.equal(b.inTransaction, false);
    a.commit();
    await b.beginTransaction();
    assert.equal(bfe.lockHolder, b.sessionKey);
  });

  it("0 means the 15 s default; INFINITE (0xFFFFFFFF) never times out", async () => {
    const { bfe, timer } = openTestBfe();
    const a = bfe.openSession(ADMINISTRATOR);
    const def = bfe.openSession(ADMINISTRATOR, { txnWaitTimeoutInMSec: 0 });
    const inf = bfe.openSession(ADMINISTRATOR, { txnWaitTimeoutInMSec: 0xffffffff });
    await a.beginTransaction();
    let defFailed = false;
    const p1 = def.beginTransaction().catch((e: unknown) => {
      defFailed = code("FWP_E_TIMEOUT")(e);
    });
    const p2 = inf.beginTransaction();
    timer.advanceMs(DEFAULT_TXN_WAIT_MS - 1);
    await Promise.resolve();
    assert.equal(defFailed, false);
    timer.advanceMs(1);
    await p1;
    assert.equal(defFailed, true);
    timer.advanceMs(30 * 60_000); // half an hour: INFINITE still waits (the 1 h watchdog of H11 not reached)
    await Promise.resolve();
    assert.equal(bfe.lockHolder, a.sessionKey);
    a.abort();
    await p2;
    assert.equal(bfe.lockHolder, inf.sessionKey);
  });

  it("a call outside a transaction while another session holds the lock fails with FWP_E_TIMEOUT (it cannot wait)", async () => {
    const { bfe } = openTestBfe();
    const a = bfe.openSession(ADMINISTRATOR);
    const b = bfe.openSession(ADMINISTRATOR);
    await a.beginTransaction();
    assert.throws(() => b.addFilter(blockPort(5)), code("FWP_E_TIMEOUT"));
    // Reads do not take the write lock.
    assert.deepEqual(b.enumFilters(), []);
  });
});

describe("H45: a stopped BFE", () => {
  it("no session can be opened and open sessions fail; the engine keeps enforcing what it held", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(LOCAL_SYSTEM);
    s.addFilter(blockPort(23));
    bfe.close();
    assert.equal(bfe.running, false);
    assert.throws(
      () => bfe.openSession(ADMINISTRATOR),
      (e) => e instanceof BfeNotRunningError && e.hresult === 0x800706ba,
    );
    assert.throws(
      () => s.enumFilters(),
      (e) => e instanceof BfeNotRunningError,
    );
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    // Kernel callouts can still register with the engine (FwpsCalloutRegister needs no BFE).
    assert.equal(bfe.engine.registerCallout({ calloutKey: guid(0x45), classifyFn: () => {} }), undefined);
    assert.equal(bfe.engine.isCalloutRegistered(guid(0x45)), true);
  });
});
