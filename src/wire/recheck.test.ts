/**
 * `recheck` is `check` without the allocation: for every view that has one, on real frames, on mutated
 * frames and at arbitrary offsets, it accepts and refuses exactly what `check` does (the same error), returns
 * the view itself when it accepts, and leaves the view untouched when it refuses. `check` itself (whose
 * common case is a separate fast test) accepts exactly what the rules in each module's comment allow.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../base/rng.ts";
import type { Result } from "../base/result.ts";
import type { WireError } from "./error.ts";
import { EthernetView } from "./ethernet.ts";
import { Ipv4View } from "./ipv4.ts";
import { Ipv6View } from "./ipv6.ts";
import { ALL_FOLDERS, allPackets, networkLayer } from "./link-ip-fixtures.testing.ts";
import { locateTransport } from "./transport-fixtures.testing.ts";
import { TcpView } from "./tcp.ts";
import { UdpView } from "./udp.ts";

interface Shown {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly end: number;
}

/** One case: a buffer and a window, usually where a header really is, sometimes anywhere. */
interface Case {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly end: number;
}

interface Subject {
  readonly name: string;
  readonly check: (bytes: Uint8Array, offset: number, end: number) => Result<Shown, WireError>;
  readonly reusable: () => Shown;
  readonly recheck: (view: Shown, bytes: Uint8Array, offset: number, end: number) => Result<Shown, WireError>;
  /** The acceptance rule, written out independently of the module. */
  readonly accepts: (bytes: Uint8Array, offset: number, end: number) => boolean;
  /** Where this header starts in a frame, when it is there. */
  readonly locate: (frame: Uint8Array, linkType: number) => { offset: number; end: number } | undefined;
}

const u16 = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const isTpid = (v: number): boolean => v === 0x8100 || v === 0x88a8 || v === 0x9100;

function network(frame: Uint8Array, linkType: number, etherType: number): { offset: number; end: number } | undefined {
  const layer = networkLayer({ number: 1, linkType, data: frame, originalLength: frame.length });
  return layer?.etherType === etherType ? { offset: layer.offset, end: frame.length } : undefined;
}

function transport(frame: Uint8Array, linkType: number, protocol: number): { offset: number; end: number } | undefined {
  if (linkType !== 1) return undefined;
  const t = locateTransport(frame);
  return t?.protocol === protocol ? { offset: t.offset, end: t.end } : undefined;
}

const subjects: Subject[] = [
  {
    name: "EthernetView",
    check: (b, o, e) => EthernetView.check(b, o, e),
    reusable: () => EthernetView.reusable(),
    recheck: (v, b, o, e) => (v as EthernetView).recheck(b, o, e),
    accepts: (b, o, e) => {
      if (o < 0 || e > b.length || e - o < 14) return false;
      for (let at = o + 12; isTpid(u16(b, at)); at += 4) if (at + 6 > e) return false;
      return true;
    },
    locate: (frame, linkType) => (linkType === 1 ? { offset: 0, end: frame.length } : undefined),
  },
  {
    name: "Ipv4View",
    check: (b, o, e) => Ipv4View.check(b, o, e),
    reusable: () => Ipv4View.reusable(),
    recheck: (v, b, o, e) => (v as Ipv4View).recheck(b, o, e),
    accepts: (b, o, e) => {
      if (o < 0 || e > b.length || e - o < 20) return false;
      const first = b[o] as number;
      const headerLength = (first & 15) * 4;
      return first >>> 4 === 4 && headerLength >= 20 && headerLength <= e - o && u16(b, o + 2) >= headerLength;
    },
    locate: (frame, linkType) => network(frame, linkType, 0x0800),
  },
  {
    name: "Ipv6View",
    check: (b, o, e) => Ipv6View.check(b, o, e),
    reusable: () => Ipv6View.reusable(),
    recheck: (v, b, o, e) => (v as Ipv6View).recheck(b, o, e),
    accepts: (b, o, e) => o >= 0 && e <= b.length && e - o >= 40 && (b[o] as number) >>> 4 === 6,
    locate: (frame, linkType) => network(frame, linkType, 0x86dd),
  },
  {
    name: "TcpView",
    check: (b, o, e) => TcpView.check(b, o, e),
    reusable: () => TcpView.reusable(),
    recheck: (v, b, o, e) => (v as TcpView).recheck(b, o, e),
    accepts: (b, o, e) => {
      const limit = Math.min(e, b.length);
      if (o < 0 || limit - o < 20) return false;
      const words = (b[o + 12] as number) >>> 4;
      return words >= 5 && o + words * 4 <= limit;
    },
    locate: (frame, linkType) => transport(frame, linkType, 6),
  },
  {
    name: "TcpView (fixed header)",
    check: (b, o, e) => TcpView.checkFixedHeader(b, o, e),
    reusable: () => TcpView.reusable(),
    recheck: (v, b, o, e) => (v as TcpView).recheckFixedHeader(b, o, e),
    accepts: (b, o, e) => o >= 0 && Math.min(e, b.length) - o >= 20,
    locate: (frame, linkType) => transport(frame, linkType, 6),
  },
  {
    name: "UdpView",
    check: (b, o, e) => UdpView.check(b, o, e),
    reusable: () => UdpView.reusable(),
    recheck: (v, b, o, e) => (v as UdpView).recheck(b, o, e),
    accepts: (b, o, e) => o >= 0 && Math.min(e, b.length) - o >= 8 && u16(b, o + 4) >= 8,
    locate: (frame, linkType) => transport(frame, linkType, 17),
  },
];

const frames = allPackets(ALL_FOLDERS, [0, 1, 101, 113, 228, 229, 276]).map((p) => p.packet);

/** Real headers as captured, then mutated copies, then windows anywhere (negative, past the end, empty). */
function cases(subject: Subject, seed: number): Case[] {
  const rng = new SeededRng(seed);
  const out: Case[] = [];
  for (const frame of frames) {
    const at = subject.locate(frame.data, frame.linkType);
    if (at === undefined) continue;
    out.push({ bytes: frame.data, offset: at.offset, end: at.end });
    const mutated = frame.data.slice();
    for (let i = rng.nextInt(4); i >= 0; i--) {
      const where = at.offset + rng.nextInt(Math.min(64, Math.max(1, mutated.length - at.offset)));
      if (where < mutated.length) mutated[where] = rng.nextInt(256);
    }
    out.push({ bytes: mutated, offset: at.offset, end: Math.min(at.end, at.offset + rng.nextInt(80)) });
    out.push({ bytes: mutated, offset: at.offset, end: at.end + rng.nextInt(3) });
  }
  for (let i = 0; i < 3000; i++) {
    const frame = rng.pick(frames).data;
    const offset = rng.nextInt(frame.length + 8) - 4;
    out.push({ bytes: frame, offset, end: offset + rng.nextInt(100) - 8 });
  }
  return out;
}

function snapshot(view: Shown): [Uint8Array, number, number, number | undefined] {
  return [view.bytes, view.offset, view.end, view instanceof EthernetView ? view.tagCount : undefined];
}

describe("recheck reuses one view and agrees with check", () => {
  for (const [i, subject] of subjects.entries()) {
    it(`${subject.name}: the same verdict and error as check, the view itself when accepted, untouched when refused`, () => {
      const view = subject.reusable();
      let accepted = 0;
      let refused = 0;
      for (const { bytes, offset, end } of cases(subject, 100 + i)) {
        const where = `${subject.name} at ${offset}..${end} of ${bytes.length}`;
        const fresh = subject.check(bytes, offset, end);
        const before = snapshot(view);
        const reused = subject.recheck(view, bytes, offset, end);
        assert.equal(reused.ok, fresh.ok, where);
        if (fresh.ok && reused.ok) {
          accepted++;
          assert.equal(reused.value, view, where);
          assert.deepEqual(snapshot(view), snapshot(fresh.value), where);
          assert.equal(view.bytes, bytes, where);
        } else if (!fresh.ok && !reused.ok) {
          refused++;
          assert.deepEqual(reused.error, fresh.error, where);
          assert.deepEqual(snapshot(view), before, where);
        }
      }
      assert.ok(accepted > 50 && refused > 50, `${subject.name}: ${accepted} accepted, ${refused} refused`);
    });

    it(`${subject.name}: check accepts exactly what the header rules allow`, () => {
      for (const { bytes, offset, end } of cases(subject, 200 + i)) {
        const where = `${subject.name} at ${offset}..${end} of ${bytes.length}`;
        assert.equal(subject.check(bytes, offset, end).ok, subject.accepts(bytes, offset, end), where);
      }
    });
  }

  it("a reusable view shows no bytes until a recheck passes", () => {
    for (const view of [EthernetView.reusable(), Ipv4View.reusable(), Ipv6View.reusable(), TcpView.reusable()]) {
      assert.equal(view.bytes.length, 0);
      assert.equal(view.end - view.offset, 0);
    }
    assert.equal(UdpView.reusable().bytes.length, 0);
  });
});
