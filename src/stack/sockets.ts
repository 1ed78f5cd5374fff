/**
 * What sockets have in common: an owning process, a transport endpoint handle (TRANSPORT_ENDPOINT_HANDLE
 * metadata, matched by RESOURCE_RELEASE, F13), a bound local address and port, and the bind step every
 * socket goes through — ALE_BIND_REDIRECT then ALE_RESOURCE_ASSIGNMENT (F18): an implicit bind carries
 * IS_IMPLICIT_BIND, a request for port 0 gets an ephemeral port and IS_WILDCARD_BIND, an unspecified local
 * address is FWP_EMPTY.
 */
import type { IpAddress } from "../base/index.ts";
import { Ipv4Address, Ipv6Address } from "../base/index.ts";
import type { ClassifyFacts } from "../shim/index.ts";
import type { Process } from "./process.ts";

/** Windows socket error names the stack reports to apps. */
export type SocketError =
  | "WSAEACCES"
  | "WSAEADDRINUSE"
  | "WSAEADDRNOTAVAIL"
  | "WSAECONNREFUSED"
  | "WSAECONNRESET"
  | "WSAECONNABORTED"
  | "WSAETIMEDOUT"
  | "WSAEHOSTUNREACH"
  | "WSAENETUNREACH"
  | "WSAEMSGSIZE"
  | "WSAENOTCONN"
  | "WSAEINVAL"
  | "WSAENOBUFS";

export class SocketFailure extends Error {
  constructor(
    readonly code: SocketError,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "SocketFailure";
  }
}

/** The part of a socket the shims see. */
export interface SocketBase {
  readonly process: Process;
  readonly protocol: number;
  /** AF_INET (4) or AF_INET6 (6). */
  readonly family: 4 | 6;
  /** An AF_INET6 socket that also carries IPv4 traffic as v4-mapped addresses (F15). */
  readonly dualMode: boolean;
  readonly endpointHandle: bigint;
  /** Undefined until bound; the unspecified address when bound to any. */
  localAddress: IpAddress | undefined;
  localPort: number;
  bound: boolean;
  closed: boolean;
  /** Which end of a loopback connection the socket is ("client" / "server"), for the classify log. */
  readonly side?: string;
  /**
   * FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits (ALE_SIO_FIREWALL_SYSTEM_PORT at RESOURCE_ASSIGNMENT, AUTH_LISTEN
   * and AUTH_RECV_ACCEPT): IS_SYSTEM_PORT_RPC for an RPC endpoint, ALLOW_EDGE_TRAFFIC / DENY_EDGE_TRAFFIC for a
   * socket whose protection level allows or forbids edge traversal. 0 for an ordinary socket.
   */
  socketProperties: number;
}

/**
 * Two sockets' port namespaces overlap: AF_INET and AF_INET6 ports are separate, except that a dual-mode
 * AF_INET6 socket also holds the port for IPv4 (F15) — so 0.0.0.0:53 and an IPv6-only [::]:53 coexist, and a
 * dual-mode [::]:53 conflicts with both.
 */
export function sharePortSpace(a: SocketBase, b: SocketBase): boolean {
  if (a.family === b.family) return true;
  return a.family === 6 ? a.dualMode : b.dualMode;
}

/** The unspecified address of a family. */
export function anyAddress(family: 4 | 6): IpAddress {
  return family === 4 ? Ipv4Address.ANY : Ipv6Address.ANY;
}

/** An address as a socket of `family` sees it: IPv4 on a dual-mode IPv6 socket becomes v4-mapped (F15). */
export function asSocketAddress(a: IpAddress, family: 4 | 6): IpAddress {
  if (family === 6 && a.version === 4) return a.toV4Mapped();
  return a;
}

/** The ALE facts of a socket operation (no packet yet): addresses as the socket's family sees them. */
export function socketFacts(
  s: SocketBase,
  extra: Partial<Pick<ClassifyFacts, "remoteAddress" | "remotePort" | "flags" | "direction" | "iface">> & {
    readonly localAddress?: IpAddress;
  },
): ClassifyFacts {
  const local = extra.localAddress ?? s.localAddress;
  const unspecified = local === undefined || local.isUnspecified();
  return {
    ipVersion: s.family,
    protocol: s.protocol,
    ...(unspecified ? {} : { localAddress: asSocketAddress(local, s.family) }),
    ...(s.bound || s.localPort !== 0 ? { localPort: s.localPort } : {}),
    ...(extra.remoteAddress !== undefined ? { remoteAddress: asSocketAddress(extra.remoteAddress, s.family) } : {}),
    ...(extra.remotePort !== undefined ? { remotePort: extra.remotePort } : {}),
    ...(extra.direction !== undefined ? { direction: extra.direction } : {}),
    ...(extra.iface !== undefined ? { iface: extra.iface } : {}),
    flags: extra.flags ?? 0,
    process: s.process.facts,
    socketProperties: s.socketProperties,
  };
}
