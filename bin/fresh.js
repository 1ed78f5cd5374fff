// Whether the CLI bundle (dist/cli.mjs, made by `npm run build`) may stand in for the TypeScript sources: it
// exists and is newer than every file under src/ and than package.json. An edited source makes the bin run
// the sources through tsx until the next build, so a stale bundle never runs.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The newest modification time (ms) of the files under `dir`; -Infinity when there are none. */
function newest(dir) {
  let latest = Number.NEGATIVE_INFINITY;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const t = entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
    if (t > latest) latest = t;
  }
  return latest;
}

/** True when `bundle` exists and is newer than everything under `sources` and every file in `alsoFiles`. */
export function bundleIsFresh(bundle, sources, alsoFiles = []) {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  try {
    if (newest(sources) >= built) return false;
    for (const f of alsoFiles) if (statSync(f).mtimeMs >= built) return false;
  } catch {
    return false;
  }
  return true;
}
