/**
 * The checked fields of FwpmProviderAdd0 beyond key and name: flags and serviceName (wfp-semantics.md
 * H16). FWPM_PROVIDER_FLAG_DISABLED (0x10) is output-only — the BFE sets it at start when the provider's
 * service is not auto-start — so a caller setting it gets FWP_E_INVALID_FLAGS; the BFE's restore path asks
 * for it with `disabled: true`.
 * Sources: https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_provider0,
 * https://learn.microsoft.com/windows/win32/fwp/object-management
 */
import { FWPM_FILTER_FLAG, FWPM_PROVIDER_FLAG, FwpError } from "../fwp/index.ts";
import type { ProviderSpec } from "./model.ts";

/** FWPM_PROVIDER_FLAG_DISABLED (0x10). */
export const PROVIDER_FLAG_DISABLED: number = FWPM_PROVIDER_FLAG.FWPM_PROVIDER_FLAG_DISABLED;

/** FWPM_FILTER_FLAG_DISABLED (0x20): a filter of a gated provider, kept but never classified (H16). */
export const FILTER_FLAG_DISABLED: number = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_DISABLED;

/** The provider's flags (DISABLED added when `spec.disabled`) and its serviceName, if any. */
export function providerFields(spec: ProviderSpec): { flags: number; serviceName?: string } {
  const flags = spec.flags ?? 0;
  if (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff)
    throw new FwpError("FWP_E_INVALID_FLAGS", { path: "flags", detail: "flags must be an unsigned 32-bit integer." });
  if ((flags & PROVIDER_FLAG_DISABLED) !== 0)
    throw new FwpError("FWP_E_INVALID_FLAGS", {
      path: "flags",
      detail: "FWPM_PROVIDER_FLAG_DISABLED is output-only and cannot be set by the caller (H16).",
    });
  const serviceName = spec.serviceName;
  if (serviceName !== undefined && typeof serviceName !== "string")
    throw new FwpError("FWP_E_INVALID_PARAMETER", { path: "serviceName", detail: "serviceName must be a string." });
  const out: { flags: number; serviceName?: string } = {
    flags: spec.disabled === true ? (flags | PROVIDER_FLAG_DISABLED) >>> 0 : flags,
  };
  if (serviceName !== undefined && serviceName !== "") out.serviceName = serviceName;
  return out;
}
