/**
 * The `openwfp` command line. Each subcommand lives in its own file; this file wires them to commander
 * and turns any error into a clear message and a non-zero exit code.
 */
import { Command, CommanderError } from "commander";
import { describeError } from "../base/index.ts";

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name("openwfp")
    .description("The Windows Filtering Platform, portable: decode captures, evaluate policy, simulate and replay.")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`openwfp: ${describeError(e)}\n`);
    return 1;
  }
}
