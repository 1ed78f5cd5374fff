import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  appIdFromFileName,
  appIdFromNtPath,
  defaultDriveDevice,
  ntPathOfFileName,
  utf16leNulTerminated,
  utf16leNulTerminatedToString,
} from "./app-id.ts";
import { isFwpError } from "./error.ts";

describe("app id (FwpmGetAppIdFromFileName0, wfp-semantics §G.4)", () => {
  it("C:\\Windows\\System32\\svchost.exe on volume 2 is 53 UTF-16 code units with the NUL: 106 bytes", () => {
    const id = appIdFromFileName("C:\\Windows\\System32\\svchost.exe");
    assert.equal(id.length, 106);
    assert.equal(utf16leNulTerminatedToString(id), "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe");
    assert.deepEqual([...id.subarray(0, 4)], [0x5c, 0, 0x64, 0]); // "\d"
    assert.deepEqual([...id.subarray(104)], [0, 0]);
  });

  it("the drive map is injectable and overrides the default per letter", () => {
    const id = appIdFromFileName("c:/Program Files/App/APP.EXE", {
      driveDevices: { "C:": "\\Device\\HarddiskVolume4" },
    });
    assert.equal(utf16leNulTerminatedToString(id), "\\device\\harddiskvolume4\\program files\\app\\app.exe");
    assert.equal(defaultDriveDevice("D:"), "\\device\\harddiskvolume3");
    assert.equal(defaultDriveDevice("A:"), undefined);
  });

  it("resolves . and .., repeated separators, \\\\?\\ prefixes, UNC and NT device paths", () => {
    assert.equal(ntPathOfFileName("\\\\?\\C:\\a\\.\\b\\..\\\\c.exe"), "\\device\\harddiskvolume2\\a\\c.exe");
    assert.equal(ntPathOfFileName("\\\\srv\\share\\x.exe"), "\\device\\mup\\srv\\share\\x.exe");
    assert.equal(ntPathOfFileName("\\\\?\\UNC\\srv\\share\\x.exe"), "\\device\\mup\\srv\\share\\x.exe");
    assert.equal(ntPathOfFileName("\\Device\\HarddiskVolume7\\x.exe"), "\\Device\\HarddiskVolume7\\x.exe");
  });

  it("relative paths, unmapped drives and paths without a file are FWP_E_INVALID_PARAMETER", () => {
    for (const bad of ["svchost.exe", "A:\\x.exe", "C:x.exe", "C:\\", "\\\\srv", "..\\x.exe"]) {
      assert.throws(
        () => appIdFromFileName(bad, { path: "p" }),
        (e) => isFwpError(e, "FWP_E_INVALID_PARAMETER") && e.path === "p",
        bad,
      );
    }
  });

  it("NT paths are lower-cased; UTF-16 text round-trips and non-strings are refused", () => {
    const id = appIdFromNtPath("\\Device\\X\\Ä.exe");
    assert.equal(utf16leNulTerminatedToString(id), "\\device\\x\\ä.exe");
    assert.deepEqual([...utf16leNulTerminated("System")], [83, 0, 121, 0, 115, 0, 116, 0, 101, 0, 109, 0, 0, 0]);
    assert.equal(utf16leNulTerminatedToString(Uint8Array.from([65, 0])), undefined);
    assert.equal(utf16leNulTerminatedToString(Uint8Array.from([65, 0, 0])), undefined);
    assert.equal(utf16leNulTerminatedToString(Uint8Array.from([0, 0, 65, 0, 0, 0])), undefined);
  });
});
