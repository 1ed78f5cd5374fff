#!/usr/bin/env node
// The openwfp command. The sources are TypeScript; tsx loads them in place, so a clone runs without a build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
