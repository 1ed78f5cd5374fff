import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { bundleIsFresh } from "../bin/fresh.js";

const repo = join(import.meta.dirname, "..");

describe("bin/fresh.js bundleIsFresh", () => {
  const dir = mkdtempSync(join(tmpdir(), "openwfp-fresh-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  mkdirSync(join(src, "deep"), { recursive: true });
  const a = join(src, "a.ts");
  const b = join(src, "deep", "b.ts");
  const pkg = join(dir, "package.json");
  const bundle = join(dir, "cli.mjs");
  for (const f of [a, b, pkg]) writeFileSync(f, "x");
  const at = (f: string, seconds: number) => utimesSync(f, seconds, seconds);

  it("is false without a bundle", () => {
    assert.equal(bundleIsFresh(bundle, src, [pkg]), false);
  });
  it("is true when the bundle is newer than every source and the extra files", () => {
    for (const f of [a, b, pkg]) at(f, 1_000);
    writeFileSync(bundle, "x");
    at(bundle, 2_000);
    assert.equal(bundleIsFresh(bundle, src, [pkg]), true);
  });
  it("is false once a source file in a subfolder is edited after the build", () => {
    at(b, 3_000);
    assert.equal(bundleIsFresh(bundle, src, [pkg]), false);
    at(b, 1_000);
  });
  it("is false when an extra file is newer, or missing", () => {
    at(pkg, 3_000);
    assert.equal(bundleIsFresh(bundle, src, [pkg]), false);
    at(pkg, 1_000);
    assert.equal(bundleIsFresh(bundle, src, [pkg, join(dir, "gone.json")]), false);
    assert.equal(bundleIsFresh(bundle, src, [pkg]), true);
  });
});

describe("tools/build-cli.mjs: the bundled CLI behaves as the sources", () => {
  // Inside the repository, so the bundle's package imports resolve from node_modules.
  const out = join(repo, "dist", `test-cli-${process.pid}.mjs`);
  after(() => rmSync(out, { force: true }));
  const built = spawnSync(process.execPath, [join(repo, "tools", "build-cli.mjs"), out], { encoding: "utf8" });
  const runBundle = (args: string[]) =>
    spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { main } = await import(${JSON.stringify(`file://${out}`)}); process.exitCode = await main(process.argv.slice(1));`,
        ...args,
      ],
      { encoding: "utf8", cwd: repo },
    );
  const runSources = (args: string[]) =>
    spawnSync(process.execPath, [join(repo, "bin", "openwfp.js"), ...args], {
      encoding: "utf8",
      cwd: repo,
      env: { ...process.env, OPENWFP_FROM_SOURCE: "1" },
    });
  const cases: [string, string[], number][] = [
    [
      "decode --json",
      ["decode", "fixtures/captures/tcp_session/tcpdump__print-flags.pcap", "--json", "--limit", "5"],
      0,
    ],
    [
      "explain a keploy connection",
      ["explain", "--state", "fixtures/wfp-state/keploy__wfpstate.xml", "tcp", "10.0.0.5:50000", "93.184.216.34:443"],
      0,
    ],
    ["a missing capture (an error)", ["decode", "fixtures/captures/no-such.pcap"], 1],
    ["an unknown option (a usage error)", ["decode", "--no-such-option"], 2],
  ];
  it("builds", () => {
    assert.equal(built.status, 0, built.stderr);
  });
  for (const [name, args, status] of cases) {
    it(`gives the same output and exit status: ${name}`, () => {
      const b = runBundle(args);
      const s = runSources(args);
      assert.equal(s.status, status, s.stderr);
      assert.equal(b.status, s.status, `${b.stderr}\n${s.stderr}`);
      assert.equal(b.stdout, s.stdout);
      assert.equal(b.stderr, s.stderr);
      assert.ok(b.stdout.length + b.stderr.length > 0, "the command printed something");
    });
  }
});
