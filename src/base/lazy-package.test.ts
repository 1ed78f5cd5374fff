import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as Yaml from "yaml";
import { lazyPackage } from "./lazy-package.ts";

describe("lazyPackage", () => {
  it("loads the package on first call and returns the same module after", () => {
    const yaml = lazyPackage<typeof Yaml>("yaml");
    const a = yaml();
    assert.equal(typeof a.parseDocument, "function");
    assert.equal(yaml(), a);
    assert.equal(a.parseDocument("x: 1").toJS().x, 1);
  });
  it("throws the loader's error for a package that is not installed, on call, not on creation", () => {
    const missing = lazyPackage("openwfp-no-such-package");
    assert.throws(() => missing(), /Cannot find module 'openwfp-no-such-package'/);
  });
});
