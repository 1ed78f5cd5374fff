/**
 * The socket operations every transport shares at the ALE layers:
 * - bind (F18, G6): ALE_BIND_REDIRECT then ALE_RESOURCE_ASSIGNMENT, with IS_IMPLICIT_BIND for a bind the
 *   stack does on the app's behalf and IS_WILDCARD_BIND when port 0 asked for an ephemeral port; an
 *   unspecified local address is FWP_EMPTY. A block at RESOURCE_ASSIGNMENT fails the bind (WSAEACCES).
 * - close (F13): ALE_ENDPOINT_CLOSURE once, flowDeleteFn for the endpoint's flows, then
 *   ALE_RESOURCE_RELEASE when the endpoint had a RESOURCE_ASSIGNMENT indication (same endpoint handle).
 */
import type { IpAddress } from "../base/index.ts";
import { type AleFlow, type BindRequest, FWP_CONDITION_FLAG } from "../shim/index.ts";
import type { Host } from "./host.ts";
import { unmapped } from "./host.ts";
import { type SocketBase, SocketFailure, socketFacts } from "./sockets.ts";

const FLAG = FWP_CONDITION_FLAG;

/** Endpoints that were indicated at RESOURCE_ASSIGNMENT (and so owe a RESOURCE_RELEASE). */
const assigned = new WeakSet<SocketBase>();

function identityMetadata(s: SocketBase) {
  return {
    processId: s.process.processId,
    processPath: s.process.facts.appId,
    token: s.process.facts.token,
    transportEndpointHandle: s.endpointHandle,
    compartmentId: 1,
  };
}

/** Binds `s` through the ALE bind layers. Throws SocketFailure on refusal. */
export function aleBind(
  host: Host,
  s: SocketBase,
  address: IpAddress,
  port: number,
  implicit: boolean,
  inUse: (port: number) => boolean,
): void {
  const a = unmapped(address);
  if (!a.isUnspecified() && host.interfaceOwning(a) === undefined) {
    throw new SocketFailure("WSAEADDRNOTAVAIL", `${a} is not an address of ${host.name}`);
  }
  let chosen = port;
  if (port === 0) {
    const p = host.ephemeralPort(inUse);
    if (p === undefined) throw new SocketFailure("WSAENOBUFS", "no ephemeral port left");
    chosen = p;
  } else if (inUse(port)) {
    throw new SocketFailure("WSAEADDRINUSE", `port ${port} is in use`);
  }
  const flags =
    (implicit ? FLAG.FWP_CONDITION_FLAG_IS_IMPLICIT_BIND : 0) |
    (port === 0 ? FLAG.FWP_CONDITION_FLAG_IS_WILDCARD_BIND : 0);
  s.localAddress = address;
  s.localPort = chosen;
  const iface = a.isUnspecified() ? undefined : host.interfaceOwning(a);
  const facts = socketFacts(s, { flags, ...(iface !== undefined ? { iface: iface.facts } : {}) });
  const request: BindRequest = {
    kind: "bind-request",
    localAddressAndPort: { address, port: chosen },
    portReservationToken: 0n,
    previousVersion: null,
    modifierFilterId: 0n,
  };
  const meta = identityMetadata(s);
  const side = s.side !== undefined ? { side: s.side } : {};
  host.shim.classifyAt("ALE_BIND_REDIRECT", {
    facts,
    packet: "none",
    logDirection: "none",
    layerData: request,
    metadata: meta,
    ...side,
  });
  assigned.add(s);
  const v = host.shim.classifyAt("ALE_RESOURCE_ASSIGNMENT", {
    facts,
    packet: "none",
    logDirection: "none",
    metadata: meta,
    ...side,
  });
  if (!v.permit) {
    s.localAddress = undefined;
    s.localPort = 0;
    assigned.delete(s);
    throw new SocketFailure("WSAEACCES", `ALE_RESOURCE_ASSIGNMENT blocked the bind to port ${chosen}`);
  }
  s.bound = true;
}

/**
 * Endpoint closure: ENDPOINT_CLOSURE (with the connection's remote end when there is one), the flows'
 * contexts deleted (flowDeleteFn), RESOURCE_RELEASE if the endpoint was assigned.
 */
export function aleCloseEndpoint(
  host: Host,
  s: SocketBase,
  flows: readonly AleFlow[],
  remote?: { readonly address: IpAddress; readonly port: number },
  side?: string,
): void {
  const facts = socketFacts(s, remote === undefined ? {} : { remoteAddress: remote.address, remotePort: remote.port });
  const meta = identityMetadata(s);
  const extra = side !== undefined ? { side } : {};
  host.shim.classifyAt("ALE_ENDPOINT_CLOSURE", {
    facts,
    packet: "none",
    logDirection: "none",
    metadata: meta,
    ...extra,
  });
  for (const f of flows) host.shim.closeFlow(f);
  releaseResource(host, s, side);
}

/** RESOURCE_RELEASE for an endpoint that was indicated at RESOURCE_ASSIGNMENT (once). */
export function releaseResource(host: Host, s: SocketBase, side?: string): void {
  if (!assigned.has(s)) return;
  assigned.delete(s);
  const facts = socketFacts(s, {});
  host.shim.classifyAt("ALE_RESOURCE_RELEASE", {
    facts,
    packet: "none",
    logDirection: "none",
    metadata: identityMetadata(s),
    ...(side !== undefined ? { side } : {}),
  });
}
