/**
 * The stream layer in the simulated stack (§E): it sits between the application and TCP, so an edit
 * changes the byte stream TCP carries and both ends' sequence numbers stay consistent by construction.
 * Checked on recorded captures, one capture interface at a time (each frame is in the file twice, once
 * at the sender's NIC and once at the receiver's; tshark's TCP analysis must see one of them):
 *
 * - Loss-free: at both NICs tshark flags no out-of-order segment, no lost segment ("previous segment not
 *   captured"), no ACK of an unseen segment, no retransmission, no duplicate ACK; and the bytes tshark
 *   reassembles from the wire are the client's edited stream, which the server's application receives
 *   edited once more.
 * - With loss, duplication and reordering on both NICs: the receiving application still gets the edited
 *   bytes exactly once, in order. At the *sender's* NIC — whose tap records every frame TCP sent, before
 *   its outbound fault injector — tshark sees no lost segment and no ACK of an unseen segment: the
 *   receiver never acknowledged a byte the sender did not send, so the two ends agree on the edited
 *   stream's length at every moment; every segment it sees out of order or again is one TCP counted as a
 *   retransmission (the loss-free run has none); and the bytes it reassembles are the edited stream. At
 *   the *receiver's* NIC (no inbound faults there), gaps ("previous segment not captured") and
 *   out-of-order segments do appear, each count at most the number of frames the sender's injector
 *   dropped or held back, and the receiver never acknowledges a segment it has not seen. Retransmissions
 *   and duplicate ACKs seen at the receiver are expected there and not bounded.
 *
 * Also: DEFER closes the receiver's window (the sender persists) and streamContinue reopens it,
 * DROP_CONNECTION resets the connection, a RST is indicated as RECEIVE_ABORT, and the disconnect follows
 * data the stream layer held.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FileSink } from "../capture/index.ts";
import type { CalloutClassifyFn, ClassifyOut, FilterEngine } from "../engine/index.ts";
import { FWPS_CLASSIFY_OUT_FLAG } from "../fwp/index.ts";
import {
  FWPS_INJECTION_TYPE,
  FWPS_STREAM_ACTION_TYPE,
  FWPS_STREAM_FLAG,
  type InjectionHandle,
  type Shim,
  type StreamCalloutIoPacket,
} from "../shim/index.ts";
import type { FaultSpec } from "./link/fault.ts";
import { tshark } from "./link/link-fixtures.testing.ts";
import { addr, lan, type TestHost, type TestNet } from "./net-fixtures.testing.ts";
import { ms, seconds } from "./sim/scheduler.ts";
import type { TcpSocket } from "./tcp-layer.ts";

const SF = FWPS_STREAM_FLAG;
const SA = FWPS_STREAM_ACTION_TYPE;
const NO_MORE_DATA = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_NO_MORE_DATA;
const enc = new TextEncoder();
const dec = new TextDecoder();

const dir = mkdtempSync(join(tmpdir(), "openwfp-stream-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let keyCount = 0;
/** A stream callout in its own sublayer at STREAM_V4, with every indication's data recorded. */
function streamCallout(engine: FilterEngine, fn: CalloutClassifyFn, weight = 0x4000): number {
  keyCount++;
  const key = `57e0ed17-0000-4000-8000-${keyCount.toString(16).padStart(12, "0")}`;
  const sub = `57e0ed17-0000-4000-9000-${keyCount.toString(16).padStart(12, "0")}`;
  engine.addSublayer({ subLayerKey: sub, name: `stream test ${keyCount}`, weight });
  const { calloutId } = engine.addCallout({
    calloutKey: key,
    name: "stream test",
    applicableLayer: "FWPM_LAYER_STREAM_V4",
  });
  engine.registerCallout({ calloutKey: key, classifyFn: fn });
  engine.addFilter({
    name: "stream test",
    layer: "FWPM_LAYER_STREAM_V4",
    sublayer: sub,
    action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
  });
  return calloutId;
}

const indexOf = (d: Uint8Array, p: Uint8Array): number => {
  outer: for (let i = 0; i + p.length <= d.length; i++) {
    for (let k = 0; k < p.length; k++) if (d[i + k] !== p[k]) continue outer;
    return i;
  }
  return -1;
};
const partialTail = (d: Uint8Array, p: Uint8Array): number => {
  outer: for (let i = Math.max(0, d.length - p.length + 1); i < d.length; i++) {
    for (let k = 0; i + k < d.length; k++) if (d[i + k] !== p[k]) continue outer;
    return i;
  }
  return -1;
};

/**
 * The E16/E17 inline editor: permit up to a match, inject the replacement and block the match, ask for
 * more data when the tail may begin the pattern. Edits the given direction only.
 */
function inlineEditor(
  shim: Shim,
  find: string,
  replace: string,
  direction: "inbound" | "outbound",
): { replaced: number } {
  const p = enc.encode(find);
  const r = enc.encode(replace);
  const handle = shim.fwps.injectionHandleCreate("AF_UNSPEC", FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_STREAM)
    .handle as InjectionHandle;
  const stats = { replaced: 0 };
  let calloutId = 0;
  const permit = (io: StreamCalloutIoPacket, out: ClassifyOut, n: number) => {
    io.countBytesEnforced = n;
    out.actionType = "FWP_ACTION_PERMIT";
  };
  calloutId = streamCallout(shim.engine, (fixed, meta, data, _c, _f, _fc, out) => {
    const io = data as StreamCalloutIoPacket;
    const s = io.streamData;
    const inbound = (s.flags & SF.FWPS_STREAM_FLAG_RECEIVE) !== 0;
    if (inbound !== (direction === "inbound") || s.dataLength === 0) return permit(io, out, 0);
    const i = indexOf(s.data, p);
    if (i > 0) return permit(io, out, i);
    if (i === 0) {
      const nbl = shim.fwps.allocateNetBufferAndNetBufferList(r, 0, r.length, "transport").netBufferList;
      const st = shim.fwps.streamInjectAsync(
        handle,
        null,
        0,
        (meta as { flowHandle: bigint }).flowHandle,
        calloutId,
        fixed.layer.runtimeId,
        s.flags & (SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_SEND),
        nbl,
        r.length,
        () => {},
        null,
      );
      assert.equal(st, "STATUS_SUCCESS");
      stats.replaced++;
      io.countBytesEnforced = p.length;
      out.actionType = "FWP_ACTION_BLOCK";
      out.rights = 0;
      return;
    }
    const j = partialTail(s.data, p);
    if (j < 0 || (out.flags & NO_MORE_DATA) !== 0) return permit(io, out, 0);
    if (j > 0) return permit(io, out, j);
    io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
    io.countBytesRequired = p.length;
    out.actionType = "FWP_ACTION_NONE";
  });
  return stats;
}

/** Words in a seeded order, the pattern among them. */
function words(n: number, seed: number): string {
  const w = ["fox", "dog", "quick", "brown", "f", "fo", "do", "jumps", "lazy", "foxdog"];
  const out: string[] = [];
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push(w[(x >>> 0) % w.length] as string);
  }
  return out.join(" ");
}

const h = (t: TestNet, name: string): TestHost => {
  const x = t.hosts[name];
  assert.ok(x !== undefined);
  return x;
};

interface Transfer {
  readonly t: TestNet;
  readonly sent: string;
  readonly got: Uint8Array[];
  /** What the server's application saw, in order: its reads and the FIN. */
  readonly events: string[];
  readonly client: TcpSocket;
  server: TcpSocket | undefined;
  serverSawFin: boolean;
}

/** client → server `bytes` in writes of `piece` bytes, then an orderly close. */
function transfer(t: TestNet, text: string, piece: number): Transfer {
  const a = h(t, "a");
  const b = h(t, "b");
  const l = b.host.tcp.socket(b.app);
  l.bind(undefined, 7000);
  l.listen();
  const x: Transfer = {
    t,
    sent: text,
    got: [],
    events: [],
    client: a.host.tcp.socket(a.app),
    server: undefined,
    serverSawFin: false,
  };
  l.onAccept = (s) => {
    x.server = s;
    s.onData = (d) => {
      x.got.push(d.slice());
      x.events.push(dec.decode(d));
    };
    s.onEnd = () => {
      x.events.push("FIN");
      x.serverSawFin = true;
      s.close();
    };
  };
  x.client.onConnect = () => {
    for (let i = 0; i < text.length; i += piece) x.client.send(enc.encode(text.slice(i, i + piece)));
    x.client.shutdown();
  };
  x.client.onEnd = () => x.client.close();
  x.client.connect(addr("10.0.0.2"), 7000);
  return x;
}

const joined = (chunks: readonly Uint8Array[]) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return dec.decode(out);
};

/** tshark over one NIC's frames (the file holds each frame at both ends). */
function perNic(path: string, name: string): string {
  const only = join(dir, `${name}-${keyCount}-${Math.random().toString(36).slice(2)}.pcapng`);
  const r = tshark(["-r", path, "-Y", `frame.interface_name == "${name}:eth0"`, "-w", only]);
  assert.equal(r.status, 0, r.stderr);
  return only;
}

/** How many frames carry each TCP analysis flag of interest, by sending port. */
function analysis(path: string): Record<string, number> {
  const flags = [
    "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.duplicate_ack",
  ];
  const r = tshark(["-r", path, "-T", "fields", "-e", "tcp.srcport", ...flags.flatMap((f) => ["-e", f])]);
  assert.equal(r.status, 0, r.stderr);
  const counts: Record<string, number> = {};
  const resent = new Set(["out_of_order", "retransmission", "fast_retransmission", "spurious_retransmission"]);
  for (const row of r.rows) {
    const from = row[0] === "7000" ? "server" : "client";
    let again = false;
    for (const [i, f] of flags.entries()) {
      if ((row[i + 1] ?? "") === "") continue;
      const name = f.replace("tcp.analysis.", "");
      const key = `${name}@${from}`;
      counts[key] = (counts[key] ?? 0) + 1;
      if (resent.has(name)) again = true;
    }
    // Frames below the sender's highest sequence number, however tshark names them.
    if (again) counts[`resent@${from}`] = (counts[`resent@${from}`] ?? 0) + 1;
  }
  return counts;
}

/** The client → server bytes tshark reassembles from one NIC's capture ("Follow TCP Stream"). */
function followUp(path: string): string {
  const r = tshark(["-r", path, "-q", "-z", "follow,tcp,raw,0"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith("Node 1:"));
  const hex: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith("====")) break;
    if (l.startsWith("\t") || l.trim() === "") continue; // the server's direction is indented
    hex.push(l.trim());
  }
  return Buffer.from(hex.join(""), "hex").toString("latin1");
}

const lossy: FaultSpec = { loss: 0.05, duplicate: 0.02, reorder: 0.05, reorderDelayNs: { min: ms(1), max: ms(5) } };

describe("stream editing keeps both ends' TCP byte streams consistent", () => {
  const original = words(32_000, 99);
  const clientEdited = original.split("fox").join("kitten");
  const serverEdited = clientEdited.split("dog").join("wolf");

  const run = (name: string, faults: boolean) => {
    const path = join(dir, `${name}.pcapng`);
    const tuning = { receiveBufferSize: 256 * 1024 };
    const t = lan(
      [
        {
          name: "a",
          addresses: ["10.0.0.1/24"],
          mtu: 576,
          options: { tcp: { tuning } },
          ...(faults ? { faults: { outbound: lossy, inbound: lossy, seed: 31 } } : {}),
        },
        {
          name: "b",
          addresses: ["10.0.0.2/24"],
          mtu: 576,
          options: { tcp: { tuning } },
          ...(faults ? { faults: { outbound: lossy, seed: 32 } } : {}),
        },
      ],
      { capture: new FileSink(path), seed: 5 },
    );
    const up = inlineEditor(h(t, "a").shim, "fox", "kitten", "outbound");
    const down = inlineEditor(h(t, "b").shim, "dog", "wolf", "inbound");
    const x = transfer(t, original, 1000);
    t.net.runFor(seconds(faults ? 300 : 200));
    t.net.close();
    return { t, x, path, up, down };
  };

  describe("loss-free", () => {
    const r = run("clean", false);

    it("the server's application reads both edits, exactly once and in order", () => {
      assert.equal(joined(r.x.got), serverEdited);
      assert.ok(r.up.replaced > 1000 && r.down.replaced > 1000);
      assert.ok(r.x.serverSawFin);
      assert.equal(r.x.client.state, "CLOSED");
    });

    for (const nic of ["a", "b"]) {
      it(`at ${nic}'s NIC: no out-of-order or lost segment, no ACK of an unseen one, no retransmission`, () => {
        assert.deepEqual(analysis(perNic(r.path, nic)), {});
      });

      it(`at ${nic}'s NIC: the wire carries the client's edited stream`, () => {
        assert.equal(followUp(perNic(r.path, nic)), clientEdited);
      });
    }
  });

  describe("with loss, duplication and reordering on both NICs", () => {
    const r = run("lossy", true);
    const [fa, fb] = r.t.net.faultInjectors;
    assert.ok(fa !== undefined && fb !== undefined);

    it("the server's application still reads both edits, exactly once and in order", () => {
      const faults = JSON.stringify({ a: fa.outbound, b: fb.outbound });
      assert.ok(fa.outbound.lost > 10 && fa.outbound.reordered > 10 && fb.outbound.lost > 5, faults);
      assert.equal(joined(r.x.got), serverEdited);
      assert.ok(r.x.serverSawFin);
    });

    it("at the sender's NIC: no lost segment and no ACK of an unseen segment — the ends agree on every byte", () => {
      const a = analysis(perNic(r.path, "a"));
      assert.equal(a["lost_segment@client"] ?? 0, 0);
      assert.equal(a["ack_lost_segment@server"] ?? 0, 0);
      // Every segment tshark sees behind the sender's highest sequence number (out-of-order or
      // retransmission) is one TCP resent because of a fault; none was resent without one.
      const resent = r.x.client.connection?.counters.retransmissions ?? 0;
      assert.ok((a["resent@client"] ?? 0) > 0, "TCP retransmitted under the edit");
      assert.ok((a["resent@client"] ?? 0) <= resent, `${JSON.stringify(a)} vs ${resent} retransmissions`);
      assert.equal(followUp(perNic(r.path, "a")), clientEdited);
    });

    it("at the receiver's NIC: gaps and disorder only as many as the injector caused", () => {
      const b = analysis(perNic(r.path, "b"));
      // b has no inbound faults: every gap or disorder in a's data at b comes from a's outbound injector.
      const disturbed = fa.outbound.lost + fa.outbound.reordered;
      assert.ok((b["lost_segment@client"] ?? 0) > 0, "the receiver saw gaps");
      assert.ok((b["lost_segment@client"] ?? 0) <= disturbed, JSON.stringify(b));
      assert.ok((b["out_of_order@client"] ?? 0) <= disturbed, JSON.stringify(b));
      assert.equal(b["ack_lost_segment@server"] ?? 0, 0, "the receiver never acknowledges past what arrived");
      assert.equal(followUp(perNic(r.path, "b")), clientEdited);
    });
  });
});

/** Two hosts on a LAN, no capture. */
const plain = (): TestNet =>
  lan([
    { name: "a", addresses: ["10.0.0.1/24"] },
    { name: "b", addresses: ["10.0.0.2/24"] },
  ]);

describe("the stream layer's actions reach TCP", () => {
  it("DEFER stops consuming: the receiver's window closes, the sender probes, streamContinue reopens it (E8)", () => {
    const t = plain();
    const b = h(t, "b");
    let deferring = true;
    let deferred: { flowId: bigint; layerId: number } | undefined;
    const calloutId = streamCallout(b.engine, (fixed, meta, data, _c, _f, _fc, out) => {
      const io = data as StreamCalloutIoPacket;
      const inbound = (io.streamData.flags & SF.FWPS_STREAM_FLAG_RECEIVE) !== 0;
      const fin = (io.streamData.flags & SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT) !== 0;
      if (inbound && deferring && !fin) {
        deferred = { flowId: (meta as { flowHandle: bigint }).flowHandle, layerId: fixed.layer.runtimeId };
        io.streamAction = SA.FWPS_STREAM_ACTION_DEFER;
        out.actionType = "FWP_ACTION_NONE";
        return;
      }
      out.actionType = "FWP_ACTION_PERMIT";
    });
    const text = words(40_000, 3); // ≈ 180 KB, more than the 64 KiB receive window
    const x = transfer(t, text, 8192);
    t.net.runFor(seconds(2));
    const server = x.server?.connection;
    assert.ok(server !== undefined && deferred !== undefined);
    assert.equal(server.receiveWindow, 0, "nothing was consumed: the window is closed");
    assert.equal(x.got.length, 0);
    const probes = x.client.connection?.counters.windowProbes ?? 0;
    assert.ok(probes > 0, "the sender persists with zero-window probes");
    deferring = false;
    assert.equal(
      b.shim.fwps.streamContinue(deferred.flowId, calloutId, deferred.layerId, SF.FWPS_STREAM_FLAG_RECEIVE),
      "STATUS_SUCCESS",
    );
    t.net.runFor(seconds(30));
    assert.equal(joined(x.got), text, "every byte, once, in order");
    assert.ok(x.serverSawFin);
  });

  it("DROP_CONNECTION resets the connection (E9)", () => {
    const t = plain();
    const b = h(t, "b");
    streamCallout(b.engine, (_fixed, _meta, data, _c, _f, _fc, out) => {
      const io = data as StreamCalloutIoPacket;
      if (dec.decode(io.streamData.data).includes("kill")) {
        io.streamAction = SA.FWPS_STREAM_ACTION_DROP_CONNECTION;
        out.actionType = "FWP_ACTION_NONE";
      } else out.actionType = "FWP_ACTION_PERMIT";
    });
    const x = transfer(t, "hello, kill me", 7);
    t.net.runFor(seconds(1));
    assert.equal(joined(x.got), "", "the indication the callout dropped the connection on was not delivered");
    assert.equal(x.server?.outcome, "aborted");
    assert.equal(x.client.outcome, "reset");
    assert.equal(x.client.error, "WSAECONNRESET");
    assert.equal(h(t, "a").host.tcp.connectionCount + b.host.tcp.connectionCount, 0);
  });

  it("an abort is SEND_ABORT on the aborting side and RECEIVE_ABORT at the peer (E3)", () => {
    const t = plain();
    const flags: Record<string, number[]> = { a: [], b: [] };
    for (const n of ["a", "b"] as const) {
      streamCallout(h(t, n).engine, (_fixed, _meta, data, _c, _f, _fc, out) => {
        flags[n]?.push((data as StreamCalloutIoPacket).streamData.flags);
        out.actionType = "FWP_ACTION_PERMIT";
      });
    }
    const a = h(t, "a");
    const b = h(t, "b");
    const l = b.host.tcp.socket(b.app);
    l.bind(undefined, 7000);
    l.listen();
    const c = a.host.tcp.socket(a.app);
    c.onConnect = () => c.send(enc.encode("x"));
    c.connect(addr("10.0.0.2"), 7000);
    t.net.runFor(ms(50));
    c.abort();
    t.net.runFor(ms(50));
    assert.deepEqual(flags.a, [SF.FWPS_STREAM_FLAG_SEND, SF.FWPS_STREAM_FLAG_SEND | SF.FWPS_STREAM_FLAG_SEND_ABORT]);
    assert.deepEqual(flags.b, [
      SF.FWPS_STREAM_FLAG_RECEIVE,
      SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_RECEIVE_ABORT,
    ]);
  });

  it("the disconnect reaches the application after the bytes the stream layer held for it (E7)", () => {
    const t = plain();
    const b = h(t, "b");
    streamCallout(b.engine, (_fixed, _meta, data, _c, _f, _fc, out) => {
      const io = data as StreamCalloutIoPacket;
      if ((out.flags & NO_MORE_DATA) === 0) {
        io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
        io.countBytesRequired = 1_000_000;
        out.actionType = "FWP_ACTION_NONE";
      } else out.actionType = "FWP_ACTION_PERMIT";
    });
    const x = transfer(t, "held until the end", 5);
    t.net.runFor(seconds(1));
    assert.deepEqual(x.events, ["held until the end", "FIN"]);
  });
});
