/**
 * Links and link decorators: a NIC owns a `Port`; links create ports (`PointToPointLink`, `SharedSegment`),
 * decorators wrap one and return one (`PcapRecorder.tap`, `FaultInjector`), so they stack in any order.
 */
export type { LinkCounters, Port } from "./port.ts";
export {
  type ChannelCounters,
  type ChannelOptions,
  PointToPointLink,
  type PointToPointOptions,
} from "./point-to-point.ts";
export { type SegmentCounters, SharedSegment, type SharedSegmentOptions } from "./shared-segment.ts";
export { type LoopbackTap, type LoopbackTapOptions, PcapRecorder, type PcapRecorderOptions } from "./pcap-tap.ts";
export {
  type FaultCounters,
  type FaultDirection,
  FaultInjector,
  type FaultInjectorOptions,
  type FaultSpec,
} from "./fault.ts";
