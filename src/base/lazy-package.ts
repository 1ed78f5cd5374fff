/**
 * An npm package loaded on first use instead of at start-up: a command that never reads YAML, netsh XML or a
 * store does not pay for loading those parsers (the `yaml` package alone takes ~25 ms to load). The package
 * is required through Node's CommonJS loader, resolved from this module's place (the sources or the CLI
 * bundle, both inside the package), and loaded once.
 */
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

/** A getter of the package `name` (a CommonJS package or one with a `require` export), loaded on first call. */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= load(name) as T;
    return loaded;
  };
}
