import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSddl, parseSid } from "../fwp/index.ts";
import { tokenMatchesSecurityDescriptor } from "./access-check.ts";

describe("access check with callback ACEs (engine/access-check.ts)", () => {
  const everyoneUser = {
    sids: [
      { sid: parseSid("S-1-5-21-1-2-3-1001"), attributes: 0 },
      { sid: parseSid("S-1-1-0"), attributes: 0x7 },
    ],
    restrictedSids: [],
  };

  it("an XA ACE's condition cannot be evaluated, so the allow is not applicable (UNKNOWN)", () => {
    const sd = parseSddl('O:SYG:SYD:(XA;;CC;;;WD;(WIN://SYSAPPID Contains "MSTeams_8wekyb3d8bbwe"))');
    assert.equal(tokenMatchesSecurityDescriptor(everyoneUser, sd), false);
    // The same ACE without its condition grants.
    assert.equal(tokenMatchesSecurityDescriptor(everyoneUser, parseSddl("O:SYG:SYD:(A;;CC;;;WD)")), true);
    // A later plain allow still grants.
    const both = parseSddl('D:(XA;;CC;;;WD;(WIN://SYSAPPID Contains "x"))(A;;CC;;;S-1-5-21-1-2-3-1001)');
    assert.equal(tokenMatchesSecurityDescriptor(everyoneUser, both), true);
  });

  it("an XD ACE with an UNKNOWN condition applies and denies", () => {
    const sd = parseSddl('D:(XD;;CC;;;WD;(WIN://SYSAPPID Contains "x"))(A;;CC;;;WD)');
    assert.equal(tokenMatchesSecurityDescriptor(everyoneUser, sd), false);
    // Not held SID: the deny does not apply.
    const other = parseSddl('D:(XD;;CC;;;S-1-5-18;(WIN://SYSAPPID Contains "x"))(A;;CC;;;WD)');
    assert.equal(tokenMatchesSecurityDescriptor(everyoneUser, other), true);
  });
});
