/**
 * The access check over a DACL, as Windows' AccessCheck evaluates it (MS-DTYP §2.5.3.2): ACEs are walked in
 * order; an inherit-only ACE is skipped; an ACE applies when its SID is in the caller's token; an allow
 * ACE grants its bits that are not yet decided, a deny ACE denies its bits that are not yet granted — so
 * for each right the first applicable ACE that names it decides. A NULL DACL grants everything; an empty
 * DACL grants nothing. The owner implicitly holds READ_CONTROL | WRITE_DAC before the walk (so a deny
 * ACE cannot take them away) unless the DACL names OWNER RIGHTS (S-1-3-4), whose ACEs then apply to the
 * owner instead. Generic bits in ACE masks are mapped through FWPM_GENERIC_* (H41).
 *
 * Inheritance (H40; MS-DTYP §2.5.3.4 "Algorithm for creating a security descriptor"): a container passes
 * on the ACEs flagged CONTAINER_INHERIT (to child containers) or OBJECT_INHERIT (to objects); the copies
 * carry INHERITED_ACE and follow the explicit ACEs of the child, so an explicit ACE on an object outranks
 * an inherited one. NO_PROPAGATE_INHERIT stops the chain after one level; an OBJECT_INHERIT-only ACE
 * passes through a child container as inherit-only. Generic bits are mapped in the copy that applies to
 * the child (a container also keeps an inherit-only copy with the generic bits for its own children), so
 * a filter under the default engine DACL reads back as Windows lists one, e.g.
 * `O:BAG:SYD:AI(A;ID;0xf07ff;;;BA)(A;ID;0x307ff;;;NO)…(A;ID;RPDT;;;WD)`.
 * Sources: https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/4b0a2e3b-9fe4-4b5f-a8d8-a2a4d1df1ed2,
 * https://learn.microsoft.com/windows/win32/secauthz/how-dacls-control-access-to-an-object,
 * https://learn.microsoft.com/windows/win32/secauthz/order-of-aces-in-a-dacl.
 */
import { type Ace, type ConditionNode, formatSid, parseSid } from "../../fwp/index.ts";
import { SID_OWNER_RIGHTS } from "./principal.ts";
import { ALL_RIGHTS, mapGenericRights, READ_CONTROL, WRITE_DAC } from "./rights.ts";

/** ACE flag bits (MS-DTYP §2.4.4.1). */
export const OBJECT_INHERIT_ACE = 0x01;
export const CONTAINER_INHERIT_ACE = 0x02;
export const NO_PROPAGATE_INHERIT_ACE = 0x04;
export const INHERIT_ONLY_ACE = 0x08;
export const INHERITED_ACE = 0x10;
const INHERITANCE_FLAGS = OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | NO_PROPAGATE_INHERIT_ACE | INHERIT_ONLY_ACE;

/** An ACE with its SID as canonical text, the form access checks compare. */
export interface CheckAce {
  readonly type: "A" | "D";
  readonly flags: number;
  /** As stored: may hold generic bits, mapped when checked. */
  readonly mask: number;
  readonly sid: string;
  /**
   * A conditional (callback) ACE's expression. The BFE evaluates no claims, so every condition is UNKNOWN:
   * a conditional allow never applies and a conditional deny always applies (MS-DTYP §2.4.4.17.3).
   */
  readonly condition?: ConditionNode;
}

export function toCheckAce(ace: Ace): CheckAce {
  const base = { type: ace.type, flags: ace.flags, mask: ace.mask >>> 0, sid: formatSid(ace.sid) };
  return ace.condition === undefined ? base : { ...base, condition: ace.condition };
}

export function fromCheckAce(ace: CheckAce): Ace {
  const base = { type: ace.type, flags: ace.flags, mask: ace.mask >>> 0, sid: parseSid(ace.sid) };
  return ace.condition === undefined ? base : { ...base, condition: ace.condition };
}

/**
 * The ACEs a child inherits from its parent's effective DACL (null parent DACL: none). Children that are
 * containers (the per-type containers under the engine) take CONTAINER_INHERIT ACEs; objects take
 * OBJECT_INHERIT ACEs.
 */
export function inheritAces(parent: readonly CheckAce[] | null, childIsContainer: boolean): CheckAce[] {
  const out: CheckAce[] = [];
  if (parent === null) return out;
  for (const ace of parent) {
    const oi = (ace.flags & OBJECT_INHERIT_ACE) !== 0;
    const ci = (ace.flags & CONTAINER_INHERIT_ACE) !== 0;
    const np = (ace.flags & NO_PROPAGATE_INHERIT_ACE) !== 0;
    const mapped = mapGenericRights(ace.mask);
    if (childIsContainer) {
      if (ci && np) {
        out.push({ ...ace, flags: INHERITED_ACE, mask: mapped });
      } else if (ci && mapped !== ace.mask) {
        // Generic bits: an effective copy with the bits mapped, and an inherit-only copy passing them on.
        out.push({ ...ace, flags: INHERITED_ACE, mask: mapped });
        out.push({ ...ace, flags: ace.flags | INHERIT_ONLY_ACE | INHERITED_ACE });
      } else if (ci) {
        out.push({ ...ace, flags: (ace.flags & ~INHERIT_ONLY_ACE) | INHERITED_ACE });
      } else if (oi && !np) {
        out.push({ ...ace, flags: (ace.flags & INHERITANCE_FLAGS) | INHERIT_ONLY_ACE | INHERITED_ACE });
      }
    } else if (oi) {
      out.push({ ...ace, flags: INHERITED_ACE, mask: mapped });
    }
  }
  return out;
}

export interface AccessCheckInput {
  /** The caller's SIDs (user, groups, Everyone), canonical text. */
  readonly sids: ReadonlySet<string>;
  /** The object's owner SID (canonical text), if it has one. */
  readonly owner: string | null;
  /** Rights granted before the DACL walk (privileges such as take-ownership). */
  readonly preGranted?: number;
}

/**
 * The rights a caller holds on an object whose effective DACL is the concatenation of `segments`
 * (explicit ACEs, then inherited ones), or null for a NULL DACL. Equivalent to AccessCheck with
 * MAXIMUM_ALLOWED; a request for D is granted exactly when D ⊆ the result.
 */
export function grantedRights(segments: readonly (readonly CheckAce[])[] | null, input: AccessCheckInput): number {
  let granted = (input.preGranted ?? 0) >>> 0;
  if (segments === null) return (granted | ALL_RIGHTS) >>> 0;
  const callerOwns = input.owner !== null && input.sids.has(input.owner);
  let ownerRightsNamed = false;
  for (const seg of segments)
    for (const ace of seg)
      if (ace.sid === SID_OWNER_RIGHTS && (ace.flags & INHERIT_ONLY_ACE) === 0) ownerRightsNamed = true;
  if (callerOwns && !ownerRightsNamed) granted |= READ_CONTROL | WRITE_DAC;
  let denied = 0;
  for (const seg of segments) {
    for (const ace of seg) {
      if ((ace.flags & INHERIT_ONLY_ACE) !== 0) continue;
      const applies = input.sids.has(ace.sid) || (callerOwns && ace.sid === SID_OWNER_RIGHTS);
      if (!applies) continue;
      // A conditional allow whose condition is UNKNOWN does not apply; a conditional deny does.
      if (ace.condition !== undefined && ace.type === "A") continue;
      const undecided = mapGenericRights(ace.mask) & ~(granted | denied);
      if (ace.type === "A") granted |= undecided;
      else denied |= undecided;
    }
  }
  return granted >>> 0;
}

/** The rights of `desired` (generic bits mapped) that the caller lacks; 0 = access granted. */
export function missingRights(
  segments: readonly (readonly CheckAce[])[] | null,
  input: AccessCheckInput,
  desired: number,
): number {
  return (mapGenericRights(desired) & ~grantedRights(segments, input)) >>> 0;
}
