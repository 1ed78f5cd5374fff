/**
 * `openwfp decode FILE [--json] [--limit N] [--verbose]`: streams a pcap or pcapng file (format sniffed from
 * the magic) and prints one line per packet, NDJSON with the documented keys (docs/cli.md), or a tree per
 * packet. Memory stays constant whatever the file's size. A malformed file prints every packet read before
 * the fault, then the capture error, and exits 1. Faults reading went on past (a skipped pcapng block, a pcap
 * header with a zero snap length) are printed to standard error as warnings where they were met; exit 0.
 */
import type { Command } from "commander";
import { formatEpochNs } from "../base/index.ts";
import { type CapturedPacket, type CaptureError, formatCaptureError, openCaptureStream } from "../capture/index.ts";
import { type DecodedPacket, decodePacket, formatPacketTree, linkTypeName } from "../wire/index.ts";
import { LineWriter } from "./output.ts";

export interface DecodeOptions {
  readonly json?: boolean;
  readonly limit?: number;
  readonly verbose?: boolean;
}

/** The NDJSON object of one packet: the public contract documented in docs/cli.md. */
export interface DecodeRecord {
  index: number;
  time: string;
  interface: number;
  linkType: number;
  length: number;
  capturedLength: number;
  ip?: DecodedPacket["ip"];
  tcp?: DecodedPacket["tcp"];
  udp?: DecodedPacket["udp"];
  icmp?: { type: number; code: number; quoted?: Omit<NonNullable<DecodedPacket["icmp"]>["quoted"], never> };
  errors: string[];
  badChecksums?: string[];
  undecoded?: string;
}

export function decodeRecord(packet: CapturedPacket): DecodeRecord {
  const decoded = decodePacket(packet.linkType, packet.data);
  const record: DecodeRecord = {
    index: packet.index,
    time: formatEpochNs(packet.timestampNs),
    interface: packet.interfaceId,
    linkType: packet.linkType,
    length: packet.originalLength,
    capturedLength: packet.capturedLength,
    errors: decoded.errors,
  };
  if (decoded.ip !== undefined) record.ip = decoded.ip;
  if (decoded.tcp !== undefined) record.tcp = decoded.tcp;
  if (decoded.udp !== undefined) record.udp = decoded.udp;
  if (decoded.icmp !== undefined) {
    const { version: _version, ...icmp } = decoded.icmp;
    record.icmp = icmp;
  }
  if (decoded.badChecksums.length > 0) record.badChecksums = decoded.badChecksums;
  if (decoded.undecoded !== undefined) record.undecoded = decoded.undecoded;
  // Key order of the contract: errors last.
  const { errors, ...rest } = record;
  return { ...rest, errors };
}

/** One human-readable line, tcpdump-like. */
export function formatDecodeLine(r: DecodeRecord): string {
  const parts: string[] = [String(r.index), r.time];
  if (r.ip !== undefined) {
    const ip = r.ip;
    const ports = r.tcp ?? r.udp;
    const endpoint = (addr: string, port: number | undefined): string =>
      port === undefined ? addr : ip.version === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
    parts.push(`IPv${ip.version}`, `${endpoint(ip.src, ports?.srcPort)} > ${endpoint(ip.dst, ports?.dstPort)}`);
    if (r.tcp !== undefined) {
      const t = r.tcp;
      parts.push(
        `TCP [${t.flags}] seq ${t.seq}${t.flags.includes("A") ? ` ack ${t.ack}` : ""} win ${t.window} len ${t.payloadLength}`,
      );
    } else if (r.udp !== undefined) {
      parts.push(`UDP len ${r.udp.length}`);
    } else if (r.icmp !== undefined) {
      parts.push(`ICMP${ip.version === 6 ? "v6" : ""} type ${r.icmp.type} code ${r.icmp.code}`);
    } else {
      parts.push(`proto ${ip.protocol}`);
    }
    if (ip.fragmentOffset !== undefined && (ip.fragmentOffset !== 0 || ip.moreFragments === true)) {
      parts.push(`frag id ${ip.id} off ${ip.fragmentOffset}${ip.moreFragments === true ? "+" : ""}`);
    }
    parts.push(`ttl ${ip.ttl}`);
  } else {
    parts.push(linkTypeName(r.linkType), `length ${r.length}`);
  }
  if (r.undecoded !== undefined) parts.push(`(not decoded: ${r.undecoded})`);
  if (r.badChecksums !== undefined)
    parts.push(`[bad checksum: ${r.badChecksums.map((c) => c.split(":")[0]).join(", ")}]`);
  let line = parts.join(" ");
  for (const e of r.errors) line += `\n  ! ${e}`;
  return line;
}

/** Runs the command; writes to `out` and returns the exit code. */
export async function runDecode(
  file: string,
  options: DecodeOptions,
  out: LineWriter,
  err: (s: string) => void,
): Promise<number> {
  const stream = openCaptureStream(file);
  let count = 0;
  let reported = 0;
  // Faults that did not stop reading (a skipped block, a zero pcap snap length) are printed where they were
  // met, after the lines of the packets before them; the fatal one, if any, is printed last.
  const warnAboutNew = async (): Promise<void> => {
    const errors = stream.errors;
    if (reported === errors.length) return;
    await out.flush();
    for (; reported < errors.length; reported++) {
      const e = errors[reported] as CaptureError;
      if (!e.fatal) err(`openwfp decode: ${file}: warning: ${formatCaptureError(e)}\n`);
    }
  };
  for await (const packet of stream.packets()) {
    await warnAboutNew();
    if ((options.limit !== undefined && count >= options.limit) || out.closed) break;
    count++;
    const record = decodeRecord(packet);
    if (options.json === true) await out.write(`${JSON.stringify(record)}\n`);
    else if (options.verbose === true) {
      await out.write(`${formatDecodeLine({ ...record, errors: [] })}\n`);
      const tree = formatPacketTree(decodePacket(packet.linkType, packet.data));
      await out.write(`${tree.replace(/^/gm, "    ")}\n`);
    } else await out.write(`${formatDecodeLine(record)}\n`);
  }
  await warnAboutNew();
  await out.flush();
  const error = stream.error;
  if (error !== undefined) {
    err(`openwfp decode: ${file}: ${formatCaptureError(error)}\n`);
    return 1;
  }
  return 0;
}

export function registerDecode(program: Command, setExitCode: (code: number) => void): void {
  program
    .command("decode")
    .description("decode a pcap or pcapng capture, one line (or JSON object) per packet")
    .argument("<file>", "capture file (pcap or pcapng; the format is read from the magic number)")
    .option("--json", "NDJSON output, one object per packet (keys in docs/cli.md)")
    .option("--limit <n>", "stop after N packets", parseLimit)
    .option("--verbose", "print every field of every layer, nested")
    .action(async (file: string, opts: { json?: boolean; limit?: number; verbose?: boolean }) => {
      const err = (s: string): void => {
        process.stderr.write(s);
      };
      setExitCode(await runDecode(file, opts, new LineWriter(process.stdout), err));
    });
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--limit takes a whole number ≥ 0, not ${JSON.stringify(text)}`);
  return n;
}
