/**
 * Child process of crash.test.ts: opens the store at argv[2] and commits workload transactions, one after
 * another, until it is killed. It writes "ready M" once open (M = last committed transaction), then
 * "b t" just before commit(t) and "c t" once commit(t) has returned. Lines go out with a synchronous
 * write(2) on fd 1, so a line the parent reads was written before the next step began.
 */
import { writeSync } from "node:fs";
import { BfeStore } from "./sqlite-store.ts";
import { transaction } from "./crash-workload.testing.ts";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: crash-child.testing.ts STORE");
const store = BfeStore.open(path);
const last = store.loadOptions().lastTxn;
let t = typeof last === "number" ? last : 0;
writeSync(1, `ready ${t}\n`);
for (;;) {
  t++;
  const { changes, options } = transaction(t);
  writeSync(1, `b ${t}\n`);
  // Odd transactions: the changes come from a generator, as a BFE commit hands them over.
  store.commit(t % 2 === 1 ? changes.values() : changes, options);
  writeSync(1, `c ${t}\n`);
}
