import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { OpenWfpError } from "../base/errors.ts";
import { FWP_ERRORS, FwpError, fwpErrorByHresult, fwpErrorInfo, isFwpError, isFwpErrorName } from "./error.ts";

const REF = process.env.OPENWFP_REFERENCE_DIR ?? fileURLToPath(new URL("../../../shared/reference/", import.meta.url));
const errorsJson = JSON.parse(readFileSync(join(REF, "errors.json"), "utf8")) as {
  errors: { name: string; hex: string; ntstatusHex: string; meaning: string }[];
};
const jsonError = (name: string) => {
  const e = errorsJson.errors.find((x) => x.name === name);
  assert.ok(e !== undefined, name);
  return e;
};

describe("FwpError", () => {
  it("FWP_E_ALREADY_EXISTS carries the HRESULT and NTSTATUS of errors.json", () => {
    const e = new FwpError("FWP_E_ALREADY_EXISTS", { path: "filters[3]", detail: "Filter key in use." });
    assert.equal(e.code, "FWP_E_ALREADY_EXISTS");
    assert.equal(e.hresult, Number(jsonError("FWP_E_ALREADY_EXISTS").hex));
    assert.equal(e.hresult, 0x80320009);
    assert.equal(e.ntstatus, Number(jsonError("FWP_E_ALREADY_EXISTS").ntstatusHex));
    assert.equal(e.path, "filters[3]");
    assert.equal(e.detail, "Filter key in use.");
    assert.equal(e.name, "FwpError");
    assert.ok(e instanceof OpenWfpError && e instanceof Error);
    assert.equal(
      e.message,
      `FWP_E_ALREADY_EXISTS: ${jsonError("FWP_E_ALREADY_EXISTS").meaning} Filter key in use. (at filters[3])`,
    );
  });

  it("every FWP_E_* name builds an error with its own HRESULT", () => {
    for (const j of errorsJson.errors) {
      assert.ok(isFwpErrorName(j.name));
      const e = new FwpError(j.name);
      assert.equal(e.hresult, Number(j.hex), j.name);
      assert.equal(e.path, undefined);
      assert.ok(e.message.startsWith(`${j.name}: `));
    }
    assert.equal(FWP_ERRORS.length, errorsJson.errors.length);
  });

  it("an unknown name is a type error and, forced through, a TypeError", () => {
    // @ts-expect-error FWP_E_INVALID_CONDITION is not an FWP_E_* name.
    assert.throws(() => new FwpError("FWP_E_INVALID_CONDITION", { path: "filters[3].conditions[1]" }), TypeError);
    assert.equal(isFwpErrorName("FWP_E_INVALID_CONDITION"), false);
  });

  it("looks up by HRESULT, signed or unsigned, and by name", () => {
    assert.equal(fwpErrorByHresult(0x80320027)?.name, "FWP_E_TYPE_MISMATCH");
    assert.equal(fwpErrorByHresult(0x80320027 | 0)?.name, "FWP_E_TYPE_MISMATCH");
    assert.equal(fwpErrorByHresult(0x80070005), undefined);
    assert.equal(fwpErrorInfo("FWP_E_TIMEOUT").hresult, Number(jsonError("FWP_E_TIMEOUT").hex));
  });

  it("isFwpError narrows by code", () => {
    const e = new FwpError("FWP_E_IN_USE", { cause: new Error("inner") });
    assert.equal(isFwpError(e, "FWP_E_IN_USE"), true);
    assert.equal(isFwpError(e, "FWP_E_NOT_FOUND"), false);
    assert.equal(isFwpError(new Error("x")), false);
    assert.equal((e.cause as Error).message, "inner");
  });
});
