import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { GENERATED_DIR, generateFwp, referenceDir, repositoryRoot } from "./gen-fwp.ts";

describe("gen-fwp", () => {
  it("the committed src/fwp/generated files equal a fresh generation (run `npm run gen` if this fails)", () => {
    const fresh = generateFwp(referenceDir());
    const dir = join(repositoryRoot(), GENERATED_DIR);
    assert.deepEqual(readdirSync(dir).sort(), [...fresh.keys()].sort());
    for (const [name, text] of fresh) {
      assert.equal(readFileSync(join(dir, name), "utf8"), text, `${GENERATED_DIR}/${name} is stale`);
    }
  });

  it("a change in the reference tables changes the output, so a stale commit is caught", () => {
    const copy = mkdtempSync(join(tmpdir(), "openwfp-ref-"));
    cpSync(referenceDir(), copy, { recursive: true });
    const errorsPath = join(copy, "errors.json");
    const errors = JSON.parse(readFileSync(errorsPath, "utf8")) as { errors: { meaning: string }[] };
    const first = errors.errors[0];
    assert.ok(first !== undefined);
    first.meaning = "A changed meaning.";
    writeFileSync(errorsPath, JSON.stringify(errors));
    const changed = generateFwp(copy);
    const original = generateFwp(referenceDir());
    assert.notEqual(changed.get("errors.ts"), original.get("errors.ts"));
    assert.match(changed.get("errors.ts") ?? "", /A changed meaning\./);
    assert.equal(changed.get("layers.ts"), original.get("layers.ts"));
  });

  it("refuses tables that break an invariant (a malformed GUID)", () => {
    const copy = mkdtempSync(join(tmpdir(), "openwfp-ref-"));
    cpSync(referenceDir(), copy, { recursive: true });
    const path = join(copy, "sublayers.json");
    const doc = JSON.parse(readFileSync(path, "utf8")) as { sublayers: { guid: string }[] };
    const first = doc.sublayers[0];
    assert.ok(first !== undefined);
    first.guid = "not-a-guid";
    writeFileSync(path, JSON.stringify(doc));
    assert.throws(() => generateFwp(copy), /not a lower-case GUID/);
  });

  it("generation is deterministic", () => {
    const a = generateFwp(referenceDir());
    const b = generateFwp(referenceDir());
    assert.deepEqual([...a], [...b]);
  });

  it("OPENWFP_REFERENCE_DIR overrides the location and a missing folder fails with a clear message", () => {
    const empty = mkdtempSync(join(tmpdir(), "openwfp-ref-"));
    assert.throws(
      () => referenceDir({ OPENWFP_REFERENCE_DIR: empty }),
      (e: unknown) => e instanceof Error && e.message.includes(empty) && /OPENWFP_REFERENCE_DIR/.test(e.message),
    );
    assert.equal(referenceDir({ OPENWFP_REFERENCE_DIR: referenceDir({}) }), referenceDir({}));
  });

  it("the default location is ../shared/reference beside the repository", () => {
    assert.equal(referenceDir({}), join(repositoryRoot(), "..", "shared", "reference") + "/");
  });
});
