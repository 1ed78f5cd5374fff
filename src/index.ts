/**
 * openwfp: the Windows Filtering Platform in TypeScript. Each part is also its own entry point
 * (`openwfp/wire`, `openwfp/engine`, ...); this one gathers them as namespaces.
 *
 * @example
 * ```ts
 * import { engine, shim, stack } from "openwfp";
 * const e = engine.loadPolicyDocument(policyText).engine;
 * ```
 */
export * as base from "./base/index.ts";
export * as bfe from "./bfe/index.ts";
export * as capture from "./capture/index.ts";
export * as engine from "./engine/index.ts";
export * as fwp from "./fwp/index.ts";
export * as shim from "./shim/index.ts";
export * as stack from "./stack/index.ts";
export * as wire from "./wire/index.ts";
