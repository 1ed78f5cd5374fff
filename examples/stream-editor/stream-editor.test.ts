/**
 * The stream editor on two simulated hosts: the bytes the receiving application reads are the edited
 * stream, exactly once and in order — the pattern split across writes and TCP segments, a replacement
 * longer (and one shorter) than the pattern, both directions, the three editing modes — also with loss,
 * duplication and reordering injected on both NICs, so that TCP retransmits underneath the edit.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address } from "../../src/base/index.ts";
import { FilterEngine } from "../../src/engine/index.ts";
import { Shim } from "../../src/shim/index.ts";
import { type AttachSpec, type FaultSpec, ms, Network, seconds, type TcpSocket } from "../../src/stack/index.ts";
import {
  indexOf,
  partialTail,
  type StreamEditMode,
  StreamEditor,
  type StreamEditorOptions,
  StreamReplacer,
} from "./stream-editor.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Side {
  readonly shim: Shim;
  readonly host: ReturnType<Network["host"]>;
  readonly app: ReturnType<ReturnType<Network["host"]>["process"]>;
}

interface PairSpec {
  readonly seed?: number;
  readonly mtu?: number;
  readonly clientFaults?: AttachSpec["faults"];
  readonly serverFaults?: AttachSpec["faults"];
}

function pair(spec: PairSpec = {}) {
  const net = new Network({ seed: spec.seed ?? 11 });
  net.link("lan", { delayNs: ms(1) });
  const side = (name: string, address: string, faults: AttachSpec["faults"] | undefined, pid: number): Side => {
    const shim = new Shim({ engine: new FilterEngine(), clock: net.scheduler, host: name });
    const host = net.host(name, shim);
    net.attach(host, "eth0", "lan", {
      addresses: [address],
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
      ...(faults !== undefined ? { faults } : {}),
    });
    const app = host.process({ processId: pid, imagePath: `C:\\Apps\\${name}.exe` });
    return { shim, host, app };
  };
  return {
    net,
    client: side("client", "10.0.0.1/24", spec.clientFaults, 1001),
    server: side("server", "10.0.0.2/24", spec.serverFaults, 1002),
  };
}

interface Exchange {
  readonly client: TcpSocket;
  server: TcpSocket | undefined;
  readonly atServer: Uint8Array[];
  readonly atClient: Uint8Array[];
  serverSawFin: boolean;
  clientSawFin: boolean;
}

/**
 * The client writes `up` in the given pieces (one send per piece, 1 ms apart) then shuts down; the server
 * echoes nothing but writes `down` in pieces and shuts down; both close once they saw the peer's FIN.
 */
function exchange(p: ReturnType<typeof pair>, up: readonly string[], down: readonly string[] = []): Exchange {
  const { net, client, server } = p;
  const l = server.host.tcp.socket(server.app);
  l.bind(undefined, 8080);
  l.listen();
  const x: Exchange = {
    client: client.host.tcp.socket(client.app),
    server: undefined,
    atServer: [],
    atClient: [],
    serverSawFin: false,
    clientSawFin: false,
  };
  // Each side writes its pieces 1 ms apart, then shuts down; it closes once it also saw the peer's FIN.
  const run = (s: TcpSocket, pieces: readonly string[], sawFin: () => void, received: Uint8Array[]) => {
    let finished = false;
    let peerDone = false;
    for (const [i, piece] of pieces.entries()) net.scheduler.after(ms(1 + i), () => s.send(enc.encode(piece)));
    net.scheduler.after(ms(2 + pieces.length), () => {
      s.shutdown();
      finished = true;
      if (peerDone) s.close();
    });
    s.onData = (b) => received.push(b.slice());
    s.onEnd = () => {
      sawFin();
      peerDone = true;
      if (finished) s.close();
    };
  };
  l.onAccept = (s) => {
    x.server = s;
    run(s, down, () => (x.serverSawFin = true), x.atServer);
  };
  x.client.onConnect = () => run(x.client, up, () => (x.clientSawFin = true), x.atClient);
  x.client.connect(Ipv4Address.parse("10.0.0.2"), 8080);
  return x;
}

const text = (chunks: readonly Uint8Array[]) => dec.decode(concat(chunks));
function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A long text with the pattern at every offset modulo the segment size, and once right at the end. */
function longText(pattern: string, words: number): string {
  const filler = [
    "the",
    "quick",
    "brown",
    pattern,
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    `${pattern}${pattern}`,
    "f",
    "fo",
  ];
  const out: string[] = [];
  let x = 7;
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(filler[(x >>> 16) % filler.length] as string);
  }
  return `${out.join(" ")} ${pattern}`;
}

const lossy: FaultSpec = { loss: 0.06, duplicate: 0.03, reorder: 0.06, reorderDelayNs: { min: ms(1), max: ms(4) } };

describe("the matcher", () => {
  it("finds the pattern and the tail that may begin it", () => {
    assert.equal(indexOf(enc.encode("a fox"), enc.encode("fox")), 2);
    assert.equal(indexOf(enc.encode("a fo"), enc.encode("fox")), -1);
    assert.equal(partialTail(enc.encode("a fo"), enc.encode("fox")), 2);
    assert.equal(partialTail(enc.encode("a f"), enc.encode("fox")), 2);
    assert.equal(partialTail(enc.encode("a fox"), enc.encode("fox")), -1);
    assert.equal(partialTail(enc.encode("aa"), enc.encode("aab")), 0);
  });

  it("StreamReplacer edits a stream given in any pieces as the whole would be edited", () => {
    const whole = longText("fox", 300);
    const expect = whole.split("fox").join("kitten");
    for (const size of [1, 2, 3, 5, 64]) {
      const r = new StreamReplacer(enc.encode("fox"), enc.encode("kitten"));
      const out: Uint8Array[] = [];
      const bytes = enc.encode(whole);
      for (let i = 0; i < bytes.length; i += size) out.push(r.feed(bytes.subarray(i, i + size)));
      out.push(r.flush());
      assert.equal(text(out), expect, `pieces of ${size}`);
    }
  });
});

const MODES: readonly StreamEditMode[] = ["inline", "scratch", "out-of-band"];

/** The run had patterns split across indications, and the mode's technique dealt with them (E17). */
function assertSplitHandled(mode: StreamEditMode, editor: StreamEditor): void {
  if (mode === "inline") assert.ok(editor.stats.needMoreData > 0, "NEED_MORE_DATA was used");
  if (mode === "scratch") assert.ok(editor.stats.scratchHolds > 0, "partial matches were kept in the scratch buffer");
  if (mode === "out-of-band") assert.ok(editor.stats.injections > 0, "the worker injected the edited data");
}

describe("examples/stream-editor: replace a word in a TCP stream", () => {
  for (const mode of MODES) {
    describe(`${mode} mode`, () => {
      it('outbound: "the quick brown fox" → the server reads "cat", the pattern split across writes', () => {
        const p = pair();
        const editor = new StreamEditor(p.client.shim, { find: "fox", replace: "cat", direction: "outbound", mode });
        const x = exchange(p, ["the quick brown f", "o", "x jumps over the lazy dog; fo", "x", " and a f"]);
        p.net.runFor(seconds(2));
        assert.equal(text(x.atServer), "the quick brown cat jumps over the lazy dog; cat and a f");
        assert.equal(editor.stats.replacements, 2);
        assert.equal(editor.stats.injectionFailures, 0);
        assertSplitHandled(mode, editor);
        assert.ok(x.serverSawFin && x.clientSawFin, "the FIN went through the editor");
        assert.ok(["CLOSED", "TIME-WAIT"].includes(x.client.state), x.client.state);
      });

      it("a longer replacement, inbound, over small segments: every straddling pattern is edited", () => {
        const p = pair({ mtu: 120 }); // MSS 80: patterns fall across segment boundaries
        const editor = new StreamEditor(p.server.shim, { find: "fox", replace: "kitten", direction: "inbound", mode });
        const original = longText("fox", 900);
        const x = exchange(p, [original.slice(0, 1500), original.slice(1500, 3001), original.slice(3001)]);
        p.net.runFor(seconds(5));
        assert.equal(text(x.atServer), original.split("fox").join("kitten"));
        assert.equal(editor.stats.replacements, original.split("fox").length - 1);
        assertSplitHandled(mode, editor);
        assert.ok(x.serverSawFin);
      });

      it("both directions at once, a shorter replacement", () => {
        const p = pair();
        new StreamEditor(p.server.shim, { find: "elephant", replace: "ant", direction: "both", mode });
        const x = exchange(p, ["an elep", "hant and an elephant"], ["elephants are ", "big; elepha", "nt"]);
        p.net.runFor(seconds(2));
        assert.equal(text(x.atServer), "an ant and an ant", "inbound at the server");
        assert.equal(text(x.atClient), "ants are big; ant", "outbound from the server");
      });

      it("with loss, duplication and reordering on both NICs: the edited bytes arrive exactly once, in order", () => {
        const p = pair({
          seed: 23,
          mtu: 200,
          clientFaults: { outbound: lossy, inbound: lossy, seed: 5 },
          serverFaults: { outbound: lossy, seed: 6 },
        });
        const opts: StreamEditorOptions = { find: "fox", replace: "kitten", mode };
        new StreamEditor(p.client.shim, { ...opts, direction: "outbound" });
        new StreamEditor(p.server.shim, { ...opts, find: "dog", replace: "wolf", direction: "inbound" });
        const original = longText("fox", 6000);
        const pieces: string[] = [];
        for (let i = 0; i < original.length; i += 997) pieces.push(original.slice(i, i + 997));
        const x = exchange(p, pieces);
        p.net.runFor(seconds(120));
        const lost = p.net.faultInjectors.reduce((n, f) => n + f.outbound.lost + f.inbound.lost, 0);
        assert.ok(lost > 20, `faults were injected (${lost} frames lost)`);
        // Client edits fox → kitten on the way out; the server edits dog → wolf on the way in.
        assert.equal(text(x.atServer), original.split("fox").join("kitten").split("dog").join("wolf"));
        assert.ok(x.serverSawFin && x.clientSawFin);
      });
    });
  }
});

describe("out-of-band mode: DEFER closes the receive window until the worker catches up (E8)", () => {
  it("defers the inbound stream, resumes it with FwpsStreamContinue0, and loses nothing", () => {
    const p = pair();
    const worker: (() => void)[] = [];
    const editor = new StreamEditor(p.server.shim, {
      find: "fox",
      replace: "kitten",
      direction: "inbound",
      mode: "out-of-band",
      busyThreshold: 8 * 1024,
      workerBudget: 4 * 1024,
      // A slow worker: one run every 30 ms.
      schedule: (fn) => worker.push(fn),
    });
    const tick = () => {
      for (const fn of worker.splice(0)) fn();
      p.net.scheduler.after(ms(30), tick);
    };
    p.net.scheduler.after(ms(30), tick);
    const original = longText("fox", 40_000); // ≈ 200 KB, more than the 64 KiB receive window
    const x = exchange(p, [original]);
    let minWindow = Number.POSITIVE_INFINITY;
    const watch = () => {
      const w = x.server?.connection?.receiveWindow;
      if (w !== undefined) minWindow = Math.min(minWindow, w);
      if (!x.serverSawFin) p.net.scheduler.after(ms(1), watch);
    };
    p.net.scheduler.after(ms(5), watch);
    p.net.runFor(seconds(60));
    assert.ok(editor.stats.deferrals > 0, "the stream was deferred");
    assert.equal(editor.stats.continues, editor.stats.deferrals, "and resumed as often");
    assert.equal(minWindow, 0, "the server's receive window closed while deferred");
    assert.equal(text(x.atServer), original.split("fox").join("kitten"));
    assert.ok(x.serverSawFin, "the pended FIN was injected after the data");
  });
});
