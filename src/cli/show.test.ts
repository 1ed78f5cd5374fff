/**
 * H47 / H50 — netsh outputs of `openwfp show`: the traffic selection of `netsh wfp show filters`
 * (`protocol= localaddr= remoteaddr= localport= remoteport= appid= userid= dir=`, as --protocol …) and the
 * netevents.xml format of `netsh wfp show netevents` (`show netevents --xml`).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Ipv4Address, Ipv6Address, ManualClock } from "../base/index.ts";
import { ADMINISTRATOR, Bfe, netEventFromClassify, parseXmlForest, type XmlElement } from "../bfe/index.ts";
import {
  appIdFromFileName,
  findCondition,
  FWPM_SUBLAYER,
  type FwpValue,
  fwpUint8,
  fwpUint16,
  getLayer,
  LAYERS,
  parseSid,
  securityDescriptorFromSddl,
} from "../fwp/index.ts";
import { type Host, openHost } from "../host/index.ts";
import { type FilterRecord, type ShowOptions, showText } from "./show.ts";

const KEPLOY = new URL("../../fixtures/wfp-state/keploy__wfpstate.xml", import.meta.url).pathname;
const REMOTE_PORT = findCondition("FWPM_CONDITION_IP_REMOTE_PORT")?.key as string;

let keploy: Host;
before(async () => {
  keploy = await openHost({ state: KEPLOY });
});
after(() => keploy.close());

const filters = (session: Host["session"], options: ShowOptions): FilterRecord[] =>
  JSON.parse(showText("filters", session, { ...options, json: true }, "test")) as FilterRecord[];

const carries = (layerName: string, fieldKey: string): boolean =>
  LAYERS.find((l) => l.fwpmName === layerName)?.fields.some((f) => f.conditionKey === fieldKey) === true;

/** Whether the printed remote-port conditions of a record admit `port` (EQUAL n or RANGE a-b; OR-ed, A3). */
function admitsPort(r: FilterRecord, port: number): boolean {
  const conds = r.conditions.filter((c) => c.fieldKey === REMOTE_PORT);
  if (conds.length === 0) return true;
  return conds.some((c) => {
    if (c.match === "FWP_MATCH_EQUAL") return Number(c.value) === port;
    if (c.match === "FWP_MATCH_RANGE") {
      const [lo, hi] = c.value.split("-").map(Number) as [number, number];
      return lo <= port && port <= hi;
    }
    throw new Error(`unexpected remote-port match ${c.match} in filter ${r.id}`);
  });
}

describe("H47: show filters with netsh's traffic selection", () => {
  test("H47: --remote-port 445 on the keploy dump shows exactly the filters at remote-port layers whose conditions admit 445 or have none", () => {
    const all = filters(keploy.session, {});
    const expected = all.filter((r) => carries(r.layer, REMOTE_PORT) && admitsPort(r, 445)).map((r) => r.id);
    const shown = filters(keploy.session, { remotePort: "445" }).map((r) => r.id);
    assert.deepEqual(shown, expected);
    assert.ok(shown.length > 100 && shown.length < all.length);
    // 117023 allows remote ports 1-65535: shown; 116991 allows 1024-65535 only: not shown.
    assert.ok(shown.includes("117023"));
    assert.ok(!shown.includes("116991"));
    // A filter on remote port 80 is out, and so is every filter at a layer without a remote port (IP packet).
    const port80 = all.find((r) => r.conditions.some((c) => c.fieldKey === REMOTE_PORT && c.value === "80"));
    assert.ok(port80 !== undefined && !shown.includes(port80.id));
    assert.ok(!filters(keploy.session, { remotePort: "445" }).some((r) => r.layer.includes("IPPACKET")));
    // The same filters the FWP_FILTER_ENUM_OVERLAPPING template with the one condition selects (H24).
    const overlapping = LAYERS.filter((l) => l.key !== null && l.fields.some((f) => f.conditionKey === REMOTE_PORT))
      .flatMap((layer) =>
        keploy.session.enumFilters({
          layer,
          flags: 0x2 | 0x8 | 0x10,
          conditions: [{ fieldKey: REMOTE_PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(445) }],
        }),
      )
      .map((f) => f.filterId.toString());
    assert.deepEqual(new Set(shown), new Set(overlapping));
  });

  test("H47: options AND together; --protocol takes names; --dir in|out drops the other direction's layers", () => {
    const tcp = filters(keploy.session, { protocol: "tcp" });
    const tcp445 = filters(keploy.session, { protocol: "tcp", remotePort: "445" });
    const only445 = new Set(filters(keploy.session, { remotePort: "445" }).map((r) => r.id));
    const tcpIds = new Set(tcp.map((r) => r.id));
    assert.deepEqual(
      tcp445.map((r) => r.id),
      [...only445].filter((id) => tcpIds.has(id)),
    );
    // A UDP-only filter is not shown for TCP; one for TCP or UDP (69617: protocol 6 OR 17) is.
    const protocols = (r: FilterRecord): string[] =>
      r.conditions.filter((c) => c.field === "FWPM_CONDITION_IP_PROTOCOL").map((c) => c.value);
    assert.ok(!tcp.some((r) => protocols(r).length > 0 && protocols(r).every((p) => p === "17")));
    assert.ok(
      filters(keploy.session, {}).some((r) => protocols(r).length > 0 && protocols(r).every((p) => p === "17")),
    );
    assert.ok(tcpIds.has("69617"));
    const out = filters(keploy.session, { dir: "out" });
    const inbound = filters(keploy.session, { dir: "in" });
    assert.ok(out.some((r) => r.layer === "FWPM_LAYER_ALE_AUTH_CONNECT_V4"));
    assert.ok(!out.some((r) => r.layer === "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4"));
    assert.ok(inbound.some((r) => r.layer === "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4"));
    assert.ok(!inbound.some((r) => r.layer === "FWPM_LAYER_ALE_AUTH_CONNECT_V4"));
  });

  test("H47: an IPv4 address selects the IPv4 layers, an IPv6 one the IPv6 layers; a bad value is an error naming the option", () => {
    const v4 = filters(keploy.session, { remoteAddr: "10.0.0.1" });
    const v6 = filters(keploy.session, { remoteAddr: "2001:db8::1" });
    assert.ok(v4.length > 0 && v4.every((r) => getLayer(r.layer).ipVersion === "V4"));
    assert.ok(v6.length > 0 && v6.every((r) => getLayer(r.layer).ipVersion === "V6"));
    assert.throws(() => filters(keploy.session, { remotePort: "70000" }), /--remote-port/);
    assert.throws(() => filters(keploy.session, { remoteAddr: "not-an-address" }), /--remote-addr/);
    assert.throws(() => filters(keploy.session, { dir: "sideways" }), /--dir/);
    assert.throws(() => showText("state", keploy.session, { remotePort: "1" }, "test"), /show filters/);
  });

  test("H47: --app and --user match app ids and ALE_USER_ID security descriptors as a packet of that app and user would", async () => {
    const clock = new ManualClock(1_704_067_200_000_000_000n);
    const bfe = Bfe.open({ clock });
    const s = bfe.openSession(ADMINISTRATOR);
    const layer = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
    const app = (name: string, path: string) =>
      s.addFilter({
        name,
        layer,
        action: { type: "FWP_ACTION_BLOCK" },
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_ALE_APP_ID",
            matchType: "FWP_MATCH_EQUAL",
            conditionValue: { type: "FWP_BYTE_BLOB_TYPE", value: appIdFromFileName(path) },
          },
        ],
      });
    app("x", "C:\\Tools\\x.exe");
    app("y", "C:\\Tools\\y.exe");
    s.addFilter({
      name: "system only",
      layer,
      action: { type: "FWP_ACTION_PERMIT" },
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_ALE_USER_ID",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: {
            type: "FWP_SECURITY_DESCRIPTOR_TYPE",
            value: securityDescriptorFromSddl("O:SYD:(A;;CC;;;S-1-5-18)"),
          },
        },
      ],
    });
    s.addFilter({ name: "anything", layer, action: { type: "FWP_ACTION_BLOCK" } });
    const names = (o: ShowOptions): string[] =>
      filters(s, o)
        .map((r) => r.name)
        .sort();
    // No condition on the field: shown whatever the value.
    assert.deepEqual(names({ app: "C:\\Tools\\x.exe" }), ["anything", "system only", "x"]);
    assert.deepEqual(names({ app: "c:\\tools\\Y.EXE" }), ["anything", "system only", "y"]);
    assert.deepEqual(names({ user: "S-1-5-18" }), ["anything", "system only", "x", "y"]);
    assert.deepEqual(names({ user: "S-1-5-21-1-2-3-1001" }), ["anything", "x", "y"]);
    assert.deepEqual(names({ user: "S-1-5-21-1-2-3-1001", app: "C:\\Tools\\x.exe" }), ["anything", "x"]);
    bfe.close();
  });
});

// ---------------------------------------------------------------------------------------------
// H50: netevents.xml
// ---------------------------------------------------------------------------------------------

const childNames = (e: XmlElement): string[] => e.children.map((c) => c.name);
function child(e: XmlElement, name: string): XmlElement {
  const c = e.children.find((x) => x.name === name);
  assert.ok(c !== undefined, `<${e.name}> has no <${name}>`);
  return c;
}
const text = (e: XmlElement, name: string): string => child(e, name).text;

describe("H50: show netevents --xml prints netsh's netevents.xml", () => {
  test("H50/H35/H36: a CLASSIFY_DROP and a CLASSIFY_ALLOW, element by element", async () => {
    const clock = new ManualClock(1_700_000_000_123_000_000n);
    const bfe = Bfe.open({ clock });
    bfe.netEvents.keywords = 0x10; // CLASSIFY_ALLOW (H32)
    const s = bfe.openSession(ADMINISTRATOR);
    const hi = s.addSublayer({ subLayerKey: "0badc0de-0000-4000-8000-0000000000a1", name: "hi", weight: 0xfff0 });
    const block = s.addFilter({
      name: "block 445",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      sublayer: hi.subLayerKey,
      action: { type: "FWP_ACTION_BLOCK" },
      conditions: [
        { fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(445) },
      ],
    });
    const permit = s.addFilter({
      name: "permit all",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      sublayer: FWPM_SUBLAYER.FWPM_SUBLAYER_UNIVERSAL,
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const permit6 = s.addFilter({
      name: "permit v6",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V6",
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const classify = (layerName: string, values: Record<string, FwpValue>) => {
      const layer = getLayer(layerName);
      const incomingValues: FwpValue[] = layer.fields.map(() => ({ type: "FWP_EMPTY" }) as FwpValue);
      for (const [name, v] of Object.entries(values)) {
        const key = findCondition(name)?.key;
        const f = layer.fields.find((x) => x.conditionKey === key);
        assert.ok(f !== undefined);
        incomingValues[f.index] = v;
      }
      return bfe.engine.classify({ layer, incomingValues, trace: true });
    };
    const app = appIdFromFileName("C:\\Windows\\System32\\svchost.exe");
    const drop = netEventFromClassify(
      classify("FWPM_LAYER_ALE_AUTH_CONNECT_V4", { FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(445) }),
      {
        direction: "outbound",
        ipProtocol: 6,
        localAddr: Ipv4Address.parse("10.0.0.1"),
        remoteAddr: Ipv4Address.parse("10.1.2.3"),
        localPort: 50000,
        remotePort: 445,
        appId: app,
        userId: parseSid("S-1-5-19"),
      },
      clock.nowNs(),
    );
    assert.ok(drop !== null);
    bfe.netEvents.record(drop);
    const allow = netEventFromClassify(
      classify("FWPM_LAYER_ALE_AUTH_CONNECT_V6", { FWPM_CONDITION_IP_PROTOCOL: fwpUint8(17) }),
      {
        direction: "outbound",
        ipProtocol: 17,
        localAddr: Ipv6Address.parse("2001:db8::1"),
        remoteAddr: Ipv6Address.parse("2001:db8::53"),
        localPort: 60000,
        remotePort: 53,
      },
      clock.nowNs(),
    );
    assert.ok(allow !== null);
    bfe.netEvents.record(allow);

    const xml = showText("netevents", s, { xml: true }, "test");
    assert.ok(
      xml.startsWith(
        '\ufeff<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<netEvents numItems="2">\r\n\t<item>',
      ),
    );
    const forest = parseXmlForest(xml);
    assert.equal(forest.elements.length, 1);
    const root = forest.elements[0] as XmlElement;
    assert.equal(root.name, "netEvents");
    assert.deepEqual(root.attributes, { numItems: "2" });
    assert.deepEqual(childNames(root), ["item", "item"]);
    const [d, a] = root.children as [XmlElement, XmlElement];

    // The drop.
    assert.deepEqual(childNames(d), ["header", "type", "classifyDrop", "internalFields"]);
    const h = child(d, "header");
    assert.deepEqual(childNames(h), [
      "timeStamp",
      "flags",
      "ipVersion",
      "ipProtocol",
      "localAddrV4",
      "remoteAddrV4",
      "localPort",
      "remotePort",
      "scopeId",
      "appId",
      "userId",
      "addressFamily",
      "packageSid",
      "enterpriseId",
      "policyFlags",
      "effectiveName",
    ]);
    assert.equal(text(h, "timeStamp"), "2023-11-14T22:13:20.123Z");
    assert.deepEqual(child(h, "flags").attributes, { numItems: "8" });
    assert.deepEqual(
      child(h, "flags").children.map((c) => c.text),
      [
        "FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET",
        "FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET",
        "FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET",
        "FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET",
        "FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET",
        "FWPM_NET_EVENT_FLAG_APP_ID_SET",
        "FWPM_NET_EVENT_FLAG_USER_ID_SET",
        "FWPM_NET_EVENT_FLAG_IP_VERSION_SET",
      ],
    );
    assert.equal(text(h, "ipVersion"), "FWP_IP_VERSION_V4");
    assert.equal(text(h, "ipProtocol"), "6");
    assert.equal(text(h, "localAddrV4"), "10.0.0.1");
    assert.equal(text(h, "remoteAddrV4"), "10.1.2.3");
    assert.equal(text(h, "localPort"), "50000");
    assert.equal(text(h, "remotePort"), "445");
    assert.equal(text(h, "scopeId"), "0");
    const appId = child(h, "appId");
    assert.deepEqual(childNames(appId), ["data", "asString"]);
    assert.equal(text(appId, "data"), Buffer.from(app).toString("hex"));
    // asString: each byte as ASCII or "." — UTF-16 text reads as `\.d.e.v.i.c.e.…` (as netsh prints it).
    assert.match(text(appId, "asString"), /^\\\.d\.e\.v\.i\.c\.e\.\\\..*s\.v\.c\.h\.o\.s\.t\.\.\.e\.x\.e\.\.\.$/);
    assert.equal(text(h, "userId"), "S-1-5-19");
    assert.equal(text(h, "addressFamily"), "FWP_AF_INET");
    assert.equal(text(h, "packageSid"), "");
    assert.equal(text(h, "enterpriseId"), "");
    assert.equal(text(h, "policyFlags"), "0");
    assert.equal(text(h, "effectiveName"), "");
    assert.equal(text(d, "type"), "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP");
    const cd = child(d, "classifyDrop");
    assert.deepEqual(childNames(cd), [
      "filterId",
      "layerId",
      "reauthReason",
      "originalProfile",
      "currentProfile",
      "msFwpDirection",
      "isLoopback",
      "vSwitchId",
      "vSwitchSourcePort",
      "vSwitchDestinationPort",
    ]);
    assert.equal(text(cd, "filterId"), block.filterId.toString());
    assert.equal(text(cd, "layerId"), "48");
    assert.equal(text(cd, "msFwpDirection"), "MS_FWP_DIRECTION_OUT");
    assert.equal(text(cd, "isLoopback"), "false");
    assert.equal(text(cd, "vSwitchId"), "");
    const internal = child(d, "internalFields");
    assert.deepEqual(childNames(internal), [
      "internalFlags",
      "remoteAddrBitmap",
      "capabilities",
      "fqbnVersion",
      "fqbnName",
      "terminatingFiltersInfo",
    ]);
    assert.equal(text(internal, "remoteAddrBitmap"), "0000000000000000");
    // H36: the higher sublayer's BLOCK first, the lower sublayer's PERMIT after it.
    const tfi = child(internal, "terminatingFiltersInfo");
    assert.deepEqual(tfi.attributes, { numItems: "2" });
    assert.deepEqual(
      tfi.children.map((i) => [childNames(i), text(i, "filterId"), text(i, "subLayer"), text(i, "actionType")]),
      [
        [["filterId", "subLayer", "actionType"], block.filterId.toString(), `{${hi.subLayerKey}}`, "FWP_ACTION_BLOCK"],
        [
          ["filterId", "subLayer", "actionType"],
          permit.filterId.toString(),
          "FWPM_SUBLAYER_UNIVERSAL",
          "FWP_ACTION_PERMIT",
        ],
      ],
    );

    // The allow (IPv6).
    assert.deepEqual(childNames(a), ["header", "type", "classifyAllow", "internalFields"]);
    const h6 = child(a, "header");
    assert.equal(text(h6, "ipVersion"), "FWP_IP_VERSION_V6");
    assert.equal(text(h6, "localAddrV6.byteArray16"), "2001:db8::1");
    assert.equal(text(h6, "remoteAddrV6.byteArray16"), "2001:db8::53");
    assert.ok(!childNames(h6).includes("localAddrV4"));
    assert.equal(text(h6, "addressFamily"), "FWP_AF_INET6");
    assert.equal(child(h6, "appId").children.length, 0, "no app id: an empty <appId/>");
    assert.equal(text(a, "type"), "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW");
    const ca = child(a, "classifyAllow");
    assert.deepEqual(childNames(ca), ["filterId", "layerId", "reauthReason", "originalProfile", "currentProfile"]);
    assert.equal(text(ca, "filterId"), permit6.filterId.toString());
    assert.equal(text(ca, "layerId"), "50");
    bfe.close();
  });

  test("H50: no events print an empty <netEvents/>; --xml is for netevents only and excludes --json", () => {
    const xml = showText("netevents", keploy.session, { xml: true }, "test");
    assert.equal(xml, '\ufeff<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<netEvents/>\r\n');
    assert.throws(() => showText("filters", keploy.session, { xml: true }, "test"), /--xml is for show netevents/);
    assert.throws(() => showText("netevents", keploy.session, { xml: true, json: true }, "test"), /exclude/);
  });
});
