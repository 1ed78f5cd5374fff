import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { allowedForTests, checkImports, folderOf, listImports } from "./import-rules.ts";

const root = join(import.meta.dirname, "..");

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "openwfp-imports-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("import direction (ARCHITECTURE.md table)", () => {
  it("the repository breaks no import rule", () => {
    assert.deepEqual(checkImports(root), []);
  });

  it("finds an upward import", () => {
    const dir = tree({
      "src/base/a.ts": 'import { x } from "../wire/b.ts";\n',
      "src/wire/b.ts": "export const x = 1;\n",
    });
    const v = checkImports(dir);
    assert.equal(v.length, 1);
    assert.match(v[0]?.reason ?? "", /src\/base may not import src\/wire/);
  });

  it("allows a downward import and lists dynamic imports", () => {
    const dir = tree({
      "src/wire/a.ts": 'import { x } from "../base/b.ts";\nexport const y = x;\n',
      "src/base/b.ts": "export const x = 1;\n",
    });
    assert.deepEqual(checkImports(dir), []);
    assert.deepEqual(listImports('const m = await import("./z.ts");'), ["./z.ts"]);
  });

  it("front ends use public entry points only", () => {
    const dir = tree({
      "src/cli/a.ts": 'import { x } from "../wire/ipv4.ts";\n',
      "src/wire/ipv4.ts": "export const x = 1;\n",
    });
    assert.match(checkImports(dir)[0]?.reason ?? "", /through src\/wire\/index.ts/);
  });

  it("tests may import any lower folder, code only its direct ones, and nothing may import upward", () => {
    const dir = tree({
      "src/stack/a.test.ts": 'import { x } from "../engine/e.ts";\n',
      "src/stack/b.ts": 'import { x } from "../engine/e.ts";\n',
      "src/shim/c.test.ts": 'import { y } from "../stack/s.ts";\n',
      "src/engine/e.ts": "export const x = 1;\n",
      "src/stack/s.ts": "export const y = 1;\n",
    });
    const reasons = checkImports(dir).map((v) => `${v.file}: ${v.reason}`);
    assert.deepEqual(reasons.sort(), [
      "src/shim/c.test.ts: src/shim may not import src/stack",
      "src/stack/b.ts: src/stack may not import src/engine",
    ]);
    assert.ok(allowedForTests("src/stack").includes("src/engine"));
    assert.ok(!allowedForTests("src/engine").includes("src/shim"));
  });

  it("maps paths to folders", () => {
    assert.equal(folderOf("src/engine/classify.ts"), "src/engine");
    assert.equal(folderOf("bench/run.ts"), "bench");
    assert.equal(folderOf("tools/gen.ts"), undefined);
  });
});
