/**
 * The policy options `replay`, `explain` and `diff` share: exactly one of `--policy FILE`, `--state
 * DUMP.xml` or `--store DB`, and `--callout KEY=BEHAVIOUR` assumptions for callouts whose code openwfp
 * does not have.
 */
import type { Command } from "commander";
import { OpenWfpError } from "../base/index.ts";
import type { PolicySourceSpec } from "../host/index.ts";

export interface PolicyOptions {
  readonly policy?: string;
  readonly state?: string;
  readonly store?: string;
  readonly callout?: readonly string[];
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function addPolicyOptions(c: Command): Command {
  return c
    .option("--policy <file>", "a policy document (JSON or YAML, docs/policy.md)")
    .option("--state <file>", "a `netsh wfp show state` or `show filters` dump (read-only)")
    .option("--store <db>", "the BFE store (SQLite)")
    .option(
      "--callout <key=behaviour>",
      "assume what an unregistered callout does: block, permit, permit-hard, continue, veto, absorb (default continue); repeatable",
      collect,
      [],
    );
}

/** The one policy source the options name. */
export function policySourceOf(o: PolicyOptions): PolicySourceSpec {
  const given = [o.policy, o.state, o.store].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new OpenWfpError("E_USAGE", "give exactly one of --policy FILE, --state DUMP.xml, --store DB");
  }
  if (o.policy !== undefined) return { kind: "policy", path: o.policy };
  if (o.state !== undefined) return { kind: "state", path: o.state };
  return { kind: "store", path: o.store as string };
}
