/**
 * The words policy documents use for match types, filter actions and flag bits, mapped to WFP's
 * numbers. Every word has a short spelling (`greater-or-equal`, `callout-terminating`,
 * `CLEAR_ACTION_RIGHT`) and WFP's own name (`FWP_MATCH_GREATER_OR_EQUAL`, `FWP_ACTION_CALLOUT_TERMINATING`,
 * `FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT`); short match and action words are built from the FWP names
 * (lower case, `_` → `-`), so the two lists cannot drift apart.
 * Sources: https://learn.microsoft.com/windows/win32/api/fwptypes/ne-fwptypes-fwp_match_type,
 * https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_action0,
 * https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_filter0
 */
import {
  FWP_ACTION_TYPE,
  FWP_MATCH_TYPE,
  FWPM_CALLOUT_FLAG,
  FWPM_FILTER_FLAG,
  FWPM_PROVIDER_FLAG,
  FWPM_SUBLAYER_FLAG,
  FwpError,
  type FwpErrorName,
} from "../../fwp/index.ts";

const shortWord = (name: string, prefix: string): string => name.slice(prefix.length).toLowerCase().replace(/_/g, "-");

/** FWP_MATCH_TYPE names (0..12). */
export type MatchName = Exclude<keyof typeof FWP_MATCH_TYPE, "FWP_MATCH_TYPE_MAX">;

const MATCH_NAMES = (Object.keys(FWP_MATCH_TYPE) as (keyof typeof FWP_MATCH_TYPE)[]).filter(
  (n): n is MatchName => n !== "FWP_MATCH_TYPE_MAX",
);
const MATCH_WORDS = new Map<string, MatchName>(
  MATCH_NAMES.flatMap((n) => [
    [n, n],
    [shortWord(n, "FWP_MATCH_"), n],
  ]),
);

/** The FWP_MATCH_* name of a match word (`equal`, `range`, `FWP_MATCH_PREFIX`, ...), or undefined. */
export function matchTypeByWord(word: string): MatchName | undefined {
  return MATCH_WORDS.get(word.trim());
}

/** The short word of an FWP_MATCH_* name (`greater-or-equal`). */
export function matchWord(name: MatchName): string {
  return shortWord(name, "FWP_MATCH_");
}

/** The short match words, in FWP_MATCH_TYPE order. */
export const MATCH_WORDS_LIST: readonly string[] = Object.keys(FWP_MATCH_TYPE)
  .filter((n) => n !== "FWP_MATCH_TYPE_MAX")
  .map((n) => shortWord(n, "FWP_MATCH_"));

/** The action types a filter may carry (§A.5 V8). */
const FILTER_ACTIONS = [
  "FWP_ACTION_BLOCK",
  "FWP_ACTION_PERMIT",
  "FWP_ACTION_CALLOUT_TERMINATING",
  "FWP_ACTION_CALLOUT_INSPECTION",
  "FWP_ACTION_CALLOUT_UNKNOWN",
] as const;
export type FilterActionName = (typeof FILTER_ACTIONS)[number];

const ACTION_WORDS = new Map<string, FilterActionName>(
  FILTER_ACTIONS.flatMap((n) => [
    [n, n],
    [shortWord(n, "FWP_ACTION_"), n],
  ]),
);

/** The FWP_ACTION_* name of a filter action word; undefined for anything else (CONTINUE, NONE, typos). */
export function filterActionByWord(word: string): FilterActionName | undefined {
  return ACTION_WORDS.get(word.trim());
}

export function actionTypeValue(name: FilterActionName): number {
  return FWP_ACTION_TYPE[name];
}

export function actionNameOf(type: number): FilterActionName | undefined {
  return FILTER_ACTIONS.find((n) => FWP_ACTION_TYPE[n] === type);
}

/** The short word of a filter action (`callout-terminating`). */
export function actionWord(name: FilterActionName): string {
  return shortWord(name, "FWP_ACTION_");
}

export function isCalloutAction(name: FilterActionName): boolean {
  return name.startsWith("FWP_ACTION_CALLOUT_");
}

/** A flag word group: short names (`CLEAR_ACTION_RIGHT`) and full names (`FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT`). */
export interface FlagWords {
  readonly prefix: string;
  readonly bits: ReadonlyMap<string, number>;
}

function flagWords(group: Readonly<Record<string, number>>, prefix: string): FlagWords {
  const bits = new Map<string, number>();
  for (const [name, value] of Object.entries(group)) {
    if (value === 0) continue;
    bits.set(name, value);
    bits.set(name.slice(prefix.length), value);
  }
  return { prefix, bits };
}

export const FILTER_FLAG_WORDS = flagWords(FWPM_FILTER_FLAG, "FWPM_FILTER_FLAG_");
export const SUBLAYER_FLAG_WORDS = flagWords(FWPM_SUBLAYER_FLAG, "FWPM_SUBLAYER_FLAG_");
export const PROVIDER_FLAG_WORDS = flagWords(FWPM_PROVIDER_FLAG, "FWPM_PROVIDER_FLAG_");
export const CALLOUT_FLAG_WORDS = flagWords(FWPM_CALLOUT_FLAG, "FWPM_CALLOUT_FLAG_");

/**
 * Flags written as an array of words (numbers allowed among them) or as one unsigned 32-bit number. An unknown word or a number
 * that is not a uint32 is `FWP_E_INVALID_FLAGS` at `path` (or `path[i]` for the i-th word).
 */
export function parseFlags(value: unknown, words: FlagWords, path: string): number {
  const fail = (code: FwpErrorName, where: string, detail: string): never => {
    throw new FwpError(code, { path: where, detail });
  };
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      fail("FWP_E_INVALID_FLAGS", path, `Flags must be an unsigned 32-bit integer, got ${value}.`);
    }
    return value;
  }
  if (!Array.isArray(value)) return fail("FWP_E_INVALID_FLAGS", path, "Flags are an array of names or a number.");
  let flags = 0;
  value.forEach((w: unknown, i: number) => {
    const bit =
      typeof w === "string"
        ? words.bits.get(w.trim())
        : typeof w === "number" && Number.isInteger(w) && w >= 0 && w <= 0xffffffff
          ? w
          : undefined;
    if (bit === undefined) {
      const known = [...words.bits.keys()].filter((k) => !k.startsWith(words.prefix));
      fail("FWP_E_INVALID_FLAGS", `${path}[${i}]`, `Unknown flag ${JSON.stringify(w)}; known: ${known.join(", ")}.`);
    }
    flags = (flags | (bit ?? 0)) >>> 0;
  });
  return flags;
}

/** The short words of the bits set in `flags` (unnamed bits as one number appended). */
export function flagWordList(flags: number, words: FlagWords): (string | number)[] {
  const out: (string | number)[] = [];
  let rest = flags >>> 0;
  for (const [name, bit] of words.bits) {
    if (name.startsWith(words.prefix)) continue;
    if ((rest & bit) !== 0) {
      out.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) out.push(rest);
  return out;
}
