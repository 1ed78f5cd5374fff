/**
 * `openwfp delete filter KEY|ID [--store DB] [--json]`: deletes one filter from the store, by GUID or run-time
 * id, in one BFE call (an implicit transaction, wfp-semantics.md H6): a persistent filter is gone from the file
 * when the command returns. A filter that does not exist is FWP_E_FILTER_NOT_FOUND (exit 1).
 */
import type { Command } from "commander";
import { tryParseGuid } from "../base/index.ts";
import type { Filter } from "../engine/index.ts";
import { FwpError } from "../fwp/index.ts";
import { DEFAULT_STORE_PATH, openHost } from "../host/index.ts";
import { filterRecord, writeAll } from "./show.ts";

export interface DeleteOptions {
  readonly store?: string;
  readonly json?: boolean;
}

/** A filter named on the command line: a GUID (braces optional) or a decimal run-time id. */
export function parseFilterRef(text: string): { key: string } | { id: bigint } {
  const key = tryParseGuid(text);
  if (key !== undefined) return { key };
  if (/^\d+$/.test(text.trim())) return { id: BigInt(text.trim()) };
  throw new FwpError("FWP_E_INVALID_PARAMETER", {
    path: "filter",
    detail: `${JSON.stringify(text)} is neither a filter GUID nor a filter id.`,
  });
}

/** Deletes the filter and returns the text to print. */
export async function runDelete(what: string, ref: string, options: DeleteOptions): Promise<string> {
  if (what !== "filter") throw new Error(`delete what? only "filter" can be deleted, got ${JSON.stringify(what)}`);
  const target = parseFilterRef(ref);
  const host = await openHost(options.store === undefined ? {} : { store: options.store });
  try {
    const s = host.session;
    const filter: Filter = "key" in target ? s.getFilterByKey(target.key) : s.getFilterById(target.id);
    s.deleteFilterByKey(filter.filterKey);
    const record = filterRecord(filter);
    return options.json === true
      ? `${JSON.stringify(record, null, 2)}\n`
      : `deleted filter ${record.id} {${record.key}} ${JSON.stringify(record.name)} from ${host.source}\n`;
  } finally {
    host.close();
  }
}

export function registerDelete(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command("delete")
    .description("delete a filter from the store, by key or id")
    .argument("<what>", "filter")
    .argument("<ref>", "the filter's GUID or run-time id")
    .option("--store <db>", `the SQLite store (default ${DEFAULT_STORE_PATH})`)
    .option("--json", "print the deleted filter as JSON (the show filters --json record)")
    .action(async (what: string, ref: string, opts: DeleteOptions) => {
      await writeAll(await runDelete(what, ref, opts));
    });
}
