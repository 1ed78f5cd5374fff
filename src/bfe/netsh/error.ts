/**
 * Errors of the netsh reader where Windows has no FWP_E_* code: malformed XML, an element that is not
 * where netsh writes it, a missing element, a value that does not parse. Each names the element path,
 * e.g. `wfpstate/layers/item[3]/filters/item[7]/filterCondition/item[0]/conditionValue` (indices count
 * same-named siblings from 0). Where Windows has a code (unknown layer → FWP_E_LAYER_NOT_FOUND, unknown
 * condition → FWP_E_CONDITION_NOT_FOUND, out-of-range value → FWP_E_OUT_OF_BOUNDS, …) FwpError is thrown.
 */
import { OpenWfpError } from "../../base/errors.ts";

export type NetshErrorCode =
  | "NETSH_MALFORMED_XML"
  | "NETSH_UNKNOWN_ELEMENT"
  | "NETSH_MISSING_ELEMENT"
  | "NETSH_BAD_VALUE"
  | "NETSH_NOT_NETSH";

export class NetshError extends OpenWfpError {
  declare readonly code: NetshErrorCode;
  constructor(code: NetshErrorCode, message: string, path: string) {
    super(code, message, { path });
    this.name = "NetshError";
  }
}
