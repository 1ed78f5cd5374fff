/**
 * A transparent proxy by connect redirection — the design of the seed article (信易达, "Windows7以上使用WFP驱动框架
 * 实现IP数据包截取(一)", ../../shared/seeds): "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4 is very useful for a proxy:
 * in its hook set the destination to the proxy server, so every request goes to the proxy; the proxy must
 * then learn where the connection was really going". The article proposes a SOCKS5-like header written at
 * the STREAM layer before the first data (and notes it fails for protocols where the server speaks first).
 * Windows 8 gave the supported way, used here (wfp-semantics.md D26–D29, "Using Bind or Connect
 * Redirection"):
 *
 * - `ConnectRedirectCallout` at ALE_CONNECT_REDIRECT_V4: for outbound TCP to the chosen ports it asks
 *   FwpsQueryConnectionRedirectState0 whether it already redirected this connection; if not, it acquires
 *   a classify handle and the writable FWPS_CONNECT_REQUEST0, points `remoteAddressAndPort` at the local
 *   proxy, sets `localRedirectTargetPID` (the proxy's PID), `localRedirectHandle` (its redirect handle) and
 *   `localRedirectContext` (the original destination: WFP keeps it with the connection), applies, permits,
 *   releases.
 * - `TransparentProxy`, an app on the same host: for each accepted connection it reads the original
 *   destination (SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT) and the redirect records
 *   (SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS), opens its outbound socket with those records
 *   (SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS) and relays both ways. The outbound connection reaches
 *   CONNECT_REDIRECT flagged IS_PROXY_CONNECTION with the records; the callout sees REDIRECTED_BY_SELF and
 *   leaves it alone — the loop protection. Without the records it would redirect the proxy to itself.
 */
import type { IpAddress } from "../../src/base/index.ts";
import { type CalloutClassifyFn, type FilterEngine, RIGHT_ACTION_WRITE } from "../../src/engine/index.ts";
import { FWPS_CONNECTION_REDIRECT_STATE, fieldIndex } from "../../src/fwp/index.ts";
import type {
  ConnectRequest,
  Fwps,
  RedirectHandle,
  RedirectRecords,
  ShimMetadata,
  SocketAddress,
} from "../../src/shim/index.ts";
import type { Host, Process, TcpSocket } from "../../src/stack/index.ts";

const LAYER = "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4";
const KEYS = {
  provider: "3d1c0000-7a0e-4b1f-8000-0000000000b1",
  callout: "3d1c0000-7a0e-4b1f-8000-0000000000b2",
} as const;
const STATE = FWPS_CONNECTION_REDIRECT_STATE;

export interface ConnectRedirectOptions {
  /** Where the proxy listens (on this host). */
  readonly proxy: SocketAddress;
  /** The proxy process (localRedirectTargetPID). */
  readonly proxyPid: number;
  /** Remote ports whose connections go through the proxy (default [80]). */
  readonly ports?: readonly number[];
  /** Skip FwpsQueryConnectionRedirectState0 (to show the loop it prevents). Default false. */
  readonly ignoreRedirectState?: boolean;
}

/** What the callout did with one connection. */
export interface RedirectDecision {
  readonly to: string;
  /** FWPS_CONNECTION_REDIRECT_STATE the query gave. */
  readonly state: number;
  readonly action: "redirected" | "left alone" | "not ours";
  readonly status?: string;
}

export class ConnectRedirectCallout {
  readonly decisions: RedirectDecision[] = [];
  readonly redirectHandle: RedirectHandle;
  readonly filterId: bigint;

  constructor(
    readonly engine: FilterEngine,
    readonly fwps: Fwps,
    readonly options: ConnectRedirectOptions,
  ) {
    const created = fwps.redirectHandleCreate(KEYS.provider);
    if (created.redirectHandle === undefined) throw new Error(`FwpsRedirectHandleCreate0: ${created.status}`);
    this.redirectHandle = created.redirectHandle;
    const ports = new Set(options.ports ?? [80]);
    const portIndex = fieldIndex(LAYER, "FWPM_CONDITION_IP_REMOTE_PORT") ?? -1;
    const protocolIndex = fieldIndex(LAYER, "FWPM_CONDITION_IP_PROTOCOL") ?? -1;
    const classifyFn: CalloutClassifyFn = (values, metaIn, layerData, classifyContext, filter, _flow, out) => {
      if ((out.rights & RIGHT_ACTION_WRITE) === 0) return;
      const request = layerData as ConnectRequest;
      const to = `${request.remoteAddressAndPort.address}:${request.remoteAddressAndPort.port}`;
      const port = values.incomingValues[portIndex];
      const protocol = values.incomingValues[protocolIndex];
      if (
        protocol?.type !== "FWP_UINT8" ||
        protocol.value !== 6 ||
        port?.type !== "FWP_UINT16" ||
        !ports.has(port.value)
      ) {
        this.decisions.push({ to, state: STATE.FWPS_CONNECTION_NOT_REDIRECTED, action: "not ours" });
        out.actionType = "FWP_ACTION_CONTINUE";
        return;
      }
      const meta = metaIn as unknown as ShimMetadata;
      const state = fwps.queryConnectionRedirectState(meta.redirectRecords, this.redirectHandle).state;
      const mine =
        state === STATE.FWPS_CONNECTION_REDIRECTED_BY_SELF ||
        state === STATE.FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF;
      if (mine && options.ignoreRedirectState !== true) {
        this.decisions.push({ to, state, action: "left alone" });
        out.actionType = "FWP_ACTION_CONTINUE";
        return;
      }
      const handle = fwps.acquireClassifyHandle(classifyContext);
      if (handle.classifyHandle === undefined) return;
      const writable = fwps.acquireWritableLayerDataPointer(handle.classifyHandle, filter.filterId, 0, out);
      const w = writable.writableLayerData;
      if (w?.kind === "connect-request") {
        w.localRedirectContext = { address: w.remoteAddressAndPort.address, port: w.remoteAddressAndPort.port };
        w.remoteAddressAndPort = options.proxy;
        w.localRedirectTargetPID = options.proxyPid;
        w.localRedirectHandle = this.redirectHandle;
      }
      const status = fwps.applyModifiedLayerData(handle.classifyHandle, w, 0);
      this.decisions.push({ to, state, action: "redirected", status });
      out.actionType = "FWP_ACTION_PERMIT";
      fwps.releaseClassifyHandle(handle.classifyHandle);
    };
    engine.addProvider({ providerKey: KEYS.provider, name: "transparent proxy" });
    engine.registerCallout({ calloutKey: KEYS.callout, classifyFn });
    engine.addCallout({
      calloutKey: KEYS.callout,
      name: "transparent proxy connect redirect",
      applicableLayer: LAYER,
      providerKey: KEYS.provider,
    });
    this.filterId = engine.addFilter({
      name: "redirect to the transparent proxy",
      layer: LAYER,
      providerKey: KEYS.provider,
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_IP_PROTOCOL",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_UINT8", value: 6 },
        },
      ],
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: KEYS.callout },
    }).filterId;
  }
}

/** One connection the proxy relays. */
export interface Relay {
  /** Where the app was going (the redirect context). */
  readonly original: SocketAddress;
  readonly inbound: TcpSocket;
  outbound: TcpSocket | undefined;
  /** Bytes relayed app → server and server → app. */
  up: number;
  down: number;
}

export interface TransparentProxyOptions {
  /** Set the redirect records on the outbound socket (the loop protection). Default true. */
  readonly setRedirectRecords?: boolean;
  /** Relays accepted at most (a guard for the loop the records prevent). Default 16. */
  readonly maxRelays?: number;
}

/** The proxy service: listens on `port` and relays every accepted connection to its original destination. */
export class TransparentProxy {
  readonly relays: Relay[] = [];
  readonly listener: TcpSocket;

  constructor(
    readonly host: Host,
    readonly process: Process,
    port: number,
    address: IpAddress,
    readonly options: TransparentProxyOptions = {},
  ) {
    const l = host.tcp.socket(process);
    l.onAccept = (s) => this.#accept(s);
    l.bind(address, port);
    l.listen();
    this.listener = l;
  }

  #accept(inbound: TcpSocket): void {
    if (this.relays.length >= (this.options.maxRelays ?? 16)) {
      inbound.abort();
      return;
    }
    // SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT / _RECORDS on the accepted socket.
    const original = inbound.queryRedirectContext() as SocketAddress;
    const records: RedirectRecords = inbound.queryRedirectRecords();
    const relay: Relay = { original, inbound, outbound: undefined, up: 0, down: 0 };
    this.relays.push(relay);
    const out = this.host.tcp.socket(this.process);
    relay.outbound = out;
    if (this.options.setRedirectRecords !== false) out.setRedirectRecords(records);
    const early: Uint8Array[] = [];
    let connected = false;
    inbound.onData = (b) => {
      relay.up += b.length;
      if (connected) out.send(b);
      else early.push(b);
    };
    inbound.onEnd = () => {
      if (connected) out.shutdown();
      else early.push(new Uint8Array(0));
    };
    out.onConnect = () => {
      connected = true;
      for (const b of early.splice(0)) {
        if (b.length === 0) out.shutdown();
        else out.send(b);
      }
    };
    out.onData = (b) => {
      relay.down += b.length;
      inbound.send(b);
    };
    out.onEnd = () => {
      inbound.close();
      out.close();
    };
    out.onClose = () => {
      if (!inbound.closed) inbound.close();
    };
    out.connect(original.address, original.port);
  }
}
