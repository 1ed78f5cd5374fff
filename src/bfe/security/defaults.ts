/**
 * The engine's default security descriptor (wfp-semantics.md H41): Administrators GENERIC_ALL; Network
 * Configuration Operators and the service SIDs of MpsSvc, NapAgent, PolicyAgent, RpcSs and WdiServiceHost
 * GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE; Everyone OPEN | CLASSIFY. Every ACE is flagged
 * OBJECT_INHERIT | CONTAINER_INHERIT so that the per-type containers and the objects in them inherit it
 * (H40). Owner and group are LocalService, the account the BFE service runs as.
 * Source: https://learn.microsoft.com/windows/win32/fwp/access-control
 */
import { parseSid, type SecurityDescriptor } from "../../fwp/index.ts";
import { CONTAINER_INHERIT_ACE, OBJECT_INHERIT_ACE } from "./access-check.ts";
import {
  SID_ADMINISTRATORS,
  SID_EVERYONE,
  SID_LOCAL_SERVICE,
  SID_NETWORK_CONFIGURATION_OPERATORS,
  serviceSid,
} from "./principal.ts";
import {
  FWPM_ACTRL_CLASSIFY,
  FWPM_ACTRL_OPEN,
  GENERIC_ALL,
  GENERIC_EXECUTE,
  GENERIC_READ,
  GENERIC_WRITE,
} from "./rights.ts";

/** The services H41 lists with GR|GW|GX on the engine. */
export const DEFAULT_ENGINE_SERVICES = ["MpsSvc", "NapAgent", "PolicyAgent", "RpcSs", "WdiServiceHost"] as const;

/** The (SID, mask) pairs of the default engine DACL, in ACE order. */
export function defaultEngineGrants(): { sid: string; mask: number; who: string }[] {
  const rw = (GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE) >>> 0;
  return [
    { sid: SID_ADMINISTRATORS, mask: GENERIC_ALL, who: "BUILTIN\\Administrators" },
    { sid: SID_NETWORK_CONFIGURATION_OPERATORS, mask: rw, who: "BUILTIN\\Network Configuration Operators" },
    ...DEFAULT_ENGINE_SERVICES.map((name) => ({ sid: serviceSid(name), mask: rw, who: `NT SERVICE\\${name}` })),
    { sid: SID_EVERYONE, mask: FWPM_ACTRL_OPEN | FWPM_ACTRL_CLASSIFY, who: "Everyone" },
  ];
}

/** A fresh copy of the default engine security descriptor. */
export function defaultEngineSecurity(): SecurityDescriptor {
  return {
    owner: parseSid(SID_LOCAL_SERVICE),
    group: parseSid(SID_LOCAL_SERVICE),
    dacl: defaultEngineGrants().map(({ sid, mask }) => ({
      type: "A" as const,
      flags: OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE,
      mask,
      sid: parseSid(sid),
    })),
    daclControl: 0,
  };
}
