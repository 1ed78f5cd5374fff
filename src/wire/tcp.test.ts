import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatWireError } from "./error.ts";
import { captureFiles } from "./link-ip-fixtures.testing.ts";
import {
  emitTcpHeader,
  parseTcp,
  parseTcpOptions,
  TCP_ACK,
  TCP_SYN,
  type TcpOption,
  type TcpRepr,
  TcpView,
  tcpFlagLetters,
  tcpHeaderLength,
  verifyTcpChecksum,
} from "./tcp.ts";
import {
  oracleNumber,
  referenceChecksum,
  segments,
  TRANSPORT_FOLDERS,
  type TransportSegment,
} from "./transport-fixtures.testing.ts";

const tcpSegments = segments(TRANSPORT_FOLDERS.flatMap(captureFiles), 6);
const label = (s: TransportSegment) => `${s.path} #${s.packet.number}`;

function parsed(s: TransportSegment): TcpRepr {
  const r = parseTcp(s.frame, s.offset, s.end);
  assert.ok(r.ok, `${label(s)}: ${r.ok ? "" : formatWireError(r.error)}`);
  return r.value;
}

/** Copies a segment (header and captured payload) into a fresh buffer. */
function segmentBytes(s: TransportSegment): Uint8Array {
  return s.frame.slice(s.offset, s.end);
}

const FLAG_NAMES: Record<string, string> = {
  FIN: "F",
  SYN: "S",
  RST: "R",
  PSH: "P",
  ACK: "A",
  URG: "U",
  ECE: "E",
  CWR: "C",
};

describe("TCP header (RFC 9293) on real captures", () => {
  it("finds TCP segments in every capture folder it is meant to cover", () => {
    for (const folder of ["tcp_session", "tcp_rst", "udp_dns", "ipv6"]) {
      assert.ok(
        tcpSegments.some((s) => s.path.startsWith(folder)),
        folder,
      );
    }
    assert.ok(tcpSegments.length > 150, `only ${tcpSegments.length} segments`);
  });

  it("reads every header field as TShark does", () => {
    for (const s of tcpSegments) {
      const v = TcpView.check(s.frame, s.offset, s.end);
      assert.ok(v.ok, label(s));
      const view = v.value;
      const o = s.oracle;
      assert.equal(view.srcPort, oracleNumber(o, "tcp.srcport"), label(s));
      assert.equal(view.dstPort, oracleNumber(o, "tcp.dstport"), label(s));
      assert.equal(view.seq, oracleNumber(o, "tcp.seq_raw"), label(s));
      assert.equal(view.ack, oracleNumber(o, "tcp.ack_raw"), label(s));
      assert.equal(view.headerLength, oracleNumber(o, "tcp.hdr_len"), label(s));
      assert.equal(view.flags, oracleNumber(o, "tcp.flags"), label(s));
      assert.equal(view.window, oracleNumber(o, "tcp.window_size_value"), label(s));
      assert.equal(view.checksum, oracleNumber(o, "tcp.checksum"), label(s));
      assert.equal(view.urgentPointer, oracleNumber(o, "tcp.urgent_pointer"), label(s));
      assert.equal(view.payloadOffset, s.offset + view.headerLength);
      if (s.end === s.declaredEnd) assert.equal(view.payloadLength, oracleNumber(o, "tcp.len"), label(s));
      assert.equal(view.optionsBytes.length, view.headerLength - 20);
    }
  });

  it("names the flags TShark names, with letters in CEUAPRSF order", () => {
    let checked = 0;
    for (const s of tcpSegments) {
      const m = /\[([A-Z, ]+)\] Seq=/.exec(s.oracle["_ws.col.Info"] ?? "");
      if (m === null) continue;
      const names = (m[1] as string).split(", ");
      const expected = names.map((n) => FLAG_NAMES[n] ?? "?");
      const letters = tcpFlagLetters(parsed(s).flags);
      assert.deepEqual([...letters].sort(), expected.sort(), label(s));
      assert.equal(letters, [..."CEUAPRSF"].filter((l) => expected.includes(l)).join(""), label(s));
      checked++;
    }
    assert.ok(checked > 100, `checked is ${checked}`);
    assert.equal(tcpFlagLetters(TCP_SYN | TCP_ACK), "AS");
    assert.equal(tcpFlagLetters(0), "");
    assert.equal(tcpFlagLetters(0x1ff), "CEUAPRSF");
  });

  it("parses MSS, window scale, SACK-permitted and timestamps as TShark lists them", () => {
    let checked = 0;
    for (const s of tcpSegments) {
      const info = s.oracle["_ws.col.Info"] ?? "";
      if (!/\] Seq=/.test(info)) continue;
      const options = parsed(s).options;
      const find = <K extends string>(kind: K) =>
        options.find((o): o is Extract<TcpOption, { kind: K }> => o.kind === kind);
      const mss = /MSS=(\d+)/.exec(info);
      assert.equal(find("mss")?.value, mss ? Number(mss[1]) : undefined, label(s));
      const ws = /WS=(\d+)/.exec(info);
      const shift = find("windowScale")?.shift;
      assert.equal(shift === undefined ? undefined : 2 ** shift, ws ? Number(ws[1]) : undefined, label(s));
      assert.equal(find("sackPermitted") !== undefined, info.includes("SACK_PERM"), label(s));
      const ts = /TSval=(\d+) TSecr=(\d+)/.exec(info);
      const t = find("timestamps");
      assert.deepEqual(t && [t.value, t.echo], ts ? [Number(ts[1]), Number(ts[2])] : undefined, label(s));
      checked++;
    }
    assert.ok(checked > 100, `checked is ${checked}`);
  });

  it("round-trips every header: parse → emit → parse is identical and the header bytes are reproduced", () => {
    for (const s of tcpSegments) {
      const repr = parsed(s);
      const original = segmentBytes(s);
      const out = new Uint8Array(original.length);
      out.set(original.subarray(tcpHeaderLength(repr)), tcpHeaderLength(repr));
      const written = emitTcpHeader(repr, out, 0);
      assert.equal(written, oracleNumber(s.oracle, "tcp.hdr_len"), label(s));
      assert.deepEqual(out, original, label(s));
      const again = parseTcp(out);
      assert.ok(again.ok);
      assert.deepEqual(again.value, repr, label(s));
    }
  });

  it("computes the checksums of the capture and tells which captured ones are wrong", (t) => {
    const wrong: string[] = [];
    let good = 0;
    for (const s of tcpSegments) {
      if (s.end !== s.declaredEnd) continue;
      const bytes = segmentBytes(s);
      const expected = referenceChecksum(s.addresses, 6, bytes, 16);
      const repr = parsed(s);
      const fieldIsRight = expected === repr.checksum;
      assert.equal(verifyTcpChecksum(s.frame, s.offset, s.end, s.addresses), fieldIsRight, label(s));
      if (fieldIsRight) good++;
      else wrong.push(`${label(s)}: captured 0x${repr.checksum.toString(16)}, correct 0x${expected.toString(16)}`);

      const out = bytes.slice();
      emitTcpHeader(repr, out, 0, s.addresses, "compute");
      assert.equal((out[16] as number) * 256 + (out[17] as number), expected, label(s));
      assert.ok(verifyTcpChecksum(out, 0, out.length, s.addresses), label(s));
      emitTcpHeader(repr, out, 0, s.addresses, "wrong");
      assert.ok(!verifyTcpChecksum(out, 0, out.length, s.addresses), label(s));
      emitTcpHeader(repr, out, 0, s.addresses, "keep");
      assert.deepEqual(out, bytes, label(s));
    }
    t.diagnostic(`TCP checksums: ${good} correct, ${wrong.length} wrong in the capture: ${wrong.join("; ")}`);
    assert.ok(good > 10 * wrong.length, `too many wrong checksums: ${wrong.join("; ")}`);
  });
});

describe("TCP malformed headers are error values", () => {
  const syn = tcpSegments.find((s) => parsed(s).options.length >= 5 && (parsed(s).flags & TCP_SYN) !== 0);
  assert.ok(syn);
  const base = syn.offset;
  const frame = () => syn.frame.slice(0, syn.end);

  it("rejects a data offset below 5, naming the field and its offset", () => {
    const f = frame();
    f[base + 12] = 0x40;
    const r = TcpView.check(f, base, f.length);
    assert.ok(!r.ok);
    assert.deepEqual([r.error.protocol, r.error.field, r.error.offset], ["tcp", "dataOffset", base + 12]);
  });

  it("rejects a header shorter than 20 bytes and a data offset past the end", () => {
    const f = frame();
    const short = TcpView.check(f, base, base + 19);
    assert.ok(!short.ok);
    assert.equal(formatWireError(short.error), `tcp: header truncated at offset ${base} (field header)`);
    const cut = parseTcp(f, base, base + 30);
    assert.ok(!cut.ok);
    assert.deepEqual(
      [cut.error.field, cut.error.offset, cut.error.reason],
      ["dataOffset", base + 12, "header truncated"],
    );
  });

  it("reports an option of length 0, 1, past the header or of the wrong size at its length byte", () => {
    const f = frame();
    // The first non-NOP option of the SYN.
    let at = base + 20;
    while (f[at] === 1) at++;
    for (const bad of [0, 1, 41, 3]) {
      const g = f.slice();
      g[at + 1] = bad;
      const r = parseTcp(g, base, g.length);
      assert.ok(!r.ok, `length ${bad}`);
      assert.deepEqual([r.error.field, r.error.offset], ["option.length", at + 1], `length ${bad}`);
    }
  });

  it("reports an option whose length byte is missing, and a SACK that is not 2 + 8n long", () => {
    const noLength = parseTcpOptions(Uint8Array.from([1, 1, 1, 2]), 0, 4);
    assert.ok(!noLength.ok);
    assert.equal(noLength.error.offset, 4);
    const sack = parseTcpOptions(Uint8Array.from([5, 6, 0, 0, 0, 1, 1, 1]), 0, 8);
    assert.ok(!sack.ok);
    assert.equal(sack.error.field, "option.length");
  });

  it("keeps SACK blocks and unknown options, and stops at EOL", () => {
    const bytes = Uint8Array.from([
      1, 1, 5, 10, 0, 0, 0, 10, 0xff, 0xff, 0xff, 0xf0, 30, 4, 0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const r = parseTcpOptions(bytes, 0, bytes.length);
    assert.ok(r.ok);
    assert.deepEqual(r.value, [
      { kind: "nop" },
      { kind: "nop" },
      { kind: "sack", blocks: [{ left: 10, right: 0xfffffff0 }] },
      { kind: 30, data: Uint8Array.from([0xab, 0xcd]) },
      { kind: "eol" },
    ]);
  });

  it("never throws on any single-byte corruption or truncation, and what parses round-trips", () => {
    const f = frame();
    const headerEnd = base + 40;
    for (let i = base; i < headerEnd; i++) {
      for (let value = 0; value < 256; value++) {
        const g = f.slice();
        g[i] = value;
        const r = parseTcp(g, base, g.length);
        if (!r.ok) continue;
        const out = new Uint8Array(tcpHeaderLength(r.value) + r.value.payloadLength);
        emitTcpHeader(r.value, out, 0);
        const again = parseTcp(out);
        assert.ok(again.ok);
        assert.deepEqual(again.value, r.value);
      }
    }
    for (let end = base; end < headerEnd; end++) assert.equal(parseTcp(f, base, end).ok, false);
  });
});
