import assert from "node:assert/strict";
import { test } from "node:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SeededRng } from "../../base/index.ts";
import { PolicySyntaxError, parseJsonText, parseJsonTextStrict, parsePolicyText, parseYamlText } from "./syntax.ts";

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

test("the JSON.parse fast path gives the strict reader's data, or leaves the text to it", () => {
  const rng = new SeededRng(5);
  const pieces = ['"', '\\"', ":", "{", "}", ",", "\\\\", "é", "\\u003a", "x"];
  const text = (): string => {
    let out = "";
    for (let i = rng.nextInt(6); i > 0; i--) out += rng.pick(pieces).replace(/^"$/, '\\"');
    return JSON.stringify(out).slice(1, -1);
  };
  const value = (depth: number): string => {
    const k = rng.nextInt(depth > 4 ? 3 : 6);
    if (k === 0) return `"${text()}"`;
    if (k === 1)
      return rng.pick(["0", "-0", "12", "1.5e3", "123456789012345", "1234567890123456", "18446744073709551615"]);
    if (k === 2) return rng.pick(["true", "false", "null"]);
    if (k === 3) return `[${Array.from({ length: rng.nextInt(4) }, () => value(depth + 1)).join(", ")}]`;
    const names = Array.from({ length: rng.nextInt(4) }, () => rng.pick(["a", "b", "c:d", "__proto__", text()]));
    return `{${names.map((n) => `"${n}": ${value(depth + 1)}`).join(",\n")}}`;
  };
  const same = (t: string): void => {
    let strict: unknown;
    let strictError: unknown;
    try {
      strict = parseJsonTextStrict(t);
    } catch (e) {
      strictError = e;
    }
    if (strictError !== undefined) {
      assert.throws(
        () => parseJsonText(t),
        (e: unknown) => String(e) === String(strictError),
        t,
      );
    } else {
      assert.deepEqual(parseJsonText(t), strict, t);
    }
  };
  for (let i = 0; i < 3000; i++) same(value(0));
  same('{"a": {"b": 1, "b": 2}}');
  same('\uFEFF{"a": [1, 2]}');
  same(`${"[".repeat(100)}${"]".repeat(100)}`);
  const policies = join(import.meta.dirname, "../../../examples/policies");
  for (const name of readdirSync(policies).filter((n) => n.endsWith(".json"))) {
    same(readFileSync(join(policies, name), "utf8"));
  }
});
