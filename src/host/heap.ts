/**
 * One full garbage collection, for replay's moment between loading a policy and streaming a capture. Parsing
 * and loading a large policy (100,000 filters) leaves about as much garbage as the engine it builds — the
 * parsed document, the strings of its values — and V8 collects its old space only once that has grown to
 * a few times what was live at the last collection, so without this the garbage rides along with the first
 * seconds of the stream and sets the process's peak memory. The collector is reached through a V8 flag set
 * at run time and a function of a fresh context (the process's global object gains no `gc`); where that is
 * not possible, nothing happens and the next collection comes when V8 chooses.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | null | undefined;

/** Runs a full collection; returns false when this runtime offers none (nothing else changes then). */
export function collectGarbage(): boolean {
  if (collect === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      const gc: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
      collect = typeof gc === "function" ? (gc as () => void) : null;
    } catch {
      collect = null;
    }
  }
  if (collect === null) return false;
  collect();
  return true;
}
