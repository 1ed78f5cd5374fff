/**
 * The socket operations every transport shares at the ALE layers:
 * - bind (F18, G6): ALE_BIND_REDIRECT then ALE_RESOURCE_ASSIGNMENT, with IS_IMPLICIT_BIND for a bind the
 *   stack does on the app's behalf and IS_WILDCARD_BIND when port 0 asked for an ephemeral port; an
 *   unspecified local address is FWP_EMPTY. A callout at BIND_REDIRECT may change the local address and
 *   port (D24: FwpsApplyModifiedLayerData0; RESOURCE_ASSIGNMENT sees the redirected ones); a block at
 *   RESOURCE_ASSIGNMENT fails the bind (WSAEACCES). BIND_REDIRECT can be pended (FwpsPendClassify0, D21)
 *   and RESOURCE_ASSIGNMENT (FwpsPendOperation0, D19): the bind then completes later (ale-pend.ts).
 * - close (F13): ALE_ENDPOINT_CLOSURE once, flowDeleteFn for the endpoint's flows, then
 *   ALE_RESOURCE_RELEASE when the endpoint had a RESOURCE_ASSIGNMENT indication (same endpoint handle).
 *   A callout may pend ENDPOINT_CLOSURE (D21): the rest waits for its completion.
 */
import type { IpAddress } from "../base/index.ts";
import {
  type AleFlow,
  type BindRequest,
  type ClassifyFacts,
  FWP_CONDITION_FLAG,
  type SocketAddress,
} from "../shim/index.ts";
import { attempt, type Done, pendableClassify, pendableOperation } from "./ale-pend.ts";
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

/**
 * Binds `s` through the ALE bind layers; `done` gets the outcome (at once, or after a pended BIND_REDIRECT
 * or RESOURCE_ASSIGNMENT completes). Throws SocketFailure on a refusal found before any classification.
 */
export function aleBind(
  host: Host,
  s: SocketBase,
  address: IpAddress,
  port: number,
  implicit: boolean,
  inUse: (port: number) => boolean,
  done: Done,
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
  const factsNow = (extraFlags = 0): ClassifyFacts => {
    const local = s.localAddress === undefined ? undefined : unmapped(s.localAddress);
    const iface = local === undefined || local.isUnspecified() ? undefined : host.interfaceOwning(local);
    return socketFacts(s, { flags: flags | extraFlags, ...(iface !== undefined ? { iface: iface.facts } : {}) });
  };
  const request: BindRequest = {
    kind: "bind-request",
    localAddressAndPort: { address, port: chosen },
    portReservationToken: 0n,
    previousVersion: null,
    modifierFilterId: 0n,
  };
  const meta = identityMetadata(s);
  const side = s.side !== undefined ? { side: s.side } : {};
  const unbind = (): void => {
    s.localAddress = undefined;
    s.localPort = 0;
    assigned.delete(s);
  };
  pendableClassify(
    (classifyContext, layerData: BindRequest) =>
      host.shim.classifyAt("ALE_BIND_REDIRECT", {
        facts: factsNow(),
        packet: "none",
        logDirection: "none",
        layerData,
        classifyContext,
        metadata: meta,
        ...side,
      }),
    request,
    (final) =>
      attempt(
        (f) => {
          unbind();
          done(f);
        },
        () => {
          if (s.closed) throw new SocketFailure("WSAEINVAL", "socket closed during the bind");
          redirectBind(host, s, final.localAddressAndPort, chosen, inUse);
          assigned.add(s);
          pendableOperation(
            (completionHandle) =>
              host.shim.classifyAt("ALE_RESOURCE_ASSIGNMENT", {
                facts: factsNow(),
                packet: "none",
                logDirection: "none",
                metadata: { ...meta, completionHandle },
                ...side,
              }),
            (completionHandle) =>
              host.shim.classifyAt("ALE_RESOURCE_ASSIGNMENT", {
                facts: factsNow(FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE),
                packet: "none",
                logDirection: "none",
                metadata: { ...meta, completionHandle },
                ...side,
              }),
            (v) => {
              if (v === undefined || !v.permit || s.closed) {
                const p = s.localPort;
                unbind();
                done(
                  s.closed
                    ? new SocketFailure("WSAEINVAL", "socket closed during the bind")
                    : new SocketFailure("WSAEACCES", `ALE_RESOURCE_ASSIGNMENT blocked the bind to port ${p}`),
                );
                return;
              }
              s.bound = true;
              done();
            },
            undefined,
            () => !s.closed,
          );
        },
      ),
  );
}

/**
 * A bind redirected at ALE_BIND_REDIRECT (D24): the socket takes the local address and port the callout
 * applied. An address this host does not own is WSAEADDRNOTAVAIL, a port in use WSAEADDRINUSE [INF: the
 * bind fails as a bind to them would]; port 0 keeps the port the stack chose.
 */
function redirectBind(
  host: Host,
  s: SocketBase,
  to: SocketAddress,
  chosen: number,
  inUse: (port: number) => boolean,
): void {
  const a = unmapped(to.address);
  const sameAddress = s.localAddress !== undefined && unmapped(s.localAddress).equals(a);
  if (sameAddress && (to.port === chosen || to.port === 0)) return;
  if (!a.isUnspecified() && host.interfaceOwning(a) === undefined) {
    throw new SocketFailure("WSAEADDRNOTAVAIL", `the bind was redirected to ${a}, not an address of ${host.name}`);
  }
  if (to.port !== 0 && to.port !== chosen && inUse(to.port)) {
    throw new SocketFailure("WSAEADDRINUSE", `the bind was redirected to port ${to.port}, which is in use`);
  }
  s.localAddress = to.address.version === 4 && s.family === 6 ? to.address.toV4Mapped() : to.address;
  if (to.port !== 0) s.localPort = to.port;
}

/**
 * Endpoint closure: ENDPOINT_CLOSURE (with the connection's remote end when there is one), the flows'
 * contexts deleted (flowDeleteFn), RESOURCE_RELEASE if the endpoint was assigned. A callout may pend the
 * closure (FwpsPendClassify0, D21): the rest follows its completion.
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
  pendableClassify(
    (classifyContext, _none: undefined) =>
      host.shim.classifyAt("ALE_ENDPOINT_CLOSURE", {
        facts,
        packet: "none",
        logDirection: "none",
        metadata: meta,
        classifyContext,
        ...extra,
      }),
    undefined,
    () => {
      for (const f of flows) host.shim.closeFlow(f);
      releaseResource(host, s, side);
    },
  );
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
