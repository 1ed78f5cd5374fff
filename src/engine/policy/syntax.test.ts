import assert from "node:assert/strict";
import { test } from "node:test";
import { PolicySyntaxError, parseJsonText, parsePolicyText, parseYamlText } from "./syntax.ts";

function syntaxError(f: () => unknown): PolicySyntaxError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof PolicySyntaxError, `expected PolicySyntaxError, got ${String(e)}`);
    return e;
  }
  assert.fail("no error");
}

test("JSON parses like JSON.parse on well-formed input", () => {
  const text = '{"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9\\"/"], "b": {}, "c": []}';
  assert.deepEqual(parseJsonText(text), JSON.parse(text));
});

test("JSON integers beyond 2^53 stay exact as bigints", () => {
  const v = parseJsonText('{"w": 18446744073709551615, "s": 9007199254740991}') as Record<string, unknown>;
  assert.equal(v.w, 18446744073709551615n);
  assert.equal(v.s, 9007199254740991);
});

test("JSON errors carry line and column", () => {
  const e = syntaxError(() => parseJsonText('{\n  "a": 1,\n  "b" 2\n}'));
  assert.equal(e.line, 3);
  assert.equal(e.column, 7);
  assert.equal(e.code, "E_POLICY_SYNTAX");
  assert.match(e.message, /line 3, column 7: Expected ':'/);
});

test("JSON trailing comma, unterminated string and trailing text are errors", () => {
  assert.equal(syntaxError(() => parseJsonText('{"a": 1,}')).column, 9);
  assert.equal(syntaxError(() => parseJsonText('{"a": "x')).column, 7);
  assert.equal(syntaxError(() => parseJsonText("[1] 2")).column, 5);
  assert.match(syntaxError(() => parseJsonText("")).message, /Expected a value/);
  assert.match(syntaxError(() => parseJsonText("01")).message, /Malformed number/);
});

test("JSON duplicate member names are rejected at the second name", () => {
  const e = syntaxError(() => parseJsonText('{"a": 1,\n "a": 2}'));
  assert.equal(e.line, 2);
  assert.equal(e.column, 2);
  assert.match(e.message, /Duplicate member name "a"/);
});

test("JSON nesting is bounded", () => {
  assert.match(syntaxError(() => parseJsonText("[".repeat(300))).message, /Nesting deeper/);
});

test("a __proto__ member is plain data", () => {
  const v = parseJsonText('{"__proto__": {"x": 1}}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(v), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal((v as { x?: unknown }).x, undefined);
});

test("YAML reads the same data and reports line and column", () => {
  const v = parseYamlText("a:\n  - 1\n  - x\nw: 18446744073709551615\n");
  assert.deepEqual(v, { a: [1, "x"], w: 18446744073709551615n });
  const e = syntaxError(() => parseYamlText("a: 1\na: 2\n"));
  assert.equal(e.format, "yaml");
  assert.equal(e.line, 2);
  assert.equal(e.column, 1);
});

test("the format is sniffed from the first character", () => {
  assert.deepEqual(parsePolicyText(' {"a": 1}'), { a: 1 });
  assert.deepEqual(parsePolicyText("a: 1"), { a: 1 });
  // YAML would accept a single-quoted string; forced JSON does not.
  assert.equal(syntaxError(() => parsePolicyText("['x']", "json")).format, "json");
});
