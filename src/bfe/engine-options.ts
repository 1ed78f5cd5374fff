/**
 * Engine options (H39, FwpmEngineSetOption0 / FwpmEngineGetOption0): COLLECT_NET_EVENTS (0/1),
 * NET_EVENT_MATCH_ANY_KEYWORDS (FWPM_NET_EVENT_KEYWORD_* mask), NAME_CACHE, MONITOR_IPSEC_CONNECTIONS,
 * PACKET_QUEUING (FWPM_ENGINE_OPTION_PACKET_* mask) and TXN_WATCHDOG_TIMEOUT_IN_MSEC, all FWP_UINT32.
 * Values persist across BFE restarts (kept in the store under the option's name).
 * Source: https://learn.microsoft.com/windows/win32/api/fwpmu/nf-fwpmu-fwpmenginesetoption0
 */
import { FWPM_ENGINE_OPTION, FWPM_NET_EVENT_KEYWORD, FwpError } from "../fwp/index.ts";

export type EngineOptionName = Exclude<keyof typeof FWPM_ENGINE_OPTION, "FWPM_ENGINE_OPTION_MAX">;

export const ENGINE_OPTION_NAMES: readonly EngineOptionName[] = (
  Object.keys(FWPM_ENGINE_OPTION) as (keyof typeof FWPM_ENGINE_OPTION)[]
).filter((n): n is EngineOptionName => n !== "FWPM_ENGINE_OPTION_MAX");

/** H11: a user-mode transaction holding the lock longer than this is force-aborted (1 hour). */
export const DEFAULT_TXN_WATCHDOG_MS = 3_600_000;

/**
 * Defaults [INF except COLLECT_NET_EVENTS, documented on]: net events on, no extra keywords, name
 * cache and IPsec monitoring off, no packet queuing, the 1-hour watchdog of H11.
 */
export const DEFAULT_ENGINE_OPTIONS: Readonly<Record<EngineOptionName, number>> = Object.freeze({
  FWPM_ENGINE_COLLECT_NET_EVENTS: 1,
  FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS: 0,
  FWPM_ENGINE_NAME_CACHE: 0,
  FWPM_ENGINE_MONITOR_IPSEC_CONNECTIONS: 0,
  FWPM_ENGINE_PACKET_QUEUING: 0,
  FWPM_ENGINE_TXN_WATCHDOG_TIMEOUT_IN_MSEC: DEFAULT_TXN_WATCHDOG_MS,
});

const KEYWORDS_MASK = (Object.values(FWPM_NET_EVENT_KEYWORD) as number[]).reduce((a, b) => a | b, 0);
const PACKET_QUEUING_MASK = 0x7;

/** An option name or FWPM_ENGINE_OPTION value → its name. Errors: FWP_E_INVALID_ENUMERATOR. */
export function engineOptionName(option: EngineOptionName | number | string): EngineOptionName {
  if (typeof option === "number") {
    const name = ENGINE_OPTION_NAMES.find((n) => FWPM_ENGINE_OPTION[n] === option);
    if (name !== undefined) return name;
  } else if ((ENGINE_OPTION_NAMES as readonly string[]).includes(option)) return option as EngineOptionName;
  throw new FwpError("FWP_E_INVALID_ENUMERATOR", {
    path: "option",
    detail: `${JSON.stringify(option)} is not an FWPM_ENGINE_OPTION.`,
  });
}

/** Checks a value for an option. Errors: FWP_E_INVALID_PARAMETER (not a UINT32, or bits/values outside the option's set). */
export function checkEngineOptionValue(name: EngineOptionName, value: unknown): number {
  const bad = (why: string): never => {
    throw new FwpError("FWP_E_INVALID_PARAMETER", { path: "value", detail: `${name}: ${why}` });
  };
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff)
    return bad("the value is an FWP_UINT32.");
  switch (name) {
    case "FWPM_ENGINE_COLLECT_NET_EVENTS":
    case "FWPM_ENGINE_NAME_CACHE":
    case "FWPM_ENGINE_MONITOR_IPSEC_CONNECTIONS":
      if (value !== 0 && value !== 1) bad("the value is 0 or 1.");
      break;
    case "FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS":
      if ((value & ~KEYWORDS_MASK) !== 0) bad("unknown FWPM_NET_EVENT_KEYWORD_* bits.");
      break;
    case "FWPM_ENGINE_PACKET_QUEUING":
      if ((value & ~PACKET_QUEUING_MASK) !== 0) bad("unknown FWPM_ENGINE_OPTION_PACKET_* bits.");
      break;
    default:
      break;
  }
  return value;
}
