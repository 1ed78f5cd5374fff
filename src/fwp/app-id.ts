/**
 * Application ids (FWPM_CONDITION_ALE_APP_ID values) formed the way FwpmGetAppIdFromFileName0 forms
 * them (wfp-semantics.md §G.4, rule G16): the Win32 path becomes the NT device path, lower-cased,
 * encoded UTF-16LE, with the terminating NUL counted in the blob:
 * `C:\Windows\System32\svchost.exe` → `\device\harddiskvolume2\windows\system32\svchost.exe` + NUL
 * (53 code units, 106 bytes). The kernel's own traffic uses the literal `System` (G17, not lower-cased).
 *
 * Which volume a drive letter lives on is a fact of the machine, so the drive → device mapping is
 * injectable (`driveDevices`); the documented default puts C: on HarddiskVolume2 as in G16's example and
 * each following letter on the next volume (D: → 3 … Z: → 25). A: and B: have no default.
 * Source: https://learn.microsoft.com/windows/win32/api/fwpmu/nf-fwpmu-fwpmgetappidfromfilename0
 */
import { FwpError } from "./error.ts";

/** Drive ("C:", any case) → NT device path ("\\Device\\HarddiskVolume3"). Entries override the default. */
export type DriveDevices = Readonly<Record<string, string>>;

export interface AppIdOptions {
  readonly driveDevices?: DriveDevices;
  /** Path in the input, for errors. */
  readonly path?: string;
}

/** The default device of a drive letter: C: → \device\harddiskvolume2, D: → …3, …; A:/B: → undefined. */
export function defaultDriveDevice(drive: string): string | undefined {
  const m = /^([a-zA-Z]):$/.exec(drive);
  if (m === null) return undefined;
  const index = (m[1] ?? "").toUpperCase().charCodeAt(0) - 65;
  return index >= 2 ? `\\device\\harddiskvolume${index}` : undefined;
}

/** The app id of the kernel/System process (G17): "System" + NUL, UTF-16LE, case kept. */
export const SYSTEM_APP_ID_TEXT = "System";

/** UTF-16LE bytes of `text` followed by a NUL code unit. */
export function utf16leNulTerminated(text: string): Uint8Array {
  const out = new Uint8Array(2 * (text.length + 1));
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 * i] = unit & 0xff;
    out[2 * i + 1] = unit >>> 8;
  }
  return out;
}

/**
 * The string in a UTF-16LE blob that ends in exactly one NUL code unit (an app id or other WFP string
 * blob); undefined when the blob is not such a string (odd length, no final NUL, or an inner NUL).
 */
export function utf16leNulTerminatedToString(blob: Uint8Array): string | undefined {
  if (blob.length < 2 || blob.length % 2 !== 0) return undefined;
  const units = blob.length / 2 - 1;
  if (blob[2 * units] !== 0 || blob[2 * units + 1] !== 0) return undefined;
  let text = "";
  for (let i = 0; i < units; i++) {
    const unit = (blob[2 * i] ?? 0) | ((blob[2 * i + 1] ?? 0) << 8);
    if (unit === 0) return undefined;
    text += String.fromCharCode(unit);
  }
  return text;
}

/** The app id for an NT path that is already resolved (`\device\…`): lower-cased, UTF-16LE, NUL-terminated. */
export function appIdFromNtPath(ntPath: string): Uint8Array {
  return utf16leNulTerminated(ntPath.toLowerCase());
}

/**
 * The app id of a Win32 file name, as FwpmGetAppIdFromFileName0 builds it: `C:\x` (or `C:/x`,
 * `\\?\C:\x`) through the drive map, `\\server\share\x` (or `\\?\UNC\…`) under `\device\mup`,
 * `\device\…` as given; `.` and `..` segments and repeated separators are resolved as GetFullPathName
 * does. A relative path or unmapped drive is FWP_E_INVALID_PARAMETER (Windows would fail to open it).
 */
export function appIdFromFileName(fileName: string, options: AppIdOptions = {}): Uint8Array {
  return appIdFromNtPath(ntPathOfFileName(fileName, options));
}

/** The NT device path of a Win32 file name (before lower-casing); see appIdFromFileName. */
export function ntPathOfFileName(fileName: string, options: AppIdOptions = {}): string {
  const fail = (why: string): never => {
    throw new FwpError("FWP_E_INVALID_PARAMETER", {
      detail: `Cannot form an app id from ${JSON.stringify(fileName)}: ${why}.`,
      ...(options.path === undefined ? {} : { path: options.path }),
    });
  };
  let p = fileName.trim().replace(/\//g, "\\");
  if (/^\\\\[?.]\\UNC\\/i.test(p)) p = `\\\\${p.slice(8)}`;
  else if (/^\\\\[?.]\\[a-zA-Z]:/.test(p)) p = p.slice(4);
  let prefix: string;
  let rest: string;
  const drive = /^([a-zA-Z]:)(\\.*)?$/.exec(p);
  if (drive !== null) {
    const letter = (drive[1] ?? "").toUpperCase();
    const device = lookupDrive(letter, options.driveDevices) ?? fail(`no device is known for drive ${letter}`);
    if (drive[2] === undefined) fail("a drive-relative path is not a file name");
    prefix = device.replace(/\\+$/, "");
    rest = drive[2] ?? "";
  } else if (p.startsWith("\\\\")) {
    const parts = p.slice(2).split("\\");
    if (parts.length < 3 || parts[0] === "" || parts[1] === "") fail("a UNC path needs \\\\server\\share\\file");
    prefix = `\\device\\mup\\${parts[0]}\\${parts[1]}`;
    rest = `\\${parts.slice(2).join("\\")}`;
  } else if (/^\\device\\/i.test(p)) {
    const parts = p.split("\\");
    prefix = `\\${parts[1]}\\${parts[2] ?? ""}`;
    rest = `\\${parts.slice(3).join("\\")}`;
  } else {
    return fail("the path is not absolute (expected C:\\…, \\\\server\\share\\… or \\device\\…)");
  }
  const segments: string[] = [];
  for (const segment of rest.split("\\")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  if (segments.length === 0) fail("the path names no file");
  return `${prefix}\\${segments.join("\\")}`;
}

function lookupDrive(letter: string, devices: DriveDevices | undefined): string | undefined {
  if (devices !== undefined) {
    for (const [drive, device] of Object.entries(devices)) {
      if (drive.toUpperCase().replace(/:?$/, ":") === letter) return device;
    }
  }
  return defaultDriveDevice(letter);
}
