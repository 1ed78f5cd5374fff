import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GUID_NULL, type Guid, parseGuid } from "../../base/guid.ts";
import { FwpError, formatSid, parseSddl } from "../../fwp/index.ts";
import { AccessControl, DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION } from "./access-control.ts";
import { AccessDeniedError, InvalidOwnerError } from "./error.ts";
import type { BfeObjectType } from "./object-type.ts";
import {
  ADMINISTRATOR,
  EVERYONE_USER,
  KERNEL_MODE,
  LOCAL_SYSTEM,
  makePrincipal,
  NETWORK_CONFIG_OPERATOR,
  type Principal,
  serviceSid,
} from "./principal.ts";
import {
  ALL_RIGHTS,
  DELETE,
  FWPM_ACTRL_ADD,
  FWPM_ACTRL_ADD_LINK,
  FWPM_ACTRL_BEGIN_WRITE_TXN,
  FWPM_ACTRL_CLASSIFY,
  FWPM_ACTRL_ENUM,
  FWPM_ACTRL_OPEN,
  FWPM_ACTRL_READ,
  FWPM_ACTRL_WRITE,
  FWPM_GENERIC_EXECUTE,
  FWPM_GENERIC_READ,
  FWPM_GENERIC_WRITE,
  READ_CONTROL,
  WRITE_DAC,
  WRITE_OWNER,
} from "./rights.ts";

const FILTER = parseGuid("c5996155-fd4e-4838-538e-000000000000");
const OTHER = parseGuid("5e1b2d3a-0c4f-4b6e-9a8d-7f6e5d4c3b2a");
/** FWPM_LAYER_ALE_AUTH_CONNECT_V4, a built-in layer with no descriptor of its own. */
const LAYER = parseGuid("c38d57d1-05a7-4c33-904f-7fbceee60e82");

function denied(fn: () => void): AccessDeniedError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AccessDeniedError, `expected AccessDeniedError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected ERROR_ACCESS_DENIED");
}

function allowed(ac: AccessControl, p: Principal, type: BfeObjectType, key: Guid | null, rights: number): boolean {
  return ac.canAccess(p, type, key, rights);
}

describe("default engine DACL (H41) per principal", () => {
  it("Administrators hold every right on the engine, every container and every object", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, undefined, ADMINISTRATOR);
    assert.equal(ac.grantedAccess(ADMINISTRATOR, "engine", null), ALL_RIGHTS);
    assert.equal(ac.grantedAccess(ADMINISTRATOR, "filter", null), ALL_RIGHTS);
    assert.equal(ac.grantedAccess(ADMINISTRATOR, "filter", FILTER), ALL_RIGHTS);
    assert.equal(ac.grantedAccess(LOCAL_SYSTEM, "callout", null), ALL_RIGHTS);
  });

  it("Network Configuration Operators get GR|GW|GX: add, delete, enumerate — not WRITE_DAC or WRITE_OWNER", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, undefined, ADMINISTRATOR);
    const rw = FWPM_GENERIC_READ | FWPM_GENERIC_WRITE | FWPM_GENERIC_EXECUTE;
    assert.equal(ac.grantedAccess(NETWORK_CONFIG_OPERATOR, "engine", null), rw);
    assert.equal(ac.grantedAccess(NETWORK_CONFIG_OPERATOR, "filter", FILTER), rw);
    ac.check(NETWORK_CONFIG_OPERATOR, "filter", null, FWPM_ACTRL_ADD);
    ac.check(NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE);
    denied(() => ac.check(NETWORK_CONFIG_OPERATOR, "filter", FILTER, WRITE_DAC));
  });

  it("the five service SIDs get GR|GW|GX", () => {
    const ac = new AccessControl();
    for (const name of ["MpsSvc", "NapAgent", "PolicyAgent", "RpcSs", "WdiServiceHost"]) {
      const svc = makePrincipal(serviceSid(name), []);
      assert.equal(allowed(ac, svc, "engine", null, FWPM_ACTRL_BEGIN_WRITE_TXN | FWPM_ACTRL_WRITE), true, name);
      assert.equal(allowed(ac, svc, "engine", null, WRITE_DAC), false, name);
    }
    assert.equal(allowed(ac, makePrincipal(serviceSid("Dnscache"), []), "engine", null, FWPM_ACTRL_READ), false);
  });

  it("a plain user gets only OPEN | CLASSIFY and is denied ADD with ERROR_ACCESS_DENIED", () => {
    const ac = new AccessControl();
    assert.equal(ac.grantedAccess(EVERYONE_USER, "engine", null), FWPM_ACTRL_OPEN | FWPM_ACTRL_CLASSIFY);
    ac.check(EVERYONE_USER, "engine", null, FWPM_ACTRL_OPEN);
    const e = denied(() => ac.check(EVERYONE_USER, "filter", null, FWPM_ACTRL_ADD, "filters[0]"));
    assert.equal(e.code, "ERROR_ACCESS_DENIED");
    assert.equal(e.hresult, 0x80070005);
    assert.equal(e.win32, 5);
    assert.equal(e.missing, FWPM_ACTRL_ADD);
    assert.deepEqual(e.missingRights, ["FWPM_ACTRL_ADD"]);
    assert.equal(e.objectType, "filter");
    assert.equal(e.key, null);
    assert.equal(e.path, "filters[0]");
    assert.match(e.message, /lacks FWPM_ACTRL_ADD on the filter container/);
    const r = denied(() => ac.check(EVERYONE_USER, "engine", null, FWPM_ACTRL_OPEN | FWPM_ACTRL_BEGIN_WRITE_TXN));
    assert.equal(r.missing, FWPM_ACTRL_BEGIN_WRITE_TXN, "only the missing right is reported");
    denied(() => ac.check(EVERYONE_USER, "filter", null, FWPM_ACTRL_ENUM));
  });

  it("a filter added by an administrator reads back as Windows lists one", () => {
    // Engine descriptor of a current Windows build (H41's ACEs plus two more service SIDs, some with GR|GX)
    // and the descriptor Get-FwFilter (NtObjectManager) printed for a third-party filter on such a machine.
    const s = (rest: string) => `S-1-5-80-${rest}`;
    const mps = s("3088073201-1464728630-1879813800-1107566885-823218052");
    const a = s("3141615172-2057878085-1754447212-2405740020-3916490453");
    const pol = s("3044542841-3639452079-4096941652-1606687743-1256249853");
    const rpc = s("979556362-403687129-3954533659-2335141334-1547273080");
    const wdi = s("3139157870-2983391045-3678747466-658725712-1809340420");
    const b = s("1510742542-3632397484-604094731-3920060944-1272132581");
    const engine =
      `O:LSG:LSD:(A;OICI;GA;;;BA)(A;OICI;GRGWGX;;;NO)(A;OICI;GRGWGX;;;${mps})(A;OICI;GRGX;;;${a})` +
      `(A;OICI;GRGWGX;;;${pol})(A;OICI;GRGWGX;;;${rpc})(A;OICI;GRGX;;;${wdi})(A;OICI;GRGWGX;;;${b})(A;OICI;0x50;;;WD)`;
    const observed =
      `O:BAG:SYD:AI(A;ID;0xf07ff;;;BA)(A;ID;0x307ff;;;NO)(A;ID;0x307ff;;;${mps})(A;ID;0x203f4;;;${a})` +
      `(A;ID;0x307ff;;;${pol})(A;ID;0x307ff;;;${rpc})(A;ID;0x203f4;;;${wdi})(A;ID;0x307ff;;;${b})(A;ID;RPDT;;;WD)`;
    assert.equal(serviceSid("PolicyAgent"), pol);
    assert.equal(serviceSid("RpcSs"), rpc);
    assert.equal(serviceSid("WdiServiceHost"), wdi);
    const ac = new AccessControl({ engineSecurity: engine });
    ac.createObject("filter", FILTER, null, ADMINISTRATOR);
    assert.deepEqual(ac.getObjectSecurity("filter", FILTER), parseSddl(observed));
  });
});

describe("H43: kernel mode and administrators", () => {
  it("kernel-mode callers skip every check, even against an empty protected DACL", () => {
    const ac = new AccessControl({ engineSecurity: "O:SYD:P" });
    ac.check(KERNEL_MODE, "engine", null, ALL_RIGHTS);
    ac.check(KERNEL_MODE, "filter", FILTER, DELETE | WRITE_DAC);
    assert.equal(ac.canAccess(KERNEL_MODE, "filter", null, FWPM_ACTRL_ADD), true);
  });

  it("Administrators always get OPEN on the engine, even when the DACL denies it", () => {
    const ac = new AccessControl({ engineSecurity: "O:SYD:(D;OICI;0xc0;;;BA)(A;OICI;GA;;;WD)" });
    ac.check(ADMINISTRATOR, "engine", null, FWPM_ACTRL_OPEN);
    ac.check(EVERYONE_USER, "engine", null, FWPM_ACTRL_OPEN);
    // The exemption is OPEN on the engine only: the inherited deny still holds on the containers.
    denied(() => ac.check(ADMINISTRATOR, "filter", null, FWPM_ACTRL_OPEN));
    const e = denied(() => ac.check(ADMINISTRATOR, "engine", null, FWPM_ACTRL_OPEN | FWPM_ACTRL_READ));
    assert.equal(e.missing, FWPM_ACTRL_READ);
  });
});

describe("inheritance (H40)", () => {
  it("a change to the engine DACL reaches containers and objects", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, undefined, ADMINISTRATOR);
    ac.check(NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE);
    ac.check(NETWORK_CONFIG_OPERATOR, "filter", OTHER, DELETE);
    const sd = ac.getObjectSecurity("engine", null);
    assert.ok(sd.dacl !== null);
    const denyNco = parseSddl("D:(D;OICI;SD;;;NO)");
    assert.ok(denyNco.dacl !== null);
    ac.setObjectSecurity("engine", null, { ...sd, dacl: [...denyNco.dacl, ...sd.dacl] }, DACL_SECURITY_INFORMATION);
    denied(() => ac.check(NETWORK_CONFIG_OPERATOR, "filter", OTHER, DELETE));
    const e = denied(() => ac.check(NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE));
    assert.equal(e.key, FILTER);
    assert.match(e.message, /on the filter \{c5996155-fd4e-4838-538e-000000000000\}/);
    ac.check(NETWORK_CONFIG_OPERATOR, "filter", null, FWPM_ACTRL_ADD);
  });

  it("an explicit allow on the object outranks an inherited deny", () => {
    const ac = new AccessControl();
    ac.setObjectSecurity("filter", null, "D:(D;OIIO;0x80;;;WD)");
    ac.createObject("filter", FILTER, undefined, ADMINISTRATOR);
    ac.createObject("filter", OTHER, "D:(A;;0x80;;;BU)", ADMINISTRATOR);
    assert.equal(allowed(ac, EVERYONE_USER, "filter", FILTER, FWPM_ACTRL_READ), false);
    assert.equal(allowed(ac, EVERYONE_USER, "filter", OTHER, FWPM_ACTRL_READ), true);
    // The container's own ACE is inherit-only, so the container itself is unaffected.
    assert.equal(allowed(ac, ADMINISTRATOR, "filter", null, FWPM_ACTRL_READ), true);
    assert.equal(allowed(ac, ADMINISTRATOR, "filter", FILTER, FWPM_ACTRL_READ), false);
  });

  it("a protected DACL inherits nothing", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, "D:P(A;;0x80;;;BU)", ADMINISTRATOR);
    assert.equal(ac.grantedAccess(EVERYONE_USER, "filter", FILTER), FWPM_ACTRL_READ);
    // Administrators own the object: READ_CONTROL | WRITE_DAC, plus WRITE_OWNER as an administrator.
    assert.equal(ac.grantedAccess(LOCAL_SYSTEM, "filter", FILTER), READ_CONTROL | WRITE_DAC | WRITE_OWNER);
    // ADMINISTRATOR is also in BUILTIN\Users, so the explicit ACE adds READ.
    assert.equal(
      ac.grantedAccess(ADMINISTRATOR, "filter", FILTER),
      READ_CONTROL | WRITE_DAC | WRITE_OWNER | FWPM_ACTRL_READ,
    );
  });

  it("objects without a descriptor of their own (built-in layers) have the container's", () => {
    const ac = new AccessControl();
    assert.equal(allowed(ac, NETWORK_CONFIG_OPERATOR, "layer", LAYER, FWPM_ACTRL_ADD_LINK), true);
    assert.equal(allowed(ac, EVERYONE_USER, "layer", LAYER, FWPM_ACTRL_ADD_LINK), false);
    ac.setObjectSecurity("layer", null, "D:(A;OI;0x2;;;BU)");
    assert.equal(allowed(ac, EVERYONE_USER, "layer", LAYER, FWPM_ACTRL_ADD_LINK), true);
    assert.equal(ac.hasObject("layer", LAYER), false);
  });

  it("a null key and the zero GUID both address the container", () => {
    const ac = new AccessControl();
    ac.setObjectSecurity("sublayer", GUID_NULL, "D:(A;;0x1;;;BU)");
    assert.equal(allowed(ac, EVERYONE_USER, "sublayer", null, FWPM_ACTRL_ADD), true);
    assert.deepEqual(ac.getObjectSecurity("sublayer", null), ac.getObjectSecurity("sublayer", GUID_NULL));
  });
});

describe("NULL and empty DACLs on objects", () => {
  it("a NULL DACL grants everyone everything; an empty protected DACL grants only the owner's rights", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, undefined, ADMINISTRATOR);
    ac.setObjectSecurity("filter", FILTER, { owner: null, group: null, dacl: null, daclControl: 0 }, 0x4);
    ac.check(EVERYONE_USER, "filter", FILTER, DELETE | WRITE_DAC | FWPM_ACTRL_READ);
    ac.createObject("filter", OTHER, "O:SYD:P", ADMINISTRATOR);
    assert.equal(ac.grantedAccess(EVERYONE_USER, "filter", OTHER), 0);
    assert.equal(ac.grantedAccess(LOCAL_SYSTEM, "filter", OTHER), READ_CONTROL | WRITE_DAC | WRITE_OWNER);
  });
});

describe("hindering and forcing deletion (H43)", () => {
  it("a DACL denying DELETE|WRITE_DAC|WRITE_OWNER to Everyone hinders deletion; the owner can rewrite it", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, "D:(D;;SDWDWO;;;WD)", ADMINISTRATOR);
    denied(() => ac.check(ADMINISTRATOR, "filter", FILTER, DELETE));
    denied(() => ac.check(NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE));
    // Administrators own what they create (O:BA), and the owner always holds WRITE_DAC.
    ac.setSecurityInfo(ADMINISTRATOR, "filter", FILTER, "D:");
    ac.check(ADMINISTRATOR, "filter", FILTER, DELETE);
    ac.check(NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE);
  });

  it("an administrator who is not the owner takes ownership, then rewrites the DACL (forcing)", () => {
    const ac = new AccessControl();
    const owner = NETWORK_CONFIG_OPERATOR.sid;
    ac.createObject("filter", FILTER, `O:${owner}D:P(D;;GA;;;WD)`, NETWORK_CONFIG_OPERATOR);
    denied(() => ac.setSecurityInfo(ADMINISTRATOR, "filter", FILTER, "D:"));
    ac.setSecurityInfo(ADMINISTRATOR, "filter", FILTER, "O:BA", OWNER_SECURITY_INFORMATION);
    ac.setSecurityInfo(ADMINISTRATOR, "filter", FILTER, "D:");
    ac.check(ADMINISTRATOR, "filter", FILTER, DELETE);
    assert.equal(formatSid(ac.getObjectSecurity("filter", FILTER).owner ?? new Uint8Array()), "S-1-5-32-544");
  });

  it("a non-owner without WRITE_DAC cannot rewrite the DACL; the owner can", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, `O:${EVERYONE_USER.sid}D:P(D;;GA;;;WD)`, ADMINISTRATOR);
    denied(() => ac.setSecurityInfo(NETWORK_CONFIG_OPERATOR, "filter", FILTER, "D:(A;;GA;;;WD)"));
    ac.setSecurityInfo(EVERYONE_USER, "filter", FILTER, "D:(A;;SD;;;WD)");
    ac.check(NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE);
    // Ownership gives READ_CONTROL and WRITE_DAC only, not WRITE_OWNER.
    denied(() => ac.setSecurityInfo(EVERYONE_USER, "filter", FILTER, `O:${EVERYONE_USER.sid}`));
  });

  it("a caller may only make itself or one of its groups the owner, unless it is an administrator", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, `O:${EVERYONE_USER.sid}D:(A;;WO;;;WD)`, ADMINISTRATOR);
    assert.throws(
      () => ac.setSecurityInfo(EVERYONE_USER, "filter", FILTER, "O:BA"),
      (e: unknown) => e instanceof InvalidOwnerError && e.code === "ERROR_INVALID_OWNER" && e.hresult === 0x8007051b,
    );
    ac.setSecurityInfo(EVERYONE_USER, "filter", FILTER, "O:BU");
    ac.setSecurityInfo(ADMINISTRATOR, "filter", FILTER, `O:${NETWORK_CONFIG_OPERATOR.sid}`);
  });
});

describe("get/set security info", () => {
  it("reading a descriptor needs READ_CONTROL", () => {
    const ac = new AccessControl();
    ac.createObject("provider", FILTER, undefined, ADMINISTRATOR);
    denied(() => ac.getSecurityInfo(EVERYONE_USER, "provider", FILTER));
    const sd = ac.getSecurityInfo(NETWORK_CONFIG_OPERATOR, "provider", FILTER);
    assert.equal(formatSid(sd.owner ?? new Uint8Array()), "S-1-5-32-544");
  });

  it("setting a descriptor read back keeps the object's rights (inherited ACEs are recomputed, not doubled)", () => {
    const ac = new AccessControl();
    ac.createObject("callout", FILTER, "D:(A;;0x80;;;BU)", ADMINISTRATOR);
    const before = ac.getObjectSecurity("callout", FILTER);
    ac.setSecurityInfo(ADMINISTRATOR, "callout", FILTER, before);
    assert.deepEqual(ac.getObjectSecurity("callout", FILTER), before);
  });

  it("the explicit descriptor recreates the object exactly (what a store keeps)", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, "O:NOD:P(A;;0x80;;;BU)(D;OI;SD;;;WD)", ADMINISTRATOR);
    const explicit = ac.getExplicitSecurity("filter", FILTER);
    assert.ok(explicit !== undefined);
    const again = new AccessControl();
    again.createObject("filter", FILTER, explicit, LOCAL_SYSTEM);
    assert.deepEqual(again.getObjectSecurity("filter", FILTER), ac.getObjectSecurity("filter", FILTER));
    assert.equal(ac.getExplicitSecurity("filter", OTHER), undefined);
    ac.setObjectSecurity("engine", null, "O:SYG:SYD:P(A;OICI;GR;;;WD)");
    again.setObjectSecurity("engine", null, ac.getExplicitSecurity("engine", null) ?? "D:");
    assert.deepEqual(again.getObjectSecurity("engine", null), ac.getObjectSecurity("engine", null));
    assert.equal(again.grantedAccess(EVERYONE_USER, "engine", null), FWPM_GENERIC_READ);
  });

  it("a malformed descriptor is FWP_E_INVALID_PARAMETER at the given path", () => {
    const ac = new AccessControl();
    assert.throws(
      () => ac.createObject("filter", FILTER, "D:(A;;ZZ;;;WD)", ADMINISTRATOR, "filters[2].securityDescriptor"),
      (e: unknown) =>
        e instanceof FwpError && e.code === "FWP_E_INVALID_PARAMETER" && e.path === "filters[2].securityDescriptor",
    );
    assert.throws(() => ac.createObject("filter", FILTER, new Uint8Array([1, 0, 0]), ADMINISTRATOR), FwpError);
  });
});

describe("lifecycle", () => {
  it("deleteObject forgets the descriptor; snapshot/restore undo changes", () => {
    const ac = new AccessControl();
    ac.createObject("filter", FILTER, "D:P", ADMINISTRATOR);
    const snap = ac.snapshot();
    ac.deleteObject("filter", FILTER);
    assert.equal(ac.hasObject("filter", FILTER), false);
    assert.equal(allowed(ac, NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE), true);
    ac.setObjectSecurity("engine", null, "D:P");
    assert.equal(allowed(ac, NETWORK_CONFIG_OPERATOR, "filter", null, FWPM_ACTRL_ADD), false);
    ac.restore(snap);
    assert.equal(ac.hasObject("filter", FILTER), true);
    assert.equal(allowed(ac, NETWORK_CONFIG_OPERATOR, "filter", FILTER, DELETE), false);
    assert.equal(allowed(ac, NETWORK_CONFIG_OPERATOR, "filter", null, FWPM_ACTRL_ADD), true);
  });

  it("the engine and net events have no keyed objects", () => {
    const ac = new AccessControl();
    assert.throws(() => ac.createObject("engine", FILTER, undefined, ADMINISTRATOR), TypeError);
    assert.throws(() => ac.createObject("filter", GUID_NULL, undefined, ADMINISTRATOR), TypeError);
    assert.equal(allowed(ac, EVERYONE_USER, "netEvents", FILTER, FWPM_ACTRL_ENUM), false);
    assert.equal(allowed(ac, NETWORK_CONFIG_OPERATOR, "netEvents", null, FWPM_ACTRL_ENUM), true);
  });
});
