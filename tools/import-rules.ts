/**
 * Who may import whom: the table of ../shared/design/ARCHITECTURE.md ("Folders and who may import whom").
 * Imports flow only downward. `checkImports` scans every .ts file under src/, bench/ and examples/ and
 * reports each import that breaks the table, and each import cycle between folders.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** Folder (relative to the repository root) → folders it may import from, besides itself. */
export const ALLOWED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  "src/base": [],
  "src/wire": ["src/base"],
  "src/capture": ["src/base", "src/wire"],
  "src/fwp": ["src/base"],
  "src/engine": ["src/base", "src/fwp"],
  "src/bfe": ["src/base", "src/fwp", "src/engine"],
  "src/shim": ["src/base", "src/wire", "src/fwp", "src/engine"],
  "src/stack": ["src/base", "src/wire", "src/capture", "src/shim"],
  "src/observe": ["src/base", "src/wire", "src/capture", "src/fwp", "src/shim"],
  "src/host": [
    "src/base",
    "src/wire",
    "src/capture",
    "src/fwp",
    "src/engine",
    "src/bfe",
    "src/shim",
    "src/stack",
    "src/observe",
  ],
  // Front ends reach the rest through public entry points (a folder's index.ts) only.
  "src/cli": ["src/host", "src/base", "src/wire", "src/capture", "src/fwp", "src/engine", "src/bfe", "src/observe"],
  "src/server": ["src/host", "src/base", "src/wire", "src/capture", "src/fwp", "src/engine", "src/bfe", "src/observe"],
  examples: ["src/*public"],
  bench: ["src/*public"],
};

/**
 * What a folder's tests may import: every folder below it, i.e. the transitive closure of the table
 * (a stack test builds a FilterEngine for the shim it drives), but never a folder above it.
 */
export function allowedForTests(from: string): readonly string[] {
  const seen = new Set<string>();
  const visit = (f: string): void => {
    for (const to of ALLOWED_IMPORTS[f] ?? []) {
      if (seen.has(to)) continue;
      seen.add(to);
      visit(to);
    }
  };
  visit(from);
  return [...seen];
}

/** Folders whose imports into src/ must go through a folder's index.ts (its public face). */
const PUBLIC_ONLY = new Set(["src/cli", "src/server", "examples", "bench"]);

export interface ImportViolation {
  readonly file: string;
  readonly specifier: string;
  readonly reason: string;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

export function listImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

/** The folder a repository-relative path belongs to, as the table names folders. */
export function folderOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] === "src" && parts.length >= 3) return `src/${parts[1]}`;
  if (parts[0] === "examples" || parts[0] === "bench") return parts[0];
  return undefined;
}

export function checkImports(root: string): ImportViolation[] {
  const violations: ImportViolation[] = [];
  const files: string[] = [];
  // bench/out holds the benchmarks' generated files and scratch (git-ignored): not the project's code.
  const generated = join(root, "bench", "out");
  const walk = (dir: string): void => {
    if (dir === generated) return;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === "node_modules") continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts")) files.push(p);
    }
  };
  for (const top of ["src", "bench", "examples"]) walk(join(root, top));

  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const rel = relative(root, file).split(sep).join("/");
    const from = folderOf(rel);
    if (from === undefined) continue;
    const isTest = rel.endsWith(".test.ts") || rel.endsWith(".testing.ts");
    for (const spec of listImports(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const target = relative(root, resolve(dirname(file), spec))
        .split(sep)
        .join("/");
      const to = folderOf(target);
      if (to === undefined) {
        if (!isTest && !target.startsWith("src/") && from.startsWith("src/")) {
          violations.push({ file: rel, specifier: spec, reason: `src/ code imports ${target}, outside src/` });
        }
        continue;
      }
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)?.add(to);
      const allowed = isTest && ALLOWED_IMPORTS[from] !== undefined ? allowedForTests(from) : ALLOWED_IMPORTS[from];
      if (allowed === undefined) {
        violations.push({ file: rel, specifier: spec, reason: `folder ${from} is not in the import table` });
        continue;
      }
      const publicOnly = PUBLIC_ONLY.has(from);
      const okFolder = allowed.includes(to) || (allowed.includes("src/*public") && to.startsWith("src/"));
      // Tests may reach into any lower folder (allowedForTests), but never upward.
      if (!okFolder) {
        violations.push({ file: rel, specifier: spec, reason: `${from} may not import ${to}` });
        continue;
      }
      if (publicOnly && !isTest && !/\/index\.ts$/.test(target) && !target.endsWith(`${to}`)) {
        violations.push({ file: rel, specifier: spec, reason: `${from} must import ${to} through ${to}/index.ts` });
      }
    }
  }
  // A cycle between folders is a violation even if each edge were allowed.
  for (const [a, targets] of edges) {
    for (const b of targets) {
      if (edges.get(b)?.has(a)) {
        violations.push({ file: a, specifier: b, reason: `import cycle between ${a} and ${b}` });
      }
    }
  }
  return violations;
}
