/**
 * The pretty-printer for one packet: each layer nested inside the one that carries it, every field on its
 * own line, and a bad field marked with what is wrong ("! wrong checksum"). Where decoding stopped, the
 * reason closes the tree.
 */
import type { DecodedLayer, DecodedPacket } from "./decode.ts";

const INDENT = "  ";

export function formatPacketTree(packet: DecodedPacket): string {
  const lines: string[] = [];
  let depth = 0;
  for (const layer of packet.layers) {
    writeLayer(lines, layer, depth);
    depth++;
  }
  const pad = INDENT.repeat(depth);
  if (packet.undecoded !== undefined) lines.push(`${pad}(not decoded: ${packet.undecoded})`);
  for (const error of packet.errors) lines.push(`${pad}! ${error}`);
  return lines.join("\n");
}

function writeLayer(lines: string[], layer: DecodedLayer, depth: number): void {
  const pad = INDENT.repeat(depth);
  lines.push(`${pad}${layer.protocol} @${layer.offset} (${layer.length} bytes)`);
  const width = Math.max(...layer.fields.map((f) => f.name.length), 0);
  for (const field of layer.fields) {
    const mark = field.problem === undefined ? "" : `  ! ${field.problem}`;
    lines.push(`${pad}${INDENT}${field.name.padEnd(width)}  ${field.value}${mark}`);
  }
  for (const child of layer.children ?? []) writeLayer(lines, child, depth + 1);
}
