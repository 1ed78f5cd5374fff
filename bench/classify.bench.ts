/**
 * Classify benchmark (issue 3): the linear reference classifier against the indexed one, measured in the
 * same run on the same policies, for 10, 1k, 10k and 100k filters:
 *   (a) blocklist — one FWPM_CONDITION_IP_REMOTE_ADDRESS EQUAL filter per address, BLOCK, at
 *       FWPM_LAYER_ALE_AUTH_CONNECT_V4 (how firewalls push IP blocklists into WFP);
 *   (b) mixed — remote ports, port ranges, remote address prefixes, app ids, protocol, local ports and a
 *       few unindexable filters (FLAGS), spread over four sublayers, with EMPTY and UINT8 weights.
 * Per classifier: compile time (classifier.compile on the engine's layer policy), heap growth after
 * compile (heapUsed + arrayBuffers delta, after a forced GC when one can be had), and full engine classifications per
 * second (FilterEngine.classify: matching plus arbitration, no trace) over a fixed pool of incoming
 * values, half of which hit a filter. Goals checked at the end: indexed cost grows sub-linearly, ≥ 1M
 * blocklist classifications/s at 100k filters, 100k filters compiled in < 1 s, memory < 300 MB.
 * Everything random comes from SeededRng, so every run classifies the same traffic.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SeededRng } from "../src/base/index.ts";
import {
  type Classifier,
  type ClassifyRequest,
  FilterEngine,
  type FilterSpec,
  indexedClassifier,
  type LayerPolicy,
  linearClassifier,
} from "../src/engine/index.ts";
import { FWP_EMPTY_VALUE, type FwpValue, getLayer, type Layer, utf16leNulTerminated } from "../src/fwp/index.ts";

const SIZES = [10, 1_000, 10_000, 100_000] as const;
const LAYER = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
const POOL = 4096;

type Report = (line: string) => void;

function fieldIndex(layer: Layer, condition: string): number {
  const f = layer.fields.find((x) => x.condition === condition);
  if (f === undefined) throw new Error(`${condition} missing at ${layer.fwpmName}`);
  return f.index;
}
const F = {
  appId: fieldIndex(LAYER, "FWPM_CONDITION_ALE_APP_ID"),
  localPort: fieldIndex(LAYER, "FWPM_CONDITION_IP_LOCAL_PORT"),
  protocol: fieldIndex(LAYER, "FWPM_CONDITION_IP_PROTOCOL"),
  remoteAddress: fieldIndex(LAYER, "FWPM_CONDITION_IP_REMOTE_ADDRESS"),
  remotePort: fieldIndex(LAYER, "FWPM_CONDITION_IP_REMOTE_PORT"),
  flags: fieldIndex(LAYER, "FWPM_CONDITION_FLAGS"),
};

const gc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

/** Heap in use plus ArrayBuffer memory (typed arrays live outside the JS heap). */
function memoryInUse(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

interface Workload {
  readonly name: string;
  readonly sublayers: readonly { readonly subLayerKey: string; readonly weight: number }[];
  readonly filters: readonly FilterSpec[];
  /** Incoming value arrays, about half of them hitting a filter. */
  readonly traffic: readonly FwpValue[][];
}

/** Every field FWP_EMPTY, as a shim starts its incoming values (one shared frozen EMPTY value). */
function emptyValues(): FwpValue[] {
  return LAYER.fields.map(() => FWP_EMPTY_VALUE);
}

const cond = (fieldKey: string, matchType: string, conditionValue: unknown) =>
  ({ fieldKey, matchType, conditionValue }) as NonNullable<FilterSpec["conditions"]>[number];

/** (a) one remote-address EQUAL BLOCK filter per address. */
function blocklist(n: number, rng: SeededRng): Workload {
  const addresses = new Set<number>();
  while (addresses.size < n) addresses.add(rng.nextU32());
  const list = [...addresses];
  const filters = list.map(
    (addr, i): FilterSpec => ({
      name: `blocklist ${i}`,
      layer: LAYER,
      conditions: [cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", { type: "FWP_UINT32", value: addr })],
      action: { type: "FWP_ACTION_BLOCK" },
    }),
  );
  const traffic: FwpValue[][] = [];
  for (let i = 0; i < POOL; i++) {
    const v = emptyValues();
    v[F.remoteAddress] = { type: "FWP_UINT32", value: rng.chance(0.5) ? rng.pick(list) : rng.nextU32() };
    v[F.remotePort] = { type: "FWP_UINT16", value: 443 };
    v[F.protocol] = { type: "FWP_UINT8", value: 6 };
    traffic.push(v);
  }
  return { name: "blocklist", sublayers: [], filters, traffic };
}

const MIXED_SUBLAYERS = [
  { subLayerKey: "6b1a4f10-0000-4000-8000-000000000001", weight: 0xf000 },
  { subLayerKey: "6b1a4f10-0000-4000-8000-000000000002", weight: 0x9000 },
  { subLayerKey: "6b1a4f10-0000-4000-8000-000000000003", weight: 0x7000 },
  { subLayerKey: "6b1a4f10-0000-4000-8000-000000000004", weight: 0x1000 },
];
const appPath = (i: number): string => `\\device\\harddiskvolume1\\program files\\vendor${i % 997}\\app${i}.exe`;

/**
 * (b) a firewall-like mix over four sublayers: per-application rules (app id, or app id + protocol +
 * remote port), remote address prefixes (/16–/32), remote-port and local-port rules with protocol, a
 * fixed handful of port-range rules (narrow ones plus broad ones such as 49152-65535, as real policies
 * have a few, not thousands) and a few unindexable FLAGS rules. Keys are spread so that the number of
 * filters matching one classification stays about the same as the policy grows — what grows is only
 * the number of filters that do not match, which is what an index must not pay for.
 */
function mixed(n: number, rng: SeededRng): Workload {
  const apps: Uint8Array[] = [];
  const ports: number[] = [];
  const prefixes: number[] = [];
  const filters: FilterSpec[] = [];
  const unindexable = Math.min(8, Math.max(1, Math.floor(n / 1000)));
  const ranges = Math.min(64, Math.max(1, Math.floor(n / 50)));
  for (let i = 0; i < n; i++) {
    const sublayer = rng.pick(MIXED_SUBLAYERS).subLayerKey;
    const action = { type: rng.chance(0.6) ? "FWP_ACTION_PERMIT" : "FWP_ACTION_BLOCK" } as const;
    const weight: FwpValue = rng.chance(0.3) ? { type: "FWP_UINT8", value: rng.nextInt(16) } : { type: "FWP_EMPTY" };
    const protocol = cond("FWPM_CONDITION_IP_PROTOCOL", "FWP_MATCH_EQUAL", {
      type: "FWP_UINT8",
      value: rng.chance(0.7) ? 6 : 17,
    });
    let conditions: NonNullable<FilterSpec["conditions"]>;
    if (i < unindexable) {
      // Loopback / pass-through style rules: nothing to index (FLAGS), always verified.
      conditions = [
        cond("FWPM_CONDITION_FLAGS", "FWP_MATCH_FLAGS_ALL_SET", { type: "FWP_UINT32", value: 0x1 << (i % 20) }),
      ];
    } else if (i < unindexable + ranges) {
      const broad = rng.chance(0.25);
      const low = broad ? rng.pick([1024, 49152]) : rng.nextInt(65000);
      conditions = [
        protocol,
        cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", {
          type: "FWP_RANGE_TYPE",
          valueLow: { type: "FWP_UINT16", value: low },
          valueHigh: { type: "FWP_UINT16", value: broad ? 65535 : low + rng.nextInt(64) },
        }),
      ];
    } else {
      const shape = rng.nextInt(10);
      if (shape < 2) {
        const app = utf16leNulTerminated(appPath(i));
        apps.push(app);
        conditions = [cond("FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", { type: "FWP_BYTE_BLOB_TYPE", value: app })];
      } else if (shape < 4) {
        const app = utf16leNulTerminated(appPath(i));
        apps.push(app);
        const port = rng.pick([80, 443, 8080, 53, 22]);
        conditions = [
          protocol,
          cond("FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", { type: "FWP_BYTE_BLOB_TYPE", value: app }),
          cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", { type: "FWP_UINT16", value: port }),
        ];
      } else if (shape < 7) {
        const length = rng.nextRange(16, 32);
        const mask = (0xffffffff << (32 - length)) >>> 0;
        const addr = (rng.nextU32() & mask) >>> 0;
        prefixes.push(addr);
        conditions = [
          cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", { type: "FWP_V4_ADDR_MASK", addr, mask }),
        ];
      } else if (shape < 9) {
        const port = rng.nextInt(65536);
        ports.push(port);
        conditions = [
          protocol,
          cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", { type: "FWP_UINT16", value: port }),
        ];
      } else {
        const port = rng.nextInt(65536);
        conditions = [
          protocol,
          cond("FWPM_CONDITION_IP_LOCAL_PORT", "FWP_MATCH_EQUAL", { type: "FWP_UINT16", value: port }),
        ];
      }
    }
    filters.push({ name: `mixed ${i}`, layer: LAYER, sublayer, weight, conditions, action });
  }
  const traffic: FwpValue[][] = [];
  for (let i = 0; i < POOL; i++) {
    const v = emptyValues();
    const hit = rng.chance(0.5);
    v[F.appId] = {
      type: "FWP_BYTE_BLOB_TYPE",
      value: hit && apps.length > 0 ? rng.pick(apps) : utf16leNulTerminated(appPath(n + rng.nextInt(1000))),
    };
    v[F.protocol] = { type: "FWP_UINT8", value: rng.chance(0.7) ? 6 : 17 };
    v[F.remotePort] = { type: "FWP_UINT16", value: hit && ports.length > 0 ? rng.pick(ports) : rng.nextInt(65536) };
    v[F.localPort] = { type: "FWP_UINT16", value: rng.nextRange(49152, 65535) };
    v[F.remoteAddress] = {
      type: "FWP_UINT32",
      value: hit && prefixes.length > 0 ? (rng.pick(prefixes) | rng.nextInt(256)) >>> 0 : rng.nextU32(),
    };
    v[F.flags] = { type: "FWP_UINT32", value: rng.chance(0.1) ? 0x1 : 0 };
    traffic.push(v);
  }
  return { name: "mixed", sublayers: MIXED_SUBLAYERS, filters, traffic };
}

function engineFor(w: Workload, classifier: Classifier): FilterEngine {
  const engine = new FilterEngine({ classifier });
  for (const s of w.sublayers) engine.addSublayer({ ...s, name: `bench ${s.weight}` });
  for (const f of w.filters) engine.addFilter(f);
  return engine;
}

interface Measurement {
  readonly compileSeconds: number;
  readonly heapBytes: number;
  readonly perSecond: number;
  readonly blocked: number;
}

/** Best-of compile time and the heap the compiled structure holds. */
function measureCompile(classifier: Classifier, policy: LayerPolicy): { seconds: number; bytes: number } {
  let best = Number.POSITIVE_INFINITY;
  const rounds = policy.sublayers.reduce((s, x) => s + x.filters.length, 0) >= 10_000 ? 2 : 5;
  for (let r = 0; r < rounds; r++) {
    const t = now();
    classifier.compile(policy);
    best = Math.min(best, now() - t);
  }
  const before = memoryInUse();
  const kept = classifier.compile(policy);
  const bytes = memoryInUse() - before;
  if (kept === undefined) throw new Error("unreachable");
  return { seconds: best, bytes: Math.max(0, bytes) };
}

/**
 * Engine classifications per second over the workload's traffic: the best of three timed windows of
 * `windowSeconds` each (the best window is the least disturbed by other processes), with batches sized
 * so that a slow classifier is not stuck in one huge batch. Also the number of BLOCK decisions over the
 * first `checked` requests, to compare the two classifiers.
 */
function measureClassify(
  engine: FilterEngine,
  w: Workload,
  windowSeconds: number,
  checked: number,
): { perSecond: number; blocked: number } {
  const requests: ClassifyRequest[] = w.traffic.map((incomingValues) => ({ layer: LAYER, incomingValues }));
  let blocked = 0;
  // Warm-up (compiles the layer, lets the JIT settle) and the decisions to compare.
  for (let i = 0; i < checked; i++) {
    if (engine.classify(requests[i] as ClassifyRequest).action === "FWP_ACTION_BLOCK") blocked++;
  }
  let best = 0;
  let i = 0;
  let batch = 1;
  for (let window = 0; window < 3; window++) {
    let done = 0;
    const start = now();
    let elapsed = 0;
    do {
      const t = now();
      for (let k = 0; k < batch; k++) {
        engine.classify(requests[i] as ClassifyRequest);
        i = (i + 1) % requests.length;
      }
      done += batch;
      if (now() - t < 0.005 && batch < 65536) batch *= 2;
      elapsed = now() - start;
    } while (elapsed < windowSeconds);
    best = Math.max(best, done / elapsed);
  }
  return { perSecond: best, blocked };
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}
const fmtMs = (s: number): string => `${(s * 1000).toFixed(s < 0.01 ? 3 : 1)} ms`;
const fmtMb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const pad = (s: string, n: number): string => s.padStart(n);

export async function runClassifyBench(report: Report): Promise<void> {
  report(
    "classify: FilterEngine.classify with the linear reference vs the indexed classifier (same policies, same traffic)",
  );
  report(
    `  layer ${LAYER.fwpmName}; ${POOL} incoming value sets per workload, ~half hitting a filter; GC ${gc ? "forced" : "not available"} for memory`,
  );
  report(
    `  ${"workload".padEnd(10)}${pad("filters", 8)} | ${pad("linear compile", 14)}${pad("mem", 10)}${pad("classify/s", 12)} | ${pad("indexed compile", 15)}${pad("mem", 10)}${pad("classify/s", 12)} | ${pad("speed-up", 9)}`,
  );
  const results = new Map<string, { linear: Measurement; indexed: Measurement }>();
  for (const make of [blocklist, mixed]) {
    for (const n of SIZES) {
      const w = make(n, new SeededRng(0xc1a55 + n));
      const row: Partial<Record<"linear" | "indexed", Measurement>> = {};
      // Decisions compared on a prefix of the traffic (the linear classifier at 100k is slow).
      const checked = Math.max(8, Math.min(POOL, Math.floor(1_000_000 / n)));
      for (const classifier of [linearClassifier, indexedClassifier]) {
        const engine = engineFor(w, classifier);
        const policy = engine.layerPolicy(LAYER);
        const compile = measureCompile(classifier, policy);
        const run = measureClassify(engine, w, 0.15, checked);
        row[classifier === linearClassifier ? "linear" : "indexed"] = {
          compileSeconds: compile.seconds,
          heapBytes: compile.bytes,
          perSecond: run.perSecond,
          blocked: run.blocked,
        };
      }
      const linear = row.linear as Measurement;
      const indexed = row.indexed as Measurement;
      if (linear.blocked !== indexed.blocked) {
        throw new Error(`${w.name} ${n}: linear blocked ${linear.blocked}, indexed ${indexed.blocked} of ${checked}`);
      }
      results.set(`${w.name}/${n}`, { linear, indexed });
      report(
        `  ${w.name.padEnd(10)}${pad(String(n), 8)} | ${pad(fmtMs(linear.compileSeconds), 14)}${pad(fmtMb(linear.heapBytes), 10)}${pad(fmtRate(linear.perSecond), 12)} | ${pad(fmtMs(indexed.compileSeconds), 15)}${pad(fmtMb(indexed.heapBytes), 10)}${pad(fmtRate(indexed.perSecond), 12)} | ${pad(`${(indexed.perSecond / linear.perSecond).toFixed(1)}×`, 9)}`,
      );
    }
  }

  // Goals.
  const get = (key: string) => results.get(key) as { linear: Measurement; indexed: Measurement };
  const growth = (name: string): number => {
    const small = get(`${name}/1000`).indexed.perSecond;
    const large = get(`${name}/100000`).indexed.perSecond;
    // Cost per classification ∝ 1 / rate; exponent k in cost ∝ filters^k between 1k and 100k.
    return Math.log(small / large) / Math.log(100);
  };
  const checks: [string, boolean][] = [];
  for (const name of ["blocklist", "mixed"]) {
    const k = growth(name);
    checks.push([
      `indexed cost grows sub-linearly (${name}): cost ∝ filters^${k.toFixed(2)} from 1k to 100k (goal < 0.5)`,
      k < 0.5,
    ]);
  }
  const rate = get("blocklist/100000").indexed.perSecond;
  checks.push([`100k blocklist: ${fmtRate(rate)} classifications/s (goal ≥ 1M)`, rate >= 1e6]);
  const slowestCompile = Math.max(
    get("blocklist/100000").indexed.compileSeconds,
    get("mixed/100000").indexed.compileSeconds,
  );
  checks.push([`100k filters compiled in ${fmtMs(slowestCompile)} (goal < 1 s)`, slowestCompile < 1]);
  const mem = Math.max(get("blocklist/100000").indexed.heapBytes, get("mixed/100000").indexed.heapBytes);
  checks.push([`100k filters indexed in ${fmtMb(mem)} of heap (goal < 300 MB)`, mem < 300 * 1048576]);
  report("  goals:");
  for (const [text, ok] of checks) report(`    ${ok ? "PASS" : "FAIL"}  ${text}`);
}
