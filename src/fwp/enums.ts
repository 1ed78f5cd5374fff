/**
 * WFP enumerations, action codes and flag words (83 groups from enums.json): each group is an
 * `as const` object name → value (`FWP_MATCH_TYPE.FWP_MATCH_RANGE === 5`), with reverse lookups here.
 * Values of 2^53 or more are bigints. A value may have several names (IPPROTO_IP = IPPROTO_HOPOPTS = 0);
 * `enumName` returns the first in header order.
 * Sources: enums.json (SDK fwptypes.h, fwpmtypes.h, fwpstypes.h, ws2def.h, nldef.h, …).
 */
import { ENUM_GROUP_ROWS, type EnumGroupName, type EnumGroupRow, type EnumValueRow } from "./generated/enums.ts";

export * from "./generated/enums.ts";

const GROUPS: ReadonlyMap<string, EnumGroupRow> = new Map(ENUM_GROUP_ROWS.map((g) => [g.name, g]));
const VALUE_BY_NAME: ReadonlyMap<string, { group: EnumGroupName; value: number | bigint }> = new Map(
  ENUM_GROUP_ROWS.flatMap((g) => g.values.map((v) => [v.name, { group: g.name, value: v.value }] as const)),
);

/** The group's description, kind and values (with sentinel/composite/historical marks). */
export function enumGroup(group: EnumGroupName): EnumGroupRow {
  const g = GROUPS.get(group);
  if (g === undefined) throw new TypeError(`unknown enum group ${JSON.stringify(group)}`);
  return g;
}

function same(a: number | bigint, b: number | bigint): boolean {
  return typeof a === typeof b ? a === b : BigInt(a) === BigInt(b);
}

/** Every name the group gives `value` (empty when none). */
export function enumNames(group: EnumGroupName, value: number | bigint): readonly string[] {
  return enumGroup(group)
    .values.filter((v) => same(v.value, value))
    .map((v) => v.name);
}

/** The first (header-order) name the group gives `value`, sentinels last; undefined when none. */
export function enumName(group: EnumGroupName, value: number | bigint): string | undefined {
  const matches = enumGroup(group).values.filter((v) => same(v.value, value));
  return (matches.find((v) => !v.sentinel) ?? matches[0])?.name;
}

/** The value of any enum constant by name, across all groups (names are unique), or undefined. */
export function enumValue(name: string): number | bigint | undefined {
  return VALUE_BY_NAME.get(name)?.value;
}

/** The group an enum constant belongs to, or undefined. */
export function enumGroupOf(name: string): EnumGroupName | undefined {
  return VALUE_BY_NAME.get(name)?.group;
}

/**
 * The single-bit flags of a flag group set in `value`, in header order, plus the leftover bits that no
 * name covers (negative int32 numbers are read as unsigned). Composite masks and zero-valued names are skipped. Example:
 * `flagNames("FWP_CONDITION_FLAG", 0x3)` → `{ names: ["FWP_CONDITION_FLAG_IS_LOOPBACK", "FWP_CONDITION_FLAG_IS_IPSEC_SECURED"], rest: 0n }`.
 */
export function flagNames(group: EnumGroupName, value: number | bigint): { names: string[]; rest: bigint } {
  // A number from JS bit operators may be a negative int32: read it as the unsigned word it is.
  let rest = BigInt(typeof value === "number" && value < 0 && value >= -0x80000000 ? value >>> 0 : value);
  const names: string[] = [];
  for (const v of enumGroup(group).values) {
    const bit = BigInt(v.value);
    if (bit === 0n || v.composite || (bit & (bit - 1n)) !== 0n) continue;
    if ((rest & bit) !== 0n) {
      names.push(v.name);
      rest &= ~bit;
    }
  }
  return { names, rest };
}

export type { EnumGroupRow, EnumValueRow };
