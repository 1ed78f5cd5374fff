/**
 * Stack benchmark (issue "TCP/IP stack model and shims", bench point): simulated TCP traffic through
 * every classify point of two hosts' shims, with no filters and with a realistic 1,000-filter policy on
 * each host (indexed classifier), measured in the same run; the ratio filtered / unfiltered throughput
 * is what the filtering costs.
 *   (A) connections/s: client → server on one switched LAN, 10 at a time: connect, the client sends
 *       1 KiB, the server answers 1 KiB, both close; the run lasts until every socket is gone
 *       (TIME-WAIT runs out in simulated time, so ENDPOINT_CLOSURE and RESOURCE_RELEASE are counted);
 *   (B) bulk MB/s: one connection carrying 32 MiB client → server in 64 KiB send() calls, then FIN.
 * Rates are of wall-clock time (process.hrtime); simulated time costs nothing. Each workload runs in
 * rounds, each round one run per policy back to back (alternating which goes first), each run after a
 * forced GC when one can be had. Rates are the best round of each policy (the least disturbed by other
 * processes on a shared machine); the ratio is the median of the rounds' own ratios, since the two
 * runs of a round share whatever load the machine had then. Every round's times are printed. The same
 * ratio is also given in process CPU time, which other processes on a shared machine disturb far less
 * than wall time (it includes V8's GC helper threads, so it can exceed wall time).
 *
 * The policy blocks nothing the benchmark sends: blocklisted addresses and prefixes, ports and port
 * ranges not in use, other applications — spread over the ALE layers (auth connect, recv-accept,
 * listen, resource assignment, flow established), the transport, IP packet and stream layers, in
 * three sublayers, plus a few permits that do match (the benchmark's own applications), so that
 * arbitration has work too. STREAM_PACKET is left out on purpose: the stack indicates it only when
 * filters exist there (E19), which would change which layers are crossed rather than what crossing
 * them costs. Checked, or the benchmark fails: a blocklisted address is refused (the policy is live);
 * one traced connection crosses the same classify points, in the same order, with and without the
 * policy, and policy filters decide at the ALE auth layers; in every timed run nothing is blocked, every
 * connection completes and closes on both hosts, every byte arrives, and the classification counts
 * are equal with and without filters (and, for (A), exactly the traced connection's times N).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type IpAddress, Ipv4Address, SeededRng } from "../src/base/index.ts";
import { FilterEngine, indexedClassifier, loadPolicyDocument } from "../src/engine/index.ts";
import { type ClassifyRecord, Shim } from "../src/shim/index.ts";
import { type Host, ms, Network, type Process, type TcpSocket } from "../src/stack/index.ts";

type Report = (line: string) => void;

const CONNECTIONS = 1_000;
const CONCURRENCY = 10;
const CONNECTION_ROUNDS = 5;
/** Fewer, and the first timed rounds are still being optimised by the JIT. */
const WARM_UP_CONNECTIONS = 800;
const MESSAGE = 1024;
const BULK_BYTES = 32 * 1024 * 1024;
const BULK_CHUNK = 64 * 1024;
const BULK_ROUNDS = 3;
const WARM_UP_BYTES = 4 * 1024 * 1024;
const FILTERS = 1_000;
const SERVER_PORT = 8080;
const BULK_PORT = 5001;
const CLIENT_IP = "10.0.0.1";
const SERVER_IP = "10.0.0.2";
const CLIENT_APP = "C:\\Apps\\bench-client.exe";
const SERVER_APP = "C:\\Apps\\bench-server.exe";

const now = (): number => Number(process.hrtime.bigint()) / 1e9;
/** CPU seconds of this process (every thread, GC helpers included) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};

const gc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

// -------------------------------------------------------------------------------------------------
// The policy
// -------------------------------------------------------------------------------------------------

interface PolicyFilter {
  name: string;
  layer: string;
  sublayer?: string;
  weight?: { range: number };
  action: "block" | "permit";
  conditions: { field: string; value: string | number }[];
}

const ipText = (x: number): string => `${x >>> 24}.${(x >>> 16) & 0xff}.${(x >>> 8) & 0xff}.${x & 0xff}`;

/** A public-looking address, never in 10.0.0.0/8 (where the benchmark's hosts live). */
function foreignAddress(rng: SeededRng): number {
  for (;;) {
    const a = rng.nextU32();
    if (a >>> 24 !== 10 && a >>> 24 !== 0 && a >>> 24 < 224) return a;
  }
}

/** A port the benchmark never uses: not a server port, and below the dynamic range the client binds from. */
function unusedPort(rng: SeededRng): number {
  for (;;) {
    const p = rng.nextRange(1, 49151);
    if (p !== SERVER_PORT && p !== BULK_PORT) return p;
  }
}

/**
 * A firewall-like policy of `n` filters (n ≥ 100). Shares per layer are fixed; within a layer the
 * shapes rotate between address blocklists (/32 and prefixes), ports with protocol, port ranges clear
 * of the ports in use, and other applications' ids.
 */
function benchPolicy(n: number, rng: SeededRng): unknown {
  const sublayers = [
    { name: "corp firewall", weight: 0xc000 },
    { name: "endpoint protection", weight: 0x6000 },
  ];
  const pickSublayer = (): string | undefined => rng.pick(["corp firewall", "endpoint protection", undefined]);
  const filters: PolicyFilter[] = [];
  const add = (layer: string, conditions: PolicyFilter["conditions"], action: "block" | "permit" = "block"): void => {
    const sublayer = pickSublayer();
    filters.push({
      name: `${layer.toLowerCase()} ${filters.length}`,
      layer: `FWPM_LAYER_${layer}`,
      ...(sublayer !== undefined ? { sublayer } : {}),
      ...(rng.chance(0.3) ? { weight: { range: rng.nextInt(16) } } : {}),
      action,
      conditions,
    });
  };
  const otherApp = (): string => `C:\\Program Files\\Vendor${rng.nextInt(200)}\\tool${rng.nextInt(1000)}.exe`;
  const remoteAddress = (): PolicyFilter["conditions"][number] => {
    const a = foreignAddress(rng);
    return rng.chance(0.8)
      ? { field: "remoteAddress", value: ipText(a) }
      : { field: "remoteAddress", value: `${ipText(a & 0xffffff00)}/${rng.nextRange(16, 28)}` };
  };
  const portRange = (): string => {
    // Clear of the server ports (5001, 8080) and of the dynamic range.
    const low = rng.nextRange(1, 4900);
    return `${low}-${low + rng.nextInt(64)}`;
  };
  const shares: [string, number, (i: number) => PolicyFilter["conditions"]][] = [
    [
      "ALE_AUTH_CONNECT_V4",
      0.25,
      (i) =>
        i % 4 === 0
          ? [remoteAddress()]
          : i % 4 === 1
            ? [
                { field: "protocol", value: "tcp" },
                { field: "remotePort", value: unusedPort(rng) },
              ]
            : i % 4 === 2
              ? [
                  { field: "appId", value: otherApp() },
                  { field: "remotePort", value: rng.pick([80, 443, 8443, 22]) },
                ]
              : [{ field: "remotePort", value: portRange() }],
    ],
    [
      "ALE_AUTH_RECV_ACCEPT_V4",
      0.15,
      (i) =>
        i % 3 === 0
          ? [remoteAddress()]
          : i % 3 === 1
            ? [
                { field: "protocol", value: rng.pick(["tcp", "udp"]) },
                { field: "localPort", value: unusedPort(rng) },
              ]
            : [{ field: "appId", value: otherApp() }],
    ],
    [
      "ALE_AUTH_LISTEN_V4",
      0.05,
      (i) => (i % 2 === 0 ? [{ field: "localPort", value: unusedPort(rng) }] : [{ field: "appId", value: otherApp() }]),
    ],
    [
      "ALE_RESOURCE_ASSIGNMENT_V4",
      0.05,
      (i) =>
        i % 2 === 0
          ? [
              { field: "protocol", value: "udp" },
              { field: "localPort", value: portRange() },
            ]
          : [{ field: "appId", value: otherApp() }],
    ],
    ["ALE_FLOW_ESTABLISHED_V4", 0.05, () => [remoteAddress()]],
    [
      "OUTBOUND_TRANSPORT_V4",
      0.1,
      (i) =>
        i % 2 === 0
          ? [remoteAddress()]
          : [
              { field: "protocol", value: "tcp" },
              { field: "remotePort", value: unusedPort(rng) },
            ],
    ],
    [
      "INBOUND_TRANSPORT_V4",
      0.1,
      (i) =>
        i % 2 === 0
          ? [remoteAddress()]
          : [
              { field: "protocol", value: rng.pick(["tcp", "udp"]) },
              { field: "localPort", value: unusedPort(rng) },
            ],
    ],
    ["INBOUND_IPPACKET_V4", 0.1, () => [remoteAddress()]],
    ["OUTBOUND_IPPACKET_V4", 0.1, () => [remoteAddress()]],
    ["STREAM_V4", 0.05, (i) => (i % 2 === 0 ? [remoteAddress()] : [{ field: "remotePort", value: unusedPort(rng) }])],
  ];
  // The benchmark's own applications are allowed explicitly (these match, so arbitration has work).
  const permits: [string, string, string][] = [
    ["ALE_AUTH_CONNECT_V4", "appId", CLIENT_APP],
    ["ALE_AUTH_RECV_ACCEPT_V4", "appId", SERVER_APP],
    ["ALE_AUTH_LISTEN_V4", "appId", SERVER_APP],
    ["ALE_RESOURCE_ASSIGNMENT_V4", "appId", CLIENT_APP],
    ["ALE_RESOURCE_ASSIGNMENT_V4", "appId", SERVER_APP],
  ];
  for (const [layer, field, value] of permits) add(layer, [{ field, value }], "permit");
  const rest = n - permits.length;
  let made = 0;
  shares.forEach(([layer, share, make], k) => {
    const count = k === shares.length - 1 ? rest - made : Math.round(rest * share);
    for (let i = 0; i < count; i++) add(layer, make(i));
    made += count;
  });
  if (filters.length !== n) throw new Error(`policy has ${filters.length} filters, not ${n}`);
  return { version: 1, sublayers, filters };
}

// -------------------------------------------------------------------------------------------------
// The simulated LAN
// -------------------------------------------------------------------------------------------------

interface Side {
  readonly host: Host;
  readonly shim: Shim;
  readonly app: Process;
}

interface Lan {
  readonly net: Network;
  readonly client: Side;
  readonly server: Side;
  readonly serverAddress: IpAddress;
}

function engineFor(policy: unknown): FilterEngine {
  if (policy === undefined) return new FilterEngine({ classifier: indexedClassifier });
  return loadPolicyDocument(policy, { engineInit: { classifier: indexedClassifier } }).engine;
}

/** Two hosts on one switch (0.1 ms one way), static neighbours, each with its own engine and shim. */
function buildLan(policy: unknown, seed: number, log?: (r: ClassifyRecord) => void): Lan {
  const net = new Network({ seed });
  net.link("lan", { delayNs: ms(0.1) });
  const side = (name: string, address: string, imagePath: string, pid: number): Side => {
    const shim = new Shim({
      engine: engineFor(policy),
      clock: net.scheduler,
      host: name,
      ...(log !== undefined ? { log } : {}),
    });
    const host = net.host(name, shim);
    net.attach(host, "eth0", "lan", { addresses: [`${address}/24`] });
    const app = host.process({ processId: pid, imagePath, userSid: "S-1-5-21-1-2-3-1001" });
    return { host, shim, app };
  };
  const client = side("client", CLIENT_IP, CLIENT_APP, 2001);
  const server = side("server", SERVER_IP, SERVER_APP, 2002);
  const [cn, sn] = [client.host.interfaces[0], server.host.interfaces[0]];
  if (cn === undefined || sn === undefined) throw new Error("unreachable");
  client.host.addStaticNeighbor(cn, Ipv4Address.parse(SERVER_IP), sn.mac);
  server.host.addStaticNeighbor(sn, Ipv4Address.parse(CLIENT_IP), cn.mac);
  return { net, client, server, serverAddress: Ipv4Address.parse(SERVER_IP) };
}

const classifications = (lan: Lan): number =>
  lan.client.shim.counters.classifications + lan.server.shim.counters.classifications;

/** Throws when a shim blocked or indicated a discard: the policy must let the benchmark through. */
function assertNothingBlocked(lan: Lan, what: string): void {
  for (const s of [lan.client, lan.server]) {
    const c = s.shim.counters;
    if (c.blocked !== 0 || c.discardIndications !== 0)
      throw new Error(
        `${what}: ${s.shim.host} blocked ${c.blocked} times, ${c.discardIndications} discard indications`,
      );
  }
}

const policyName = (policy: unknown): string => (policy === undefined ? "no filters" : `${FILTERS} filters`);

// -------------------------------------------------------------------------------------------------
// Workload A: short connections
// -------------------------------------------------------------------------------------------------

interface ConnectionRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly connections: number;
  readonly classifications: number;
}

/**
 * `n` connections, `CONCURRENCY` at a time (each one that got its answer starts the next), until the
 * simulation is idle. Timed from the first connect to the last event; the listener is set up before.
 */
function runConnections(policy: unknown, n: number, seed: number, log?: (r: ClassifyRecord) => void): ConnectionRun {
  const lan = buildLan(policy, seed, log);
  const request = new Uint8Array(MESSAGE).fill(0x51);
  const response = new Uint8Array(MESSAGE).fill(0x52);
  let answered = 0;
  let serverClosed = 0;
  let clientClosed = 0;
  let started = 0;
  const listener = lan.server.host.tcp.socket(lan.server.app);
  listener.bind(undefined, SERVER_PORT);
  listener.listen(CONCURRENCY * 4);
  listener.onAccept = (c: TcpSocket) => {
    let got = 0;
    c.onData = (bytes) => {
      got += bytes.length;
      if (got === MESSAGE) c.send(response);
    };
    c.onEnd = () => c.close();
    c.onClose = (reason) => {
      if (reason === "closed" && got === MESSAGE) serverClosed++;
    };
  };
  const startOne = (): void => {
    started++;
    const s = lan.client.host.tcp.socket(lan.client.app);
    let got = 0;
    s.onConnect = () => s.send(request);
    s.onData = (bytes) => {
      got += bytes.length;
      if (got !== MESSAGE) return;
      answered++;
      s.close();
      if (started < n) startOne();
    };
    s.onClose = (reason) => {
      if (reason === "closed" && got === MESSAGE) clientClosed++;
    };
    s.connect(lan.serverAddress, SERVER_PORT);
  };
  const before = classifications(lan);
  const cpu = process.cpuUsage();
  const t = now();
  for (let i = 0; i < Math.min(CONCURRENCY, n); i++) startOne();
  lan.net.run();
  const seconds = now() - t;
  const cpuSeconds = cpuSince(cpu);
  const what = `connections, ${policyName(policy)}`;
  if (answered !== n || serverClosed !== n || clientClosed !== n) {
    throw new Error(
      `${what}: of ${n}, ${answered} got their answer, ${serverClosed} closed cleanly at the server, ${clientClosed} at the client`,
    );
  }
  assertNothingBlocked(lan, what);
  return { seconds, cpuSeconds, connections: n, classifications: classifications(lan) - before };
}

// -------------------------------------------------------------------------------------------------
// Workload B: bulk transfer
// -------------------------------------------------------------------------------------------------

interface BulkRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly bytes: number;
  readonly classifications: number;
  readonly segments: number;
}

/** One connection: connect, `bytes` in BULK_CHUNK writes queued at once, close; until idle. */
function runBulk(policy: unknown, bytes: number, seed: number): BulkRun {
  const lan = buildLan(policy, seed);
  let received = 0;
  let ended = false;
  const listener = lan.server.host.tcp.socket(lan.server.app);
  listener.bind(undefined, BULK_PORT);
  listener.listen();
  listener.onAccept = (c) => {
    c.onData = (b) => {
      received += b.length;
    };
    c.onEnd = () => {
      ended = true;
      c.close();
    };
  };
  const chunk = new Uint8Array(BULK_CHUNK);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  const s = lan.client.host.tcp.socket(lan.client.app);
  let accepted = 0;
  s.onConnect = () => {
    for (let sent = 0; sent < bytes; sent += BULK_CHUNK)
      accepted += s.send(chunk.subarray(0, Math.min(BULK_CHUNK, bytes - sent)));
    s.close();
  };
  const before = classifications(lan);
  const cpu = process.cpuUsage();
  const t = now();
  s.connect(lan.serverAddress, BULK_PORT);
  lan.net.run();
  const seconds = now() - t;
  const cpuSeconds = cpuSince(cpu);
  const what = `bulk, ${policyName(policy)}`;
  if (accepted !== bytes || received !== bytes || !ended || s.bytesSent !== bytes)
    throw new Error(
      `${what}: ${accepted} bytes taken, ${s.bytesSent} sent, ${received} of ${bytes} arrived (FIN ${ended})`,
    );
  assertNothingBlocked(lan, what);
  return {
    seconds,
    cpuSeconds,
    bytes,
    classifications: classifications(lan) - before,
    segments: lan.client.host.tcp.counters.segmentsOut + lan.server.host.tcp.counters.segmentsOut,
  };
}

// -------------------------------------------------------------------------------------------------
// Checks before timing: the policy is live and lets the benchmark through
// -------------------------------------------------------------------------------------------------

/** A connect to an address the policy blocklists at ALE_AUTH_CONNECT fails with WSAEACCES. */
function assertBlocklistLive(policy: unknown): string {
  const doc = policy as { filters: PolicyFilter[] };
  const address = doc.filters.find(
    (f) =>
      f.layer === "FWPM_LAYER_ALE_AUTH_CONNECT_V4" &&
      f.action === "block" &&
      f.conditions.length === 1 &&
      f.conditions[0]?.field === "remoteAddress" &&
      !String(f.conditions[0].value).includes("/"),
  )?.conditions[0]?.value;
  if (address === undefined) throw new Error("the policy has no ALE_AUTH_CONNECT address filter");
  const lan = buildLan(policy, 99);
  const nic = lan.client.host.interfaces[0];
  if (nic === undefined) throw new Error("unreachable");
  lan.client.host.addRoute("0.0.0.0/0", nic, "10.0.0.254");
  const s = lan.client.host.tcp.socket(lan.client.app);
  try {
    s.connect(Ipv4Address.parse(String(address)), 443);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("WSAEACCES")) return String(address);
    throw e;
  }
  throw new Error(`a connection to blocklisted ${address} was not refused`);
}

interface Trace {
  /** host, layer, direction and packet of every classification of one connection, in order. */
  readonly steps: readonly string[];
  /** Classifications decided by a policy filter. */
  readonly decided: number;
  readonly records: readonly ClassifyRecord[];
}

/** One connection of workload A with the classify log on, from the client's first classification. */
function traceConnection(policy: unknown): Trace {
  const all: ClassifyRecord[] = [];
  runConnections(policy, 1, 5, (r) => all.push(r));
  // The listener's bind and listen come before: the connection starts with the client's bind.
  const mine = all.slice(all.findIndex((r) => r.host === "client"));
  return {
    steps: mine.map((r) => `${r.host} ${shortLayer(r)} ${r.direction} ${r.packet}`),
    decided: mine.filter((r) => r.decidingFilter !== null).length,
    records: mine,
  };
}

const shortLayer = (r: ClassifyRecord): string =>
  (r.layer.fwpmName ?? r.layer.fwpsName).replace(/^FWP[MS]_LAYER_/, "").replace(/_V[46]$/, "");

/** "ALE_AUTH_CONNECT ×1, OUTBOUND_TRANSPORT ×5, …" for one host, in first-seen order. */
function layerCounts(records: readonly ClassifyRecord[], host: string): string {
  const counts = new Map<string, number>();
  for (const r of records) if (r.host === host) counts.set(shortLayer(r), (counts.get(shortLayer(r)) ?? 0) + 1);
  return [...counts].map(([layer, k]) => `${layer} ×${k}`).join(", ");
}

// -------------------------------------------------------------------------------------------------
// Rounds and report
// -------------------------------------------------------------------------------------------------

interface Timed {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

interface Rounds<T extends Timed> {
  readonly none: T[];
  readonly filtered: T[];
}

/** `n` rounds of one run per policy, alternating which goes first, a GC before each run. */
function rounds<T extends Timed>(n: number, policy: unknown, run: (p: unknown) => T): Rounds<T> {
  const none: T[] = [];
  const filtered: T[] = [];
  for (let r = 0; r < n; r++) {
    for (const p of r % 2 === 0 ? [undefined, policy] : [policy, undefined]) {
      gc?.();
      (p === undefined ? none : filtered).push(run(p));
    }
  }
  return { none, filtered };
}

const best = <T extends Timed>(runs: readonly T[]): T =>
  runs.reduce((a, b) => (b.seconds < a.seconds ? b : a), runs[0] as T);
const allTimes = (runs: readonly Timed[]): string => runs.map((r) => r.seconds.toFixed(2)).join(" ");
const medianCpu = (runs: readonly Timed[]): number => median(runs.map((r) => r.cpuSeconds));

/** Filtered / unfiltered throughput per round, by wall or CPU time (unfiltered time / filtered time). */
const roundRatios = (r: Rounds<Timed>, time: (t: Timed) => number): number[] =>
  r.none.map((x, i) => time(x) / time(r.filtered[i] as Timed));

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function ratioLine(r: Rounds<Timed>, unit: string): string {
  const wall = roundRatios(r, (t) => t.seconds);
  const cpu = roundRatios(r, (t) => t.cpuSeconds);
  const list = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(" ");
  return `filtered / unfiltered ${unit}: ${median(wall).toFixed(2)} by wall time (rounds ${list(wall)}), ${median(cpu).toFixed(2)} by CPU time (rounds ${list(cpu)})`;
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}
const pad = (s: string, n: number): string => s.padStart(n);

export async function runStackBench(report: Report): Promise<void> {
  const policy = benchPolicy(FILTERS, new SeededRng(0x57ac4));
  const perLayer = new Map<string, number>();
  for (const f of (policy as { filters: PolicyFilter[] }).filters) {
    const l = f.layer.replace("FWPM_LAYER_", "").replace(/_V4$/, "");
    perLayer.set(l, (perLayer.get(l) ?? 0) + 1);
  }
  report(
    `stack: simulated TCP through every classify point of two hosts, no filters vs ${FILTERS} filters per host (indexed classifier, same run)`,
  );
  report(
    `  policy: ${[...perLayer].map(([l, k]) => `${l} ${k}`).join(", ")}; sublayers "corp firewall", "endpoint protection" and FWPM_SUBLAYER_UNIVERSAL; GC ${gc ? "forced" : "not available"} between runs`,
  );

  // The checks: a live policy, the same classify points crossed with and without it.
  const refused = assertBlocklistLive(policy);
  const plain = traceConnection(undefined);
  const withPolicy = traceConnection(policy);
  if (plain.steps.join("\n") !== withPolicy.steps.join("\n")) {
    const i = plain.steps.findIndex((s, k) => s !== withPolicy.steps[k]);
    throw new Error(
      `one connection crosses different classify points with the policy: step ${i} is "${plain.steps[i]}" without, "${withPolicy.steps[i]}" with`,
    );
  }
  for (const layer of ["ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT"]) {
    if (!withPolicy.records.some((r) => shortLayer(r) === layer && r.decidingFilter !== null))
      throw new Error(`no policy filter decided at ${layer}`);
  }
  const perConnection = plain.steps.length;
  report(
    `  checks: connect to blocklisted ${refused} refused (WSAEACCES); one connection crosses the same ${perConnection} classify points with and without the policy (${withPolicy.decided} decided by policy permits)`,
  );
  report(`    client: ${layerCounts(plain.records, "client")}`);
  report(`    server: ${layerCounts(plain.records, "server")}`);

  // (A) Warm-up (JIT), then the rounds.
  runConnections(undefined, WARM_UP_CONNECTIONS, 1);
  runConnections(policy, WARM_UP_CONNECTIONS, 1);
  const a = rounds(CONNECTION_ROUNDS, policy, (p) => runConnections(p, CONNECTIONS, 2));
  for (const r of [...a.none, ...a.filtered]) {
    if (r.classifications !== perConnection * CONNECTIONS)
      throw new Error(
        `connections: ${r.classifications} classifications, not ${perConnection} × ${CONNECTIONS} (${perConnection * CONNECTIONS})`,
      );
  }
  const counted = best(a.none).classifications / CONNECTIONS;
  report(
    `  (A) ${CONNECTIONS} connections, ${CONCURRENCY} at a time: connect, ${MESSAGE} B each way, close; ${counted} classifications per connection (shim counters, both hosts); best of ${CONNECTION_ROUNDS}`,
  );
  report(
    `      ${"policy".padEnd(12)}${pad("best wall", 10)}${pad("conn/s", 9)}${pad("classify/s", 12)}${pad("median CPU", 12)}   every round's wall (s)`,
  );
  for (const [name, runs] of [
    ["no filters", a.none],
    [`${FILTERS} filters`, a.filtered],
  ] as const) {
    const r = best(runs);
    report(
      `      ${name.padEnd(12)}${pad(`${r.seconds.toFixed(2)} s`, 10)}${pad(fmtRate(r.connections / r.seconds), 9)}${pad(fmtRate(r.classifications / r.seconds), 12)}${pad(`${medianCpu(runs).toFixed(2)} s`, 12)}   ${allTimes(runs)}`,
    );
  }
  report(`      ${ratioLine(a, "connections/s")}`);

  // (B)
  runBulk(undefined, WARM_UP_BYTES, 3);
  runBulk(policy, WARM_UP_BYTES, 3);
  const b = rounds(BULK_ROUNDS, policy, (p) => runBulk(p, BULK_BYTES, 4));
  const reference = b.none[0] as BulkRun;
  for (const r of [...b.none, ...b.filtered]) {
    if (r.classifications !== reference.classifications || r.segments !== reference.segments)
      throw new Error(
        `bulk: ${r.classifications} classifications and ${r.segments} segments in one run, ${reference.classifications} and ${reference.segments} in another`,
      );
  }
  report(
    `  (B) bulk: ${BULK_BYTES / 1048576} MiB one way in ${BULK_CHUNK / 1024} KiB writes; ${reference.segments} segments, ${reference.classifications} classifications (${(reference.classifications / reference.segments).toFixed(2)} per segment); best of ${BULK_ROUNDS}`,
  );
  report(
    `      ${"policy".padEnd(12)}${pad("best wall", 10)}${pad("MB/s", 9)}${pad("classify/s", 12)}${pad("median CPU", 12)}   every round's wall (s)`,
  );
  for (const [name, runs] of [
    ["no filters", b.none],
    [`${FILTERS} filters`, b.filtered],
  ] as const) {
    const r = best(runs);
    report(
      `      ${name.padEnd(12)}${pad(`${r.seconds.toFixed(2)} s`, 10)}${pad((r.bytes / 1e6 / r.seconds).toFixed(1), 9)}${pad(fmtRate(r.classifications / r.seconds), 12)}${pad(`${medianCpu(runs).toFixed(2)} s`, 12)}   ${allTimes(runs)}`,
    );
  }
  report(`      ${ratioLine(b, "MB/s")}`);
}
