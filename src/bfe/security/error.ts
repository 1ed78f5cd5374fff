/**
 * What a denied BFE call throws: Win32 ERROR_ACCESS_DENIED (5), which Fwpm* functions return as the
 * HRESULT 0x80070005 (wfp-semantics.md H44; observed from FwpmFilterDeleteByKey0 and
 * FwpmFilterSetSecurityInfoByKey0). The error names the right that was missing and the object it was
 * missing on. Setting an owner the caller may not assign is ERROR_INVALID_OWNER (1307), as
 * SetSecurityInfo reports it.
 * Sources: https://learn.microsoft.com/windows/win32/debug/system-error-codes--0-499-,
 * https://learn.microsoft.com/windows/win32/api/aclapi/nf-aclapi-setsecurityinfo.
 */
import { OpenWfpError } from "../../base/errors.ts";
import type { Guid } from "../../base/guid.ts";
import type { BfeObjectType } from "./object-type.ts";
import { accessRightNames } from "./rights.ts";

/** HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED). */
export const E_ACCESS_DENIED_HRESULT = 0x8007_0005;
/** HRESULT_FROM_WIN32(ERROR_INVALID_OWNER). */
export const E_INVALID_OWNER_HRESULT = 0x8007_051b;

/** "the filter {key}", "the filter container", "the engine". */
export function describeObject(type: BfeObjectType, key: Guid | null): string {
  if (type === "engine") return "the engine";
  if (type === "netEvents") return "the net events container";
  return key === null ? `the ${type} container` : `the ${type} {${key}}`;
}

export interface AccessDeniedDetails {
  readonly principalSid: string;
  readonly objectType: BfeObjectType;
  /** null: the per-type container (or the engine / net events container). */
  readonly key: Guid | null;
  /** The rights asked for, generic bits mapped. */
  readonly desired: number;
  /** The rights asked for and not granted. */
  readonly missing: number;
  readonly path?: string;
}

export class AccessDeniedError extends OpenWfpError {
  declare readonly code: "ERROR_ACCESS_DENIED";
  /** 0x80070005. */
  readonly hresult: number = E_ACCESS_DENIED_HRESULT;
  /** 5. */
  readonly win32: number = 5;
  readonly principalSid: string;
  readonly objectType: BfeObjectType;
  readonly key: Guid | null;
  readonly desired: number;
  readonly missing: number;
  /** Names of the missing rights, e.g. ["FWPM_ACTRL_ADD"]. */
  readonly missingRights: readonly string[];

  constructor(details: AccessDeniedDetails) {
    const missingRights = accessRightNames(details.missing);
    super(
      "ERROR_ACCESS_DENIED",
      `Access is denied: ${details.principalSid} lacks ${missingRights.join("|")} on ${describeObject(details.objectType, details.key)}.`,
      details.path === undefined ? {} : { path: details.path },
    );
    this.name = "AccessDeniedError";
    this.principalSid = details.principalSid;
    this.objectType = details.objectType;
    this.key = details.key;
    this.desired = details.desired;
    this.missing = details.missing;
    this.missingRights = missingRights;
  }
}

/** The new owner is neither the caller nor one of its groups (and the caller cannot restore, H43). */
export class InvalidOwnerError extends OpenWfpError {
  declare readonly code: "ERROR_INVALID_OWNER";
  readonly hresult: number = E_INVALID_OWNER_HRESULT;
  readonly win32: number = 1307;
  readonly owner: string;

  constructor(principalSid: string, owner: string, path?: string) {
    super(
      "ERROR_INVALID_OWNER",
      `${principalSid} may not make ${owner} the owner (only itself or one of its groups).`,
      path === undefined ? {} : { path },
    );
    this.name = "InvalidOwnerError";
    this.owner = owner;
  }
}

/** True when `error` is an AccessDeniedError. */
export function isAccessDenied(error: unknown): error is AccessDeniedError {
  return error instanceof AccessDeniedError;
}
