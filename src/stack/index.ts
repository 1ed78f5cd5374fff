/**
 * The simulated TCP/IP stack: hosts with Ethernet NICs and a loopback interface, routes, static
 * neighbours and ARP / neighbour discovery, IPv4 and IPv6 with fragmentation, reassembly and forwarding,
 * ICMP, UDP and TCP sockets, on links (shared segment, point-to-point) that a pcapng recorder and a
 * seeded fault injector can wrap. Time is simulated (Scheduler): a scenario runs deterministically and as
 * fast as the CPU allows. Every point where Windows classifies calls the host's Shim.
 * Imports base, wire, capture and shim only.
 *
 * @example
 * ```ts
 * const net = new Network({ seed: 1 });
 * net.link("lan", { delayNs: ms(1) });
 * const a = net.host("client", new Shim({ engine, clock: net.scheduler, host: "client" }));
 * net.attach(a, "eth0", "lan", { addresses: ["10.0.0.1/24"] });
 * const s = a.tcp.socket(a.process({ processId: 1234, imagePath: "C:\\app.exe" }));
 * s.connect(Ipv4Address.parse("10.0.0.2"), 80);
 * net.runFor(ms(100));
 * ```
 */
export { type AttachSpec, type LinkSpec, Network } from "./network.ts";
export { Host, type HostOptions, parseAddress, unmapped } from "./host.ts";
export { IF_TYPE, type InterfaceCounters, NetInterface, netLuid } from "./nic.ts";
export { Process, systemProcess } from "./process.ts";
export { type Route, type RouteLookup, RouteTable } from "./route.ts";
export { type SocketError, SocketFailure } from "./sockets.ts";
export { type TcpLayerOptions, type TcpOutcome, TcpSocket } from "./tcp-layer.ts";
export { type UdpMessage, UdpSocket } from "./udp-layer.ts";
export { type EchoReply, PingSocket } from "./icmp-layer.ts";
export type { IpCounters, RouteResult } from "./ip-layer.ts";
export type { ForwarderCounters, ForwarderOptions } from "./forward.ts";
export { ms, type RunLimits, Scheduler, seconds, type Timer } from "./sim/scheduler.ts";
export { FaultInjector, type FaultSpec } from "./link/fault.ts";
export { PcapRecorder } from "./link/pcap-tap.ts";
export { PointToPointLink } from "./link/point-to-point.ts";
export type { LinkCounters, Port } from "./link/port.ts";
export { SharedSegment } from "./link/shared-segment.ts";
export {
  parseEndpoint,
  parseScenario,
  type Scenario,
  type ScenarioAction,
  type ScenarioApp,
  ScenarioError,
  type ScenarioHost,
} from "./scenario/format.ts";
export {
  type AppOutcome,
  type RunScenarioOptions,
  runScenario,
  type ScenarioResult,
  type SocketOutcome,
} from "./scenario/runner.ts";
