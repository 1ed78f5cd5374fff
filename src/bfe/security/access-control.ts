/**
 * AccessControl: the security descriptors of the engine, of each per-type container and of every object
 * (wfp-semantics.md H40), and the access check every BFE call makes against them (H42, H43, H44).
 *
 * Each node stores its owner, group and *explicit* DACL; its effective DACL is the explicit ACEs followed,
 * unless the DACL is protected, by the ACEs it inherits from its parent (objects ← their container ←
 * the engine), computed when checked — the result Windows' auto-inheritance keeps on disk after
 * SetSecurityInfo propagates a change. An object without a descriptor of its own (a built-in layer,
 * sublayer, provider or callout) has exactly the inherited DACL and the container's owner. SACLs are not
 * kept (H40: BFE audits by itself).
 *
 * Kernel-mode principals skip every check; members of Administrators always get OPEN on the engine and
 * WRITE_OWNER everywhere (SeTakeOwnershipPrivilege), and may name any owner (SeRestorePrivilege) — the
 * lock-out recovery path of H43. Owners always hold READ_CONTROL | WRITE_DAC.
 * Sources: https://learn.microsoft.com/windows/win32/fwp/access-control,
 * https://learn.microsoft.com/windows/win32/fwp/hindering-and-forcing-object-deletion.
 */
import { GUID_NULL, type Guid } from "../../base/guid.ts";
import { decodeSecurityDescriptor, formatSid, parseSddl, parseSid, type SecurityDescriptor } from "../../fwp/index.ts";
import { type CheckAce, fromCheckAce, grantedRights, INHERITED_ACE, inheritAces, toCheckAce } from "./access-check.ts";
import { defaultEngineSecurity } from "./defaults.ts";
import { AccessDeniedError, InvalidOwnerError } from "./error.ts";
import { type BfeObjectType, isKeyedObjectType, KEYED_OBJECT_TYPES, type KeyedObjectType } from "./object-type.ts";
import {
  canonicalSid,
  isAdministrator,
  type Principal,
  principalSids,
  SID_ADMINISTRATORS,
  SID_LOCAL_SYSTEM,
} from "./principal.ts";
import { FWPM_ACTRL_OPEN, mapGenericRights, READ_CONTROL, WRITE_DAC, WRITE_OWNER } from "./rights.ts";

/** SECURITY_INFORMATION bits (MS-DTYP §2.4.7): which parts Set/GetSecurityInfo touch. */
export const OWNER_SECURITY_INFORMATION = 0x1;
export const GROUP_SECURITY_INFORMATION = 0x2;
export const DACL_SECURITY_INFORMATION = 0x4;
/** Accepted and ignored: BFE keeps no SACLs (H40). */
export const SACL_SECURITY_INFORMATION = 0x8;

const SE_DACL_PROTECTED = 0x1000;
const SE_DACL_AUTO_INHERITED = 0x0400;

/** A security descriptor as SDDL text, self-relative bytes, or parsed. */
export type SecurityDescriptorInput = string | Uint8Array | SecurityDescriptor;

/** One securable node: its owner, group and explicit DACL (null = NULL DACL). */
interface SecurityNode {
  readonly owner: string | null;
  readonly group: string | null;
  readonly explicit: readonly CheckAce[] | null;
  readonly protected: boolean;
}

/** What `snapshot()` captures and `restore()` puts back (opaque to callers). */
export interface AccessControlSnapshot {
  readonly engine: SecurityNode;
  readonly containers: ReadonlyMap<BfeObjectType, SecurityNode>;
  readonly objects: ReadonlyMap<KeyedObjectType, ReadonlyMap<Guid, SecurityNode>>;
}

export interface AccessControlInit {
  /** The engine's security descriptor; default: the Windows default of H41. */
  readonly engineSecurity?: SecurityDescriptorInput;
}

/** Parses any SecurityDescriptorInput (bad input: FWP_E_INVALID_PARAMETER with `path`). */
export function toSecurityDescriptor(input: SecurityDescriptorInput, path?: string): SecurityDescriptor {
  if (typeof input === "string") return parseSddl(input, path);
  if (input instanceof Uint8Array) return decodeSecurityDescriptor(input, path);
  return input;
}

function sidText(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : formatSid(bytes);
}

function explicitOf(sd: SecurityDescriptor): CheckAce[] | null {
  return sd.dacl === null ? null : sd.dacl.filter((a) => (a.flags & INHERITED_ACE) === 0).map(toCheckAce);
}

function nodeOf(sd: SecurityDescriptor, fallbackOwner: string | null): SecurityNode {
  return {
    owner: sidText(sd.owner) ?? fallbackOwner,
    group: sidText(sd.group),
    explicit: explicitOf(sd),
    protected: (sd.daclControl & SE_DACL_PROTECTED) !== 0,
  };
}

function defaultContainer(engine: SecurityNode): SecurityNode {
  return { owner: engine.owner, group: engine.group, explicit: [], protected: false };
}

/** The SECURITY_INFORMATION bits a descriptor carries: owner/group when set, the DACL when present. */
export function securityInformationOf(sd: SecurityDescriptor): number {
  return (
    (sd.owner === null ? 0 : OWNER_SECURITY_INFORMATION) |
    (sd.group === null ? 0 : GROUP_SECURITY_INFORMATION) |
    (sd.dacl === null ? 0 : DACL_SECURITY_INFORMATION)
  );
}

/** The rights SetSecurityInfo needs for `info`: WRITE_OWNER for owner/group, WRITE_DAC for the DACL. */
export function rightsForSetSecurity(info: number): number {
  let rights = 0;
  if (info & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION)) rights |= WRITE_OWNER;
  if (info & DACL_SECURITY_INFORMATION) rights |= WRITE_DAC;
  return rights >>> 0;
}

export class AccessControl {
  #engine: SecurityNode;
  #containers = new Map<BfeObjectType, SecurityNode>();
  #objects = new Map<KeyedObjectType, Map<Guid, SecurityNode>>();
  /** Effective DACL of the engine and each container; cleared when any of them changes. */
  #containerDacl = new Map<BfeObjectType, readonly CheckAce[] | null>();
  /** ACEs an object of each type inherits from its container (cleared with the above). */
  #objectInherited = new Map<KeyedObjectType, readonly CheckAce[]>();
  /** Per principal: rights on objects that only inherit, by type and owner (reset with the above). */
  #inheritedGrants = new WeakMap<Principal, Map<KeyedObjectType, Map<string, number>>>();
  /** Per principal: rights on the engine and each container (reset with the above). */
  #containerGrants = new WeakMap<Principal, Map<BfeObjectType, number>>();

  constructor(init: AccessControlInit = {}) {
    const sd = init.engineSecurity === undefined ? defaultEngineSecurity() : toSecurityDescriptor(init.engineSecurity);
    this.#engine = nodeOf(sd, null);
    for (const type of KEYED_OBJECT_TYPES) this.#objects.set(type, new Map());
  }

  /**
   * Throws AccessDeniedError unless `principal` holds every right of `desired` (FWPM_ACTRL_* / standard /
   * generic bits) on the object `key` of `type` — or, for a null or zero key, on the type's container
   * (the engine for "engine", the net events container for "netEvents"). Kernel mode skips the check.
   */
  check(principal: Principal, type: BfeObjectType, key: Guid | null, desired: number, path?: string): void {
    if (principal.kernelMode === true) return;
    const k = normalKey(type, key);
    const mapped = mapGenericRights(desired);
    const missing = (mapped & ~this.grantedAccess(principal, type, k)) >>> 0;
    if (missing !== 0) {
      throw new AccessDeniedError({
        principalSid: principal.sid,
        objectType: type,
        key: k,
        desired: mapped,
        missing,
        ...(path === undefined ? {} : { path }),
      });
    }
  }

  /** True when `check` would pass. */
  canAccess(principal: Principal, type: BfeObjectType, key: Guid | null, desired: number): boolean {
    if (principal.kernelMode === true) return true;
    const mapped = mapGenericRights(desired);
    return (mapped & ~this.grantedAccess(principal, type, normalKey(type, key))) >>> 0 === 0;
  }

  /** Every right the principal holds on the node (AccessCheck with MAXIMUM_ALLOWED). */
  grantedAccess(principal: Principal, type: BfeObjectType, key: Guid | null): number {
    const k = normalKey(type, key);
    const admin = isAdministrator(principal);
    let preGranted = admin ? WRITE_OWNER : 0;
    if (admin && type === "engine") preGranted |= FWPM_ACTRL_OPEN;
    const sids = principalSids(principal);
    if (k === null || !isKeyedObjectType(type)) {
      // The answer depends on the principal and the container's descriptor alone: kept until one changes.
      let perType = this.#containerGrants.get(principal);
      if (perType === undefined) {
        perType = new Map();
        this.#containerGrants.set(principal, perType);
      }
      let granted = perType.get(type);
      if (granted === undefined) {
        const node = this.#containerNode(type);
        const dacl = this.#containerEffective(type);
        granted = grantedRights(dacl === null ? null : [dacl], { sids, owner: node.owner, preGranted });
        perType.set(type, granted);
      }
      return granted;
    }
    const node = this.#objects.get(type)?.get(k);
    const inherited = this.#inheritedByObjects(type);
    if (node === undefined || (node.explicit !== null && node.explicit.length === 0 && !node.protected)) {
      // Only inherited ACEs: the answer depends on the principal, the type and the owner alone.
      const owner = node === undefined ? this.#containerNode(type).owner : node.owner;
      let perType = this.#inheritedGrants.get(principal);
      if (perType === undefined) {
        perType = new Map();
        this.#inheritedGrants.set(principal, perType);
      }
      let perOwner = perType.get(type);
      if (perOwner === undefined) {
        perOwner = new Map();
        perType.set(type, perOwner);
      }
      const ownerKey = owner ?? "";
      let granted = perOwner.get(ownerKey);
      if (granted === undefined) {
        granted = grantedRights([inherited], { sids, owner, preGranted });
        if (perOwner.size >= 256) perOwner.clear();
        perOwner.set(ownerKey, granted);
      }
      return granted;
    }
    if (node.explicit === null) return grantedRights(null, { sids, owner: node.owner, preGranted });
    const segments = node.protected ? [node.explicit] : [node.explicit, inherited];
    return grantedRights(segments, { sids, owner: node.owner, preGranted });
  }

  /**
   * Records a new object's security descriptor (H40, H21): the explicit ACEs of `sd` (inherited-flagged
   * ACEs in it are dropped) followed by what the container passes on unless `sd` protects its DACL;
   * no `sd`, or one without a DACL, gives the inherited DACL alone. The owner is `sd`'s owner, else the
   * creator's default owner (BUILTIN\Administrators for an administrator, its own SID otherwise), the
   * group `sd`'s group, else LocalSystem — as Windows lists an installer's filter: `O:BAG:SYD:AI(…)`.
   */
  createObject(
    type: BfeObjectType,
    key: Guid,
    sd: SecurityDescriptorInput | null | undefined,
    owner: Principal | string,
    path?: string,
  ): void {
    if (!isKeyedObjectType(type)) throw new TypeError(`${type} is not a keyed object type`);
    if (key === GUID_NULL) throw new TypeError("an object needs a non-zero key");
    const creator = typeof owner === "string" ? formatSid(parseSid(owner, path)) : defaultOwnerOf(owner);
    const parsed = sd === null || sd === undefined ? undefined : toSecurityDescriptor(sd, path);
    const node: SecurityNode =
      parsed === undefined
        ? inheritingNode(creator)
        : {
            owner: sidText(parsed.owner) ?? creator,
            group: sidText(parsed.group) ?? SID_LOCAL_SYSTEM,
            explicit: parsed.dacl === null ? [] : explicitOf(parsed),
            protected: parsed.dacl !== null && (parsed.daclControl & SE_DACL_PROTECTED) !== 0,
          };
    this.#objectMap(type).set(key, node);
  }

  /** Forgets an object's descriptor (no-op when it has none). */
  deleteObject(type: BfeObjectType, key: Guid): void {
    if (isKeyedObjectType(type)) this.#objectMap(type).delete(key);
  }

  /** True when the object has a descriptor of its own (created, or set on a built-in). */
  hasObject(type: BfeObjectType, key: Guid): boolean {
    return isKeyedObjectType(type) && this.#objectMap(type).has(key);
  }

  /**
   * Replaces the parts of a node's descriptor that `info` names (default: the parts `sd` carries, see
   * securityInformationOf) — no access check; see setSecurityInfo. A DACL keeps only `sd`'s explicit ACEs
   * and inherits again unless protected; a NULL DACL (info includes DACL, sd.dacl null) grants everyone.
   */
  setObjectSecurity(
    type: BfeObjectType,
    key: Guid | null,
    sd: SecurityDescriptorInput,
    info?: number,
    path?: string,
  ): void {
    const parsed = toSecurityDescriptor(sd, path);
    const parts = info ?? securityInformationOf(parsed);
    const k = normalKey(type, key);
    const old = this.#node(type, k);
    const next: SecurityNode = {
      owner: parts & OWNER_SECURITY_INFORMATION ? (sidText(parsed.owner) ?? old.owner) : old.owner,
      group: parts & GROUP_SECURITY_INFORMATION ? sidText(parsed.group) : old.group,
      explicit: parts & DACL_SECURITY_INFORMATION ? explicitOf(parsed) : old.explicit,
      protected: parts & DACL_SECURITY_INFORMATION ? (parsed.daclControl & SE_DACL_PROTECTED) !== 0 : old.protected,
    };
    if (k !== null && isKeyedObjectType(type)) {
      this.#objectMap(type).set(k, next);
      return;
    }
    if (type === "engine") this.#engine = next;
    else this.#containers.set(type, next);
    this.#containerDacl.clear();
    this.#objectInherited.clear();
    this.#inheritedGrants = new WeakMap();
    this.#containerGrants = new WeakMap();
  }

  /**
   * The node's descriptor as GetSecurityInfo returns it: owner, group, and the effective DACL — explicit
   * ACEs first, then inherited ones flagged INHERITED_ACE — with SE_DACL_PROTECTED or SE_DACL_AUTO_INHERITED.
   */
  getObjectSecurity(type: BfeObjectType, key: Guid | null): SecurityDescriptor {
    const k = normalKey(type, key);
    const node = this.#node(type, k);
    let dacl: readonly CheckAce[] | null;
    if (k === null || !isKeyedObjectType(type)) dacl = this.#containerEffective(type);
    else if (node.explicit === null) dacl = null;
    else dacl = node.protected ? node.explicit : [...node.explicit, ...this.#inheritedByObjects(type)];
    return {
      owner: node.owner === null ? null : parseSid(node.owner),
      group: node.group === null ? null : parseSid(node.group),
      dacl: dacl === null ? null : dacl.map(fromCheckAce),
      daclControl: dacl === null ? 0 : node.protected ? SE_DACL_PROTECTED : SE_DACL_AUTO_INHERITED,
    };
  }

  /**
   * The descriptor a node was created or set with (owner, group, explicit ACEs only) — what a durable store
   * keeps to recreate an object with createObject, or the engine / a container with setObjectSecurity.
   * Undefined for an object without a descriptor of its own.
   */
  getExplicitSecurity(type: BfeObjectType, key: Guid | null): SecurityDescriptor | undefined {
    const k = normalKey(type, key);
    const node = k === null || !isKeyedObjectType(type) ? this.#containerNode(type) : this.#objectMap(type).get(k);
    if (node === undefined) return undefined;
    return {
      owner: node.owner === null ? null : parseSid(node.owner),
      group: node.group === null ? null : parseSid(node.group),
      dacl: node.explicit === null ? null : node.explicit.map(fromCheckAce),
      daclControl: node.protected ? SE_DACL_PROTECTED : 0,
    };
  }

  /**
   * Fwpm*SetSecurityInfoByKey0 as a principal: needs WRITE_OWNER to change owner or group and WRITE_DAC to
   * change the DACL (H43); a new owner must be the caller or one of its groups unless the caller is an
   * administrator (ERROR_INVALID_OWNER).
   */
  setSecurityInfo(
    principal: Principal,
    type: BfeObjectType,
    key: Guid | null,
    sd: SecurityDescriptorInput,
    info?: number,
    path?: string,
  ): void {
    const parsed = toSecurityDescriptor(sd, path);
    const parts = info ?? securityInformationOf(parsed);
    const needed = rightsForSetSecurity(parts);
    if (needed !== 0) this.check(principal, type, key, needed, path);
    if (parts & OWNER_SECURITY_INFORMATION && parsed.owner !== null && principal.kernelMode !== true) {
      const owner = formatSid(parsed.owner);
      if (!isAdministrator(principal) && !principalSids(principal).has(owner)) {
        throw new InvalidOwnerError(principal.sid, owner, path);
      }
    }
    this.setObjectSecurity(type, key, parsed, parts, path);
  }

  /** Fwpm*GetSecurityInfoByKey0 as a principal: needs READ_CONTROL. */
  getSecurityInfo(principal: Principal, type: BfeObjectType, key: Guid | null, path?: string): SecurityDescriptor {
    this.check(principal, type, key, READ_CONTROL, path);
    return this.getObjectSecurity(type, key);
  }

  /** Captures every descriptor (for a transaction that may abort). */
  snapshot(): AccessControlSnapshot {
    const objects = new Map<KeyedObjectType, ReadonlyMap<Guid, SecurityNode>>();
    for (const [type, map] of this.#objects) objects.set(type, new Map(map));
    return { engine: this.#engine, containers: new Map(this.#containers), objects };
  }

  /** Puts back what `snapshot()` captured. */
  restore(snapshot: AccessControlSnapshot): void {
    this.#engine = snapshot.engine;
    this.#containers = new Map(snapshot.containers);
    for (const type of KEYED_OBJECT_TYPES) this.#objects.set(type, new Map(snapshot.objects.get(type) ?? []));
    this.#containerDacl.clear();
    this.#objectInherited.clear();
    this.#inheritedGrants = new WeakMap();
    this.#containerGrants = new WeakMap();
  }

  #objectMap(type: KeyedObjectType): Map<Guid, SecurityNode> {
    let map = this.#objects.get(type);
    if (map === undefined) {
      map = new Map();
      this.#objects.set(type, map);
    }
    return map;
  }

  #containerNode(type: BfeObjectType): SecurityNode {
    if (type === "engine") return this.#engine;
    return this.#containers.get(type) ?? defaultContainer(this.#engine);
  }

  #node(type: BfeObjectType, key: Guid | null): SecurityNode {
    if (key === null || !isKeyedObjectType(type)) return this.#containerNode(type);
    const node = this.#objectMap(type).get(key);
    if (node !== undefined) return node;
    const container = this.#containerNode(type);
    return { owner: container.owner, group: container.group, explicit: [], protected: false };
  }

  #containerEffective(type: BfeObjectType): readonly CheckAce[] | null {
    if (this.#containerDacl.has(type)) return this.#containerDacl.get(type) ?? null;
    const node = this.#containerNode(type);
    let dacl: readonly CheckAce[] | null;
    if (node.explicit === null) dacl = null;
    else if (type === "engine" || node.protected) dacl = node.explicit;
    else dacl = [...node.explicit, ...inheritAces(this.#containerEffective("engine"), true)];
    this.#containerDacl.set(type, dacl);
    return dacl;
  }

  #inheritedByObjects(type: KeyedObjectType): readonly CheckAce[] {
    let aces = this.#objectInherited.get(type);
    if (aces === undefined) {
      aces = inheritAces(this.#containerEffective(type), false);
      this.#objectInherited.set(type, aces);
    }
    return aces;
  }
}

const NO_ACES: readonly CheckAce[] = Object.freeze([]);
/** Shared (immutable) nodes of objects created without a descriptor, by owner: one per creator, not per object. */
const inheritingNodes = new Map<string, SecurityNode>();

/** The node of an object created without a descriptor: the creator as owner, LocalSystem as group, no explicit ACE. */
function inheritingNode(owner: string): SecurityNode {
  let node = inheritingNodes.get(owner);
  if (node === undefined) {
    node = Object.freeze({ owner, group: SID_LOCAL_SYSTEM, explicit: NO_ACES, protected: false });
    if (inheritingNodes.size >= 256) inheritingNodes.clear();
    inheritingNodes.set(owner, node);
  }
  return node;
}

/** The owner a principal's new objects get: Administrators for an administrator (its token's default owner). */
function defaultOwnerOf(principal: Principal): string {
  return isAdministrator(principal) ? SID_ADMINISTRATORS : canonicalSid(principal.sid);
}

/** null for containers: the engine and net events always, and a null or zero GUID for the other types. */
function normalKey(type: BfeObjectType, key: Guid | null): Guid | null {
  if (!isKeyedObjectType(type)) return null;
  return key === null || key === GUID_NULL ? null : key;
}
