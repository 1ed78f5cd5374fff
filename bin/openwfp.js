#!/usr/bin/env node
// The openwfp command. The sources are TypeScript: `npm install` (its `prepare` script) bundles the CLI to
// dist/cli.mjs, which starts in a fraction of the time; while that bundle is missing or older than a source
// file (or OPENWFP_FROM_SOURCE is set), tsx loads the sources in place, so a clone runs without a build step.
import { fileURLToPath } from "node:url";
import { bundleIsFresh } from "./fresh.js";

// A reader that goes away (`openwfp show filters | head`) ends the output quietly, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
const root = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const useBundle =
  process.env.OPENWFP_FROM_SOURCE === undefined &&
  bundleIsFresh(root("dist/cli.mjs"), root("src"), [root("package.json")]);
let main;
if (useBundle) {
  ({ main } = await import("../dist/cli.mjs"));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
