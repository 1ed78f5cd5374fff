/**
 * Access rights of BFE objects: the FWPM_ACTRL_* specific rights (wfp-semantics.md H42, values from the
 * generated enum tables), the standard rights of MS-DTYP §2.4.3 (DELETE, READ_CONTROL, WRITE_DAC,
 * WRITE_OWNER) and the generic rights, mapped onto WFP rights by the FWPM_GENERIC_* masks (H41).
 * Sources: https://learn.microsoft.com/windows/win32/fwp/access-right-identifiers,
 * https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/7a53f60e-e730-4dfe-bbe9-b21b62eb790b (ACCESS_MASK).
 */
import { FWPM_ACTRL, FWPM_GENERIC, flagNames } from "../../fwp/index.ts";

export const FWPM_ACTRL_ADD: number = FWPM_ACTRL.FWPM_ACTRL_ADD;
export const FWPM_ACTRL_ADD_LINK: number = FWPM_ACTRL.FWPM_ACTRL_ADD_LINK;
export const FWPM_ACTRL_BEGIN_READ_TXN: number = FWPM_ACTRL.FWPM_ACTRL_BEGIN_READ_TXN;
export const FWPM_ACTRL_BEGIN_WRITE_TXN: number = FWPM_ACTRL.FWPM_ACTRL_BEGIN_WRITE_TXN;
export const FWPM_ACTRL_CLASSIFY: number = FWPM_ACTRL.FWPM_ACTRL_CLASSIFY;
export const FWPM_ACTRL_ENUM: number = FWPM_ACTRL.FWPM_ACTRL_ENUM;
export const FWPM_ACTRL_OPEN: number = FWPM_ACTRL.FWPM_ACTRL_OPEN;
export const FWPM_ACTRL_READ: number = FWPM_ACTRL.FWPM_ACTRL_READ;
export const FWPM_ACTRL_READ_STATS: number = FWPM_ACTRL.FWPM_ACTRL_READ_STATS;
export const FWPM_ACTRL_SUBSCRIBE: number = FWPM_ACTRL.FWPM_ACTRL_SUBSCRIBE;
export const FWPM_ACTRL_WRITE: number = FWPM_ACTRL.FWPM_ACTRL_WRITE;

/** FWPM_GENERIC_* : what each generic right means on a WFP object (H41). */
export const FWPM_GENERIC_READ: number = FWPM_GENERIC.FWPM_GENERIC_READ;
export const FWPM_GENERIC_WRITE: number = FWPM_GENERIC.FWPM_GENERIC_WRITE;
export const FWPM_GENERIC_EXECUTE: number = FWPM_GENERIC.FWPM_GENERIC_EXECUTE;
export const FWPM_GENERIC_ALL: number = FWPM_GENERIC.FWPM_GENERIC_ALL;

/** Every specific right (the low bits FWPM_GENERIC_ALL grants). */
export const FWPM_ACTRL_ALL: number = Object.values(FWPM_ACTRL).reduce((m, bit) => (m | bit) >>> 0, 0);

/** Standard rights (MS-DTYP §2.4.3). */
export const DELETE = 0x0001_0000;
export const READ_CONTROL = 0x0002_0000;
export const WRITE_DAC = 0x0004_0000;
export const WRITE_OWNER = 0x0008_0000;
/** DELETE | READ_CONTROL | WRITE_DAC | WRITE_OWNER. */
export const STANDARD_RIGHTS_REQUIRED = 0x000f_0000;

/** Generic rights (MS-DTYP §2.4.3), mapped through FWPM_GENERIC_* before a check. */
export const GENERIC_READ = 0x8000_0000;
export const GENERIC_WRITE = 0x4000_0000;
export const GENERIC_EXECUTE = 0x2000_0000;
export const GENERIC_ALL = 0x1000_0000;
const GENERIC_BITS = (GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL) >>> 0;

/** Everything a NULL DACL grants: the standard rights and every specific right. */
export const ALL_RIGHTS: number = (STANDARD_RIGHTS_REQUIRED | FWPM_ACTRL_ALL) >>> 0;

/**
 * Replaces generic bits by what they mean on a WFP object (MS-DTYP §2.4.3 generic mapping with the
 * FWPM_GENERIC_* masks of H41); other bits pass through. The result is unsigned.
 */
export function mapGenericRights(mask: number): number {
  let out = (mask & ~GENERIC_BITS) >>> 0;
  if (mask & GENERIC_READ) out |= FWPM_GENERIC_READ;
  if (mask & GENERIC_WRITE) out |= FWPM_GENERIC_WRITE;
  if (mask & GENERIC_EXECUTE) out |= FWPM_GENERIC_EXECUTE;
  if (mask & GENERIC_ALL) out |= FWPM_GENERIC_ALL;
  return out >>> 0;
}

const STANDARD_NAMES: readonly (readonly [string, number])[] = [
  ["DELETE", DELETE],
  ["READ_CONTROL", READ_CONTROL],
  ["WRITE_DAC", WRITE_DAC],
  ["WRITE_OWNER", WRITE_OWNER],
  ["GENERIC_ALL", GENERIC_ALL],
  ["GENERIC_EXECUTE", GENERIC_EXECUTE],
  ["GENERIC_WRITE", GENERIC_WRITE],
  ["GENERIC_READ", GENERIC_READ],
];

/** Names of the rights in `mask` (FWPM_ACTRL_* then standard/generic, leftover bits as hex). */
export function accessRightNames(mask: number): string[] {
  const specific = flagNames("FWPM_ACTRL", mask & FWPM_ACTRL_ALL);
  const names = [...specific.names];
  let rest = (mask & ~FWPM_ACTRL_ALL) >>> 0;
  for (const [name, bit] of STANDARD_NAMES) {
    if (rest & bit) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names;
}
