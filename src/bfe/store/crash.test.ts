/**
 * The crash test of issue 4 item 5: a child process commits workload transactions (crash-workload.testing.ts)
 * in a loop and is killed with SIGKILL at random points, most of them inside a commit; after every kill the
 * store is reopened and must hold every transaction the child reported committed, and all or nothing of each
 * other one. The kill delays come from a seeded generator (OPENWFP_CRASH_SEED replays another sequence).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { SeededRng } from "../../base/rng.ts";
import { rowCount, rowSum, WINDOW } from "./crash-workload.testing.ts";
import { BfeStore } from "./index.ts";

const KILLS = 50;
const LANES = 2;
const SEED = Number(process.env.OPENWFP_CRASH_SEED ?? 0x0c4a54);
const CHILD = join(import.meta.dirname, "crash-child.testing.ts");

interface ChildRun {
  /** Last committed transaction when the child opened the store. */
  readonly startedAt: number;
  /** Numbers the child reported committed ("c t"), in order. */
  readonly committed: number[];
  /** The transaction whose commit had begun and not returned when the child died, if any. */
  readonly inFlight: number | undefined;
}

/** Runs the child until `killWhen` decides, kills it with SIGKILL and returns what it reported. */
async function runAndKill(store: string, rng: SeededRng): Promise<ChildRun> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, store], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let startedAt: number | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  // Kill either at a random instant of the commit loop, or a few milliseconds after a chosen commit began.
  const afterBegin = rng.nextInt(5) < 2;
  // Waiting for the begin of transaction start+k means k-1 commits were reported first (the lost-commit check).
  const targetTxnOffset = 2 + rng.nextInt(4);
  const delayMs = afterBegin ? rng.nextInt(25) : rng.nextInt(200);
  let armed = false;
  const arm = (): void => {
    if (armed) return;
    armed = true;
    void sleep(delayMs).then(() => child.kill("SIGKILL"));
  };
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    if (startedAt === undefined) {
      const m = /^ready (\d+)\n/.exec(out);
      if (m === null) return;
      startedAt = Number(m[1]);
      if (!afterBegin) arm();
    }
    if (afterBegin && out.includes(`\nb ${startedAt + targetTxnOffset}\n`)) arm();
  });
  const { signal, code } = await exited;
  assert.equal(signal, "SIGKILL", `the child died on its own (exit ${code}): ${err}`);
  assert.ok(startedAt !== undefined, `the child was killed before it opened the store: ${err}`);
  const committed: number[] = [];
  let inFlight: number | undefined;
  for (const line of out.split("\n").slice(1)) {
    const [tag, n] = line.split(" ");
    if (tag === "b") inFlight = Number(n);
    if (tag === "c") {
      committed.push(Number(n));
      inFlight = undefined;
    }
  }
  return { startedAt, committed, inFlight };
}

/**
 * Reopens the store and checks the workload invariant; returns the last committed transaction M.
 * Every reported commit must be there; a transaction in flight at the kill may be there or not, whole.
 */
function verify(store: string, run: ChildRun, kill: number, seed: number): number {
  const where = `after kill ${kill + 1} (seed ${seed})`;
  const s = BfeStore.open(store);
  try {
    const lastTxn = s.loadOptions().lastTxn;
    const m = typeof lastTxn === "number" ? lastTxn : 0;
    const lastReported = run.committed.at(-1) ?? run.startedAt;
    assert.ok(
      m >= lastReported,
      `${where}: lost committed transaction(s): store at ${m}, child reported ${lastReported}`,
    );
    if (m > lastReported) {
      assert.equal(m, run.inFlight, `${where}: store at ${m} beyond the commit in flight (${run.inFlight})`);
    }
    const rows = new Map<number, { count: number; sum: number }>();
    const checksums = new Map<number, { count: number; sum: number }>();
    const ledger: number[] = [];
    for (const o of s.loadObjects()) {
      const d = o.data as { txn: number; i: number; count: number; sum: number };
      if (o.kind === "filter") {
        const r = rows.get(d.txn) ?? { count: 0, sum: 0 };
        r.count++;
        r.sum += rowSum(d.txn, d.i);
        rows.set(d.txn, r);
      } else if (o.kind === "provider") checksums.set(d.txn, { count: d.count, sum: d.sum });
      else if (o.kind === "callout") ledger.push(d.txn);
      else assert.fail(`${where}: unexpected ${o.kind}`);
    }
    // Every committed transaction left its ledger row, and no transaction beyond M did.
    assert.deepEqual(
      ledger.sort((a, b) => a - b),
      Array.from({ length: m }, (_, i) => i + 1),
      `${where}: ledger rows are not exactly 1..${m}`,
    );
    // The last WINDOW transactions are whole; the older ones were deleted whole by later transactions.
    const live = Array.from({ length: Math.min(m, WINDOW) }, (_, i) => m - i).reverse();
    assert.deepEqual(
      [...rows.keys()].sort((a, b) => a - b),
      live,
      `${where}: rows of a torn transaction`,
    );
    assert.deepEqual(
      [...checksums.keys()].sort((a, b) => a - b),
      live,
      `${where}: checksum rows torn`,
    );
    for (const t of live) {
      const expected = { count: rowCount(t), sum: checksums.get(t)?.sum };
      assert.deepEqual(rows.get(t), expected, `${where}: transaction ${t} torn`);
      assert.equal(checksums.get(t)?.count, rowCount(t), `${where}: checksum of ${t}`);
    }
    return m;
  } finally {
    s.close();
  }
}

/** Kills and checks, one store; returns the counts for the summary. */
async function lane(
  store: string,
  seed: number,
  kills: number,
): Promise<{ midCommit: number; reported: number; last: number }> {
  const rng = new SeededRng(seed);
  let midCommit = 0;
  let reported = 0;
  let last = 0;
  for (let kill = 0; kill < kills; kill++) {
    const run = await runAndKill(store, rng);
    if (run.inFlight !== undefined) midCommit++;
    reported += run.committed.length;
    const m = verify(store, run, kill, seed);
    assert.ok(m >= last, "the store went backwards");
    last = m;
  }
  const db = new Database(store, { readonly: true });
  assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
  db.close();
  return { midCommit, reported, last };
}

describe("BfeStore survives being killed mid-commit", () => {
  const dir = mkdtempSync(join(tmpdir(), "openwfp-crash-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`${KILLS} SIGKILLs at random points: no torn and no lost transaction`, { timeout: 180_000 }, async (t) => {
    // Two stores killed side by side (one per core), each with its own seeded sequence of kill points.
    const results = await Promise.all(
      Array.from({ length: LANES }, (_, i) => lane(join(dir, `bfe-${i}.db`), SEED + i, KILLS / LANES)),
    );
    const midCommit = results.reduce((n, r) => n + r.midCommit, 0);
    const reported = results.reduce((n, r) => n + r.reported, 0);
    t.diagnostic(
      `seed ${SEED}: ${midCommit} of ${KILLS} kills inside a commit, ${reported} commits reported, ` +
        `stores at ${results.map((r) => r.last).join(", ")}`,
    );
    // The kills must have hit commits, not only the gaps between them, and the child must have committed.
    assert.ok(midCommit >= KILLS / 4, `only ${midCommit} of ${KILLS} kills landed inside a commit`);
    assert.ok(reported >= KILLS / 2, `only ${reported} commits reported over ${KILLS} runs`);
  });
});
