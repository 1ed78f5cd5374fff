/**
 * Test support for capture readers and writers: turning tshark's `frame.time_epoch` text into ns, running
 * tshark on a file, and building pcapng blocks byte by byte (independently of our writers) to feed the readers
 * shapes the fixtures lack (several sections, SPB, NRB, custom blocks, binary if_tsresol, faults).
 */
import { spawnSync } from "node:child_process";

/**
 * tshark's `frame.time_epoch` as ns. Wireshark prints an nstime as seconds "." nanoseconds (%09d), without
 * normalising: an out-of-range fraction prints as 10 digits ("1418145370.1000000000" is 1418145370 s plus
 * 1e9 ns), and a negative fraction with non-negative seconds prints as "-" seconds "." |fraction|
 * ("-1418145370.2147483648" is 1418145370 s minus 2147483648 ns). Capture seconds are never negative.
 */
export function tsharkEpochToNs(text: string): bigint {
  const m = /^(-?)(\d+)\.(\d+)$/.exec(text);
  if (m === null) throw new Error(`not a tshark epoch time: ${text}`);
  const seconds = BigInt(m[2]!) * 1_000_000_000n;
  const fraction = BigInt(m[3]!.length === 9 || m[3]!.length === 10 ? m[3]! : m[3]!.padEnd(9, "0"));
  return m[1] === "-" ? seconds - fraction : seconds + fraction;
}

export interface TsharkFrame {
  readonly number: number;
  readonly timeEpoch: string;
  readonly length: number;
  readonly capturedLength: number;
  readonly interfaceId: string;
  readonly encapType: number;
}

/** `tshark -r FILE -T fields -e frame.number -e frame.time_epoch -e frame.len ...`, one row per frame. */
export function tsharkFrames(path: string): { frames: TsharkFrame[]; stderr: string; status: number | null } {
  const run = spawnSync(
    "tshark",
    [
      "-r",
      path,
      "-T",
      "fields",
      "-e",
      "frame.number",
      "-e",
      "frame.time_epoch",
      "-e",
      "frame.len",
      "-e",
      "frame.cap_len",
      "-e",
      "frame.interface_id",
      "-e",
      "frame.encap_type",
    ],
    { encoding: "utf8" },
  );
  const frames = run.stdout
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => {
      const [n, t, len, cap, ifid, encap] = line.split("\t");
      return {
        number: Number(n),
        timeEpoch: t ?? "",
        length: Number(len),
        capturedLength: Number(cap),
        interfaceId: ifid ?? "",
        encapType: Number(encap),
      };
    });
  return { frames, stderr: run.stderr, status: run.status };
}

/** Bytes in a chosen byte order, appended piece by piece. */
export class ByteBuilder {
  private readonly parts: number[] = [];
  constructor(readonly littleEndian: boolean) {}

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.littleEndian ? this.u8(v).u8(v >>> 8) : this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.littleEndian
      ? this.u8(v)
          .u8(v >>> 8)
          .u8(v >>> 16)
          .u8(v >>> 24)
      : this.u8(v >>> 24)
          .u8(v >>> 16)
          .u8(v >>> 8)
          .u8(v);
  }
  u64(v: bigint): this {
    const hi = Number((v >> 32n) & 0xffffffffn);
    const lo = Number(v & 0xffffffffn);
    return this.littleEndian ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]! & 0xff);
    return this;
  }
  pad(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface RawOption {
  readonly code: number;
  readonly value: ArrayLike<number>;
}

export function textOption(code: number, text: string): RawOption {
  return { code, value: new TextEncoder().encode(text) };
}

/** A pcapng block: type, total length, `body` (padded), options with an end marker, trailing length. */
export function block(le: boolean, type: number, body: Uint8Array, options: readonly RawOption[] = []): Uint8Array {
  const inner = new ByteBuilder(le).bytes(body).pad();
  if (options.length > 0) {
    for (const o of options) inner.u16(o.code).u16(o.value.length).bytes(o.value).pad();
    inner.u16(0).u16(0);
  }
  const total = 12 + inner.length;
  return new ByteBuilder(le).u32(type).u32(total).bytes(inner.build()).u32(total).build();
}

export function shb(le: boolean, options: readonly RawOption[] = []): Uint8Array {
  const body = new ByteBuilder(le).u32(0x1a2b3c4d).u16(1).u16(0).u64(0xffffffffffffffffn).build();
  return block(le, 0x0a0d0d0a, body, options);
}

export function idb(le: boolean, linkType: number, snapLength: number, options: readonly RawOption[] = []): Uint8Array {
  return block(le, 1, new ByteBuilder(le).u16(linkType).u16(0).u32(snapLength).build(), options);
}

export function epb(
  le: boolean,
  interfaceId: number,
  units: bigint,
  data: Uint8Array,
  originalLength = data.length,
): Uint8Array {
  const body = new ByteBuilder(le)
    .u32(interfaceId)
    .u32(Number(units >> 32n))
    .u32(Number(units & 0xffffffffn))
    .u32(data.length)
    .u32(originalLength)
    .bytes(data)
    .build();
  return block(le, 6, body);
}

export function spb(le: boolean, originalLength: number, data: Uint8Array): Uint8Array {
  return block(le, 3, new ByteBuilder(le).u32(originalLength).bytes(data).build());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A classic pcap file: header plus records (seconds, raw fraction, data). */
export function pcapFile(
  le: boolean,
  nano: boolean,
  linkTypeField: number,
  snapLength: number,
  records: readonly { seconds: number; fraction: number; data: Uint8Array; originalLength?: number }[],
): Uint8Array {
  const b = new ByteBuilder(le)
    .u32(nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(snapLength)
    .u32(linkTypeField);
  for (const r of records) {
    b.u32(r.seconds)
      .u32(r.fraction)
      .u32(r.data.length)
      .u32(r.originalLength ?? r.data.length)
      .bytes(r.data);
  }
  return b.build();
}
