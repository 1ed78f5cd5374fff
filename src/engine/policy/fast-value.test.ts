import assert from "node:assert/strict";
import { test } from "node:test";
import { SeededRng } from "../../base/rng.ts";
import { type FwpDataTypeName, parseConditionValue } from "../../fwp/index.ts";
import { fastConditionValue } from "./fast-value.ts";

const TYPES: readonly FwpDataTypeName[] = [
  "FWP_UINT8",
  "FWP_UINT16",
  "FWP_UINT32",
  "FWP_UINT64",
  "FWP_INT32",
  "FWP_BYTE_ARRAY16_TYPE",
];

const EDGES = [
  "0",
  "00",
  "007",
  "80",
  "255",
  "256",
  "65535",
  "65536",
  "4294967295",
  "4294967296",
  "99999999999",
  "0.0.0.0",
  "255.255.255.255",
  "256.1.1.1",
  "1.2.3",
  "1.2.3.4.5",
  "1..2.3",
  "1.2.3.",
  ".1.2.3",
  "01.2.3.4",
  "1.2.3.04",
  "10.0.0.1",
  " 10.0.0.1",
  "10.0.0.1 ",
  "+1",
  "-1",
  "1-2",
  "10.0.0.0/8",
  "10.0.0.1-10.0.0.9",
  "tcp",
  "0x50",
  "::1",
  "1.2.3.4a",
  "",
];

function seededText(rng: SeededRng): string {
  const alphabet = "0123456789.....  -/:x";
  let t = "";
  const n = 1 + rng.nextInt(16);
  for (let i = 0; i < n; i++) t += alphabet[rng.nextInt(alphabet.length)];
  if (rng.chance(0.5)) {
    t = Array.from({ length: rng.chance(0.8) ? 4 : 3 + rng.nextInt(3) }, () => String(rng.nextInt(300))).join(".");
  }
  return t;
}

/** parseConditionValue's value, or the code of its error. */
function general(type: FwpDataTypeName, text: string): unknown {
  try {
    return parseConditionValue(type, text);
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

test("fast condition values are parseConditionValue's values, and every other text is left to it", () => {
  const rng = new SeededRng(0xfa57);
  const texts = [...EDGES, ...Array.from({ length: 5000 }, () => seededText(rng))];
  let taken = 0;
  for (const type of TYPES) {
    for (const text of texts) {
      const fast = fastConditionValue(type, text);
      if (fast === undefined) continue;
      taken++;
      assert.deepEqual(fast, general(type, text), `${type} ${JSON.stringify(text)}`);
    }
  }
  assert.ok(taken > 1000, `the fast path took ${taken} texts`);
});

test("addresses and ports are read fast; names, ranges, prefixes and blanks are not", () => {
  assert.deepEqual(fastConditionValue("FWP_UINT32", "10.0.0.1"), { type: "FWP_UINT32", value: 0x0a000001 });
  assert.deepEqual(fastConditionValue("FWP_UINT16", "443"), { type: "FWP_UINT16", value: 443 });
  for (const text of ["tcp", "1-2", "10.0.0.0/8", " 80", "01.2.3.4", "65536"]) {
    assert.equal(fastConditionValue("FWP_UINT16", text), undefined, text);
  }
  assert.equal(fastConditionValue("FWP_UINT16", "10.0.0.1"), undefined);
  assert.equal(fastConditionValue("FWP_UINT64", "80"), undefined);
});
