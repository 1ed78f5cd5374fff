/**
 * Bfe: the base filtering engine (wfp-semantics.md §H) in front of one live FilterEngine. `Bfe.open`
 * starts it — engine options and persistent / boot-time objects come back from the store, the boot-time
 * filters giving way to the persistent ones (H15), before any session can open — and `close` stops it (H45). Sessions (`openSession`) make every management call.
 * `engine` is the live engine, always holding a committed state: shims classify against it and kernel
 * callouts register on it.
 */
import type { Guid } from "../base/guid.ts";
import type { FilterEngine } from "../engine/index.ts";
import type { AuditLog } from "./audit/index.ts";
import { BfeCore } from "./core.ts";
import type { EngineOptionName } from "./engine-options.ts";
import type { NetEventLog } from "./netevents/index.ts";
import type { AccessControl, Principal } from "./security/index.ts";
import { BfeSession } from "./session.ts";
import type { ObjectStore } from "./store/index.ts";
import type { BfeOpenInit, SessionInfo, SessionOptions } from "./types.ts";

export class Bfe {
  readonly #core: BfeCore;

  private constructor(core: BfeCore) {
    this.#core = core;
  }

  /**
   * Starts a BFE: loads the engine options and the persistent and boot-time objects from `init.store`
   * into a fresh live engine in one atomic batch while only the boot-time filters classify (the TCP/IP
   * driver's boot phase; `init.beforeStart` sees it), then ends the boot phase in one step: the boot-time
   * filters stay objects but are no longer classified, the persistent ones are (H15; `init.bootTimeFiltersAfterStart`
   * "enforced" keeps both). Errors: whatever a stored object fails with (an FwpError naming it) and store errors.
   */
  static open(init: BfeOpenInit): Bfe {
    return new Bfe(new BfeCore(init));
  }

  /** The live filter engine (committed policy only; H9). */
  get engine(): FilterEngine {
    return this.#core.engine;
  }

  get store(): ObjectStore {
    return this.#core.store;
  }

  get access(): AccessControl {
    return this.#core.access;
  }

  /** The net event log; FWPM_ENGINE_COLLECT_NET_EVENTS and the keywords option drive it (H32). */
  get netEvents(): NetEventLog {
    return this.#core.netEvents;
  }

  /**
   * Security-log audits (H46): off until enabled per subcategory (`audit.setPolicy`); the BFE raises
   * policy-change audits at start and at commit, shims raise traffic audits with recordClassifyAudits.
   */
  get audit(): AuditLog {
    return this.#core.audit;
  }

  /** False once closed. */
  get running(): boolean {
    return this.#core.running;
  }

  /** FwpmEngineOpen0 (H1): needs OPEN on the engine. Errors: ACCESS_DENIED, ALREADY_EXISTS (session key in use), INVALID_FLAGS, INVALID_PARAMETER; BfeNotRunningError after close. */
  openSession(principal: Principal, options?: SessionOptions): BfeSession {
    return new BfeSession(this.#core, this.#core.openSession(principal, options));
  }

  /** The open sessions (FwpmSessionEnum0, unchecked: for the host and tooling). */
  sessions(): SessionInfo[] {
    return this.#core.sessions();
  }

  /** The session holding the write lock, if any. */
  get lockHolder(): Guid | undefined {
    return this.#core.lockHolder;
  }

  /** Current engine options (unchecked: for the host and tooling). */
  options(): Readonly<Record<EngineOptionName, number>> {
    return this.#core.options();
  }

  /**
   * Stops the BFE (H45): every session ends, open transactions are discarded, later calls fail with
   * BfeNotRunningError. The live engine keeps enforcing its filters [INF]. The store stays open (its
   * opener closes it) so a new Bfe can start from it.
   */
  close(): void {
    this.#core.stop();
  }
}
