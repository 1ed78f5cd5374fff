import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ADMINISTRATOR,
  canonicalSid,
  EVERYONE_USER,
  isAdministrator,
  LOCAL_SYSTEM,
  makePrincipal,
  NETWORK_CONFIG_OPERATOR,
  principalSids,
  serviceSid,
} from "./principal.ts";

describe("service SIDs (S-1-5-80 + SHA-1 of the upper-case UTF-16LE name)", () => {
  it("NT SERVICE\\TrustedInstaller has its published SID", () => {
    // Published in Microsoft's security identifiers documentation and seen in countless file ACLs.
    assert.equal(serviceSid("TrustedInstaller"), "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464");
  });

  it("NT SERVICE\\MpsSvc matches the SID Windows puts in WFP object DACLs, whatever the case of the name", () => {
    // Seen in a Get-FwFilter listing of a real filter's security descriptor.
    const mpssvc = "S-1-5-80-3088073201-1464728630-1879813800-1107566885-823218052";
    assert.equal(serviceSid("MpsSvc"), mpssvc);
    assert.equal(serviceSid("mpssvc"), mpssvc);
  });
});

describe("principals", () => {
  it("everyone holds Everyone (S-1-1-0) even when the token lists no groups", () => {
    const p = makePrincipal("s-1-5-21-1-2-3-1000");
    assert.equal(p.sid, "S-1-5-21-1-2-3-1000");
    assert.deepEqual([...principalSids(p)], ["S-1-5-21-1-2-3-1000", "S-1-1-0"]);
  });

  it("a non-SID is rejected", () => {
    assert.throws(() => makePrincipal("Administrator"), TypeError);
    assert.throws(() => canonicalSid("S-1-5-x"), TypeError);
  });

  it("administrators are recognised by BUILTIN\\Administrators in the token", () => {
    assert.equal(isAdministrator(ADMINISTRATOR), true);
    assert.equal(isAdministrator(LOCAL_SYSTEM), true);
    assert.equal(isAdministrator(NETWORK_CONFIG_OPERATOR), false);
    assert.equal(isAdministrator(EVERYONE_USER), false);
    assert.equal(isAdministrator(makePrincipal("S-1-5-21-1-2-3-1000", ["S-1-5-32-544"])), true);
  });
});
