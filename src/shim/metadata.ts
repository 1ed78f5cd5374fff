/**
 * FWPS_INCOMING_METADATA_VALUES0 in model form: the stack hands the shim everything it knows about a
 * classification (`MetadataInput`), and the shim keeps what the layer carries, setting the matching
 * FWPS_METADATA_FIELD_* bits in `currentMetadataValues`. Member names are those of the structure.
 * Availability per layer follows wfp-semantics.md G13 (ALE layers), E19 (STREAM_PACKET) and the
 * "Metadata fields at each filtering layer" page (packet layers); every discard layer adds
 * DISCARD_REASON, and FLOW_HANDLE is only present where a flow exists (D14).
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/ns-fwpsk-fwps_incoming_metadata_values0_,
 * https://learn.microsoft.com/windows-hardware/drivers/network/metadata-fields-at-each-filtering-layer
 */
import { FWPS_METADATA_FIELD, type Layer, type LayerSubFamily } from "../fwp/index.ts";
import type { FwpTokenInformation } from "../fwp/index.ts";

/** FWPS_DISCARD_METADATA0. */
export interface DiscardMetadata {
  /** FWPS_DISCARD_MODULE: NETWORK 0, TRANSPORT 1, GENERAL 2. */
  readonly discardModule: number;
  /** IP_DISCARD_REASON, INET_DISCARD_REASON or FWPS_GENERAL_DISCARD_REASON by module. */
  readonly discardReason: number;
  /** The filter that blocked (GENERAL + FWPS_DISCARD_FIREWALL_POLICY), else 0. */
  readonly filterId: bigint;
}

/** FWPS_INBOUND_FRAGMENT_METADATA0. */
export interface FragmentMetadata {
  readonly fragmentIdentification: number;
  readonly fragmentOffset: number;
  readonly fragmentLength: number;
}

/** What the stack knows; the shim keeps the members the layer carries. */
export interface MetadataInput {
  readonly discardMetadata?: DiscardMetadata;
  readonly flowHandle?: bigint;
  readonly ipHeaderSize?: number;
  readonly transportHeaderSize?: number;
  /** FWP_BYTE_BLOB of the process path (same form as the app id, G15). */
  readonly processPath?: Uint8Array;
  readonly token?: FwpTokenInformation;
  readonly processId?: bigint;
  readonly sourceInterfaceIndex?: number;
  readonly destinationInterfaceIndex?: number;
  readonly compartmentId?: number;
  readonly fragmentMetadata?: FragmentMetadata;
  readonly pathMtu?: number;
  /** A handle the callout passes to FwpsPendOperation0 (D19). */
  readonly completionHandle?: unknown;
  readonly transportEndpointHandle?: bigint;
  readonly remoteScopeId?: number;
  /** FWP_DIRECTION of the packet. */
  readonly packetDirection?: number;
  readonly parentEndpointHandle?: bigint;
  /** ICMP echo identifier (high 16 bits) and sequence (low 16 bits). */
  readonly icmpIdAndSequence?: number;
  readonly localRedirectTargetPID?: number;
  /** The destination before a connect redirect (D29), as "address:port" text. */
  readonly originalDestination?: string;
  readonly redirectRecords?: unknown;
  readonly subProcessTag?: unknown;
  /** Set on an inbound packet that will also be indicated at ALE_AUTH_RECV_ACCEPT (F11). */
  readonly aleClassifyRequired?: boolean;
}

export interface ShimMetadata extends MetadataInput {
  /** FWPS_METADATA_FIELD_* bits of the members present. */
  readonly currentMetadataValues: number;
}

type Member = Exclude<keyof MetadataInput, "aleClassifyRequired">;

const F = FWPS_METADATA_FIELD;

/** Each member and its FWPS_METADATA_FIELD_* bit. */
const BIT: Readonly<Record<Member, number>> = {
  discardMetadata: F.FWPS_METADATA_FIELD_DISCARD_REASON,
  flowHandle: F.FWPS_METADATA_FIELD_FLOW_HANDLE,
  ipHeaderSize: F.FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  transportHeaderSize: F.FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE,
  processPath: F.FWPS_METADATA_FIELD_PROCESS_PATH,
  token: F.FWPS_METADATA_FIELD_TOKEN,
  processId: F.FWPS_METADATA_FIELD_PROCESS_ID,
  sourceInterfaceIndex: F.FWPS_METADATA_FIELD_SOURCE_INTERFACE_INDEX,
  destinationInterfaceIndex: F.FWPS_METADATA_FIELD_DESTINATION_INTERFACE_INDEX,
  compartmentId: F.FWPS_METADATA_FIELD_COMPARTMENT_ID,
  fragmentMetadata: F.FWPS_METADATA_FIELD_FRAGMENT_DATA,
  pathMtu: F.FWPS_METADATA_FIELD_PATH_MTU,
  completionHandle: F.FWPS_METADATA_FIELD_COMPLETION_HANDLE,
  transportEndpointHandle: F.FWPS_METADATA_FIELD_TRANSPORT_ENDPOINT_HANDLE,
  remoteScopeId: F.FWPS_METADATA_FIELD_REMOTE_SCOPE_ID,
  packetDirection: F.FWPS_METADATA_FIELD_PACKET_DIRECTION,
  parentEndpointHandle: F.FWPS_METADATA_FIELD_PARENT_ENDPOINT_HANDLE,
  icmpIdAndSequence: F.FWPS_METADATA_FIELD_ICMP_ID_AND_SEQUENCE,
  localRedirectTargetPID: F.FWPS_METADATA_FIELD_LOCAL_REDIRECT_TARGET_PID,
  originalDestination: F.FWPS_METADATA_FIELD_ORIGINAL_DESTINATION,
  redirectRecords: F.FWPS_METADATA_FIELD_REDIRECT_RECORD_HANDLE,
  subProcessTag: F.FWPS_METADATA_FIELD_SUB_PROCESS_TAG,
};

const ALE_IDENTITY: readonly Member[] = ["processPath", "token", "processId", "subProcessTag"];

/** The members each layer sub-family carries (its discard twin adds discardMetadata). */
const AVAILABLE: Partial<Record<LayerSubFamily, readonly Member[]>> = {
  "ip-packet": ["ipHeaderSize", "transportHeaderSize", "compartmentId", "fragmentMetadata", "pathMtu"],
  "ip-forward": ["compartmentId", "sourceInterfaceIndex", "destinationInterfaceIndex"],
  transport: [
    "flowHandle",
    "ipHeaderSize",
    "transportHeaderSize",
    "compartmentId",
    "transportEndpointHandle",
    "remoteScopeId",
    "packetDirection",
    "icmpIdAndSequence",
  ],
  "datagram-data": [
    "flowHandle",
    "ipHeaderSize",
    "transportHeaderSize",
    "compartmentId",
    "transportEndpointHandle",
    "remoteScopeId",
    "packetDirection",
    "icmpIdAndSequence",
  ],
  stream: ["flowHandle", "compartmentId"],
  "stream-packet": [
    "flowHandle",
    "ipHeaderSize",
    "transportHeaderSize",
    "compartmentId",
    "transportEndpointHandle",
    "remoteScopeId",
  ],
  "icmp-error": ["ipHeaderSize", "transportHeaderSize", "compartmentId"],
  "resource-assignment": [...ALE_IDENTITY, "completionHandle", "transportEndpointHandle"],
  "auth-listen": [...ALE_IDENTITY, "completionHandle", "transportEndpointHandle"],
  "auth-recv-accept": [
    ...ALE_IDENTITY,
    "completionHandle",
    "transportEndpointHandle",
    "flowHandle",
    "ipHeaderSize",
    "transportHeaderSize",
    "compartmentId",
    "packetDirection",
    "parentEndpointHandle",
    "icmpIdAndSequence",
  ],
  "auth-connect": [
    ...ALE_IDENTITY,
    "completionHandle",
    "transportEndpointHandle",
    "flowHandle",
    "transportHeaderSize",
    "compartmentId",
    "packetDirection",
    "parentEndpointHandle",
    "icmpIdAndSequence",
    "remoteScopeId",
    "localRedirectTargetPID",
    "originalDestination",
  ],
  "flow-established": [
    "flowHandle",
    "processPath",
    "token",
    "processId",
    "transportEndpointHandle",
    "parentEndpointHandle",
    "icmpIdAndSequence",
    "subProcessTag",
  ],
  "resource-release": ["token", "processId", "compartmentId", "transportEndpointHandle", "subProcessTag"],
  "endpoint-closure": [
    "token",
    "processId",
    "compartmentId",
    "transportEndpointHandle",
    "subProcessTag",
    "parentEndpointHandle",
  ],
  "connect-redirect": [
    "token",
    "processId",
    "transportEndpointHandle",
    "parentEndpointHandle",
    "icmpIdAndSequence",
    "localRedirectTargetPID",
    "redirectRecords",
    "subProcessTag",
  ],
  "bind-redirect": ["token", "processId", "transportEndpointHandle", "localRedirectTargetPID", "subProcessTag"],
};

/** The metadata members a layer carries (for docs and tests). */
export function metadataMembersOf(layer: Layer): readonly string[] {
  const base = AVAILABLE[layer.subFamily] ?? [];
  return layer.isDiscard ? [...base, "discardMetadata"] : base;
}

/** The metadata of one classification at `layer`: the members of `input` the layer carries. */
export function metadataFor(layer: Layer, input: MetadataInput): ShimMetadata {
  const members = AVAILABLE[layer.subFamily] ?? [];
  const out: Record<string, unknown> = {};
  let bits = 0;
  for (const m of members) {
    const v = input[m];
    if (v === undefined) continue;
    out[m] = v;
    bits |= BIT[m];
  }
  if (layer.isDiscard && input.discardMetadata !== undefined) {
    out.discardMetadata = input.discardMetadata;
    bits |= BIT.discardMetadata;
  }
  if (input.aleClassifyRequired === true && layer.subFamily === "transport" && layer.direction === "inbound") {
    bits |= F.FWPS_METADATA_FIELD_ALE_CLASSIFY_REQUIRED;
  }
  out.currentMetadataValues = bits >>> 0;
  return out as unknown as ShimMetadata;
}
