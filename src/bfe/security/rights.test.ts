import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  accessRightNames,
  DELETE,
  FWPM_ACTRL_ADD,
  FWPM_ACTRL_ADD_LINK,
  FWPM_ACTRL_ALL,
  FWPM_ACTRL_BEGIN_READ_TXN,
  FWPM_ACTRL_BEGIN_WRITE_TXN,
  FWPM_ACTRL_CLASSIFY,
  FWPM_ACTRL_ENUM,
  FWPM_ACTRL_OPEN,
  FWPM_ACTRL_READ,
  FWPM_ACTRL_READ_STATS,
  FWPM_ACTRL_SUBSCRIBE,
  FWPM_ACTRL_WRITE,
  FWPM_GENERIC_ALL,
  FWPM_GENERIC_EXECUTE,
  FWPM_GENERIC_READ,
  FWPM_GENERIC_WRITE,
  GENERIC_ALL,
  GENERIC_EXECUTE,
  GENERIC_READ,
  GENERIC_WRITE,
  mapGenericRights,
  READ_CONTROL,
  STANDARD_RIGHTS_REQUIRED,
  WRITE_DAC,
} from "./rights.ts";

describe("FWPM generic mapping (H41)", () => {
  // STANDARD_RIGHTS_READ, _WRITE and _EXECUTE are all READ_CONTROL (winnt.h).
  it("GENERIC_READ = STANDARD_RIGHTS_READ | BEGIN_READ_TXN | CLASSIFY | OPEN | READ | READ_STATS", () => {
    const expected =
      READ_CONTROL |
      FWPM_ACTRL_BEGIN_READ_TXN |
      FWPM_ACTRL_CLASSIFY |
      FWPM_ACTRL_OPEN |
      FWPM_ACTRL_READ |
      FWPM_ACTRL_READ_STATS;
    assert.equal(FWPM_GENERIC_READ, expected);
    assert.equal(mapGenericRights(GENERIC_READ), expected);
  });

  it("GENERIC_EXECUTE = STANDARD_RIGHTS_EXECUTE | ENUM | SUBSCRIBE", () => {
    assert.equal(FWPM_GENERIC_EXECUTE, READ_CONTROL | FWPM_ACTRL_ENUM | FWPM_ACTRL_SUBSCRIBE);
    assert.equal(mapGenericRights(GENERIC_EXECUTE), FWPM_GENERIC_EXECUTE);
  });

  it("GENERIC_WRITE = STANDARD_RIGHTS_WRITE | DELETE | ADD | ADD_LINK | BEGIN_WRITE_TXN | WRITE", () => {
    const expected =
      READ_CONTROL | DELETE | FWPM_ACTRL_ADD | FWPM_ACTRL_ADD_LINK | FWPM_ACTRL_BEGIN_WRITE_TXN | FWPM_ACTRL_WRITE;
    assert.equal(FWPM_GENERIC_WRITE, expected);
    assert.equal(mapGenericRights(GENERIC_WRITE), expected);
  });

  it("GENERIC_ALL = STANDARD_RIGHTS_REQUIRED | every specific right", () => {
    assert.equal(FWPM_ACTRL_ALL, 0x7ff);
    assert.equal(FWPM_GENERIC_ALL, STANDARD_RIGHTS_REQUIRED | FWPM_ACTRL_ALL);
    assert.equal(mapGenericRights(GENERIC_ALL), FWPM_GENERIC_ALL);
  });

  it("non-generic bits pass through and the result is unsigned", () => {
    assert.equal(mapGenericRights(FWPM_ACTRL_ADD | WRITE_DAC), FWPM_ACTRL_ADD | WRITE_DAC);
    assert.equal(mapGenericRights(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE), 0x307ff);
  });
});

describe("right names", () => {
  it("names specific, standard and unknown bits", () => {
    assert.deepEqual(accessRightNames(FWPM_ACTRL_ADD | FWPM_ACTRL_ADD_LINK | DELETE | 0x0100_0000), [
      "FWPM_ACTRL_ADD",
      "FWPM_ACTRL_ADD_LINK",
      "DELETE",
      "0x1000000",
    ]);
  });
});
