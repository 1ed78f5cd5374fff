/**
 * `openwfp export [--filters] [--store DB | --state FILE.xml]`: the BFE's state as netsh XML on standard output —
 * the `netsh wfp show state` format (`<wfpstate>`) by default, `netsh wfp show filters` (`<wfpdiag>`) with
 * `--filters` — which `openwfp import` reads back to the same objects.
 */
import type { Command } from "commander";
import { DEFAULT_STORE_PATH, exportNetshText, openHost } from "../host/index.ts";
import { noteSkipped, writeAll } from "./show.ts";

export interface ExportOptions {
  readonly filters?: boolean;
  readonly store?: string;
  readonly state?: string;
}

export async function runExport(options: ExportOptions = {}): Promise<string> {
  const host = await openHost({
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.state === undefined ? {} : { state: options.state }),
  });
  try {
    noteSkipped(host);
    return exportNetshText(host, options.filters === true ? "filters" : "state");
  } finally {
    host.close();
  }
}

export function registerExport(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command("export")
    .description("print the BFE's state as netsh XML (show state format, or show filters with --filters)")
    .option("--filters", "the netsh wfp show filters format (<wfpdiag>)")
    .option("--store <db>", `the SQLite store (default ${DEFAULT_STORE_PATH})`)
    .option("--state <file>", "a netsh XML file instead of the store (read-only)")
    .action(async (opts: ExportOptions) => {
      await writeAll(await runExport(opts));
    });
}
