/**
 * The blocking sample of "Windows 内核编程" that the seed articles point to (github.com/minglinchen/WinKernelDev,
 * WfpSample/WfpSample), ported to TypeScript. Its DriverEntry opens an engine session and registers one
 * callout at ALE_FLOW_ESTABLISHED_V4, adds its own sublayer (weight 65535) and one filter there —
 * IP_REMOTE_ADDRESS EQUAL 0.0.0.0/0 (every IPv4 flow), FWP_ACTION_CALLOUT_TERMINATING — and answers a
 * device I/O control (IOCTL_WFP_SAMPLE_ADD_RULE) that appends a rule to a list. Its classifyFn:
 * - returns at once without FWPS_RIGHT_ACTION_WRITE;
 * - reads direction, local and remote port, local and remote address, protocol from the incoming values;
 * - answers PERMIT by default and BLOCK when the remote port is one of the rules' (IsHitRule);
 * - clears the write right when the filter has FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT.
 * notifyFn and flowDeleteFn do nothing. The sample's own comment says it only shows the API: a simple rule
 * like this is better an ordinary filter. Blocking at ALE_FLOW_ESTABLISHED ends the flow (the stack resets
 * a TCP connection, drops a UDP flow) — see docs/callouts.md.
 *
 * The default export makes the sample a scenario callout module (docs/scenarios.md): it blocks remote
 * port 8080 on the hosts the scenario names.
 */
import {
  type CalloutClassifyFn,
  type FilterEngine,
  type InFixedValues,
  RIGHT_ACTION_WRITE,
} from "../../src/engine/index.ts";
import { FWPM_FILTER_FLAG, type FwpValue, fieldIndex } from "../../src/fwp/index.ts";
import type { Fwps } from "../../src/shim/index.ts";

const LAYER = "FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4";

/** The sample's GUIDs (WfpSample.h names them; these are this port's). */
const KEYS = {
  callout: "8ad25f2d-3f5a-4c3c-9b1e-1b5a0c7e0001",
  sublayer: "8ad25f2d-3f5a-4c3c-9b1e-1b5a0c7e0002",
} as const;

/** ST_WFP_NETINFO: what IOCTL_WFP_SAMPLE_ADD_RULE carries. The sample matches the remote port only. */
export interface NetRule {
  readonly remotePort: number;
  readonly srcPort?: number;
  readonly srcIpAddr?: number;
  readonly remoteIpAddr?: number;
  readonly networkType?: number;
  readonly direction?: number;
}

/** A flow the callout classified, with what it read and answered (the sample keeps no such log). */
export interface SeenFlow {
  readonly direction: number;
  readonly localPort: number;
  readonly remotePort: number;
  readonly localAddress: number;
  readonly remoteAddress: number;
  readonly protocol: number;
  readonly action: "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK";
}

function value(values: InFixedValues, condition: string): number {
  const i = fieldIndex(LAYER, condition);
  const v: FwpValue | undefined = i === undefined ? undefined : values.incomingValues[i];
  return v !== undefined && "value" in v && typeof v.value === "number" ? v.value : 0;
}

/** The driver: DriverEntry's InitWfp in the constructor, UninitWfp in `unload`. */
export class WfpSample {
  /** g_WfpRuleList. */
  readonly rules: NetRule[] = [];
  readonly seen: SeenFlow[] = [];
  readonly calloutId: number;
  readonly filterId: bigint;

  constructor(readonly engine: FilterEngine) {
    const classifyFn: CalloutClassifyFn = (values, _meta, _layerData, _ctx, filter, _flowContext, classifyOut) => {
      if ((classifyOut.rights & RIGHT_ACTION_WRITE) === 0) return;
      const direction = value(values, "FWPM_CONDITION_DIRECTION");
      const localPort = value(values, "FWPM_CONDITION_IP_LOCAL_PORT");
      const remotePort = value(values, "FWPM_CONDITION_IP_REMOTE_PORT");
      const localAddress = value(values, "FWPM_CONDITION_IP_LOCAL_ADDRESS");
      const remoteAddress = value(values, "FWPM_CONDITION_IP_REMOTE_ADDRESS");
      const protocol = value(values, "FWPM_CONDITION_IP_PROTOCOL");
      classifyOut.actionType = "FWP_ACTION_PERMIT";
      if (this.isHitRule(remotePort)) classifyOut.actionType = "FWP_ACTION_BLOCK";
      if ((filter.flags & FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0) {
        classifyOut.rights &= ~RIGHT_ACTION_WRITE;
      }
      this.seen.push({
        direction,
        localPort,
        remotePort,
        localAddress,
        remoteAddress,
        protocol,
        action: classifyOut.actionType,
      });
    };
    // WfpRegisterCallouts: classifyFn, an empty notifyFn and flowDeleteFn, flags 0.
    engine.registerCallout({ calloutKey: KEYS.callout, classifyFn, notifyFn: () => true, flowDeleteFn: () => {} });
    // WfpAddCallouts.
    this.calloutId = engine.addCallout({
      calloutKey: KEYS.callout,
      name: "WfpSample Established Callout",
      applicableLayer: LAYER,
    }).calloutId;
    // WfpAddSubLayer.
    engine.addSublayer({ subLayerKey: KEYS.sublayer, name: "WfpSample SubLayer", weight: 65535 });
    // WfpAddFilters: every IPv4 remote address, weight FWP_EMPTY, CALLOUT_TERMINATING.
    this.filterId = engine.addFilter({
      name: "WfpSample Established Filter",
      layer: LAYER,
      sublayer: KEYS.sublayer,
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_IP_REMOTE_ADDRESS",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_V4_ADDR_MASK", addr: 0, mask: 0 },
        },
      ],
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: KEYS.callout },
    }).filterId;
  }

  /** IOCTL_WFP_SAMPLE_ADD_RULE (AddNetRuleInfo): false for a malformed rule. */
  addRule(rule: NetRule): boolean {
    if (!Number.isInteger(rule.remotePort) || rule.remotePort < 0 || rule.remotePort > 0xffff) return false;
    this.rules.unshift(rule);
    return true;
  }

  /** IsHitRule: the remote port is one of the rules'. */
  isHitRule(remotePort: number): boolean {
    return this.rules.some((r) => r.remotePort === remotePort);
  }

  /** DriverUnload → UninitWfp: filters, sublayer, callout, registration. */
  unload(): void {
    this.engine.deleteFilter(this.filterId);
    this.engine.deleteSublayer(KEYS.sublayer);
    this.engine.deleteCallout(KEYS.callout);
    this.engine.unregisterCallout(KEYS.callout);
  }
}

/** Per host, the sample a scenario loaded (the test reads it). */
export const samples = new Map<string, WfpSample>();

/** Scenario callout module: the sample with one rule, remote port 8080. */
export default function register(engine: FilterEngine, context: { readonly host: string; readonly fwps?: Fwps }): void {
  const sample = new WfpSample(engine);
  sample.addRule({ remotePort: 8080 });
  samples.set(context.host, sample);
}
