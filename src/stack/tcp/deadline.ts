/**
 * A re-armable one-shot timer over the scheduler. Moving a deadline later (the RTO restarted by every
 * acknowledgment) keeps the scheduled event and re-arms it when it fires early, so a long transfer does
 * not fill the scheduler's queue with cancelled timers; moving it earlier reschedules.
 */
import type { Timer } from "../sim/scheduler.ts";
import type { TcpScheduler } from "./environment.ts";

export class Deadline {
  readonly #scheduler: TcpScheduler;
  readonly #fire: () => void;
  #timer: Timer | undefined;
  #due: bigint | undefined;

  constructor(scheduler: TcpScheduler, fire: () => void) {
    this.#scheduler = scheduler;
    this.#fire = fire;
  }

  get armed(): boolean {
    return this.#due !== undefined;
  }

  /** When it will fire, if armed. */
  get dueNs(): bigint | undefined {
    return this.#due;
  }

  /** Fires `delayNs` from now (replacing any earlier setting). */
  set(delayNs: bigint): void {
    const due = this.#scheduler.nowNs() + delayNs;
    this.#due = due;
    if (this.#timer !== undefined && this.#timer.dueNs <= due) return;
    this.#timer?.cancel();
    this.#timer = this.#scheduler.after(delayNs, () => this.#onTimer());
  }

  clear(): void {
    this.#due = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #onTimer(): void {
    this.#timer = undefined;
    const due = this.#due;
    if (due === undefined) return;
    const now = this.#scheduler.nowNs();
    if (now < due) {
      this.#timer = this.#scheduler.after(due - now, () => this.#onTimer());
      return;
    }
    this.#due = undefined;
    this.#fire();
  }
}
