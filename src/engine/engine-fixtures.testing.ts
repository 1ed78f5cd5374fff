/**
 * Test helpers shared by the engine tests and the classifier conformance suite: incoming-value arrays
 * by condition name, deterministic GUIDs, app ids, tokens, and scripted callouts that record what the
 * engine handed them.
 */
import type { Guid } from "../base/guid.ts";
import {
  appIdFromNtPath,
  FWP_EMPTY_VALUE,
  type FwpTokenInformation,
  type FwpValue,
  fieldIndex,
  fwpByteBlob,
  layerFields,
  parseSid,
} from "../fwp/index.ts";
import type { FilterEngine } from "./engine.ts";
import type { ClassifyOut, ClassifyOutActionType, Filter } from "./model.ts";

/** A GUID whose last group is `n` (distinct, readable test keys). */
export function testGuid(n: number): Guid {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}` as Guid;
}

/** Incoming values for a layer: FWP_EMPTY everywhere except the named conditions. */
export function incoming(layer: string, entries: Readonly<Record<string, FwpValue>>): FwpValue[] {
  const out: FwpValue[] = layerFields(layer).map(() => FWP_EMPTY_VALUE);
  for (const [name, value] of Object.entries(entries)) {
    const i = fieldIndex(layer, name);
    if (i === undefined) throw new Error(`${name} is not a field of ${layer}`);
    out[i] = value;
  }
  return out;
}

/** The app id blob of an NT path (lower-cased UTF-16LE with the terminating NUL). */
export function appId(ntPath: string): FwpValue {
  return fwpByteBlob(appIdFromNtPath(ntPath));
}

/** A token holding these SIDs (the first as the user SID, attributes 0; the rest enabled groups). */
export function token(...sids: string[]): FwpTokenInformation {
  return {
    sids: sids.map((s, i) => ({ sid: parseSid(s), attributes: i === 0 ? 0 : 0x4 })),
    restrictedSids: [],
  };
}

/** What one callout invocation saw. */
export interface CalloutCall {
  readonly filter: Filter;
  readonly preloadAction: ClassifyOutActionType;
  readonly rightsIn: number;
  readonly flowContext: bigint;
  readonly incomingValues: readonly FwpValue[];
  readonly metadata: unknown;
  readonly layerData: unknown;
}

export interface ScriptedCallout {
  readonly key: Guid;
  readonly calls: CalloutCall[];
}

/**
 * Adds a management callout at `layer` and registers a classifyFn that records each call and then
 * applies `answer` to classifyOut.
 */
export function scriptedCallout(
  engine: FilterEngine,
  n: number,
  layer: string,
  answer: (out: ClassifyOut) => void,
  register = true,
): ScriptedCallout {
  const key = testGuid(0x10000 + n);
  engine.addCallout({ calloutKey: key, name: `callout ${n}`, applicableLayer: layer });
  const calls: CalloutCall[] = [];
  if (register) {
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (fixed, meta, layerData, _ctx, filter, flowContext, out) => {
        calls.push({
          filter,
          preloadAction: out.actionType,
          rightsIn: out.rights,
          flowContext,
          incomingValues: fixed.incomingValues,
          metadata: meta,
          layerData,
        });
        answer(out);
      },
    });
  }
  return { key, calls };
}

/** Callout answers as the classifyFn contract asks (§C6): BLOCK clears the write right. */
export const answers = {
  continue: (out: ClassifyOut): void => {
    out.actionType = "FWP_ACTION_CONTINUE";
  },
  permit: (out: ClassifyOut): void => {
    out.actionType = "FWP_ACTION_PERMIT";
  },
  hardPermit: (out: ClassifyOut): void => {
    out.actionType = "FWP_ACTION_PERMIT";
    out.rights &= ~1;
  },
  block: (out: ClassifyOut): void => {
    out.actionType = "FWP_ACTION_BLOCK";
    out.rights &= ~1;
  },
  softBlock: (out: ClassifyOut): void => {
    out.actionType = "FWP_ACTION_BLOCK";
  },
  absorb: (out: ClassifyOut): void => {
    out.actionType = "FWP_ACTION_BLOCK";
    out.rights &= ~1;
    out.flags |= 0x1;
  },
} as const;
