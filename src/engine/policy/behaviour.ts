/**
 * Declarative callouts: a policy document may describe what a callout's classifyFn does instead of
 * supplying code, and the loader registers a classifyFn that does exactly that. The model follows the
 * classifyFn contract (wfp-semantics.md §C.2, §D.2):
 *
 * | word | writes | write right | without the write right on entry |
 * |---|---|---|---|
 * | `block` | BLOCK | cleared (hard, C6) | leaves classifyOut alone (D9) |
 * | `permit` | PERMIT | kept (soft), cleared when the filter has CLEAR_ACTION_RIGHT (C6) | leaves it alone |
 * | `permit-hard` | PERMIT | cleared | leaves it alone |
 * | `continue` | CONTINUE | kept | leaves it alone |
 * | `veto` | BLOCK | cleared | writes BLOCK anyway: vetoes a hard permit (C7) |
 * | `absorb` | BLOCK + FWPS_CLASSIFY_OUT_FLAG_ABSORB | cleared | leaves it alone (must not absorb, D9) |
 *
 * The object form `{action, clearWriteRight?, absorb?, withoutWriteRight?}` spells the same model out:
 * `action` is `block`, `permit` or `continue`; `clearWriteRight` defaults to true for block and false
 * otherwise (a PERMIT still clears it for a filter carrying CLEAR_ACTION_RIGHT); `absorb` defaults to
 * false; `withoutWriteRight` is `"skip"` (default: a well-behaved callout returns untouched) or `"act"`
 * (write the answer anyway, which for BLOCK is a veto).
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/nc-fwpsk-fwps_callout_classify_fn2,
 * https://learn.microsoft.com/windows/win32/fwp/filter-arbitration
 */
import { FWPM_FILTER_FLAG, FWPS_CLASSIFY_OUT_FLAG, FWPS_RIGHT, FwpError } from "../../fwp/index.ts";
import type { CalloutClassifyFn, ClassifyOut } from "../model.ts";

export interface CalloutBehaviour {
  readonly action: "block" | "permit" | "continue";
  readonly clearWriteRight: boolean;
  readonly absorb: boolean;
  readonly withoutWriteRight: "skip" | "act";
}

export const BEHAVIOUR_WORDS = ["block", "permit", "permit-hard", "continue", "veto", "absorb"] as const;
export type BehaviourWord = (typeof BEHAVIOUR_WORDS)[number];

const NAMED: Readonly<Record<BehaviourWord, CalloutBehaviour>> = {
  block: { action: "block", clearWriteRight: true, absorb: false, withoutWriteRight: "skip" },
  permit: { action: "permit", clearWriteRight: false, absorb: false, withoutWriteRight: "skip" },
  "permit-hard": { action: "permit", clearWriteRight: true, absorb: false, withoutWriteRight: "skip" },
  continue: { action: "continue", clearWriteRight: false, absorb: false, withoutWriteRight: "skip" },
  veto: { action: "block", clearWriteRight: true, absorb: false, withoutWriteRight: "act" },
  absorb: { action: "block", clearWriteRight: true, absorb: true, withoutWriteRight: "skip" },
};

const OBJECT_KEYS = new Set(["action", "clearWriteRight", "absorb", "withoutWriteRight"]);

/** Reads a document's `behaviour` member. Errors are FWP_E_INVALID_PARAMETER at the member's path. */
export function parseBehaviour(value: unknown, path: string): CalloutBehaviour {
  const bad = (where: string, detail: string): never => {
    throw new FwpError("FWP_E_INVALID_PARAMETER", { path: where, detail });
  };
  if (typeof value === "string") {
    const word = value.trim() as BehaviourWord;
    if (Object.hasOwn(NAMED, word)) return NAMED[word];
    return bad(path, `Unknown behaviour ${JSON.stringify(value)}; known: ${BEHAVIOUR_WORDS.join(", ")}.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return bad(path, "A behaviour is a word or {action, clearWriteRight?, absorb?, withoutWriteRight?}.");
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OBJECT_KEYS.has(k)) bad(`${path}.${k}`, `Unknown member; allowed: ${[...OBJECT_KEYS].join(", ")}.`);
  }
  const action = o.action;
  if (action !== "block" && action !== "permit" && action !== "continue") {
    return bad(`${path}.action`, 'The action of a behaviour is "block", "permit" or "continue".');
  }
  const bool = (k: string, dflt: boolean): boolean => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") bad(`${path}.${k}`, "Expected true or false.");
    return v as boolean;
  };
  const without = o.withoutWriteRight ?? "skip";
  if (without !== "skip" && without !== "act") bad(`${path}.withoutWriteRight`, 'Expected "skip" or "act".');
  const absorb = bool("absorb", false);
  if (absorb && action !== "block") bad(`${path}.absorb`, "Only a BLOCK can be absorbed (C16).");
  return {
    action,
    clearWriteRight: bool("clearWriteRight", action === "block"),
    absorb,
    withoutWriteRight: without as "skip" | "act",
  };
}

/** The word of a behaviour when it is one of the named ones, else the object form. */
export function formatBehaviour(b: CalloutBehaviour): BehaviourWord | Record<string, unknown> {
  for (const w of BEHAVIOUR_WORDS) {
    const n = NAMED[w];
    if (
      n.action === b.action &&
      n.clearWriteRight === b.clearWriteRight &&
      n.absorb === b.absorb &&
      n.withoutWriteRight === b.withoutWriteRight
    ) {
      return w;
    }
  }
  return { ...b };
}

const WRITE = FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE;
const ABSORB = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_ABSORB;

/**
 * The classifyFn of a behaviour. The filter "carries CLEAR_ACTION_RIGHT" when its management flags have
 * FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT (what the kernel copy shows as FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT).
 */
export function behaviourClassifyFn(b: CalloutBehaviour): CalloutClassifyFn {
  const actionType =
    b.action === "block" ? "FWP_ACTION_BLOCK" : b.action === "permit" ? "FWP_ACTION_PERMIT" : "FWP_ACTION_CONTINUE";
  return (_in, _meta, _layerData, _ctx, filter, _flowContext, out: ClassifyOut): void => {
    if ((out.rights & WRITE) === 0 && b.withoutWriteRight === "skip") return;
    out.actionType = actionType;
    const filterClears = (filter.flags & FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0;
    if (b.clearWriteRight || (b.action === "permit" && filterClears)) out.rights &= ~WRITE;
    if (b.absorb) out.flags |= ABSORB;
  };
}
