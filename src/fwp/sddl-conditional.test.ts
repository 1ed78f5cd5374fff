import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ConditionNode,
  type ConditionTextContext,
  decodeCondition,
  encodeCondition,
  formatConditionText,
  parseConditionText,
} from "./sddl-conditional.ts";
import { formatSid, parseSid } from "./sid.ts";

const ctx: ConditionTextContext = {
  sidOf: (text) => parseSid(text),
  fail: (detail, offset) => {
    throw new Error(`${detail} @${offset}`);
  },
};

describe("conditional expressions on their own", () => {
  it("parses text to a tree, encodes it postfix, and decodes the same tree", () => {
    const text = 'x;((@User.a == "v") || (!(Exists b)))';
    const { node, end } = parseConditionText(text, 2, ctx);
    assert.equal(end, text.length);
    const expected: ConditionNode = {
      kind: "binary",
      op: "||",
      left: {
        kind: "binary",
        op: "==",
        left: { kind: "attribute", scope: "user", name: "a" },
        right: { kind: "string", value: "v" },
      },
      right: {
        kind: "unary",
        op: "!",
        operand: { kind: "unary", op: "Exists", operand: { kind: "attribute", scope: "local", name: "b" } },
      },
    };
    assert.deepEqual(node, expected);
    const bytes = encodeCondition(node);
    // artx, F9 len 2 "a", 10 len 2 "v", == 0x80, F8 len 2 "b", Exists 0x87, ! 0xA2, || 0xA1, pad to 32.
    assert.deepEqual(
      [...bytes],
      [
        ...[0x61, 0x72, 0x74, 0x78],
        ...[0xf9, 2, 0, 0, 0, 0x61, 0],
        ...[0x10, 2, 0, 0, 0, 0x76, 0],
        0x80,
        ...[0xf8, 2, 0, 0, 0, 0x62, 0],
        0x87,
        0xa2,
        0xa1,
        ...[0, 0, 0],
      ],
    );
    const decoded = decodeCondition(bytes);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.node, expected);
    assert.equal(formatConditionText(decoded.node, formatSid), '((@User.a == "v") || (!(Exists b)))');
  });

  it("integers keep their token width, sign and base from the binary form", () => {
    // int16 literal -7, sign '-' (2), base hexadecimal (3), compared with ==.
    const data = new Uint8Array([
      ...[0x61, 0x72, 0x74, 0x78],
      ...[0xf8, 2, 0, 0, 0, 0x6e, 0],
      ...[0x02, 0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 3],
      0x80,
      0, // 23 bytes → padded to 24
    ]);
    const decoded = decodeCondition(data);
    assert.ok(decoded.ok);
    assert.equal(formatConditionText(decoded.node, formatSid), "(n == -0x7)");
    assert.deepEqual(encodeCondition(decoded.node), data);
  });

  it("decoding arbitrary bytes after the signature never throws", () => {
    let seed = 99;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed >>> 24;
    };
    for (let k = 0; k < 5000; k++) {
      const data = new Uint8Array(4 + (next() % 40));
      data.set([0x61, 0x72, 0x74, 0x78]);
      for (let j = 4; j < data.length; j++)
        data[j] = next() < 128 ? ([0xf8, 0x10, 0x86, 0xa0, 0x50, 0x51, 0x04, 0][next() % 8] ?? 0) : next();
      const r = decodeCondition(data);
      if (r.ok) assert.equal(typeof formatConditionText(r.node, formatSid), "string");
    }
  });
});
