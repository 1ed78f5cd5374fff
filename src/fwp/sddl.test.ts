import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFwpError } from "./error.ts";
import { decodeSecurityDescriptor, parseSddl, securityDescriptorFromSddl, securityDescriptorToSddl } from "./sddl.ts";
import { parseSid } from "./sid.ts";
import { isSelfRelativeSecurityDescriptor } from "./value.ts";

describe("SDDL subset for FWP_SECURITY_DESCRIPTOR_TYPE", () => {
  it("D:(A;;CC;;;S-1-5-18) is one allow ACE with mask 0x1 (FWP_ACTRL_MATCH_FILTER) in a self-relative SD", () => {
    const sd = securityDescriptorFromSddl("D:(A;;CC;;;S-1-5-18)");
    assert.ok(isSelfRelativeSecurityDescriptor(sd));
    // Header: revision 1, control SE_SELF_RELATIVE|SE_DACL_PRESENT, DACL right after the header.
    assert.deepEqual([...sd.subarray(0, 4)], [1, 0, 0x04, 0x80]);
    assert.deepEqual([...sd.subarray(16, 20)], [20, 0, 0, 0]);
    // ACL: revision 2, size 8 + 20, one ACE: allowed, no flags, size 20, mask 1, then the SID.
    assert.deepEqual([...sd.subarray(20, 28)], [2, 0, 28, 0, 1, 0, 0, 0]);
    assert.deepEqual([...sd.subarray(28, 36)], [0, 0, 20, 0, 1, 0, 0, 0]);
    assert.deepEqual(sd.subarray(36), parseSid("S-1-5-18"));
    assert.equal(sd.length, 48);
  });

  it("round-trips owner, group, DACL flags, allow and deny ACEs and SID aliases", () => {
    const text = "O:BAG:SYD:PAI(A;;CC;;;WD)(D;OICI;0x3;;;S-1-5-21-1-2-3-1001)";
    const back = securityDescriptorToSddl(securityDescriptorFromSddl(text));
    assert.equal(back, "O:S-1-5-32-544G:S-1-5-18D:PAI(A;;CC;;;S-1-1-0)(D;OICI;CCDC;;;S-1-5-21-1-2-3-1001)");
    assert.equal(securityDescriptorToSddl(securityDescriptorFromSddl(back)), back);
    const parts = decodeSecurityDescriptor(securityDescriptorFromSddl("D:"));
    assert.deepEqual(parts.dacl, []);
    assert.equal(parseSddl("O:SY").dacl, null);
  });

  it("unsupported or malformed SDDL is FWP_E_INVALID_PARAMETER", () => {
    for (const bad of [
      "",
      "S:(AU;;CC;;;WD)",
      "D:(A;;CC;;S-1-5-18)",
      "D:(OA;;CC;x;;WD)",
      "D:(A;;QQ;;;WD)",
      "D:(A;;CC;;;XX)",
      "Q:",
    ]) {
      assert.throws(
        () => securityDescriptorFromSddl(bad, "p"),
        (e) => isFwpError(e, "FWP_E_INVALID_PARAMETER") && e.path === "p",
        bad,
      );
    }
  });
});
