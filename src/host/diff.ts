/**
 * The composition root of `openwfp diff`: what changed between two policies or dumps — filters, sublayers,
 * callouts and providers added, removed or changed (matched by key) — and, given connections or a capture,
 * which of them change verdict. Connections are walked as `explain` walks them; a capture is replayed once
 * through two packet observers side by side.
 */
import { readFileSync } from "node:fs";
import { describeError, type IpAddress, ManualClock, OpenWfpError } from "../base/index.ts";
import { openCaptureStream } from "../capture/index.ts";
import type { Filter, FilterEngine } from "../engine/index.ts";
import { formatConditionValue } from "../fwp/index.ts";
import { networkStart, type ObservedVerdict, PacketObserver } from "../observe/index.ts";
import { Shim } from "../shim/index.ts";
import { type ExplainRequest, parseHostPort, walk } from "./explain.ts";
import { type LoadedPolicySource, loadPolicySource, type PolicySourceSpec } from "./policy-source.ts";
import { parseLocal } from "./replay.ts";

/** A file's policy source by its content: a netsh XML dump, a SQLite store, or a policy document. */
export function policySourceOfFile(path: string): PolicySourceSpec {
  let head: Buffer;
  try {
    head = readFileSync(path).subarray(0, 512);
  } catch (e) {
    throw new OpenWfpError("E_FILE", `cannot read ${path}: ${describeError(e)}`, { path });
  }
  if (head.subarray(0, 16).toString("latin1").startsWith("SQLite format 3")) return { kind: "store", path };
  const text = head
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart();
  if (text.startsWith("<")) return { kind: "state", path };
  return { kind: "policy", path };
}

export interface FilterChange {
  readonly key: string;
  readonly name: string;
  readonly layer: string;
  /** For changed filters: member → [before, after]. */
  readonly changes?: Readonly<Record<string, readonly [string, string]>>;
}

export interface ObjectDiff {
  readonly added: { key: string; name: string }[];
  readonly removed: { key: string; name: string }[];
}

export interface ConnectionChange {
  readonly connection: string;
  readonly before: { verdict: string; layer: string | null; filter: string | null };
  readonly after: { verdict: string; layer: string | null; filter: string | null };
}

export interface PacketChange {
  readonly packet: number;
  readonly direction: string;
  readonly before: string;
  readonly after: string;
}

export interface DiffReport {
  readonly a: string;
  readonly b: string;
  readonly filters: { added: FilterChange[]; removed: FilterChange[]; changed: FilterChange[] };
  readonly sublayers: ObjectDiff;
  readonly callouts: ObjectDiff;
  readonly providers: ObjectDiff;
  /** With connections: those whose verdict or deciding filter differs. */
  readonly connections?: { readonly compared: number; readonly changed: ConnectionChange[] };
  /** With a capture: packets whose verdict differs (the first 100 listed). */
  readonly capture?: {
    readonly packets: number;
    readonly changed: number;
    readonly nowDropped: number;
    readonly nowPermitted: number;
    readonly examples: PacketChange[];
  };
}

function layerName(f: Filter): string {
  return f.layer.fwpmName ?? f.layer.fwpsName;
}

/** A filter's members as comparable text. */
function filterMembers(f: Filter): Record<string, string> {
  const weight =
    f.weight.type === "FWP_EMPTY" ? "empty" : `${f.weight.type}:${String((f.weight as { value: unknown }).value)}`;
  return {
    name: f.name,
    layer: layerName(f),
    sublayer: f.sublayer.subLayerKey,
    weight,
    effectiveWeight: f.effectiveWeight.toString(),
    action: `${f.action.type}${f.action.calloutKey !== undefined ? ` ${f.action.calloutKey}` : ""}`,
    flags: `0x${f.flags.toString(16)}`,
    provider: f.providerKey ?? "",
    conditions: f.conditions
      .map((c) => {
        const field = f.layer.fields[c.fieldIndex];
        const ipv4 = field?.fieldType === "FWPM_FIELD_IP_ADDRESS" && field.dataType === "FWP_UINT32";
        return `${c.conditionName} ${c.matchType} ${formatConditionValue(c.value, { ipv4 })}`;
      })
      .join("; "),
  };
}

function diffObjects<T>(a: readonly T[], b: readonly T[], key: (x: T) => string, name: (x: T) => string): ObjectDiff {
  const ka = new Map(a.map((x) => [key(x), x]));
  const kb = new Map(b.map((x) => [key(x), x]));
  return {
    added: [...kb].filter(([k]) => !ka.has(k)).map(([k, x]) => ({ key: k, name: name(x) })),
    removed: [...ka].filter(([k]) => !kb.has(k)).map(([k, x]) => ({ key: k, name: name(x) })),
  };
}

/** The object differences between two engines. */
export function diffEngines(
  a: FilterEngine,
  b: FilterEngine,
): Pick<DiffReport, "filters" | "sublayers" | "callouts" | "providers"> {
  const fa = new Map(a.filters().map((f) => [f.filterKey as string, f]));
  const fb = new Map(b.filters().map((f) => [f.filterKey as string, f]));
  const added: FilterChange[] = [];
  const removed: FilterChange[] = [];
  const changed: FilterChange[] = [];
  for (const [k, f] of fb) if (!fa.has(k)) added.push({ key: k, name: f.name, layer: layerName(f) });
  for (const [k, f] of fa) {
    const other = fb.get(k);
    if (other === undefined) {
      removed.push({ key: k, name: f.name, layer: layerName(f) });
      continue;
    }
    const ma = filterMembers(f);
    const mb = filterMembers(other);
    const changes: Record<string, readonly [string, string]> = {};
    for (const m of Object.keys(ma)) if (ma[m] !== mb[m]) changes[m] = [ma[m] ?? "", mb[m] ?? ""];
    if (Object.keys(changes).length > 0) changed.push({ key: k, name: other.name, layer: layerName(other), changes });
  }
  const byName = (x: { name: string }) => x.name;
  return {
    filters: { added, removed, changed },
    sublayers: diffObjects(
      a.sublayers().filter((s) => !s.builtin),
      b.sublayers().filter((s) => !s.builtin),
      (s) => s.subLayerKey,
      byName,
    ),
    callouts: diffObjects(
      a.callouts().filter((c) => !c.builtin),
      b.callouts().filter((c) => !c.builtin),
      (c) => c.calloutKey,
      byName,
    ),
    providers: diffObjects(
      a.providers().filter((p) => !p.builtin),
      b.providers().filter((p) => !p.builtin),
      (p) => p.providerKey,
      byName,
    ),
  };
}

/** A connection of a `--connections` file (JSON array or one object per line). */
interface ConnectionSpec {
  readonly protocol: "tcp" | "udp" | "icmp";
  readonly local: string;
  readonly remote: string;
  readonly inbound?: boolean;
  readonly closed?: boolean;
  readonly app?: string;
  readonly user?: string;
}

export function parseConnections(text: string, path: string): ExplainRequest[] {
  let items: unknown[];
  const t = text.trim();
  try {
    items = t.startsWith("[")
      ? (JSON.parse(t) as unknown[])
      : t
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as unknown);
  } catch (e) {
    throw new OpenWfpError("E_USAGE", `${path} is not JSON (an array, or one object per line): ${describeError(e)}`, {
      path,
    });
  }
  return items.map((v, i) => {
    const at = `${path}[${i}]`;
    const o = v as Partial<ConnectionSpec>;
    if (typeof o !== "object" || o === null) throw new OpenWfpError("E_USAGE", "expected an object", { path: at });
    if (o.protocol !== "tcp" && o.protocol !== "udp" && o.protocol !== "icmp") {
      throw new OpenWfpError("E_USAGE", 'protocol must be "tcp", "udp" or "icmp"', { path: `${at}.protocol` });
    }
    if (typeof o.local !== "string" || typeof o.remote !== "string") {
      throw new OpenWfpError("E_USAGE", "local and remote are ADDRESS:PORT strings", { path: at });
    }
    const ports = o.protocol !== "icmp";
    return {
      source: { kind: "policy", path: "" },
      protocol: o.protocol,
      local: parseHostPort(o.local, `${at}.local`, ports && o.inbound === true),
      remote: parseHostPort(o.remote, `${at}.remote`, ports && o.inbound !== true),
      ...(o.inbound === true ? { inbound: true } : {}),
      ...(o.closed === true ? { closed: true } : {}),
      ...(o.app !== undefined ? { app: o.app } : {}),
      ...(o.user !== undefined ? { user: o.user } : {}),
    };
  });
}

function verdictOf(v: ObservedVerdict): string {
  if (v.permit) return "permit";
  const f = v.result?.decidingFilter;
  return `drop at ${v.layer?.fwpmName ?? "(flow blocked at ALE)"}${f !== undefined && f !== null ? ` by filter ${f.filterId} "${f.name}"` : ""}`;
}

export interface DiffRequest {
  readonly a: string;
  readonly b: string;
  readonly callouts?: ReadonlyMap<string, string>;
  readonly connectionsPath?: string;
  readonly capturePath?: string;
  readonly local?: readonly string[];
}

export async function diff(request: DiffRequest): Promise<DiffReport> {
  const sa = await loadPolicySource(policySourceOfFile(request.a), request.callouts);
  let sb: LoadedPolicySource | undefined;
  try {
    sb = await loadPolicySource(policySourceOfFile(request.b), request.callouts);
    const report: DiffReport = { a: sa.description, b: sb.description, ...diffEngines(sa.engine, sb.engine) };
    if (request.connectionsPath !== undefined) {
      let text: string;
      try {
        text = readFileSync(request.connectionsPath, "utf8");
      } catch (e) {
        throw new OpenWfpError("E_FILE", `cannot read ${request.connectionsPath}: ${describeError(e)}`, {
          path: request.connectionsPath,
        });
      }
      const connections = parseConnections(text, request.connectionsPath);
      const changed: ConnectionChange[] = [];
      for (const c of connections) {
        const ra = walk(c, sa.engine, sa.description);
        const rb = walk(c, sb.engine, sb.description);
        const sum = (r: ReturnType<typeof walk>) => {
          const step =
            r.blockedAt ??
            r.steps.find(
              (s) => s.record.layer.subFamily === (c.inbound === true ? "auth-recv-accept" : "auth-connect"),
            );
          const f = step?.result.decidingFilter ?? null;
          return {
            verdict: r.verdict,
            layer: step?.record.layer.fwpmName ?? null,
            filter: f === null ? null : `${f.filterId} "${f.name}"`,
          };
        };
        const before = sum(ra);
        const after = sum(rb);
        if (before.verdict !== after.verdict || before.filter !== after.filter || before.layer !== after.layer) {
          changed.push({ connection: ra.connection, before, after });
        }
      }
      (report as { connections?: DiffReport["connections"] }).connections = { compared: connections.length, changed };
    }
    if (request.capturePath !== undefined) {
      const local: IpAddress[] = parseLocal(request.local ?? []);
      const mk = (engine: FilterEngine) => {
        const clock = new ManualClock();
        return { clock, observer: new PacketObserver({ shim: new Shim({ engine, clock, host: "local" }), local }) };
      };
      const oa = mk(sa.engine);
      const ob = mk(sb.engine);
      const result = { packets: 0, changed: 0, nowDropped: 0, nowPermitted: 0, examples: [] as PacketChange[] };
      const stream = openCaptureStream(request.capturePath, { copyData: false });
      for await (const p of stream) {
        result.packets++;
        for (const o of [oa, ob]) if (p.timestampNs > o.clock.nowNs()) o.clock.setNs(p.timestampNs);
        const start = networkStart(p.linkType, p.data);
        if (!start.ok || start.value.kind !== "ip") continue;
        const va = oa.observer.observe(p.data, start.value.offset, p.data.length);
        const vb = ob.observer.observe(p.data, start.value.offset, p.data.length);
        if (!va.ok || !vb.ok) continue;
        const ta = verdictOf(va.value);
        const tb = verdictOf(vb.value);
        if (ta === tb) continue;
        result.changed++;
        if (va.value.permit && !vb.value.permit) result.nowDropped++;
        if (!va.value.permit && vb.value.permit) result.nowPermitted++;
        if (result.examples.length < 100)
          result.examples.push({ packet: p.index, direction: va.value.direction, before: ta, after: tb });
      }
      const fatal = stream.error;
      if (fatal !== undefined)
        throw new OpenWfpError(fatal.code, `${request.capturePath}: ${fatal.message}`, { offset: fatal.offset });
      (report as { capture?: DiffReport["capture"] }).capture = result;
    }
    return report;
  } finally {
    sa.close();
    sb?.close();
  }
}
