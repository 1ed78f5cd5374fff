/**
 * The composition root (ARCHITECTURE.md): the one place in src/ with real time, real randomness and real
 * timers. It builds a Bfe on the durable store or on a netsh dump for the CLI and, later, the server.
 */
export { SystemClock, systemRandomBytes, systemTimer } from "./clock.ts";
export {
  countObjects,
  DEFAULT_STORE_PATH,
  exportNetshText,
  type Host,
  type HostOptions,
  importNetshFile,
  type NetshFileImport,
  persistentDocument,
  type ObjectCounts,
  openHost,
  readNetshFile,
  type SkippedFilter,
} from "./host.ts";
export {
  type CalloutModule,
  type CalloutModuleContext,
  type ClassifyLogEntry,
  type HostReport,
  logEntry,
  type SimulateRequest,
  type SimulationReport,
  simulate,
} from "./simulate.ts";
export {
  assumeCallouts,
  type CalloutAssumption,
  type LoadedPolicySource,
  loadPolicySource,
  parseCalloutOptions,
  type PolicySourceSpec,
} from "./policy-source.ts";
export { type FilterCount, parseLocal, type ReplayRequest, type ReplaySummary, replay } from "./replay.ts";
export {
  type ExplainProtocol,
  type ExplainReport,
  type ExplainRequest,
  type ExplainStep,
  explain,
  parseHostPort,
  SOCKET_PROPERTY_NAMES,
  socketPropertyBit,
  walk,
} from "./explain.ts";
export {
  type ConnectionChange,
  type DiffReport,
  type DiffRequest,
  diff,
  diffEngines,
  type FilterChange,
  type PacketChange,
  parseConnections,
  policySourceOfFile,
} from "./diff.ts";
