#!/usr/bin/env node
// The openwfp command. The sources are TypeScript; tsx loads them in place, so a clone runs without a build step.
import { register } from "tsx/esm/api";

// A reader that goes away (`openwfp show filters | head`) ends the output quietly, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
