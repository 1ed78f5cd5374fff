/**
 * ProcessFacts from what a scenario or a caller says about a process: its id, its Win32 image path and
 * its user. The app id is formed as FwpmGetAppIdFromFileName0 forms it (G16), or the literal `System`
 * for the kernel's own traffic (G17, process id 4 by convention); the token holds the user SID, the
 * standard groups of a logon token (Everyone, Authenticated Users, …) and any group SIDs given
 * (SE_GROUP_ENABLED); a desktop app's package SID is the null SID S-1-0-0 (G14).
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
  /**
   * Add the groups every logon token of this kind holds (default true): Everyone (S-1-1-0) and
   * Authenticated Users (S-1-5-11) always; Administrators (S-1-5-32-544) for LocalSystem; Users
   * (S-1-5-32-545), Interactive (S-1-5-4) and Local (S-1-2-0) for other users.
   */
  readonly standardGroups?: boolean;
}

const SYSTEM_SIDS = new Set(["S-1-5-18", "S-1-5-19", "S-1-5-20"]);

function standardGroupsOf(user: string): string[] {
  const common = ["S-1-1-0", "S-1-5-11"];
  if (SYSTEM_SIDS.has(user)) return user === "S-1-5-18" ? [...common, "S-1-5-32-544"] : [...common, "S-1-5-32-545"];
  return [...common, "S-1-5-32-545", "S-1-5-4", "S-1-2-0"];
}

/** The facts of a process; throws FwpError (FWP_E_INVALID_PARAMETER) for a bad path or SID. */
export function processFacts(spec: ProcessSpec): ProcessFacts {
  const isSystem = spec.imagePath === SYSTEM_APP_ID_TEXT;
  const appId = isSystem
    ? utf16leNulTerminated(SYSTEM_APP_ID_TEXT)
    : appIdFromFileName(spec.imagePath, spec.appIdOptions);
  const user = spec.userSid ?? "S-1-5-18";
  const groups = [...(spec.standardGroups === false ? [] : standardGroupsOf(user)), ...(spec.groupSids ?? [])].filter(
    (g, i, all) => g !== user && all.indexOf(g) === i,
  );
  return {
    processId: BigInt(spec.processId),
    imagePath: spec.imagePath,
    appId,
    token: {
      sids: [
        { sid: parseSid(user), attributes: 0 },
        ...groups.map((s) => ({ sid: parseSid(s), attributes: SE_GROUP_ENABLED })),
      ],
      restrictedSids: [],
    },
    packageSid: parseSid(spec.packageSid ?? "S-1-0-0"),
  };
}
