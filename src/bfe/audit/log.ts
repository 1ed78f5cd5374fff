/**
 * AuditLog: the BFE's Security-log audits (wfp-semantics.md H46), off by default like Windows, enabled per
 * subcategory and keyword as `auditpol /set /subcategory:"…" /success:enable /failure:enable` does. The
 * log is a bounded ring: past `capacity` the oldest record goes and `overwritten` counts it, so audit
 * volume never grows memory.
 */
import {
  AUDIT_EVENTS,
  AUDIT_SUBCATEGORIES,
  type AuditEvent,
  type AuditEventInput,
  type AuditOutcome,
  type AuditSubcategory,
} from "./events.ts";

export const DEFAULT_AUDIT_CAPACITY = 1024;
export const MAX_AUDIT_CAPACITY = 1 << 20;

export interface AuditPolicySetting {
  readonly success: boolean;
  readonly failure: boolean;
}

export interface AuditLogOptions {
  /** Records kept (1 … 2^20). Default 1024. */
  readonly capacity?: number;
}

/** Which records `enumerate` returns (all given criteria AND-ed). */
export interface AuditEnumTemplate {
  readonly eventIds?: readonly number[];
  readonly subcategory?: AuditSubcategory;
  /** Inclusive bounds on timeNs. */
  readonly startTimeNs?: bigint;
  readonly endTimeNs?: bigint;
}

export class AuditLog {
  readonly capacity: number;
  readonly #ring: (AuditEvent | undefined)[];
  #next = 0;
  #size = 0;
  #recordId = 1;
  #overwritten = 0;
  readonly #policy = new Map<AuditSubcategory, AuditPolicySetting>(
    AUDIT_SUBCATEGORIES.map((s) => [s, { success: false, failure: false }]),
  );

  constructor(options: AuditLogOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_AUDIT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_AUDIT_CAPACITY)
      throw new RangeError(`Audit capacity must be an integer in 1..${MAX_AUDIT_CAPACITY}.`);
    this.capacity = capacity;
    this.#ring = new Array<AuditEvent | undefined>(capacity);
  }

  /** auditpol /set /subcategory: enables or disables success and/or failure audits of a subcategory. */
  setPolicy(subcategory: AuditSubcategory, setting: Partial<AuditPolicySetting>): void {
    const before = this.#policy.get(subcategory);
    if (before === undefined) throw new RangeError(`Unknown audit subcategory ${JSON.stringify(subcategory)}.`);
    this.#policy.set(subcategory, {
      success: setting.success ?? before.success,
      failure: setting.failure ?? before.failure,
    });
  }

  /** auditpol /get /subcategory. */
  getPolicy(subcategory: AuditSubcategory): AuditPolicySetting {
    const p = this.#policy.get(subcategory);
    if (p === undefined) throw new RangeError(`Unknown audit subcategory ${JSON.stringify(subcategory)}.`);
    return p;
  }

  /** Whether an event id would be recorded now (its subcategory's keyword is enabled). */
  isEnabled(eventId: number): boolean {
    const meta = AUDIT_EVENTS[eventId];
    if (meta === undefined) return false;
    return this.#policy.get(meta.subcategory)?.[meta.outcome] === true;
  }

  /** True when any subcategory has any keyword enabled (callers may skip building events otherwise). */
  get active(): boolean {
    for (const p of this.#policy.values()) if (p.success || p.failure) return true;
    return false;
  }

  /** Records an audit if its subcategory's keyword is enabled; returns the record or null. */
  record(input: AuditEventInput): AuditEvent | null {
    const meta = AUDIT_EVENTS[input.eventId];
    if (meta === undefined) throw new RangeError(`Unknown WFP audit event id ${input.eventId}.`);
    if (!this.isEnabled(input.eventId)) return null;
    const event: AuditEvent = Object.freeze({
      ...input,
      recordId: this.#recordId++,
      subcategory: meta.subcategory,
      outcome: meta.outcome as AuditOutcome,
    });
    if (this.#size === this.capacity) this.#overwritten++;
    else this.#size++;
    this.#ring[this.#next] = event;
    this.#next = (this.#next + 1) % this.capacity;
    return event;
  }

  /** Records kept, oldest first, that match the template. */
  enumerate(template: AuditEnumTemplate = {}): AuditEvent[] {
    const out: AuditEvent[] = [];
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let i = 0; i < this.#size; i++) {
      const e = this.#ring[(start + i) % this.capacity];
      if (e === undefined) continue;
      if (template.eventIds !== undefined && !template.eventIds.includes(e.eventId)) continue;
      if (template.subcategory !== undefined && e.subcategory !== template.subcategory) continue;
      if (template.startTimeNs !== undefined && e.timeNs < template.startTimeNs) continue;
      if (template.endTimeNs !== undefined && e.timeNs > template.endTimeNs) continue;
      out.push(e);
    }
    return out;
  }

  get size(): number {
    return this.#size;
  }

  /** Records lost to the ring's bound. */
  get overwritten(): number {
    return this.#overwritten;
  }

  /** wevtutil cl Security: empties the log (record ids keep counting). */
  clear(): void {
    this.#ring.fill(undefined);
    this.#size = 0;
    this.#next = 0;
  }
}
