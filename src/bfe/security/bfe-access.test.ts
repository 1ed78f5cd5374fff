/**
 * Access control through the Bfe API (H1, H21, H22, H29, H39, H42–H44): every call made as a principal,
 * checked against the descriptors of src/bfe/security, with the live engine as the witness of what took
 * effect.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSid } from "../../fwp/index.ts";
import { blockPort, connectAction, guid, openTestBfe } from "../bfe-fixtures.testing.ts";
import { MemoryStore } from "../store/index.ts";
import type { ObjectChange } from "../types.ts";
import { AccessControl } from "./access-control.ts";
import { AccessDeniedError } from "./error.ts";
import {
  ADMINISTRATOR,
  EVERYONE_USER,
  KERNEL_MODE,
  LOCAL_SYSTEM,
  NETWORK_CONFIG_OPERATOR,
  serviceSid,
  makePrincipal,
} from "./principal.ts";
import { DELETE, FWPM_ACTRL_ADD, FWPM_ACTRL_ADD_LINK, FWPM_ACTRL_BEGIN_WRITE_TXN, WRITE_DAC } from "./rights.ts";

/** Runs `fn`, expects ERROR_ACCESS_DENIED (0x80070005) and returns the error. */
async function denied(fn: () => unknown): Promise<AccessDeniedError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof AccessDeniedError, `expected AccessDeniedError, got ${String(e)}`);
    assert.equal(e.code, "ERROR_ACCESS_DENIED");
    assert.equal(e.hresult, 0x80070005);
    return e;
  }
  return assert.fail("expected ERROR_ACCESS_DENIED");
}

describe("sessions and transactions (H1, H7)", () => {
  it("a plain user can open a session but cannot add a filter", async () => {
    const { bfe } = openTestBfe();
    const user = bfe.openSession(EVERYONE_USER);
    const e = await denied(() => user.addFilter(blockPort(23)));
    assert.equal(e.missing, FWPM_ACTRL_ADD);
    assert.equal(e.objectType, "filter");
    assert.equal(e.key, null);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
    const t = await denied(() => user.beginTransaction());
    assert.equal(t.missing, FWPM_ACTRL_BEGIN_WRITE_TXN);
    assert.equal(user.inTransaction, false);
  });

  it("an administrator, a network configuration operator and MpsSvc can add it", async () => {
    for (const [i, who] of [ADMINISTRATOR, NETWORK_CONFIG_OPERATOR, makePrincipal(serviceSid("MpsSvc"))].entries()) {
      const { bfe } = openTestBfe();
      const s = bfe.openSession(who);
      const f = s.addFilter(blockPort(23 + i));
      assert.equal(connectAction(bfe, 23 + i), "FWP_ACTION_BLOCK");
      assert.equal(s.getFilterByKey(f.filterKey).filterId, f.filterId);
    }
  });

  it("administrators always get OPEN; others need it from the DACL; kernel mode skips every check", async () => {
    const { bfe } = openTestBfe({ access: new AccessControl({ engineSecurity: "O:LSG:LSD:P" }) });
    bfe.openSession(ADMINISTRATOR);
    await denied(() => bfe.openSession(EVERYONE_USER));
    await denied(() => bfe.openSession(NETWORK_CONFIG_OPERATOR));
    const k = bfe.openSession(KERNEL_MODE);
    await k.beginTransaction();
    k.addFilter(blockPort(80));
    k.commit();
    assert.equal(connectAction(bfe, 80), "FWP_ACTION_BLOCK");
  });
});

describe("objects (H19, H21, H42)", () => {
  it("adding needs ADD_LINK on every object referred to", async () => {
    const { bfe } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    admin.addProvider({ providerKey: guid(1), name: "p", securityDescriptor: "D:(D;;0x2;;;NO)" });
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    const e = await denied(() => ops.addSublayer({ subLayerKey: guid(2), name: "s", weight: 1, providerKey: guid(1) }));
    assert.equal(e.missing, FWPM_ACTRL_ADD_LINK);
    assert.equal(e.objectType, "provider");
    assert.equal(e.key, guid(1));
    ops.addSublayer({ subLayerKey: guid(3), name: "s3", weight: 2 });
    const s = admin.addSublayer({ subLayerKey: guid(2), name: "s", weight: 1, providerKey: guid(1) });
    assert.equal(s.providerKey, guid(1));
  });

  it("a DACL denying DELETE to Everyone hinders deletion; the owner rewrites it and deletes", async () => {
    const { bfe } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    const f = admin.addFilter({ ...blockPort(23), securityDescriptor: "D:(D;;SDWDWO;;;WD)" });
    const e = await denied(() => admin.deleteFilterByKey(f.filterKey));
    assert.equal(e.missing, DELETE);
    assert.equal(e.key, f.filterKey);
    await denied(() => ops.deleteFilterById(f.filterId));
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_BLOCK");
    // The administrator's group owns what it added, and the owner always holds WRITE_DAC (H43).
    await denied(() => ops.setSecurityInfo("filter", f.filterKey, "D:"));
    admin.setSecurityInfo("filter", f.filterKey, "D:");
    ops.deleteFilterByKey(f.filterKey);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
  });

  it("ownership lets the owner rewrite the DACL; an administrator who is not the owner takes ownership first", async () => {
    const { bfe } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    const user = bfe.openSession(EVERYONE_USER);
    const f = admin.addFilter({
      ...blockPort(23),
      securityDescriptor: `O:${EVERYONE_USER.sid}D:P(D;;GA;;;WD)`,
    });
    // The DACL denies the administrator even READ_CONTROL; the owner holds it.
    await denied(() => admin.getSecurityInfo("filter", f.filterKey));
    const sd = user.getSecurityInfo("filter", f.filterKey);
    assert.equal(formatSid(sd.owner ?? new Uint8Array()), EVERYONE_USER.sid);
    // The plain user owns it: it may rewrite the DACL although the DACL denies it everything.
    user.setSecurityInfo("filter", f.filterKey, "D:P(A;;SD;;;NO)");
    // ...which here grants DELETE to operators but not READ.
    await denied(() => ops.getFilterByKey(f.filterKey));
    // The administrator is not the owner and the DACL grants it nothing: it takes ownership, then rewrites.
    const w = await denied(() => admin.setSecurityInfo("filter", f.filterKey, "D:"));
    assert.equal(w.missing, WRITE_DAC);
    admin.setSecurityInfo("filter", f.filterKey, "O:BA");
    admin.setSecurityInfo("filter", f.filterKey, "D:(A;;GA;;;BA)");
    admin.deleteFilterByKey(f.filterKey);
    assert.equal(connectAction(bfe, 23), "FWP_ACTION_PERMIT");
  });

  it("enumeration needs ENUM on the container and returns only objects the caller can READ", async () => {
    const { bfe } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    const shown = admin.addFilter(blockPort(23));
    const hidden = admin.addFilter({ ...blockPort(24), securityDescriptor: "D:(D;;0x80;;;NO)" });
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    assert.deepEqual(
      ops.enumFilters().map((f) => f.filterKey),
      [shown.filterKey],
    );
    assert.deepEqual(
      admin
        .enumFilters()
        .map((f) => f.filterKey)
        .sort(),
      [shown.filterKey, hidden.filterKey].sort(),
    );
    await denied(() => ops.getFilterById(hidden.filterId));
    const user = bfe.openSession(EVERYONE_USER);
    const e = await denied(() => user.enumFilters());
    assert.equal(e.key, null);
    await denied(() => user.enumProviders());
  });

  it("subscribers are told only about objects they can READ, on add and on delete", async () => {
    const { bfe } = openTestBfe();
    const admin = bfe.openSession(ADMINISTRATOR);
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    const seen: ObjectChange[] = [];
    ops.subscribeFilterChanges({}, (c) => seen.push(c));
    await denied(() => bfe.openSession(EVERYONE_USER).subscribeFilterChanges({}, () => undefined));
    const shown = admin.addFilter(blockPort(23));
    const hidden = admin.addFilter({ ...blockPort(24), securityDescriptor: "D:(D;;0x80;;;NO)" });
    admin.deleteFilterByKey(hidden.filterKey);
    admin.deleteFilterByKey(shown.filterKey);
    assert.deepEqual(
      seen.map((c) => [c.changeType, c.objectKey]),
      [
        [1, shown.filterKey],
        [2, shown.filterKey],
      ],
    );
  });
});

describe("persistent objects keep their descriptors across a restart (H14, H40)", () => {
  it("the descriptor given at add and one set later both come back", async () => {
    const PERSISTENT = 0x1;
    const store = MemoryStore.open();
    const first = openTestBfe({}, store);
    const admin = first.bfe.openSession(ADMINISTRATOR);
    const a = admin.addFilter({ ...blockPort(23, { flags: PERSISTENT }), securityDescriptor: "D:(D;;SD;;;NO)" });
    const b = admin.addFilter(blockPort(24, { flags: PERSISTENT }));
    admin.setSecurityInfo("filter", b.filterKey, "D:(D;;0x80;;;NO)");
    first.bfe.close();
    const second = openTestBfe({}, store);
    const ops = second.bfe.openSession(NETWORK_CONFIG_OPERATOR);
    assert.equal(connectAction(second.bfe, 23), "FWP_ACTION_BLOCK");
    await denied(() => ops.deleteFilterByKey(a.filterKey));
    await denied(() => ops.getFilterByKey(b.filterKey));
    assert.deepEqual(
      second.access.getObjectSecurity("filter", a.filterKey),
      first.access.getObjectSecurity("filter", a.filterKey),
    );
  });
});

describe("engine options, security info and net events (H39, H40, H37)", () => {
  it("getting an option needs READ, setting needs WRITE on the engine", async () => {
    const { bfe } = openTestBfe();
    const user = bfe.openSession(EVERYONE_USER);
    await denied(() => user.getEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS"));
    await denied(() => user.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 0));
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    ops.setEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS", 0);
    assert.equal(ops.getEngineOption("FWPM_ENGINE_COLLECT_NET_EVENTS"), 0);
  });

  it("a change to the engine DACL through the API reaches every object", async () => {
    const { bfe } = openTestBfe();
    const system = bfe.openSession(LOCAL_SYSTEM);
    const f = system.addFilter(blockPort(23));
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    const sd = system.getSecurityInfo("engine", null);
    assert.ok(sd.dacl !== null);
    await denied(() => ops.setSecurityInfo("engine", null, "D:"));
    system.setSecurityInfo("engine", null, "D:(D;OICI;SD;;;NO)(A;OICI;GA;;;BA)(A;OICI;GRGWGX;;;NO)(A;OICI;0x50;;;WD)");
    await denied(() => ops.deleteFilterByKey(f.filterKey));
    ops.addFilter(blockPort(24));
  });

  it("reading a descriptor needs READ_CONTROL; plain users cannot enumerate net events", async () => {
    const { bfe } = openTestBfe();
    const user = bfe.openSession(EVERYONE_USER);
    await denied(() => user.getSecurityInfo("engine", null));
    await denied(() => user.enumNetEvents());
    const ops = bfe.openSession(NETWORK_CONFIG_OPERATOR);
    assert.ok(Array.isArray(ops.enumNetEvents()));
    const sd = ops.getSecurityInfo("filter", null);
    assert.ok(sd.dacl?.some((a) => formatSid(a.sid) === "S-1-5-32-556"));
  });
});
