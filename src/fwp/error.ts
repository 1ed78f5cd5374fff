/**
 * FwpError: what the management path throws. It carries the Windows error name as `code`
 * (`FWP_E_ALREADY_EXISTS`), the HRESULT user-mode Fwpm* calls return (0x80320009), the NTSTATUS kernel
 * callers see (0xC0220009), and the path in the input at fault (`filters[3].conditions[1]`).
 * Codes, numbers and meanings come from errors.json through the generated table; an unknown name is a
 * type error because `FwpErrorName` is the union of the generated names.
 * Source: https://learn.microsoft.com/windows/win32/fwp/wfp-error-codes
 */
import { OpenWfpError } from "../base/errors.ts";
import {
  FWP_ERROR_ROWS,
  type FwpErrorName,
  type FwpErrorRow,
  KERNEL_ONLY_STATUS_ROWS,
  type KernelStatusRow,
} from "./generated/errors.ts";

export type { FwpErrorName, FwpErrorRow as FwpErrorInfo } from "./generated/errors.ts";

const BY_NAME: ReadonlyMap<string, FwpErrorRow> = new Map(FWP_ERROR_ROWS.map((e) => [e.name, e]));
const BY_HRESULT: ReadonlyMap<number, FwpErrorRow> = new Map(FWP_ERROR_ROWS.map((e) => [e.hresult, e]));

/** Every FWP_E_* error in HRESULT order, as errors.json lists them. */
export const FWP_ERRORS: readonly FwpErrorRow[] = FWP_ERROR_ROWS;

/** The STATUS_FWP_* codes kernel callers see that have no FWP_E_* twin (STATUS_FWP_CANNOT_PEND, …). */
export const KERNEL_ONLY_STATUS: readonly KernelStatusRow[] = KERNEL_ONLY_STATUS_ROWS;

export interface FwpErrorOptions {
  /** Path into the input at fault, e.g. `filters[3].conditions[1].value`. */
  readonly path?: string;
  /** What exactly was wrong, appended to the error's meaning. */
  readonly detail?: string;
  readonly cause?: unknown;
}

export class FwpError extends OpenWfpError {
  /** The FWP_E_* name. */
  declare readonly code: FwpErrorName;
  /** Unsigned 32-bit HRESULT, e.g. 0x80320009 for FWP_E_ALREADY_EXISTS. */
  readonly hresult: number;
  /** Unsigned 32-bit STATUS_FWP_* NTSTATUS twin, e.g. 0xC0220009. */
  readonly ntstatus: number;
  /** The detail given to the constructor, if any. */
  readonly detail: string | undefined;

  constructor(code: FwpErrorName, options: FwpErrorOptions = {}) {
    const info = fwpErrorInfo(code);
    const message = options.detail === undefined ? info.meaning : `${info.meaning} ${options.detail}`;
    super(
      code,
      message,
      options.path === undefined ? {} : { path: options.path },
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "FwpError";
    this.hresult = info.hresult;
    this.ntstatus = info.ntstatus;
    this.detail = options.detail;
  }
}

/** The table entry for an FWP_E_* name. */
export function fwpErrorInfo(name: FwpErrorName): FwpErrorRow {
  const info = BY_NAME.get(name);
  // Only reachable when a caller casts an unknown string to FwpErrorName.
  if (info === undefined) throw new TypeError(`unknown FWP_E_* name ${JSON.stringify(name)}`);
  return info;
}

/** The FWP_E_* error with this HRESULT (unsigned or signed 32-bit), or undefined. */
export function fwpErrorByHresult(hresult: number): FwpErrorRow | undefined {
  return BY_HRESULT.get(hresult >>> 0);
}

/** True when `name` is an FWP_E_* name (narrows strings read from files). */
export function isFwpErrorName(name: string): name is FwpErrorName {
  return BY_NAME.has(name);
}

/** True when `error` is an FwpError, with the given code if one is given. */
export function isFwpError(error: unknown, code?: FwpErrorName): error is FwpError {
  return error instanceof FwpError && (code === undefined || error.code === code);
}
