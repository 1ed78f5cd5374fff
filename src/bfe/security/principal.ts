/**
 * Principals: who opens a BFE session — a user SID, the group SIDs of its token and whether the caller is
 * a kernel-mode driver (which skips every access check, wfp-semantics.md H43). Well-known SIDs follow
 * MS-DTYP §2.4.2.4; service SIDs are derived as Windows derives "NT SERVICE\<name>": S-1-5-80 followed
 * by the SHA-1 of the upper-case service name in UTF-16LE, read as five little-endian 32-bit
 * sub-authorities.
 * Sources: https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/81d92bba-d22b-4a8c-908a-554ab29148ab
 * (well-known SIDs), https://learn.microsoft.com/windows/win32/secauthz/well-known-sids.
 */
import { createHash } from "node:crypto";
import { formatSid, tryParseSid } from "../../fwp/index.ts";

export interface Principal {
  /** The user SID, "S-1-…" text. */
  readonly sid: string;
  /** Group SIDs of the caller's token (Everyone, S-1-1-0, is implied for every principal). */
  readonly groups: readonly string[];
  /** A kernel-mode caller: every access check is skipped (H43). */
  readonly kernelMode?: boolean;
  /** Account name for display (`DOMAIN\user`). */
  readonly name?: string;
}

/** S-1-1-0 — in every logon token, so implied for every principal. */
export const SID_EVERYONE = "S-1-1-0";
/** S-1-3-0 — CREATOR OWNER (placeholder in inheritable ACEs). */
export const SID_CREATOR_OWNER = "S-1-3-0";
/** S-1-3-4 — OWNER RIGHTS: when the DACL names it, it replaces the owner's implicit rights. */
export const SID_OWNER_RIGHTS = "S-1-3-4";
export const SID_AUTHENTICATED_USERS = "S-1-5-11";
export const SID_LOCAL_SYSTEM = "S-1-5-18";
/** S-1-5-19 — NT AUTHORITY\LocalService, the account the BFE service runs as. */
export const SID_LOCAL_SERVICE = "S-1-5-19";
export const SID_ADMINISTRATORS = "S-1-5-32-544";
export const SID_USERS = "S-1-5-32-545";
export const SID_NETWORK_CONFIGURATION_OPERATORS = "S-1-5-32-556";

/** The SID of a Windows service ("NT SERVICE\<name>"): S-1-5-80 + SHA-1(UTF-16LE(upper-case name)). */
export function serviceSid(serviceName: string): string {
  const digest = createHash("sha1").update(Buffer.from(serviceName.toUpperCase(), "utf16le")).digest();
  const subs: number[] = [];
  for (let i = 0; i < 5; i++) subs.push(digest.readUInt32LE(4 * i));
  return `S-1-5-80-${subs.join("-")}`;
}

/** A machine-local account domain for the sample principals (S-1-5-21-<machine>-<rid>). */
const SAMPLE_DOMAIN = "S-1-5-21-3623811015-3361044348-30300820";

/** LocalSystem: the SYSTEM account, member of Administrators, as services such as BFE itself run. */
export const LOCAL_SYSTEM: Principal = Object.freeze({
  sid: SID_LOCAL_SYSTEM,
  groups: Object.freeze([SID_ADMINISTRATORS, SID_EVERYONE, SID_AUTHENTICATED_USERS]),
  name: "NT AUTHORITY\\SYSTEM",
});

/** An elevated local administrator (member of BUILTIN\Administrators). */
export const ADMINISTRATOR: Principal = Object.freeze({
  sid: `${SAMPLE_DOMAIN}-500`,
  groups: Object.freeze([SID_ADMINISTRATORS, SID_USERS, SID_EVERYONE, SID_AUTHENTICATED_USERS]),
  name: "WORKSTATION\\Administrator",
});

/** A member of BUILTIN\Network Configuration Operators (GR|GW|GX on the engine by default). */
export const NETWORK_CONFIG_OPERATOR: Principal = Object.freeze({
  sid: `${SAMPLE_DOMAIN}-1001`,
  groups: Object.freeze([SID_NETWORK_CONFIGURATION_OPERATORS, SID_USERS, SID_EVERYONE, SID_AUTHENTICATED_USERS]),
  name: "WORKSTATION\\netops",
});

/** A plain interactive user: only what Everyone gets (OPEN|CLASSIFY on the engine by default). */
export const EVERYONE_USER: Principal = Object.freeze({
  sid: `${SAMPLE_DOMAIN}-1002`,
  groups: Object.freeze([SID_USERS, SID_EVERYONE, SID_AUTHENTICATED_USERS]),
  name: "WORKSTATION\\user",
});

/** A kernel-mode caller (a callout driver calling Fwpm* from the kernel). */
export const KERNEL_MODE: Principal = Object.freeze({
  sid: SID_LOCAL_SYSTEM,
  groups: Object.freeze([SID_ADMINISTRATORS, SID_EVERYONE]),
  kernelMode: true,
  name: "kernel",
});

/** "S-1-…" text in the form formatSid prints (the form ACE SIDs are compared in); throws on non-SIDs. */
export function canonicalSid(text: string): string {
  const bytes = tryParseSid(text);
  if (bytes === undefined) throw new TypeError(`not a SID: ${JSON.stringify(text)}`);
  return formatSid(bytes);
}

/** A principal from a user SID and its groups (SIDs validated and kept in canonical form). */
export function makePrincipal(
  sid: string,
  groups: readonly string[] = [],
  options: { name?: string; kernelMode?: boolean } = {},
): Principal {
  return Object.freeze({
    sid: canonicalSid(sid),
    groups: Object.freeze(groups.map(canonicalSid)),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.kernelMode === undefined ? {} : { kernelMode: options.kernelMode }),
  });
}

const SIDS_OF = new WeakMap<Principal, ReadonlySet<string>>();

function canonicalOrSelf(text: string): string {
  const bytes = tryParseSid(text);
  return bytes === undefined ? text : formatSid(bytes);
}

/** Every SID that ACEs are matched against: the user, its groups, and Everyone (canonical text). */
export function principalSids(principal: Principal): ReadonlySet<string> {
  let sids = SIDS_OF.get(principal);
  if (sids === undefined) {
    sids = new Set<string>([principal.sid, ...principal.groups, SID_EVERYONE].map(canonicalOrSelf));
    SIDS_OF.set(principal, sids);
  }
  return sids;
}

/** True when the principal's token holds BUILTIN\Administrators (always gets OPEN and may take ownership, H43). */
export function isAdministrator(principal: Principal): boolean {
  return principalSids(principal).has(SID_ADMINISTRATORS);
}
