/**
 * `openwfp import FILE.xml [--store DB] [--skip-unsupported-sddl] [--json]`: adds the objects of a `netsh wfp
 * show state` or `show filters` file to the store — persistent, keys, ids and effective weights as Windows had
 * them — in one BFE transaction: all or nothing (a bad file or a clash with the store leaves it untouched).
 * Reports how many objects of each kind were added.
 */
import type { Command } from "commander";
import { DEFAULT_STORE_PATH, importNetshFile, type ObjectCounts, openHost, type SkippedFilter } from "../host/index.ts";
import { writeAll } from "./show.ts";

export interface ImportOptions {
  readonly store?: string;
  readonly json?: boolean;
  readonly skipUnsupportedSddl?: boolean;
}

/** The JSON object `import --json` prints (docs/cli.md). */
export interface ImportRecord extends ObjectCounts {
  file: string;
  store: string;
  standIns: { sublayers: number; callouts: number; providerContexts: number };
  skipped: SkippedFilter[];
  /** Keys of filters that could only be static (H17): added for the command's lifetime, not stored. */
  notStored: string[];
}

export async function runImport(file: string, options: ImportOptions = {}): Promise<ImportRecord> {
  const host = await openHost(options.store === undefined ? {} : { store: options.store });
  try {
    const r = await importNetshFile(host, file, {
      unsupportedSddl: options.skipUnsupportedSddl === true ? "skip" : "error",
    });
    return {
      file,
      store: host.source,
      ...r.added,
      standIns: { ...r.standIns },
      skipped: [...r.skipped],
      notStored: [...r.keptStatic],
    };
  } finally {
    host.close();
  }
}

export function formatImportText(r: ImportRecord): string {
  const lines = [
    `imported ${r.file} into ${r.store}: ${r.providers} providers, ${r.providerContexts} provider contexts, ${r.sublayers} sublayers, ${r.callouts} callouts, ${r.filters} filters`,
  ];
  const s = r.standIns;
  if (s.sublayers + s.callouts + s.providerContexts > 0) {
    lines.push(
      `stand-ins for objects the file references but does not define: ${s.sublayers} sublayers, ${s.callouts} callouts, ${s.providerContexts} provider contexts`,
    );
  }
  if (r.notStored.length > 0) {
    lines.push(
      `not stored: ${r.notStored.length} filters reference another provider's sublayer, callout or provider context, so they can only be static (wfp-semantics.md H17)`,
    );
  }
  for (const k of r.skipped) lines.push(`skipped filter {${k.filterKey}} at ${k.path}: ${k.reason}`);
  return `${lines.join("\n")}\n`;
}

export function registerImport(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command("import")
    .description("add the objects of a netsh wfp show state/filters XML file to the store, all or nothing")
    .argument("<file>", "netsh XML file")
    .option("--store <db>", `the SQLite store (default ${DEFAULT_STORE_PATH})`)
    .option(
      "--skip-unsupported-sddl",
      "leave out filters whose SDDL cannot be encoded here (listed) instead of failing",
    )
    .option("--json", "print the counts as JSON")
    .action(async (file: string, opts: ImportOptions) => {
      const r = await runImport(file, opts);
      await writeAll(opts.json === true ? `${JSON.stringify(r, null, 2)}\n` : formatImportText(r));
    });
}
