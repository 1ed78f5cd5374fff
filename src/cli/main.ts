/**
 * The `openwfp` command line. Each subcommand lives in its own file and registers itself here; this file
 * turns any error into a clear message and an exit code (0 success, 1 an explained failure, 2 usage).
 */
import { Command, CommanderError } from "commander";
import { describeError } from "../base/index.ts";
import { registerDecode } from "./decode.ts";
import { registerEval } from "./eval.ts";
import { registerShow } from "./show.ts";
import { registerImport } from "./import.ts";
import { registerExport } from "./export.ts";
import { registerApply } from "./apply.ts";
import { registerDelete } from "./delete.ts";
import { registerDiff } from "./diff.ts";
import { registerExplain } from "./explain.ts";
import { registerReplay } from "./replay.ts";
import { registerSimulate } from "./simulate.ts";

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const setExitCode = (code: number): void => {
    exitCode = code;
  };
  const program = new Command()
    .name("openwfp")
    .description("The Windows Filtering Platform, portable: decode captures, evaluate policy, simulate and replay.")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerDecode(program, setExitCode);
  registerEval(program);
  registerShow(program, setExitCode);
  registerImport(program, setExitCode);
  registerExport(program, setExitCode);
  registerApply(program, setExitCode);
  registerDelete(program, setExitCode);
  registerSimulate(program);
  registerReplay(program, setExitCode);
  registerExplain(program);
  registerDiff(program);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    process.stderr.write(`openwfp: ${describeError(e)}\n`);
    return 1;
  }
}
