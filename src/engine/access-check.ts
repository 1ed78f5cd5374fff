/**
 * The access check behind an FWP_SECURITY_DESCRIPTOR_TYPE condition on a token field (e.g.
 * ALE_USER_ID): the condition is true iff the token is granted FWP_ACTRL_MATCH_FILTER (0x1) by the
 * descriptor's DACL (§A.3 row EQUAL). A grant only makes the condition true; it permits nothing.
 *
 * Model of the check (MS-DTYP §2.5.3.2, reduced to one right): a null DACL grants everything, an empty
 * DACL nothing; ACEs are read in order, inherit-only ACEs skipped; an access-denied ACE whose SID the
 * token holds (enabled or deny-only) denies; an access-allowed ACE whose SID the token holds enabled
 * grants. GENERIC_ALL (0x10000000) counts as every right. A token with restricted SIDs must also be
 * granted by a second pass over the restricted SIDs.
 * Conditional (callback) ACEs, XA / XD: the engine has no claims, attributes or package identity to
 * evaluate a condition against (e.g. `WIN://SYSAPPID Contains "…"` needs the app's package identity), so
 * every condition counts as UNKNOWN, and MS-DTYP §2.4.4.17.3 says what UNKNOWN does: an allow callback
 * ACE is not applicable (skipped, it grants nothing) and a deny callback ACE applies (it denies).
 * Sources: https://learn.microsoft.com/windows/win32/fwp/access-control (FWP_ACTRL_MATCH_FILTER),
 * https://learn.microsoft.com/windows/win32/secauthz/how-dacls-control-access-to-an-object,
 * https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/a7a7c600-5a5f-4391-b6fe-d073ce8e8a77 (§2.4.4.17.3)
 */
import type { FwpTokenInformation, SecurityDescriptor, SidAndAttributes } from "../fwp/index.ts";

/** FWP_ACTRL_MATCH_FILTER. */
const MATCH_FILTER = 0x1;
const GENERIC_ALL = 0x10000000;
const INHERIT_ONLY_ACE = 0x8;
const SE_GROUP_ENABLED = 0x4;
const SE_GROUP_USE_FOR_DENY_ONLY = 0x10;

function sameSid(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * How the token holds `sid`: 2 = enabled (counts for allow and deny), 1 = deny-only, 0 = not held.
 * The user SID entry carries attributes 0 and counts as enabled; a group entry counts when
 * SE_GROUP_ENABLED is set.
 */
function holds(sids: readonly SidAndAttributes[], sid: Uint8Array): 0 | 1 | 2 {
  let best: 0 | 1 | 2 = 0;
  for (const entry of sids) {
    if (!sameSid(entry.sid, sid)) continue;
    const a = entry.attributes;
    if ((a & SE_GROUP_USE_FOR_DENY_ONLY) !== 0) best = best === 2 ? 2 : 1;
    else if (a === 0 || (a & SE_GROUP_ENABLED) !== 0) return 2;
    else best = best === 2 ? 2 : 1;
  }
  return best;
}

function grantedTo(sd: SecurityDescriptor, sids: readonly SidAndAttributes[]): boolean {
  const dacl = sd.dacl;
  if (dacl === null) return true;
  for (const ace of dacl) {
    if ((ace.flags & INHERIT_ONLY_ACE) !== 0) continue;
    if ((ace.mask & (MATCH_FILTER | GENERIC_ALL)) === 0) continue;
    // An allow ACE with a condition is skipped: its condition is UNKNOWN here (see the module comment).
    if (ace.condition !== undefined && ace.type === "A") continue;
    const held = holds(sids, ace.sid);
    if (held === 0) continue;
    if (ace.type === "D") return false;
    if (held === 2) return true;
  }
  return false;
}

/** True when the token is granted FWP_ACTRL_MATCH_FILTER by the descriptor. */
export function tokenMatchesSecurityDescriptor(token: FwpTokenInformation, sd: SecurityDescriptor): boolean {
  if (!grantedTo(sd, token.sids)) return false;
  return token.restrictedSids.length === 0 || grantedTo(sd, token.restrictedSids);
}
