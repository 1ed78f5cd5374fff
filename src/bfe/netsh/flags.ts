/**
 * The flag names netsh prints per object kind (H49). netsh names only the bits it knows; the rest are
 * printed as one hex item. Callouts mix FWPS callout flags (only CONDITIONAL_ON_FLOW and ALLOW_OFFLOAD are
 * named — ENABLE_COMMIT_ADD_NOTIFY and later bits appear as hex in real dumps) with FWPM_CALLOUT_FLAG_*.
 */
import {
  FWP_CALLOUT_FLAG,
  FWPM_CALLOUT_FLAG,
  FWPM_FILTER_FLAG,
  FWPM_LAYER_FLAG,
  FWPM_PROVIDER_CONTEXT_FLAG,
  FWPM_PROVIDER_FLAG,
  FWPM_SESSION_FLAG,
  FWPM_SUBLAYER_FLAG,
} from "../../fwp/index.ts";

export type FlagNames = Readonly<Record<string, number>>;

const { FWPM_FILTER_FLAG_NONE: _none, ...filterFlags } = FWPM_FILTER_FLAG;

export const FILTER_FLAG_NAMES: FlagNames = filterFlags;
export const CALLOUT_FLAG_NAMES: FlagNames = {
  FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW: FWP_CALLOUT_FLAG.FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW,
  FWP_CALLOUT_FLAG_ALLOW_OFFLOAD: FWP_CALLOUT_FLAG.FWP_CALLOUT_FLAG_ALLOW_OFFLOAD,
  ...FWPM_CALLOUT_FLAG,
};
export const LAYER_FLAG_NAMES: FlagNames = FWPM_LAYER_FLAG;
export const PROVIDER_FLAG_NAMES: FlagNames = FWPM_PROVIDER_FLAG;
export const SUBLAYER_FLAG_NAMES: FlagNames = FWPM_SUBLAYER_FLAG;
export const PROVIDER_CONTEXT_FLAG_NAMES: FlagNames = FWPM_PROVIDER_CONTEXT_FLAG;
export const SESSION_FLAG_NAMES: FlagNames = FWPM_SESSION_FLAG;
