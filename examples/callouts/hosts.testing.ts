/**
 * Hosts on one switched segment for the callout examples' tests, built from the public entry points only:
 * each host has its own filter engine and shim, one app process, and static neighbour entries.
 */
import { FilterEngine } from "../../src/engine/index.ts";
import { type ClassifyRecord, Shim } from "../../src/shim/index.ts";
import { type Host, ms, Network, type Process } from "../../src/stack/index.ts";

export interface ExampleHost {
  readonly host: Host;
  readonly engine: FilterEngine;
  readonly shim: Shim;
  readonly app: Process;
  readonly address: string;
}

export interface ExampleNet {
  readonly net: Network;
  readonly log: ClassifyRecord[];
  readonly hosts: Record<string, ExampleHost>;
}

/**
 * Hosts named by `specs` ({ name: "10.0.0.1" }, or several addresses: { name: ["10.0.0.1", "fd00::1"] }),
 * each with one NIC on a 1 ms switch (/24 for IPv4, /64 for IPv6).
 */
export function exampleLan(specs: Readonly<Record<string, string | readonly string[]>>): ExampleNet {
  const net = new Network({ seed: 3 });
  net.link("lan", { delayNs: ms(1) });
  const log: ClassifyRecord[] = [];
  const hosts: Record<string, ExampleHost> = {};
  let pid = 1000;
  for (const [name, spec] of Object.entries(specs)) {
    const addresses = typeof spec === "string" ? [spec] : spec;
    const address = addresses[0] ?? "";
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: net.scheduler, host: name, log: (r) => log.push(r) });
    const host = net.host(name, shim);
    net.attach(host, "eth0", "lan", { addresses: addresses.map((a) => (a.includes(":") ? `${a}/64` : `${a}/24`)) });
    const app = host.process({ processId: pid++, imagePath: `C:\\Apps\\${name}.exe`, userSid: "S-1-5-21-1-2-3-1001" });
    hosts[name] = { host, engine, shim, app, address };
  }
  const all = Object.values(hosts);
  for (const a of all) {
    const nic = a.host.interfaces[0];
    if (nic === undefined) continue;
    for (const b of all) {
      const other = b.host.interfaces[0];
      if (a === b || other === undefined) continue;
      for (const p of other.addresses) a.host.addStaticNeighbor(nic, p.address, other.mac);
    }
  }
  return { net, log, hosts };
}

export function hostOf(n: ExampleNet, name: string): ExampleHost {
  const h = n.hosts[name];
  if (h === undefined) throw new Error(`no host ${name}`);
  return h;
}
