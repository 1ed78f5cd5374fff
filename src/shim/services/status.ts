/**
 * NTSTATUS values the Fwps* services return, by name. The data path returns them as values (a callout's
 * mistake is an answer, not an exception): STATUS_SUCCESS, the generic kernel statuses the WFP pages
 * name, and every STATUS_FWP_* of errors.json (the FWP_E_* twins and the kernel-only ones).
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/network/ntstatus-values-returned-by-wfp,
 * the per-function pages of FwpsFlowAssociateContext0, FwpsPendOperation0, FwpsInjectNetworkSendAsync0, …
 */
import { FWP_ERRORS, KERNEL_ONLY_STATUS } from "../../fwp/index.ts";

/** Generic NTSTATUS names the Fwps functions document. */
export type GenericNtStatus =
  | "STATUS_SUCCESS"
  | "STATUS_PENDING"
  | "STATUS_UNSUCCESSFUL"
  | "STATUS_INVALID_PARAMETER"
  | "STATUS_OBJECT_NAME_EXISTS"
  | "STATUS_NOT_FOUND"
  | "STATUS_DEVICE_BUSY"
  | "STATUS_INSUFFICIENT_RESOURCES"
  | "STATUS_INVALID_DEVICE_STATE"
  | "STATUS_NOT_SUPPORTED"
  | "STATUS_ACCESS_DENIED";

/** A STATUS_FWP_* name (errors.json). */
export type FwpNtStatus = `STATUS_FWP_${string}`;

export type NtStatus = GenericNtStatus | FwpNtStatus;

const FWP_STATUS_NAMES: ReadonlySet<string> = new Set([
  ...FWP_ERRORS.map((e) => e.ntstatusName),
  ...KERNEL_ONLY_STATUS.map((s) => s.name),
]);

/** True for STATUS_SUCCESS (NT_SUCCESS also covers STATUS_PENDING, which callers test for by name). */
export function ntSuccess(s: NtStatus): boolean {
  return s === "STATUS_SUCCESS" || s === "STATUS_PENDING";
}

/** True when `name` is a STATUS_FWP_* status of the reference tables. */
export function isFwpNtStatus(name: string): name is FwpNtStatus {
  return FWP_STATUS_NAMES.has(name);
}
