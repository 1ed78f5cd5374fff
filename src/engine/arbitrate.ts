/**
 * Filter arbitration at one layer, exactly the model of wfp-semantics.md §C.2: sublayers in
 * evaluation order (C3); in each, the matching filters in weight order until one returns PERMIT or
 * BLOCK (C4); static actions (C6), callouts with the rights discipline (C5, C8, C10–C13), unregistered
 * callouts (C14), ABSORB (C16); each sublayer's outcome is applied to the running decision (soft /
 * hard, veto C7); no outcome anywhere → the no-match action (C15).
 * The untraced path allocates nothing per filter: one classifyOut per classification (only when a
 * callout runs) and the terminating-filter list (only when a sublayer produced an outcome).
 * Source: https://learn.microsoft.com/windows/win32/fwp/filter-arbitration
 */
import type { Guid } from "../base/guid.ts";
import type { FwpValue, Layer } from "../fwp/index.ts";
import type { CompiledLayer, LayerPolicy } from "./classifier.ts";
import {
  CALLOUT_NOT_INVOKED,
  type CalloutDispatch,
  type CalloutRegistration,
  type ClassifyMetadata,
  type ClassifyOut,
  type ClassifyOutActionType,
  type DecisionAction,
  type Filter,
  type TraceApply,
} from "./model.ts";
import type { ResolvedEngineOptions } from "./options.ts";

/** FWPS_RIGHT_ACTION_WRITE. */
export const RIGHT_ACTION_WRITE = 0x1;
/** FWPS_CLASSIFY_OUT_FLAG_ABSORB. */
export const CLASSIFY_OUT_FLAG_ABSORB = 0x1;
/** FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT. */
const CLEAR_ACTION_RIGHT = 0x8;
/** FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED. */
const PERMIT_IF_CALLOUT_UNREGISTERED = 0x10;
/** FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW. */
const CONDITIONAL_ON_FLOW = 0x1;

const NONE = 0;
const PERMIT = 1;
const BLOCK = 2;

/** A registered callout as the engine keeps it. */
export interface RuntimeCallout {
  readonly calloutKey: Guid;
  readonly registration: CalloutRegistration;
  /** The management callout's run-time id; 0 until the management half exists. */
  calloutId: number;
}

/** What one classification passes to the arbiter. */
export interface ArbitrationInput {
  readonly layer: Layer;
  readonly policy: LayerPolicy;
  readonly compiled: CompiledLayer;
  readonly values: readonly FwpValue[];
  readonly metadata: ClassifyMetadata | undefined;
  readonly layerData: unknown;
  readonly classifyContext: unknown;
  readonly flowContext: bigint | ((calloutId: number, calloutKey: Guid) => bigint) | undefined;
  /** Per-callout layer data (the stream layer's waterfall); absent: every callout gets `layerData`. */
  readonly calloutDispatch?: CalloutDispatch | undefined;
}

/** One evaluated filter, as the trace reports it. */
export interface FilterRecord {
  readonly action: ClassifyOutActionType;
  readonly calloutInvoked: boolean;
  readonly calloutUnregistered: boolean;
  readonly rightsBefore: number;
  readonly rightsAfter: number;
  readonly flags: number;
  readonly terminating: boolean;
}

export interface SublayerRecord {
  readonly matches: readonly Filter[];
  readonly terminatingFilter: Filter | null;
  readonly outcome: { readonly action: DecisionAction; readonly hard: boolean; readonly absorb: boolean } | null;
  readonly apply: TraceApply;
  readonly decisionBefore: DecisionAction | null;
  readonly decisionAfter: DecisionAction | null;
  readonly rightsBefore: number;
  readonly rightsAfter: number;
}

/** Collects what the trace needs; only created when a trace is requested. */
export class ArbitrationRecorder {
  readonly filters = new Map<Filter, FilterRecord>();
  readonly sublayers: SublayerRecord[] = [];
}

export interface ArbitrationOutcome {
  readonly action: DecisionAction;
  readonly decidingFilter: Filter | null;
  readonly rights: number;
  readonly absorbed: boolean;
  readonly vetoed: boolean;
  readonly terminatingFilters: readonly Filter[];
  readonly noMatch: boolean;
}

const EMPTY_FILTERS: readonly Filter[] = Object.freeze([]);

function decisionName(d: number): DecisionAction | null {
  return d === PERMIT ? "FWP_ACTION_PERMIT" : d === BLOCK ? "FWP_ACTION_BLOCK" : null;
}

/**
 * Runs §C.2 over every sublayer of the policy. `scratch` receives each sublayer's matches (the caller
 * owns and reuses it, one per nesting depth so a callout may classify re-entrantly; it is never
 * truncated, so it keeps its capacity).
 */
export function arbitrate(
  input: ArbitrationInput,
  options: ResolvedEngineOptions,
  registered: (calloutKey: Guid) => RuntimeCallout | undefined,
  scratch: Filter[],
  recorder: ArbitrationRecorder | null,
): ArbitrationOutcome {
  const sublayers = input.policy.sublayers;
  let decision = NONE;
  let canOverride = true;
  let vetoed = false;
  let absorbed = false;
  let deciding: Filter | null = null;
  let terminating: Filter[] | null = null;
  let out: ClassifyOut | null = null;
  let fixed: { readonly layer: Layer; readonly incomingValues: readonly FwpValue[] } | null = null;

  for (let si = 0; si < sublayers.length; si++) {
    const counted = input.compiled.collectMatches(si, input.values, scratch);
    const matchCount = typeof counted === "number" ? counted : scratch.length;
    const rightsOffered = canOverride ? RIGHT_ACTION_WRITE : 0;
    let outcome = NONE;
    let hard = false;
    let absorb = false;
    let fromCallout = false;
    let ender: Filter | null = null;

    for (let fi = 0; fi < matchCount; fi++) {
      const f = scratch[fi] as Filter;
      const type = f.action.type;
      if (type === "FWP_ACTION_PERMIT" || type === "FWP_ACTION_BLOCK") {
        // C6: static PERMIT soft unless CLEAR_ACTION_RIGHT; static BLOCK hard.
        outcome = type === "FWP_ACTION_PERMIT" ? PERMIT : BLOCK;
        hard = outcome === BLOCK || (f.flags & CLEAR_ACTION_RIGHT) !== 0;
        ender = f;
        if (recorder !== null) {
          recorder.filters.set(f, {
            action: type,
            calloutInvoked: false,
            calloutUnregistered: false,
            rightsBefore: rightsOffered,
            rightsAfter: hard ? 0 : RIGHT_ACTION_WRITE,
            flags: 0,
            terminating: true,
          });
        }
        break;
      }
      const key = f.action.calloutKey as Guid;
      const callout = registered(key);
      if (callout === undefined) {
        // C14
        if (type === "FWP_ACTION_CALLOUT_INSPECTION") {
          if (recorder !== null) recordContinue(recorder, f, rightsOffered, false, true);
          continue;
        }
        const permit = (f.flags & PERMIT_IF_CALLOUT_UNREGISTERED) !== 0;
        outcome = permit ? PERMIT : BLOCK;
        hard = permit
          ? !options.unregisteredPermitFollowsStaticDefaults || (f.flags & CLEAR_ACTION_RIGHT) !== 0
          : options.unregisteredBlockIsHard;
        ender = f;
        if (recorder !== null) {
          recorder.filters.set(f, {
            action: permit ? "FWP_ACTION_PERMIT" : "FWP_ACTION_BLOCK",
            calloutInvoked: false,
            calloutUnregistered: true,
            rightsBefore: rightsOffered,
            rightsAfter: hard ? 0 : RIGHT_ACTION_WRITE,
            flags: 0,
            terminating: true,
          });
        }
        break;
      }
      const fc = input.flowContext;
      const flowContext = fc === undefined ? 0n : typeof fc === "bigint" ? fc : fc(callout.calloutId, key);
      if (((callout.registration.flags ?? 0) & CONDITIONAL_ON_FLOW) !== 0 && flowContext === 0n) {
        // D8: not invoked on flows without this callout's context.
        if (recorder !== null) recordContinue(recorder, f, rightsOffered, false, false);
        continue;
      }
      if (out === null) out = { actionType: "FWP_ACTION_CONTINUE", rights: 0, flags: 0 };
      if (fixed === null) fixed = { layer: input.layer, incomingValues: input.values };
      // C13: pre-load.
      out.actionType =
        options.classifyOutPreload === "decision-or-continue" && decision !== NONE
          ? (decisionName(decision) as DecisionAction)
          : "FWP_ACTION_CONTINUE";
      out.rights = rightsOffered;
      out.flags = 0;
      const dispatch = input.calloutDispatch;
      const layerData = dispatch === undefined ? input.layerData : dispatch.before(f, callout.calloutId, out);
      const invoked = layerData !== CALLOUT_NOT_INVOKED;
      if (invoked) {
        callout.registration.classifyFn(fixed, input.metadata, layerData, input.classifyContext, f, flowContext, out);
        dispatch?.after(f, callout.calloutId, out);
      }
      const returned = out.actionType;
      const answered = returned === "FWP_ACTION_PERMIT" || returned === "FWP_ACTION_BLOCK";
      if (!answered || (type === "FWP_ACTION_CALLOUT_INSPECTION" && options.inspectionWritesIgnored)) {
        if (answered || type !== "FWP_ACTION_CALLOUT_TERMINATING" || options.terminatingCalloutContinueContinues) {
          // C10–C12: CONTINUE / NONE / NONE_NO_MATCH, or an inspection callout's write: next filter.
          if (recorder !== null) {
            recorder.filters.set(f, {
              action: type === "FWP_ACTION_CALLOUT_INSPECTION" ? "FWP_ACTION_CONTINUE" : returned,
              calloutInvoked: invoked,
              calloutUnregistered: false,
              rightsBefore: rightsOffered,
              rightsAfter: out.rights,
              flags: out.flags,
              terminating: false,
            });
          }
          continue;
        }
        // C10 with terminatingCalloutContinueContinues off: a TERMINATING callout must answer; treat as hard BLOCK.
        outcome = BLOCK;
        hard = true;
      } else {
        outcome = returned === "FWP_ACTION_PERMIT" ? PERMIT : BLOCK;
        hard = (out.rights & RIGHT_ACTION_WRITE) === 0;
        if (
          outcome === PERMIT &&
          options.engineAppliesClearActionRightToCallouts &&
          (f.flags & CLEAR_ACTION_RIGHT) !== 0
        ) {
          hard = true;
        }
        absorb = outcome === BLOCK && (out.flags & CLASSIFY_OUT_FLAG_ABSORB) !== 0;
      }
      fromCallout = true;
      ender = f;
      if (recorder !== null) {
        recorder.filters.set(f, {
          action: returned,
          calloutInvoked: invoked,
          calloutUnregistered: false,
          rightsBefore: rightsOffered,
          rightsAfter: out.rights,
          flags: out.flags,
          terminating: true,
        });
      }
      break;
    }

    // apply (C5–C9)
    const decisionBefore = decision;
    let applied: TraceApply = "none";
    if (outcome !== NONE) {
      if (terminating === null) terminating = [];
      terminating.push(ender as Filter);
      if (canOverride) {
        decision = outcome;
        canOverride = !hard;
        absorbed = absorb;
        deciding = ender;
        applied = "set";
      } else if (decision === PERMIT && outcome === BLOCK && fromCallout) {
        decision = BLOCK;
        vetoed = true;
        canOverride = false;
        absorbed = absorb;
        deciding = ender;
        applied = "veto";
      } else {
        applied = "ignored";
      }
    }
    if (recorder !== null) {
      recorder.sublayers.push({
        matches: scratch.slice(0, matchCount),
        terminatingFilter: ender,
        outcome: outcome === NONE ? null : { action: decisionName(outcome) as DecisionAction, hard, absorb },
        apply: applied,
        decisionBefore: decisionName(decisionBefore),
        decisionAfter: decisionName(decision),
        rightsBefore: rightsOffered,
        rightsAfter: canOverride ? RIGHT_ACTION_WRITE : 0,
      });
    }
  }
  const noMatch = decision === NONE;
  return {
    action: noMatch ? options.noMatchAction : (decisionName(decision) as DecisionAction),
    decidingFilter: deciding,
    rights: canOverride ? RIGHT_ACTION_WRITE : 0,
    absorbed,
    vetoed,
    terminatingFilters: terminating ?? EMPTY_FILTERS,
    noMatch,
  };
}

function recordContinue(
  recorder: ArbitrationRecorder,
  f: Filter,
  rightsOffered: number,
  invoked: boolean,
  unregistered: boolean,
): void {
  recorder.filters.set(f, {
    action: "FWP_ACTION_CONTINUE",
    calloutInvoked: invoked,
    calloutUnregistered: unregistered,
    rightsBefore: rightsOffered,
    rightsAfter: rightsOffered,
    flags: 0,
    terminating: false,
  });
}
