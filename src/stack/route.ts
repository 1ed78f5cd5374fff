/**
 * A host's routing table, one per IP version: routes are prefixes with an outgoing interface and an
 * optional gateway; lookups pick the longest matching prefix, then the lowest metric, then the route
 * added first. On-link prefixes of interface addresses are added by the host when an address is
 * assigned.
 */
import type { IpAddress, IpPrefix } from "../base/index.ts";

export interface Route {
  readonly prefix: IpPrefix;
  /** The interface index the route sends through. */
  readonly interfaceIndex: number;
  /** The next hop; absent for an on-link route (the destination itself is the next hop). */
  readonly gateway?: IpAddress;
  readonly metric: number;
}

export interface RouteLookup {
  readonly route: Route;
  /** The neighbour to resolve: the gateway, or the destination for an on-link route. */
  readonly nextHop: IpAddress;
}

export class RouteTable {
  readonly #routes: Route[] = [];

  add(route: Route): void {
    this.#routes.push(route);
  }

  remove(predicate: (r: Route) => boolean): number {
    let n = 0;
    for (let i = this.#routes.length - 1; i >= 0; i--) {
      if (predicate(this.#routes[i] as Route)) {
        this.#routes.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  routes(): readonly Route[] {
    return this.#routes;
  }

  /** The best route to `destination`, or undefined (no route: IpDiscardNoRoute). */
  lookup(destination: IpAddress): RouteLookup | undefined {
    let best: Route | undefined;
    for (const r of this.#routes) {
      if (r.prefix.address.version !== destination.version || !r.prefix.contains(destination)) continue;
      if (
        best === undefined ||
        r.prefix.length > best.prefix.length ||
        (r.prefix.length === best.prefix.length && r.metric < best.metric)
      ) {
        best = r;
      }
    }
    if (best === undefined) return undefined;
    return { route: best, nextHop: best.gateway ?? destination };
  }
}
