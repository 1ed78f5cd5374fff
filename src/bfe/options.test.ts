import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFwpError } from "../fwp/index.ts";
import { openTestBfe } from "./bfe-fixtures.testing.ts";
import { ADMINISTRATOR, AccessDeniedError, EVERYONE_USER, NETWORK_CONFIG_OPERATOR } from "./security/index.ts";
import { MemoryStore } from "./store/index.ts";

function code(c: string): (e: unknown) => boolean {
  return (e) => isFwpError(e) && e.code === c;
}

describe("§H.7 engine options", () => {
  it("H39: options have their defaults and are read and set by name or FWPM_ENGINE_OPTION value", () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    assert.equal(s.getEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS"), 1);
    assert.equal(s.getEngineOption(1), 0);
    s.setEngineOption(1, 0x13);
    assert.equal(s.getEngineOption("FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS"), 0x13);
    assert.throws(() => s.getEngineOption(6), code("FWP_E_INVALID_ENUMERATOR"));
    assert.throws(() => s.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 2), code("FWP_E_INVALID_PARAMETER"));
    assert.throws(() => s.setEngineOption("FWPM_ENGINE_PACKET_QUEUING", 0x8), code("FWP_E_INVALID_PARAMETER"));
  });

  it("H39/H32: COLLECT_NET_EVENTS and the keywords option drive the net event log", () => {
    const { bfe, netEvents } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    s.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 0);
    assert.equal(netEvents.enabled, false);
    assert.throws(() => s.enumNetEvents(), code("FWP_E_NET_EVENTS_DISABLED"));
    s.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 1);
    s.setEngineOption("FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS", 0x10);
    assert.equal(netEvents.enabled, true);
    assert.equal(netEvents.keywords, 0x10);
    assert.deepEqual(s.enumNetEvents(), []);
  });

  it("H39: values persist across a BFE restart", () => {
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const s = first.bfe.openSession(ADMINISTRATOR);
    s.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 0);
    s.setEngineOption("FWPM_ENGINE_TXN_WATCHDOG_TIMEOUT_IN_MSEC", 60_000);
    first.bfe.close();
    const second = openTestBfe({}, store);
    const t = second.bfe.openSession(ADMINISTRATOR);
    assert.equal(t.getEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS"), 0);
    assert.equal(t.getEngineOption("FWPM_ENGINE_TXN_WATCHDOG_TIMEOUT_IN_MSEC"), 60_000);
    assert.equal(second.netEvents.enabled, false);
  });

  it("H39/H42: Set needs WRITE on the engine, Get needs READ", () => {
    const { bfe } = openTestBfe();
    const user = bfe.openSession(EVERYONE_USER);
    assert.throws(
      () => user.getEngineOption(0),
      (e) => e instanceof AccessDeniedError,
    );
    assert.throws(
      () => user.setEngineOption(0, 0),
      (e) => e instanceof AccessDeniedError,
    );
    const op = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    op.setEngineOption(0, 0);
    assert.equal(op.getEngineOption(0), 0);
  });
});
