/**
 * `npm run bench`: every benchmark, each measuring a peer (or a reference implementation) in the same run
 * and printing ratios. Pass names to run some only: `npm run bench -- capture`.
 */
import { runBfeBench } from "./bfe.bench.ts";
import { runCaptureBench } from "./capture.bench.ts";
import { runClassifyBench } from "./classify.bench.ts";
import { runInjectBench } from "./inject.bench.ts";
import { runReplayBench } from "./replay.bench.ts";
import { runStackBench } from "./stack.bench.ts";

const benches: Record<string, (report: (line: string) => void) => Promise<void>> = {
  capture: runCaptureBench,
  classify: runClassifyBench,
  bfe: runBfeBench,
  stack: runStackBench,
  inject: runInjectBench,
  replay: runReplayBench,
};

const selected = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const report = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
let failed = false;
for (const [name, run] of Object.entries(benches)) {
  if (selected.length > 0 && !selected.includes(name)) continue;
  try {
    await run(report);
  } catch (e) {
    failed = true;
    report(`${name}: FAILED — ${e instanceof Error ? e.message : String(e)}`);
  }
  report("");
}
process.exitCode = failed ? 1 : 0;
