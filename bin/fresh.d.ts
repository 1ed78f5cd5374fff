/** True when `bundle` exists and is newer than everything under `sources` and every file in `alsoFiles`. */
export function bundleIsFresh(bundle: string, sources: string, alsoFiles?: readonly string[]): boolean;
