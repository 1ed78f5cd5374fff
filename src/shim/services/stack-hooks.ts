/**
 * What the callout services need from the stack that runs beside the shim: a way to run work after the
 * current classification (the Fwps*Async functions and completions never act inside classifyFn), and the
 * entry points where injected packets and stream data re-enter, where a pended operation resumes, where a
 * deferred stream continues. The host implements it (src/stack/services.ts) and attaches it with
 * `shim.attachStack(hooks)`. Sections are owned by the service that needs them.
 */
export interface StackHooks {
  /** Runs `fn` at the current simulated instant, after the event that is running now. */
  defer(fn: () => void): void;
}
