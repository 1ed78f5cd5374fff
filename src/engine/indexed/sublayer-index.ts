/**
 * The index of one sublayer at one layer: each filter is filed under ONE of its condition groups (the
 * cheapest indexable one, step 2 of the constructor) — under every condition of that group, since it is
 * an OR (A3) — or, when no group can be indexed, in the residual list. A classification reads, per
 * probe, the incoming value of the probe's field and gathers the ranks (positions in evaluation order)
 * of the candidate filters; the candidates are put in rank order, repeats dropped, and each is verified
 * with `filterMatches`. A filter whose chosen group does not match cannot match (AND across groups, A2),
 * so no match is missed. A sublayer of very few filters is not indexed at all: it is scanned.
 */
import type { FwpValue } from "../../fwp/index.ts";
import { compareBytes } from "../../fwp/index.ts";
import { filterMatches } from "../match.ts";
import type { Filter, FilterCondition } from "../model.ts";
import { hashBytes, hashV6Prefix } from "./hash.ts";
import { type Compare, IntervalIndex, type IntervalInput } from "./interval-index.ts";
import * as plan from "./plan.ts";
import { type ConditionKey, conditionKey, type IntervalKey, type ProbeKind } from "./plan.ts";
import { type Postings, PostingsBuilder, U32Table } from "./postings.ts";
import { sortUnique } from "./sort.ts";

/** Address probes with at least this many entries get a first-16-bits filter (256 KiB). */
const TOP16_MIN_ENTRIES = 256;

// Module-local copies of the probe kinds: the hot switch compares against local constants.
const PROBE_U32 = plan.PROBE_U32;
const PROBE_BYTES = plan.PROBE_BYTES;
const PROBE_MAP = plan.PROBE_MAP;
const PROBE_V4 = plan.PROBE_V4;
const PROBE_V6 = plan.PROBE_V6;
const PROBE_INTERVAL = plan.PROBE_INTERVAL;

const comparePrimitive = (a: IntervalKey, b: IntervalKey): number => (a < b ? -1 : a > b ? 1 : 0);
const compareKeyBytes = (a: IntervalKey, b: IntervalKey): number => compareBytes(a as Uint8Array, b as Uint8Array);

/**
 * A lookup result ("entry"): `bucket << 1` for a bucket of several ranks in the postings, or
 * `rank << 1 | 1` for a bucket holding a single rank — stored inline, which saves two memory reads per
 * hit on policies of unique keys (blocklists). -1 = nothing.
 */
function encodeEntry(bucket: number, postings: Postings): number {
  const s = postings.starts[bucket] as number;
  return (postings.starts[bucket + 1] as number) - s === 1 ? ((postings.ranks[s] as number) << 1) | 1 : bucket << 1;
}

/** One lookup structure for one field and one incoming type. Fixed shape for a monomorphic hot path. */
class Probe {
  constructor(
    readonly field: number,
    readonly kind: ProbeKind,
    readonly type: string,
    /** Entry of the filters whose group matches an EMPTY incoming value; -1 when none. */
    public emptyEntry: number,
    /** U32 / BYTES: key → entry. */
    readonly table: U32Table | null,
    /** MAP: key → entry. */
    readonly map: Map<unknown, number> | null,
    /** V4 / V6: prefix lengths present, and one table per length (same order). */
    readonly lengths: Int32Array,
    readonly masks: Uint32Array,
    readonly tables: readonly U32Table[],
    /**
     * V4: per first-16-bits block, bit (L − 16) set when a prefix of length L ≥ 16 lies in the block;
     * V6: 1 when any prefix of length ≥ 16 does. Lets a lookup skip the per-length tables that cannot
     * hold the address (most of them, for a random address). Null for small probes.
     */
    readonly top16: Uint32Array | null,
    /** INTERVAL. */
    readonly intervals: IntervalIndex<IntervalKey> | null,
  ) {}

  /** Turns the bucket ids stored at build time into entries (once the postings are packed). */
  encode(postings: Postings): void {
    const f = (b: number): number => encodeEntry(b, postings);
    if (this.emptyEntry >= 0) this.emptyEntry = f(this.emptyEntry);
    this.table?.remap(f);
    for (const t of this.tables) t.remap(f);
    if (this.map !== null) for (const [k, b] of this.map) this.map.set(k, f(b));
  }
}

/** Collects one probe's entries at compile time. */
class ProbeBuilder {
  readonly keys: ConditionKey[] = [];
  readonly ranks: number[] = [];
  readonly emptyRanks: number[] = [];
  constructor(
    readonly field: number,
    readonly kind: ProbeKind,
    readonly type: string,
  ) {}

  add(k: ConditionKey, rank: number): void {
    this.keys.push(k);
    this.ranks.push(rank);
  }

  addEmpty(rank: number): void {
    if (this.emptyRanks[this.emptyRanks.length - 1] !== rank) this.emptyRanks.push(rank);
  }

  build(postings: PostingsBuilder): Probe {
    let emptyBucket = -1;
    if (this.emptyRanks.length > 0) {
      emptyBucket = postings.newBucket();
      for (const r of this.emptyRanks) postings.add(emptyBucket, r);
    }
    const newBucket = (): number => postings.newBucket();
    let table: U32Table | null = null;
    let map: Map<unknown, number> | null = null;
    let lengths = new Int32Array(0);
    let masks = new Uint32Array(0);
    const tables: U32Table[] = [];
    let intervals: IntervalIndex<IntervalKey> | null = null;
    let top16: Uint32Array | null = null;
    const n = this.keys.length;
    switch (this.kind) {
      case PROBE_U32:
      case PROBE_BYTES:
        table = new U32Table(n);
        for (let i = 0; i < n; i++) {
          postings.add(
            table.getOrAdd((this.keys[i] as ConditionKey).key as number, newBucket),
            this.ranks[i] as number,
          );
        }
        break;
      case PROBE_MAP: {
        const m = new Map<unknown, number>();
        for (let i = 0; i < n; i++) {
          const key = (this.keys[i] as ConditionKey).key;
          let b = m.get(key);
          if (b === undefined) m.set(key, (b = postings.newBucket()));
          postings.add(b, this.ranks[i] as number);
        }
        map = m;
        break;
      }
      case PROBE_V4:
      case PROBE_V6: {
        // Longest prefixes first (any order would do: every length is probed).
        const byLength = new Map<number, number>();
        for (const k of this.keys) byLength.set(k.length, (byLength.get(k.length) ?? 0) + 1);
        const present = [...byLength.keys()].sort((a, b) => b - a);
        lengths = Int32Array.from(present);
        masks = Uint32Array.from(present, (l) => (l === 0 ? 0 : (0xffffffff << (32 - Math.min(l, 32))) >>> 0));
        const tableOf = new Map<number, U32Table>();
        for (const l of present) {
          const t = new U32Table(byLength.get(l) as number);
          tableOf.set(l, t);
          tables.push(t);
        }
        if (n >= TOP16_MIN_ENTRIES && present.some((l) => l >= 16)) {
          top16 = new Uint32Array(65536);
          for (const k of this.keys) {
            if (k.length < 16) continue;
            const bit = this.kind === PROBE_V4 ? 1 << (k.length - 16) : 1;
            top16[k.top16] = ((top16[k.top16] as number) | bit) >>> 0;
          }
        }
        for (let i = 0; i < n; i++) {
          const k = this.keys[i] as ConditionKey;
          const t = tableOf.get(k.length) as U32Table;
          postings.add(t.getOrAdd(k.key as number, newBucket), this.ranks[i] as number);
        }
        break;
      }
      case PROBE_INTERVAL: {
        const inputs: IntervalInput<IntervalKey>[] = [];
        for (let i = 0; i < n; i++) {
          const k = this.keys[i] as ConditionKey;
          inputs.push({ low: k.low, high: k.high, rank: this.ranks[i] as number });
        }
        const compare: Compare<IntervalKey> =
          this.type === "FWP_BYTE_ARRAY16_TYPE" || this.type === "FWP_BYTE_BLOB_TYPE"
            ? compareKeyBytes
            : comparePrimitive;
        intervals = new IntervalIndex(inputs, compare);
        break;
      }
      default:
        break;
    }
    return new Probe(
      this.field,
      this.kind,
      this.type,
      emptyBucket,
      table,
      map,
      lengths,
      masks,
      tables,
      top16,
      intervals,
    );
  }
}

/** The probe builders of one sublayer, by (field, kind, incoming type), without building strings. */
class ProbeRegistry {
  readonly #byFieldKind = new Map<number, Map<string, ProbeBuilder>>();
  readonly all: ProbeBuilder[] = [];

  get(k: ConditionKey): ProbeBuilder {
    const slot = k.field * 8 + k.kind;
    let byType = this.#byFieldKind.get(slot);
    if (byType === undefined) this.#byFieldKind.set(slot, (byType = new Map()));
    let b = byType.get(k.type);
    if (b === undefined) {
      b = new ProbeBuilder(k.field, k.kind, k.type);
      byType.set(k.type, b);
      this.all.push(b);
    }
    return b;
  }
}

/**
 * The exact bucket an entry lands in, within its probe, for counting shared keys (intervals have none).
 * Lossy for address prefixes (length mixed into 32 bits, kept a small integer): a collision only skews
 * the cost estimate, never the matches.
 */
function countKey(k: ConditionKey): unknown {
  return k.kind === PROBE_V4 || k.kind === PROBE_V6 ? ((k.key as number) ^ Math.imul(k.length, 0x9e3779b1)) | 0 : k.key;
}

/** The index entries of a group, or undefined when one of its conditions cannot be indexed. */
function groupKeys(group: readonly FilterCondition[]): ConditionKey[] | undefined {
  const keys: ConditionKey[] = [];
  for (let i = 0; i < group.length; i++) {
    const k = conditionKey(group[i] as FilterCondition);
    if (k === undefined) return undefined;
    keys.push(k);
  }
  return keys;
}

export class SublayerIndex {
  readonly #filters: readonly Filter[];
  readonly #probes: readonly Probe[];
  readonly #postings: Postings;
  readonly #residual: Int32Array;
  /**
   * Per rank, 1 when a lookup hit decides the filter by itself: its only condition group is indexed
   * entirely under exact keys (PROBE_U32 values, PROBE_V4 masked prefixes — tables that compare the whole
   * key, never a hash), so a rank reached through one of those keys has a matching condition in its only
   * group (A2/A3) and `filterMatches` would say true. Verification is skipped for it: on large blocklists
   * it is the cold-memory cost of each hit. The differential test checks this against the linear scan.
   */
  readonly #exact: Uint8Array;
  /** Upper bound on the candidates one lookup can produce (scratch size). */
  readonly maxCandidates: number;

  /** `scanUpTo`: a sublayer with at most this many filters is scanned (all residual), not indexed. */
  constructor(filters: readonly Filter[], scanUpTo: number) {
    this.#filters = filters;
    const count = filters.length;
    const registry = new ProbeRegistry();

    // 1. Each filter's indexable groups. A filter with one indexable group is filed under it; one with
    //    several waits for the choice (step 2); one with none (or no conditions, A1) is residual.
    const chosenKeys: (ConditionKey[] | undefined)[] = new Array(count);
    const chosenGroup = new Int32Array(count).fill(-1);
    const undecided: number[] = [];
    const alternatives = new Map<number, (ConditionKey[] | undefined)[]>();
    for (let r = 0; r < (count <= scanUpTo ? 0 : count); r++) {
      const groups = (filters[r] as Filter).conditionGroups;
      if (groups.length === 1) {
        const keys = groupKeys(groups[0] as readonly FilterCondition[]);
        if (keys !== undefined) {
          chosenKeys[r] = keys;
          chosenGroup[r] = 0;
        }
        continue;
      }
      let indexable = 0;
      let only = -1;
      const perGroup: (ConditionKey[] | undefined)[] = [];
      for (let g = 0; g < groups.length; g++) {
        const keys = groupKeys(groups[g] as readonly FilterCondition[]);
        perGroup.push(keys);
        if (keys !== undefined) {
          indexable++;
          only = g;
        }
      }
      if (indexable === 1) {
        chosenKeys[r] = perGroup[only];
        chosenGroup[r] = only;
      } else if (indexable > 1) {
        undecided.push(r);
        alternatives.set(r, perGroup);
      }
    }

    // 2. Choose the cheapest group: the expected candidates it yields per lookup — how many entries share
    //    its exact buckets (popular keys such as PROTOCOL == 6 are poor) plus the share of the key space
    //    its masks and ranges cover.
    if (undecided.length > 0) {
      const counts = new Map<ProbeBuilder, Map<unknown, number>>();
      const tally = (keys: readonly ConditionKey[]): void => {
        for (const k of keys) {
          if (k.kind === PROBE_INTERVAL) continue;
          const probe = registry.get(k);
          let m = counts.get(probe);
          if (m === undefined) counts.set(probe, (m = new Map()));
          const key = countKey(k);
          m.set(key, (m.get(key) ?? 0) + 1);
        }
      };
      for (const keys of chosenKeys) if (keys !== undefined) tally(keys);
      for (const perGroup of alternatives.values()) for (const keys of perGroup) if (keys !== undefined) tally(keys);
      for (const r of undecided) {
        const perGroup = alternatives.get(r) as (ConditionKey[] | undefined)[];
        let best = -1;
        let bestCost = Number.POSITIVE_INFINITY;
        for (let g = 0; g < perGroup.length; g++) {
          const keys = perGroup[g];
          if (keys === undefined) continue;
          let cost = 0;
          for (const k of keys) {
            const shared = k.kind === PROBE_INTERVAL ? 1 : (counts.get(registry.get(k))?.get(countKey(k)) ?? 1);
            cost += shared + k.coverage * count;
          }
          if (cost < bestCost) {
            bestCost = cost;
            best = g;
          }
        }
        chosenKeys[r] = perGroup[best];
        chosenGroup[r] = best;
      }
    }

    // 3. File each filter under every condition of its group (an OR, A3), and under the group's EMPTY
    //    list when one of its conditions matches an EMPTY incoming value (A6).
    const residual: number[] = [];
    let entries = 0;
    for (let r = 0; r < count; r++) {
      const keys = chosenKeys[r];
      if (keys === undefined) {
        residual.push(r);
        continue;
      }
      const group = (filters[r] as Filter).conditionGroups[chosenGroup[r] as number] as readonly FilterCondition[];
      let emptyMatches = false;
      for (const c of group) if (c.onEmpty) emptyMatches = true;
      for (const k of keys) {
        const b = registry.get(k);
        b.add(k, r);
        entries++;
        if (emptyMatches) {
          b.addEmpty(r);
          entries++;
        }
      }
    }

    // Exact ranks (see #exact): a single group, every key an exact table key.
    const exact = new Uint8Array(count);
    for (let r = 0; r < count; r++) {
      const keys = chosenKeys[r];
      if (keys === undefined || (filters[r] as Filter).conditionGroups.length !== 1) continue;
      if (keys.every((k) => k.kind === PROBE_U32 || k.kind === PROBE_V4)) exact[r] = 1;
    }
    this.#exact = exact;

    // 4. Pack.
    const postings = new PostingsBuilder();
    const probes = registry.all
      .filter((b) => b.ranks.length > 0)
      .sort((a, b) => a.field - b.field)
      .map((b) => b.build(postings));
    this.#postings = postings.build();
    for (const probe of probes) probe.encode(this.#postings);
    this.#probes = probes;
    this.#residual = Int32Array.from(residual);
    this.maxCandidates = entries + residual.length;
  }

  get probeCount(): number {
    return this.#probes.length;
  }

  get residualCount(): number {
    return this.#residual.length;
  }

  // Candidate gathering state (one collect at a time; collect calls nothing that could re-enter).
  /** The only entry seen so far, read in place when no other source shows up; -1 = none. */
  #pending = -1;
  /** Candidates have been spilled to scratch (several sources): sort and dedupe before verifying. */
  #multi = false;
  #count = 0;

  /**
   * Writes the matching filters, in evaluation order, to `out[0..n)` and returns `n` (the count style
   * of CompiledLayer.collectMatches: `out` is not truncated, entries past `n` are stale). `scratch`
   * holds at least `maxCandidates` entries. Allocates nothing once `out` has grown to its working size.
   */
  collect(values: readonly FwpValue[], out: Filter[], scratch: Int32Array): number {
    this.#pending = -1;
    this.#multi = false;
    this.#count = 0;
    const probes = this.#probes;
    for (let p = 0; p < probes.length; p++) {
      const probe = probes[p] as Probe;
      const v = values[probe.field];
      if (v === undefined || v.type === "FWP_EMPTY") {
        if (probe.emptyEntry >= 0) this.#take(probe.emptyEntry, scratch);
        continue;
      }
      if (v.type !== probe.type) continue; // A8: another type never matches
      switch (probe.kind) {
        case PROBE_U32: {
          const e = (probe.table as U32Table).get((v as { readonly value: number }).value >>> 0);
          if (e >= 0) this.#take(e, scratch);
          break;
        }
        case PROBE_BYTES: {
          const e = (probe.table as U32Table).get(hashBytes((v as { readonly value: Uint8Array }).value));
          if (e >= 0) this.#take(e, scratch);
          break;
        }
        case PROBE_MAP: {
          const e = (probe.map as Map<unknown, number>).get((v as { readonly value: unknown }).value);
          if (e !== undefined) this.#take(e, scratch);
          break;
        }
        case PROBE_V4: {
          const addr = (v as { readonly value: number }).value;
          const masks = probe.masks;
          const lengths = probe.lengths;
          const tables = probe.tables;
          // Lengths ≥ 16 absent from this address's /16 block are skipped (all bits set without a filter).
          const present = probe.top16 === null ? -1 : (probe.top16[addr >>> 16] as number);
          for (let i = 0; i < masks.length; i++) {
            const length = lengths[i] as number;
            if (length >= 16 && ((present >>> (length - 16)) & 1) === 0) continue;
            const e = (tables[i] as U32Table).get((addr & (masks[i] as number)) >>> 0);
            if (e >= 0) this.#take(e, scratch);
          }
          break;
        }
        case PROBE_V6: {
          const addr = (v as { readonly value: Uint8Array }).value;
          const lengths = probe.lengths;
          const tables = probe.tables;
          const present =
            probe.top16 === null ? 1 : (probe.top16[((addr[0] as number) << 8) | (addr[1] as number)] as number);
          for (let i = 0; i < lengths.length; i++) {
            const length = lengths[i] as number;
            if (length >= 16 && present === 0) continue;
            const e = (tables[i] as U32Table).get(hashV6Prefix(addr, length));
            if (e >= 0) this.#take(e, scratch);
          }
          break;
        }
        case PROBE_INTERVAL:
          this.#spill(scratch);
          this.#count = (probe.intervals as IntervalIndex<IntervalKey>).stab(
            (v as { readonly value: IntervalKey }).value,
            scratch,
            this.#count,
          );
          break;
        default:
          break;
      }
    }
    const residual = this.#residual;
    if (residual.length > 0) {
      this.#spill(scratch);
      let n = this.#count;
      for (let i = 0; i < residual.length; i++) scratch[n++] = residual[i] as number;
      this.#count = n;
    }
    const filters = this.#filters;
    const exact = this.#exact;
    let found = 0;
    if (!this.#multi) {
      const e = this.#pending;
      if (e < 0) return 0;
      if ((e & 1) === 1) {
        const r = e >>> 1;
        const f = filters[r] as Filter;
        if (exact[r] === 1 || filterMatches(f, values)) out[found++] = f;
        return found;
      }
      const { starts, ranks } = this.#postings;
      const b = e >>> 1;
      const end = starts[b + 1] as number;
      for (let k = starts[b] as number; k < end; k++) {
        const r = ranks[k] as number;
        const f = filters[r] as Filter;
        if (exact[r] === 1 || filterMatches(f, values)) out[found++] = f;
      }
      return found;
    }
    const n = sortUnique(scratch, this.#count);
    for (let k = 0; k < n; k++) {
      const r = scratch[k] as number;
      const f = filters[r] as Filter;
      if (exact[r] === 1 || filterMatches(f, values)) out[found++] = f;
    }
    return found;
  }

  /** Adds one lookup result to the candidates. */
  #take(entry: number, scratch: Int32Array): void {
    if (!this.#multi && this.#pending < 0) {
      this.#pending = entry;
      return;
    }
    this.#spill(scratch);
    this.#count = this.#write(entry, scratch, this.#count);
  }

  /** Switches to scratch mode, moving the pending entry there. */
  #spill(scratch: Int32Array): void {
    if (this.#multi) return;
    this.#multi = true;
    this.#count = this.#pending >= 0 ? this.#write(this.#pending, scratch, 0) : 0;
    this.#pending = -1;
  }

  /** Writes the ranks of an entry to scratch[at..]; returns the new end. */
  #write(entry: number, scratch: Int32Array, at: number): number {
    if ((entry & 1) === 1) {
      scratch[at] = entry >>> 1;
      return at + 1;
    }
    const { starts, ranks } = this.#postings;
    const b = entry >>> 1;
    const end = starts[b + 1] as number;
    for (let k = starts[b] as number; k < end; k++) scratch[at++] = ranks[k] as number;
    return at;
  }
}
