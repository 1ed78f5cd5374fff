/**
 * Test support for the tests that compare openwfp with TShark over fixtures/captures: the capture files (found
 * by walking the folder, never a hand list), and what docs/deviations.md lists, so that those tests can prove
 * the document exact — every packet listed deviates, and every packet that deviates is listed.
 *
 * A packet list follows a marker line `<!-- packets: ID -->` and is made of lines
 *
 *     - `folder/file.pcap` #3, #7
 *     - `folder/file.pcap` #2 icmpv6, #3 udp      (a packet and a protocol: checksum lists)
 *     - `folder/file.pcap`                        (the whole file: reader faults)
 *     - none …                                    (an empty list, with the reason in words)
 *
 * Keys are "file#n", "file#n protocol" or "file". A count list follows `<!-- counts: ID -->`:
 *
 *     - `folder/file.pcap` tcp 24, ip 2
 *
 * with keys "file protocol".
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** docs/deviations.md. */
export const DEVIATIONS_DOC = join(import.meta.dirname, "../../docs/deviations.md");

/** fixtures/captures: a copy of ../shared/fixtures/captures, each capture with its `.tshark.json` oracle. */
export const FIXTURES = join(import.meta.dirname, "../../fixtures/captures");

/** Every capture below `dir` (not the oracles), sorted, found by walking the folder. */
export function captures(dir: string = FIXTURES): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...captures(path));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(path);
  }
  return out;
}

/** Every list in the document, by id. Throws on a line it cannot read, so that a typo cannot hide a packet. */
export function documentedDeviations(text: string = readFileSync(DEVIATIONS_DOC, "utf8")): Map<string, Set<string>> {
  const lists = new Map<string, Set<string>>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- packets: ([\w-]+) -->$/.exec(lines[i] ?? "");
    if (marker === null) continue;
    const id = marker[1] as string;
    if (lists.has(id)) throw new Error(`docs/deviations.md: list ${id} appears twice`);
    const keys = new Set<string>();
    for (let j = i + 1; j < lines.length && (lines[j] ?? "").startsWith("- "); j++) {
      const line = lines[j] as string;
      if (/^- none\b/.test(line)) continue;
      const entry = /^- `([^`]+)`(.*)$/.exec(line);
      if (entry === null) throw new Error(`docs/deviations.md line ${j + 1}: cannot read ${JSON.stringify(line)}`);
      const file = entry[1] as string;
      const rest = (entry[2] as string).trim();
      if (rest === "") {
        keys.add(file);
        continue;
      }
      for (const part of rest.split(",")) {
        const packet = /^#(\d+)(?: (\w+))?$/.exec(part.trim());
        if (packet === null) throw new Error(`docs/deviations.md line ${j + 1}: cannot read ${JSON.stringify(part)}`);
        keys.add(`${file}#${packet[1]}${packet[2] !== undefined ? ` ${packet[2]}` : ""}`);
      }
    }
    lists.set(id, keys);
  }
  return lists;
}

/** Every count list in the document, by id: "file protocol" → count. */
export function documentedCounts(
  text: string = readFileSync(DEVIATIONS_DOC, "utf8"),
): Map<string, Map<string, number>> {
  const lists = new Map<string, Map<string, number>>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- counts: ([\w-]+) -->$/.exec(lines[i] ?? "");
    if (marker === null) continue;
    const counts = new Map<string, number>();
    for (let j = i + 1; j < lines.length && (lines[j] ?? "").startsWith("- "); j++) {
      const line = lines[j] as string;
      const entry = /^- `([^`]+)` (.+)$/.exec(line);
      if (entry === null) throw new Error(`docs/deviations.md line ${j + 1}: cannot read ${JSON.stringify(line)}`);
      for (const part of (entry[2] as string).split(",")) {
        const count = /^(\w+) (\d+)$/.exec(part.trim());
        if (count === null) throw new Error(`docs/deviations.md line ${j + 1}: cannot read ${JSON.stringify(part)}`);
        counts.set(`${entry[1]} ${count[1]}`, Number(count[2]));
      }
    }
    lists.set(marker[1] as string, counts);
  }
  return lists;
}

/** Sorted, for readable assertion diffs. */
export function sortedKeys(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}
