/**
 * The one BFE error that is not an FWP_E_* code: calling a BFE that has stopped (H45: "no Fwpm* session
 * can be opened" — the RPC call fails). Windows callers see RPC_S_SERVER_UNAVAILABLE (1722) as an
 * HRESULT, 0x800706BA.
 * Source: https://learn.microsoft.com/windows/win32/debug/system-error-codes--1700-3999-
 */
import { OpenWfpError } from "../base/errors.ts";

export const RPC_S_SERVER_UNAVAILABLE_HRESULT = 0x800706ba;

export class BfeNotRunningError extends OpenWfpError {
  readonly hresult: number = RPC_S_SERVER_UNAVAILABLE_HRESULT;

  constructor(detail: string) {
    super("RPC_S_SERVER_UNAVAILABLE", `The base filtering engine is not running. ${detail}`);
    this.name = "BfeNotRunningError";
  }
}
