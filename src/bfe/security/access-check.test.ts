import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSddl } from "../../fwp/index.ts";
import {
  type CheckAce,
  CONTAINER_INHERIT_ACE,
  grantedRights,
  INHERIT_ONLY_ACE,
  INHERITED_ACE,
  inheritAces,
  missingRights,
  NO_PROPAGATE_INHERIT_ACE,
  OBJECT_INHERIT_ACE,
  toCheckAce,
} from "./access-check.ts";
import { EVERYONE_USER, principalSids } from "./principal.ts";
import {
  ALL_RIGHTS,
  DELETE,
  FWPM_ACTRL_ADD,
  FWPM_ACTRL_ENUM,
  FWPM_ACTRL_OPEN,
  FWPM_ACTRL_READ,
  FWPM_GENERIC_READ,
  GENERIC_READ,
  READ_CONTROL,
  WRITE_DAC,
  WRITE_OWNER,
} from "./rights.ts";

const USER = EVERYONE_USER.sid;
const sids = principalSids(EVERYONE_USER);

function dacl(sddl: string): CheckAce[] {
  const parsed = parseSddl(sddl).dacl;
  assert.ok(parsed !== null);
  return parsed.map(toCheckAce);
}

describe("access check over a DACL (ordered ACEs, first decision per right wins)", () => {
  it("an allow ACE before a deny ACE grants the right; the deny only takes rights not yet granted", () => {
    const aces = dacl(`D:(A;;0x80;;;${USER})(D;;0xa0;;;WD)`);
    const granted = grantedRights([aces], { sids, owner: null });
    assert.equal(granted & FWPM_ACTRL_READ, FWPM_ACTRL_READ);
    assert.equal(granted & FWPM_ACTRL_ENUM, 0);
    assert.equal(missingRights([aces], { sids, owner: null }, FWPM_ACTRL_READ), 0);
    assert.equal(missingRights([aces], { sids, owner: null }, FWPM_ACTRL_READ | FWPM_ACTRL_ENUM), FWPM_ACTRL_ENUM);
  });

  it("a deny ACE before an allow ACE denies the right even though a later ACE allows it", () => {
    const aces = dacl(`D:(D;;0x80;;;WD)(A;;0xa0;;;${USER})`);
    assert.equal(missingRights([aces], { sids, owner: null }, FWPM_ACTRL_READ), FWPM_ACTRL_READ);
    assert.equal(missingRights([aces], { sids, owner: null }, FWPM_ACTRL_ENUM), 0);
  });

  it("ACEs for SIDs the caller does not hold are skipped", () => {
    const aces = dacl("D:(D;;0xffffffff;;;BA)(A;;0x80;;;BU)");
    assert.equal(missingRights([aces], { sids, owner: null }, FWPM_ACTRL_READ), 0);
    assert.equal(missingRights([dacl("D:(A;;0x80;;;BA)")], { sids, owner: null }, FWPM_ACTRL_READ), FWPM_ACTRL_READ);
  });

  it("a NULL DACL grants everything; an empty DACL grants nothing", () => {
    assert.equal(grantedRights(null, { sids, owner: null }), ALL_RIGHTS);
    assert.equal(missingRights(null, { sids, owner: null }, DELETE | FWPM_ACTRL_ADD | GENERIC_READ), 0);
    assert.equal(grantedRights([[]], { sids, owner: null }), 0);
    assert.equal(missingRights([[]], { sids, owner: null }, FWPM_ACTRL_OPEN), FWPM_ACTRL_OPEN);
  });

  it("generic bits in ACEs and in the request map through FWPM_GENERIC_*", () => {
    const aces = dacl("D:(A;;GR;;;WD)");
    assert.equal(grantedRights([aces], { sids, owner: null }), FWPM_GENERIC_READ);
    assert.equal(missingRights([aces], { sids, owner: null }, GENERIC_READ), 0);
    assert.equal(missingRights([aces], { sids, owner: null }, FWPM_ACTRL_ADD), FWPM_ACTRL_ADD);
  });

  it("the owner holds READ_CONTROL and WRITE_DAC even when the DACL denies everything", () => {
    const aces = dacl("D:(D;;GA;;;WD)");
    assert.equal(grantedRights([aces], { sids, owner: USER }), READ_CONTROL | WRITE_DAC);
    assert.equal(missingRights([aces], { sids, owner: USER }, WRITE_OWNER), WRITE_OWNER);
    assert.equal(grantedRights([aces], { sids, owner: "S-1-5-32-544" }), 0);
  });

  it("an OWNER RIGHTS ACE replaces the owner's implicit rights", () => {
    const aces = dacl("D:(A;;0x80;;;OW)");
    assert.equal(grantedRights([aces], { sids, owner: USER }), FWPM_ACTRL_READ);
    assert.equal(grantedRights([aces], { sids, owner: "S-1-5-18" }), 0);
  });

  it("inherit-only ACEs do not apply to the node that holds them", () => {
    const aces = dacl("D:(A;OICIIO;GA;;;WD)");
    assert.equal(grantedRights([aces], { sids, owner: null }), 0);
  });

  it("explicit ACEs are walked before inherited ones", () => {
    const explicit = dacl("D:(D;;SD;;;WD)");
    const inherited = inheritAces(dacl("D:(A;OICI;GA;;;WD)"), false);
    assert.equal(missingRights([explicit, inherited], { sids, owner: null }, DELETE), DELETE);
    assert.equal(missingRights([inherited, explicit], { sids, owner: null }, DELETE), 0);
  });
});

describe("ACE inheritance (H40; MS-DTYP §2.5.3.4)", () => {
  it("objects take OBJECT_INHERIT ACEs flagged INHERITED_ACE with generic bits mapped", () => {
    const parent = dacl("D:(A;OICI;GA;;;BA)(A;CI;0x80;;;WD)(A;OI;0x40;;;BU)");
    const got = inheritAces(parent, false);
    assert.deepEqual(
      got.map((a) => [a.flags, a.mask, a.sid]),
      [
        [INHERITED_ACE, 0xf07ff, "S-1-5-32-544"],
        [INHERITED_ACE, 0x40, "S-1-5-32-545"],
      ],
    );
  });

  it("containers take CONTAINER_INHERIT ACEs and keep passing them on", () => {
    const got = inheritAces(dacl("D:(A;OICI;0x80;;;WD)(A;CINP;0x40;;;BU)(A;OI;0x20;;;BA)(A;;0x10;;;SY)"), true);
    assert.deepEqual(
      got.map((a) => [a.flags, a.mask, a.sid]),
      [
        [OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | INHERITED_ACE, 0x80, "S-1-1-0"],
        [INHERITED_ACE, 0x40, "S-1-5-32-545"],
        [OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE | INHERITED_ACE, 0x20, "S-1-5-32-544"],
      ],
    );
    // The inherit-only copy reaches the container's objects but does not apply to the container.
    assert.equal(grantedRights([got], { sids: new Set(["S-1-5-32-544"]), owner: null }), 0);
    assert.equal(
      inheritAces(got, false).some((a) => a.sid === "S-1-5-32-544" && a.mask === 0x20),
      true,
    );
    assert.equal(
      inheritAces(got, false).some((a) => a.sid === "S-1-5-32-545"),
      false,
      "NO_PROPAGATE stops after one level",
    );
    assert.equal(NO_PROPAGATE_INHERIT_ACE, 0x4);
  });

  it("a container splits a generic inheritable ACE into a mapped effective copy and an inherit-only copy", () => {
    const got = inheritAces(dacl("D:(A;OICI;GA;;;BA)"), true);
    assert.deepEqual(
      got.map((a) => [a.flags, a.mask >>> 0]),
      [
        [INHERITED_ACE, 0xf07ff],
        [OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE | INHERITED_ACE, 0x10000000],
      ],
    );
  });

  it("nothing is inherited from a NULL DACL", () => {
    assert.deepEqual(inheritAces(null, false), []);
  });
});
