/**
 * ProcessFacts from what a scenario or a caller says about a process: its id, its Win32 image path and
 * its user. The app id is formed as FwpmGetAppIdFromFileName0 forms it (G16), or the literal `System`
 * for the kernel's own traffic (G17, process id 4 by convention); the token holds the user SID and any
 * group SIDs (SE_GROUP_ENABLED); a desktop app's package SID is the null SID S-1-0-0 (G14).
 */
import {
  type AppIdOptions,
  appIdFromFileName,
  parseSid,
  SYSTEM_APP_ID_TEXT,
  utf16leNulTerminated,
} from "../fwp/index.ts";
import type { ProcessFacts } from "./facts.ts";

/** SE_GROUP_ENABLED. */
const SE_GROUP_ENABLED = 0x4;

export interface ProcessSpec {
  readonly processId: number | bigint;
  /** A Win32 path (`C:\Program Files\App\app.exe`), or "System" for the kernel. */
  readonly imagePath: string;
  /** The token's user, e.g. "S-1-5-21-1-2-3-1001"; default LocalSystem (S-1-5-18). */
  readonly userSid?: string;
  /** Enabled groups of the token (e.g. "S-1-5-32-544" for Administrators). */
  readonly groupSids?: readonly string[];
  /** An AppContainer SID; default the null SID. */
  readonly packageSid?: string;
  readonly appIdOptions?: AppIdOptions;
}

/** The facts of a process; throws FwpError (FWP_E_INVALID_PARAMETER) for a bad path or SID. */
export function processFacts(spec: ProcessSpec): ProcessFacts {
  const isSystem = spec.imagePath === SYSTEM_APP_ID_TEXT;
  const appId = isSystem
    ? utf16leNulTerminated(SYSTEM_APP_ID_TEXT)
    : appIdFromFileName(spec.imagePath, spec.appIdOptions);
  const user = spec.userSid ?? "S-1-5-18";
  return {
    processId: BigInt(spec.processId),
    imagePath: spec.imagePath,
    appId,
    token: {
      sids: [
        { sid: parseSid(user), attributes: 0 },
        ...(spec.groupSids ?? []).map((s) => ({ sid: parseSid(s), attributes: SE_GROUP_ENABLED })),
      ],
      restrictedSids: [],
    },
    packageSid: parseSid(spec.packageSid ?? "S-1-0-0"),
  };
}
