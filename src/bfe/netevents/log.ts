/**
 * The net event log (H32–H38): a bounded ring of the most recent events (Windows keeps a ~128 KB circular
 * buffer, ≈100–150 events, H33), with collection on/off (FWPM_ENGINE_COLLECT_NET_EVENTS), the keyword
 * mask (FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS), snapshot enumeration with templates (H37) and live
 * subscriptions (H38). Memory is fixed by the capacity: when the ring is full the oldest event is
 * overwritten and `overflowCount` goes up; nothing grows with the event rate.
 * Sources: https://learn.microsoft.com/windows/win32/fwp/logging,
 * https://learn.microsoft.com/windows/win32/api/fwpmu/nf-fwpmu-fwpmengineSetoption0,
 * https://learn.microsoft.com/windows/win32/api/fwpmu/nf-fwpmu-fwpmneteventsubscribe4
 */
import { FWPM_NET_EVENT_KEYWORD, FwpError } from "../../fwp/index.ts";
import {
  type CompiledNetEventTemplate,
  compileNetEventTemplate,
  type NetEventEnumTemplate,
  netEventMatches,
} from "./template.ts";
import type { NetEvent } from "./types.ts";

/** Default ring size: ~128 KB of events at roughly 1 KB each (H33). */
export const DEFAULT_NET_EVENT_CAPACITY = 128;
/** Largest accepted capacity (guards against a typo allocating gigabytes). */
export const MAX_NET_EVENT_CAPACITY = 1 << 20;

export const KEYWORD_INBOUND_MCAST = FWPM_NET_EVENT_KEYWORD.FWPM_NET_EVENT_KEYWORD_INBOUND_MCAST;
export const KEYWORD_INBOUND_BCAST = FWPM_NET_EVENT_KEYWORD.FWPM_NET_EVENT_KEYWORD_INBOUND_BCAST;
export const KEYWORD_CAPABILITY_DROP = FWPM_NET_EVENT_KEYWORD.FWPM_NET_EVENT_KEYWORD_CAPABILITY_DROP;
export const KEYWORD_CAPABILITY_ALLOW = FWPM_NET_EVENT_KEYWORD.FWPM_NET_EVENT_KEYWORD_CAPABILITY_ALLOW;
export const KEYWORD_CLASSIFY_ALLOW = FWPM_NET_EVENT_KEYWORD.FWPM_NET_EVENT_KEYWORD_CLASSIFY_ALLOW;

export interface NetEventLogOptions {
  /** Ring size in events (1..MAX_NET_EVENT_CAPACITY); default DEFAULT_NET_EVENT_CAPACITY. */
  readonly capacity?: number;
  /** FWPM_ENGINE_COLLECT_NET_EVENTS; default on (H32). */
  readonly enabled?: boolean;
  /** FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS; default 0. */
  readonly keywords?: number;
}

export type NetEventCallback = (event: NetEvent) => void;

/** A live subscription (FwpmNetEventSubscribe*); `unsubscribe` is FwpmNetEventUnsubscribe0. */
export interface NetEventSubscription {
  readonly id: number;
  unsubscribe(): void;
}

/** Why `record` did or did not keep an event. */
export type NetEventRecordOutcome = "recorded" | "disabled" | "keyword";

interface Subscriber {
  readonly template: CompiledNetEventTemplate;
  readonly callback: NetEventCallback;
}

export class NetEventLog {
  readonly capacity: number;
  #ring: (NetEvent | undefined)[];
  /** Index of the oldest event. */
  #head = 0;
  #size = 0;
  #overflow = 0;
  #filtered = 0;
  #subscriberErrors = 0;
  #enabled: boolean;
  #keywords: number;
  #nextSubscription = 1;
  readonly #subscribers = new Map<number, Subscriber>();

  constructor(options: NetEventLogOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_NET_EVENT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_NET_EVENT_CAPACITY) {
      throw new FwpError("FWP_E_OUT_OF_BOUNDS", {
        path: "capacity",
        detail: `Capacity must be an integer 1..${MAX_NET_EVENT_CAPACITY}, got ${capacity}.`,
      });
    }
    this.capacity = capacity;
    this.#ring = new Array<NetEvent | undefined>(capacity).fill(undefined);
    this.#enabled = options.enabled ?? true;
    this.#keywords = checkKeywords(options.keywords ?? 0);
  }

  /** FWPM_ENGINE_COLLECT_NET_EVENTS. Turning it off keeps the log but makes it unreadable (H33). */
  get enabled(): boolean {
    return this.#enabled;
  }
  set enabled(on: boolean) {
    this.#enabled = on;
  }

  /** FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS (FWPM_NET_EVENT_KEYWORD_* bits, H32). */
  get keywords(): number {
    return this.#keywords;
  }
  set keywords(mask: number) {
    this.#keywords = checkKeywords(mask);
  }

  /** Events currently held. */
  get size(): number {
    return this.#size;
  }
  /** Events overwritten because the ring was full. */
  get overflowCount(): number {
    return this.#overflow;
  }
  /** Events not collected because their keyword is off (or collection is disabled). */
  get filteredCount(): number {
    return this.#filtered;
  }
  /** Exceptions thrown by subscriber callbacks (caught so one subscriber cannot break logging). */
  get subscriberErrorCount(): number {
    return this.#subscriberErrors;
  }

  /**
   * Whether an event passes the collection rules (H32): collection on; outbound drops and inbound
   * unicast drops always; inbound multicast/broadcast drops with INBOUND_MCAST/BCAST; CLASSIFY_ALLOW
   * with CLASSIFY_ALLOW; capability events with their keyword; other types always.
   */
  wouldRecord(event: NetEvent): NetEventRecordOutcome {
    if (!this.#enabled) return "disabled";
    const k = this.#keywords;
    switch (event.type) {
      case "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW":
        return (k & KEYWORD_CLASSIFY_ALLOW) !== 0 ? "recorded" : "keyword";
      case "FWPM_NET_EVENT_TYPE_CAPABILITY_ALLOW":
        return (k & KEYWORD_CAPABILITY_ALLOW) !== 0 ? "recorded" : "keyword";
      case "FWPM_NET_EVENT_TYPE_CAPABILITY_DROP":
        return (k & KEYWORD_CAPABILITY_DROP) !== 0 ? "recorded" : "keyword";
      default:
        if (event.direction === "inbound" && event.cast === "multicast") {
          return (k & KEYWORD_INBOUND_MCAST) !== 0 ? "recorded" : "keyword";
        }
        if (event.direction === "inbound" && event.cast === "broadcast") {
          return (k & KEYWORD_INBOUND_BCAST) !== 0 ? "recorded" : "keyword";
        }
        return "recorded";
    }
  }

  /** Adds an event if the collection rules let it in, then delivers it to matching subscribers. */
  record(event: NetEvent): NetEventRecordOutcome {
    const outcome = this.wouldRecord(event);
    if (outcome !== "recorded") {
      this.#filtered++;
      return outcome;
    }
    if (this.#size < this.capacity) {
      this.#ring[(this.#head + this.#size) % this.capacity] = event;
      this.#size++;
    } else {
      this.#ring[this.#head] = event;
      this.#head = (this.#head + 1) % this.capacity;
      this.#overflow++;
    }
    for (const s of this.#subscribers.values()) {
      if (!netEventMatches(s.template, event)) continue;
      try {
        s.callback(event);
      } catch {
        this.#subscriberErrors++;
      }
    }
    return outcome;
  }

  /**
   * A snapshot of the held events matching the template, oldest first (FwpmNetEventCreateEnumHandle0 +
   * Enum0). While collection is off → FWP_E_NET_EVENTS_DISABLED (H33, mapping inferred).
   */
  enumerate(template?: NetEventEnumTemplate): NetEvent[] {
    if (!this.#enabled) {
      throw new FwpError("FWP_E_NET_EVENTS_DISABLED", {
        detail: "Net event collection (FWPM_ENGINE_COLLECT_NET_EVENTS) is off.",
      });
    }
    const compiled = compileNetEventTemplate(template);
    const out: NetEvent[] = [];
    for (let i = 0; i < this.#size; i++) {
      const e = this.#ring[(this.#head + i) % this.capacity];
      if (e !== undefined && netEventMatches(compiled, e)) out.push(e);
    }
    return out;
  }

  /** Live delivery of new events matching the template (H38), in record order, synchronously. */
  subscribe(template: NetEventEnumTemplate | undefined, callback: NetEventCallback): NetEventSubscription {
    const compiled = compileNetEventTemplate(template);
    const id = this.#nextSubscription++;
    this.#subscribers.set(id, { template: compiled, callback });
    return {
      id,
      unsubscribe: () => {
        this.#subscribers.delete(id);
      },
    };
  }

  /** Number of live subscriptions. */
  get subscriptionCount(): number {
    return this.#subscribers.size;
  }

  /** Empties the ring (a reboot, H33); counters are kept. */
  clear(): void {
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }
}

function checkKeywords(mask: number): number {
  if (!Number.isInteger(mask) || mask < 0 || mask > 0xffffffff) {
    throw new FwpError("FWP_E_OUT_OF_BOUNDS", {
      path: "keywords",
      detail: `Keywords must be a UINT32 mask, got ${mask}.`,
    });
  }
  return mask;
}
