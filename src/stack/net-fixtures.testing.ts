/**
 * Test networks: hosts on one switched segment (or a router between two), each with its own filter
 * engine loaded from a policy document and its own shim, one shared classify log, static neighbour
 * entries (so resolution does not shift timings), and helpers to slice the log.
 */
import type { CaptureSink } from "../capture/index.ts";
import { FilterEngine, loadPolicyDocument } from "../engine/index.ts";
import { type ClassifyRecord, Shim } from "../shim/index.ts";
import type { Host, HostOptions } from "./host.ts";
import { parseAddress } from "./host.ts";
import { type AttachSpec, Network } from "./network.ts";
import type { NetInterface } from "./nic.ts";
import type { Process } from "./process.ts";
import { ms } from "./sim/scheduler.ts";

export interface TestHost {
  readonly host: Host;
  readonly engine: FilterEngine;
  readonly shim: Shim;
  readonly nic: NetInterface;
  readonly address: string;
  readonly app: Process;
}

export interface TestNet {
  readonly net: Network;
  readonly log: ClassifyRecord[];
  readonly hosts: Record<string, TestHost>;
  /** Records of `host` from index `from` on. */
  slice(host: string, from: number): ClassifyRecord[];
}

export interface HostSpec {
  readonly name: string;
  /** v4 and v6 addresses with prefix, e.g. ["10.0.0.1/24", "fd00::1/64"]. */
  readonly addresses: readonly string[];
  readonly policy?: unknown;
  readonly mtu?: number;
  readonly options?: HostOptions;
  /** Seeded faults on the host's NIC (see FaultInjector). */
  readonly faults?: AttachSpec["faults"];
}

export interface LanOptions {
  readonly delayMs?: number;
  readonly seed?: number;
  /** Record every NIC into this pcapng sink (close it with `net.close()`). */
  readonly capture?: CaptureSink;
  /** Static neighbour entries between all hosts (default true); false: ARP / ND resolve them. */
  readonly staticNeighbors?: boolean;
}

function engineFor(policy: unknown): FilterEngine {
  if (policy === undefined) return new FilterEngine();
  return loadPolicyDocument(policy).engine;
}

/** Hosts on one segment (1 ms one-way delay), each knowing every other's MAC. */
export function lan(specs: readonly HostSpec[], options: LanOptions = {}): TestNet {
  const net = new Network({
    seed: options.seed ?? 7,
    ...(options.capture !== undefined ? { capture: options.capture } : {}),
  });
  net.link("lan", { delayNs: ms(options.delayMs ?? 1) });
  const log: ClassifyRecord[] = [];
  const hosts: Record<string, TestHost> = {};
  for (const spec of specs) {
    const engine = engineFor(spec.policy);
    const shim = new Shim({ engine, clock: net.scheduler, host: spec.name, log: (r) => log.push(r) });
    const host = net.host(spec.name, shim, spec.options);
    const nic = net.attach(host, "eth0", "lan", {
      addresses: spec.addresses,
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
      ...(spec.faults !== undefined ? { faults: spec.faults } : {}),
    });
    const app = host.process({
      processId: 1000 + Object.keys(hosts).length,
      imagePath: `C:\\Apps\\${spec.name}.exe`,
      userSid: "S-1-5-21-1-2-3-1001",
    });
    hosts[spec.name] = { host, engine, shim, nic, address: (spec.addresses[0] ?? "").split("/")[0] ?? "", app };
  }
  const all = Object.values(hosts);
  if (options.staticNeighbors !== false)
    for (const a of all)
      for (const b of all) {
        if (a === b) continue;
        for (const p of b.nic.addresses) a.host.addStaticNeighbor(a.nic, p.address, b.nic.mac);
      }
  return {
    net,
    log,
    hosts,
    slice: (host, from) => log.slice(from).filter((r) => r.host === host),
  };
}

/** The FWPM layer names of records, without the FWPM_LAYER_ prefix. */
export function layers(records: readonly ClassifyRecord[]): string[] {
  return records.map((r) => (r.layer.fwpmName ?? r.layer.fwpsName).replace("FWPM_LAYER_", ""));
}

export const addr = parseAddress;
