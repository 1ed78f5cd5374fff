/**
 * `policyVersion`: while it reads the same, `layerPolicy` returns the same object for every layer (what the
 * shim's plans rely on to skip the look-ups), and every operation that can give a layer a new policy —
 * filter adds and deletes, batches published or rolled back, staged transactions, the boot-time switch —
 * changes it. Checked after each step of seeded sequences of every such operation, with foreign code
 * reading the policies in the middle of batches.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../base/rng.ts";
import { fwpUint16 } from "../fwp/index.ts";
import { type EngineBatchOp, FilterEngine } from "./engine.ts";
import type { LayerPolicy } from "./classifier.ts";
import type { FilterSpec } from "./model.ts";

const LAYERS = [
  "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
  "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
  "FWPM_LAYER_INBOUND_TRANSPORT_V4",
];
const PORT = "FWPM_CONDITION_IP_REMOTE_PORT";
const BOOTTIME = 0x2;

function spec(rng: SeededRng): FilterSpec {
  return {
    name: "f",
    layer: LAYERS[rng.nextInt(LAYERS.length)] as string,
    flags: rng.chance(0.2) ? BOOTTIME : 0,
    action: { type: rng.chance(0.5) ? "FWP_ACTION_BLOCK" : "FWP_ACTION_PERMIT" },
    conditions: [{ fieldKey: PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(rng.nextInt(100)) }],
  };
}

/** Remembers what each layer's policy was at which version, and checks the promise. */
class Watcher {
  readonly #seen = new Map<string, { version: number; policy: LayerPolicy }>();
  constructor(readonly engine: FilterEngine) {}

  /** Reads every layer's policy now (as a shim would), checking it against what was seen before. */
  look(where: string): void {
    for (const layer of LAYERS) {
      const version = this.engine.policyVersion;
      const policy = this.engine.layerPolicy(layer);
      const before = this.#seen.get(layer);
      if (before !== undefined && before.version === version) {
        assert.equal(policy, before.policy, `${where}: ${layer} changed at the same policyVersion ${version}`);
      }
      this.#seen.set(layer, { version, policy });
    }
  }

  /** Every layer's filters, for checking that a change in content came with a change of version. */
  contents(): string {
    return LAYERS.map((l) =>
      this.engine
        .layerPolicy(l)
        .sublayers.flatMap((s) => s.filters.map((f) => f.filterId))
        .join(","),
    ).join("|");
  }
}

describe("FilterEngine.policyVersion", () => {
  it("a filter added or deleted changes it; reads and classifies do not", () => {
    const e = new FilterEngine();
    const v0 = e.policyVersion;
    const p0 = e.layerPolicy(LAYERS[0] as string);
    assert.equal(e.policyVersion, v0);
    assert.equal(e.layerPolicy(LAYERS[0] as string), p0);
    const f = e.addFilter(spec(new SeededRng(1)));
    const v1 = e.policyVersion;
    assert.notEqual(v1, v0);
    e.layerPolicy(f.layer);
    e.filters();
    assert.equal(e.policyVersion, v1);
    e.deleteFilter(f.filterId);
    assert.notEqual(e.policyVersion, v1);
  });

  it("the boot-time switch changes it, and switching to the same mode does not", () => {
    const e = new FilterEngine();
    e.addFilter({ ...spec(new SeededRng(2)), flags: BOOTTIME });
    const v = e.policyVersion;
    e.setBootTimeEnforcement("enforced");
    assert.equal(e.policyVersion, v);
    e.setBootTimeEnforcement("removed");
    assert.notEqual(e.policyVersion, v);
  });

  it("a published fork, reading tables its origin owns, never reads the same twice", () => {
    const e = new FilterEngine();
    const fork = e.fork();
    fork.applyBatch([{ op: "addFilter", spec: spec(new SeededRng(3)) }]);
    e.applyStaged(fork, () => []);
    assert.notEqual(fork.policyVersion, fork.policyVersion);
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`while it reads the same, every layer policy is the same object (seeded sequence ${seed})`, () => {
      const rng = new SeededRng(seed);
      const e = new FilterEngine();
      const w = new Watcher(e);
      const ids: bigint[] = [];
      const randomOps = (n: number): EngineBatchOp[] => {
        const ops: EngineBatchOp[] = [];
        for (let i = 0; i < n; i++) {
          if (ids.length > 0 && rng.chance(0.3)) {
            const at = rng.nextInt(ids.length);
            ops.push({ op: "deleteFilter", key: ids[at] as bigint });
            ids.splice(at, 1);
          } else ops.push({ op: "addFilter", spec: spec(rng) });
        }
        return ops;
      };
      for (let step = 0; step < 60; step++) {
        const where = `step ${step}`;
        const before = w.contents();
        const version = e.policyVersion;
        const kind = rng.nextInt(7);
        const idsBefore = [...ids];
        if (kind === 0) ids.push(e.addFilter(spec(rng)).filterId);
        else if (kind === 1 && ids.length > 0) e.deleteFilter(ids.splice(rng.nextInt(ids.length), 1)[0] as bigint);
        else if (kind === 2 || kind === 3) {
          // A batch, read by foreign code before it publishes; half of them fail there and roll back.
          const fails = kind === 3;
          const ops = randomOps(1 + rng.nextInt(4));
          try {
            const results = e.applyBatch(ops, () => {
              w.look(`${where} (inside a batch)`);
              if (fails) throw new Error("refused");
            });
            for (const r of results) if ("filterId" in r && e.getFilter(r.filterId) !== undefined) ids.push(r.filterId);
          } catch {
            ids.splice(0, ids.length, ...idsBefore);
          }
        } else if (kind === 4) {
          // A staged transaction, published as it is or (when the origin changed meanwhile) replayed.
          const fork = e.fork();
          const specs = [spec(rng), spec(rng)];
          for (const s of specs) fork.applyBatch([{ op: "addFilter", spec: s }]);
          if (rng.chance(0.5)) ids.push(e.addFilter(spec(rng)).filterId);
          const results = e.applyStaged(
            fork,
            () => specs.map((s) => ({ op: "addFilter", spec: s })),
            () => w.look(`${where} (publishing)`),
          );
          for (const r of results) if ("filterId" in r) ids.push(r.filterId);
        } else if (kind === 5) {
          e.setBootTimeEnforcement((["boot", "enforced", "removed"] as const)[rng.nextInt(3)] as "boot");
        }
        w.look(where);
        if (w.contents() !== before)
          assert.notEqual(e.policyVersion, version, `${where}: changed policies, same version`);
      }
    });
  }
});
