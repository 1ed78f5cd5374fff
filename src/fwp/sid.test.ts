import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFwpError } from "./error.ts";
import { formatSid, isValidSid, parseSid, tryParseSid } from "./sid.ts";

describe("SID (MS-DTYP 2.4.2)", () => {
  it("S-1-5-18 is revision 1, one sub-authority, authority 5 big endian, 18 little endian", () => {
    assert.deepEqual([...parseSid("S-1-5-18")], [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
  });

  it("S-1-5-32-544 (Administrators) round-trips", () => {
    const sid = parseSid("S-1-5-32-544");
    assert.deepEqual([...sid.subarray(8)], [32, 0, 0, 0, 0x20, 0x02, 0, 0]);
    assert.equal(formatSid(sid), "S-1-5-32-544");
  });

  it("round-trips the null SID, a service SID, an AppContainer SID and the 32-bit edge", () => {
    for (const text of [
      "S-1-0-0",
      "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
      "S-1-15-2-1",
      "S-1-5-4294967295",
      "S-1-5",
      "S-1-0x123456789ABC-1",
    ]) {
      assert.equal(formatSid(parseSid(text)), text);
    }
  });

  it("an authority of 2^32 or more prints as 0x and 12 hex digits; smaller ones print in decimal", () => {
    assert.equal(formatSid(parseSid("S-1-4294967296-1")), "S-1-0x000100000000-1");
    assert.equal(formatSid(parseSid("S-1-0x000000000005-18")), "S-1-5-18");
  });

  it("rejects other revisions, 16 sub-authorities, a sub-authority of 2^32 and junk", () => {
    for (const bad of ["S-2-5-18", `S-1-5${"-1".repeat(16)}`, "S-1-5-4294967296", "S-1-", "X-1-5", "S-1-5-", ""]) {
      assert.equal(tryParseSid(bad), undefined, bad);
    }
    assert.ok(tryParseSid(`S-1-5${"-1".repeat(15)}`) !== undefined);
    assert.throws(
      () => parseSid("nope", "filters[0].conditions[0].value"),
      (e) => {
        return isFwpError(e, "FWP_E_INVALID_PARAMETER") && e.path === "filters[0].conditions[0].value";
      },
    );
  });

  it("validates binary SIDs by revision, count and exact length", () => {
    assert.equal(isValidSid(parseSid("S-1-5-18")), true);
    assert.equal(isValidSid(Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0])), false);
    assert.equal(isValidSid(Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 5])), false);
    assert.equal(isValidSid(new Uint8Array(0)), false);
    assert.throws(
      () => formatSid(new Uint8Array(3)),
      (e) => isFwpError(e, "FWP_E_INVALID_PARAMETER"),
    );
  });
});
