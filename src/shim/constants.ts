/**
 * The WFP constants the stack needs to speak to the shims (condition flags, discard modules and reasons,
 * stream flags, directions), re-exported so that src/stack reaches fwp/ only through shim/ (ARCHITECTURE.md).
 */
export {
  FWP_CONDITION_FLAG,
  FWP_CONDITION_REAUTHORIZE_REASON,
  FWP_CONDITION_SOCKET_PROPERTY_FLAG,
  FWP_DIRECTION,
  FWPS_DISCARD_MODULE,
  FWPS_GENERAL_DISCARD_REASON,
  FWPS_STREAM_ACTION_TYPE,
  FWPS_STREAM_FLAG,
  INET_DISCARD_REASON,
  IP_DISCARD_REASON,
  NL_ADDRESS_TYPE,
} from "../fwp/index.ts";
