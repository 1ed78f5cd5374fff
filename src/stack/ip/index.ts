/**
 * IP fragmentation (fragment.ts: RFC 791 §3.2, RFC 8200 §4.5) and reassembly with its defences
 * (reassembly.ts: RFC 815 holes, RFC 5722, RFC 1858 / 3128, RFC 6946, RFC 7112): pure, deterministic
 * pieces the host's IP layer calls.
 */
export {
  type FragmentError,
  fragmentIpv4,
  fragmentIpv6,
  IPV4_MIN_MTU,
  IPV6_FRAGMENT_HEADER_LENGTH,
  IPV6_MIN_MTU,
} from "./fragment.ts";
export {
  type ExpiredDatagram,
  type Icmpv6ParameterProblem,
  type OverlapPolicy,
  Reassembler,
  type ReassemblerOptions,
  type ReassemblyCounters,
  type ReassemblyDropReason,
  type ReassemblyResult,
} from "./reassembly.ts";
export { minimumUpperLayerHeader } from "./upper-layer.ts";
