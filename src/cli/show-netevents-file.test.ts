/**
 * `show netevents --file`: net events Windows wrote (H48, H50) — netsh's netevents.xml, bare `<netEvent>`
 * elements in the layout Microsoft's troubleshooting pages show, a capture's wfpdiag.xml — read into the
 * records `show netevents --json` prints, their filters named from the BFE (a real dump's filter ids).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ipv4Address, Ipv6Address, ManualClock } from "../base/index.ts";
import { ADMINISTRATOR, Bfe, netEventFromClassify, parseNetEventsXml } from "../bfe/index.ts";
import {
  appIdFromFileName,
  findCondition,
  type FwpValue,
  fwpUint8,
  fwpUint16,
  getLayer,
  parseSid,
} from "../fwp/index.ts";
import { type Host, openHost } from "../host/index.ts";
import { type NetEventRecord, showText } from "./show.ts";

const KEPLOY = new URL("../../fixtures/wfp-state/keploy__wfpstate.xml", import.meta.url).pathname;
const LE_VOILE = new URL("../../fixtures/wfp-state/le_voile__filters.xml", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "openwfp-netevents-"));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

let keploy: Host;
before(async () => {
  keploy = await openHost({ state: KEPLOY });
});
after(() => {
  keploy.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A BFE that has recorded drops and allows of several kinds, v4 and v6, in and out, with an app and a user. */
function bfeWithEvents(): Bfe {
  const clock = new ManualClock(1_700_000_000_123_000_000n);
  const bfe = Bfe.open({ clock });
  bfe.netEvents.keywords = 0x10; // CLASSIFY_ALLOW as well (H32)
  const s = bfe.openSession(ADMINISTRATOR);
  const hi = s.addSublayer({ subLayerKey: "0badc0de-0000-4000-8000-0000000000a1", name: "hi", weight: 0xfff0 });
  for (const layer of ["FWPM_LAYER_ALE_AUTH_CONNECT_V4", "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6"]) {
    s.addFilter({
      name: `block 445 at ${layer}`,
      layer,
      sublayer: hi.subLayerKey,
      action: { type: "FWP_ACTION_BLOCK" },
      conditions: [
        { fieldKey: "FWPM_CONDITION_IP_LOCAL_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(445) },
      ],
    });
    s.addFilter({
      name: `block 445 remote at ${layer}`,
      layer,
      sublayer: hi.subLayerKey,
      action: { type: "FWP_ACTION_BLOCK" },
      conditions: [
        { fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(445) },
      ],
    });
    s.addFilter({ name: `permit all at ${layer}`, layer, action: { type: "FWP_ACTION_PERMIT" } });
  }
  const classify = (layerName: string, values: Record<string, FwpValue>) => {
    const layer = getLayer(layerName);
    const incomingValues: FwpValue[] = layer.fields.map(() => ({ type: "FWP_EMPTY" }) as FwpValue);
    for (const [name, v] of Object.entries(values)) {
      const f = layer.fields.find((x) => x.conditionKey === findCondition(name)?.key);
      if (f !== undefined) incomingValues[f.index] = v;
    }
    return bfe.engine.classify({ layer, incomingValues, trace: true });
  };
  const app = appIdFromFileName("C:\\Program Files\\Tool\\tool.exe");
  const cases = [
    { layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", dir: "outbound", l: "10.0.0.1", r: "10.1.2.3", lp: 50000, rp: 445 },
    { layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", dir: "outbound", l: "10.0.0.1", r: "10.1.2.4", lp: 50001, rp: 443 },
    {
      layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6",
      dir: "inbound",
      l: "2001:db8::1",
      r: "2001:db8::99",
      lp: 445,
      rp: 6000,
    },
    {
      layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6",
      dir: "inbound",
      l: "2001:db8::1",
      r: "2001:db8::98",
      lp: 80,
      rp: 6001,
    },
  ] as const;
  for (const [i, c] of cases.entries()) {
    const v6 = c.l.includes(":");
    const r = classify(c.layer, {
      FWPM_CONDITION_IP_LOCAL_PORT: fwpUint16(c.lp),
      FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(c.rp),
      FWPM_CONDITION_IP_PROTOCOL: fwpUint8(6),
    });
    const e = netEventFromClassify(
      r,
      {
        direction: c.dir,
        ipProtocol: 6,
        localAddr: v6 ? Ipv6Address.parse(c.l) : Ipv4Address.parse(c.l),
        remoteAddr: v6 ? Ipv6Address.parse(c.r) : Ipv4Address.parse(c.r),
        localPort: c.lp,
        remotePort: c.rp,
        ...(i % 2 === 0 ? { appId: app, userId: parseSid("S-1-5-21-1-2-3-1001") } : {}),
      },
      clock.nowNs(),
    );
    assert.ok(e !== null);
    bfe.netEvents.record(e);
    clock.advanceNs(1_500_000n);
  }
  return bfe;
}

describe("show netevents --file: Windows' net events read as openwfp's own", () => {
  test("what --xml writes, --file reads back to the same records (the writer and the reader are separate code)", () => {
    const bfe = bfeWithEvents();
    const s = bfe.openSession(ADMINISTRATOR);
    const own = JSON.parse(showText("netevents", s, { json: true }, "test")) as NetEventRecord[];
    assert.equal(own.length, 4);
    assert.deepEqual(
      own.map((r) => r.type.replace("FWPM_NET_EVENT_TYPE_", "")),
      ["CLASSIFY_DROP", "CLASSIFY_ALLOW", "CLASSIFY_DROP", "CLASSIFY_ALLOW"],
    );
    const path = file("own.xml", showText("netevents", s, { xml: true }, "test"));
    const read = JSON.parse(showText("netevents", s, { json: true, file: path }, "test")) as NetEventRecord[];
    // netsh prints no msFwpDirection in classifyAllow: the direction of an allow is unknown when read.
    const expected = own.map((r) => (r.type.endsWith("ALLOW") ? { ...r, direction: null } : r));
    assert.deepEqual(read, expected);
    assert.equal(read[0]?.filterName, "block 445 remote at FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(read[2]?.layer, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6");
    assert.equal(read[2]?.filterName, "block 445 at FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6");
    assert.equal(read[0]?.appId, "\\device\\harddiskvolume2\\program files\\tool\\tool.exe");
    bfe.close();
  });

  test("the layout of Microsoft's pages (bare <netEvent>, tabs, LF, FWPP_ sublayer names), filters named from a real dump", () => {
    // Filter ids and names of the keploy dump, found by regex over the raw XML (not through the parser).
    const raw = readFileSync(KEPLOY, "utf8");
    const pairs = [
      ...raw.matchAll(
        /<filterKey>[^<]+<\/filterKey>\s*<displayData>\s*<name>([^<]*)<\/name>[\s\S]*?<filterId>(\d+)<\/filterId>/g,
      ),
    ];
    const [name0, id0] = [pairs[5]?.[1] as string, pairs[5]?.[2] as string];
    const [name1, id1] = [pairs[40]?.[1] as string, pairs[40]?.[2] as string];
    assert.ok(id0 !== undefined && id1 !== undefined && id0 !== id1);
    const hex = Buffer.from("\\device\\harddiskvolume1\\app.exe\0", "utf16le").toString("hex");
    const event = (id: string, layerId: number, local: string, remote: string, v6: boolean) => `<netEvent>
<header>
\t<timeStamp>2020-05-22T21:29:28.601Z</timeStamp>
\t<flags numItems="8">
\t<item>FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET</item>
\t<item>FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET</item>
\t<item>FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET</item>
\t<item>FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET</item>
\t<item>FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET</item>
\t<item>FWPM_NET_EVENT_FLAG_APP_ID_SET</item>
\t<item>FWPM_NET_EVENT_FLAG_USER_ID_SET</item>
\t<item>FWPM_NET_EVENT_FLAG_IP_VERSION_SET</item>
\t</flags>
\t<ipVersion>${v6 ? "FWP_IP_VERSION_V6" : "FWP_IP_VERSION_V4"}</ipVersion>
\t<ipProtocol>17</ipProtocol>
\t<${v6 ? "localAddrV6.byteArray16" : "localAddrV4"}>${local}</${v6 ? "localAddrV6.byteArray16" : "localAddrV4"}>
\t<${v6 ? "remoteAddrV6.byteArray16" : "remoteAddrV4"}>${remote}</${v6 ? "remoteAddrV6.byteArray16" : "remoteAddrV4"}>
\t<localPort>52998</localPort>
\t<remotePort>53</remotePort>
\t<scopeId>0</scopeId>
\t<appId>\t\t
\t<data>${hex}</data>
\t<asString>\\.d.e.v.i.c.e.\\.h.a.r.d.d.i.s.k.v.o.l.u.m.e.1.\\.a.p.p...e.x.e...</asString>
\t</appId>
\t<userId>S-1-5-21-2993214446-1947230185-131795049-1000</userId>
\t<addressFamily>${v6 ? "FWP_AF_INET6" : "FWP_AF_INET"}</addressFamily>
\t<packageSid>S-1-0-0</packageSid>
\t<enterpriseId/>
\t<policyFlags>0</policyFlags>
\t<effectiveName/>
</header>
\t<type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type>
\t<classifyDrop>
\t<filterId>${id}</filterId>
\t<layerId>${layerId}</layerId>
\t<reauthReason>0</reauthReason>
\t<originalProfile>1</originalProfile>
\t<currentProfile>1</currentProfile>
\t<msFwpDirection>MS_FWP_DIRECTION_OUT</msFwpDirection>
\t<isLoopback>false</isLoopback>
\t<vSwitchId/>
\t<vSwitchSourcePort>0</vSwitchSourcePort>
\t<vSwitchDestinationPort>0</vSwitchDestinationPort>
</classifyDrop>
<internalFields>
\t<internalFlags/>
\t<remoteAddrBitmap>0000000000000000</remoteAddrBitmap>
\t<capabilities numItems="1">
\t<item>FWP_CAPABILITIES_FLAG_INTERNET_CLIENT</item>
\t</capabilities>
\t<fqbnVersion>0</fqbnVersion>
\t<fqbnName/>
\t<terminatingFiltersInfo numItems="2">
\t<item>
\t<filterId>${id}</filterId>
\t<subLayer>FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH</subLayer>
\t<actionType>FWP_ACTION_BLOCK</actionType>
\t</item>
\t<item>
\t<filterId>7</filterId>
\t<subLayer>FWPM_SUBLAYER_UNIVERSAL</subLayer>
\t<actionType>FWP_ACTION_PERMIT</actionType>
\t</item>
\t</terminatingFiltersInfo>
</internalFields>
</netEvent>
`;
    const path = file(
      "uwp.xml",
      event(id0, 48, "10.216.117.17", "10.50.50.50", false) +
        event(id1, 50, "2001:4898:1a:1045::543", "2620:1ec:c11::200", true),
    );
    const records = JSON.parse(
      showText("netevents", keploy.session, { json: true, file: path }, "test"),
    ) as NetEventRecord[];
    assert.equal(records.length, 2);
    assert.deepEqual(records[0], {
      time: "2020-05-22T21:29:28.601Z",
      type: "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP",
      direction: "outbound",
      ipProtocol: 17,
      localAddr: "10.216.117.17",
      remoteAddr: "10.50.50.50",
      localPort: 52998,
      remotePort: 53,
      filterId: id0,
      layerId: 48,
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      appId: "\\device\\harddiskvolume1\\app.exe",
      userId: "S-1-5-21-2993214446-1947230185-131795049-1000",
      terminatingFilters: [
        { filterId: id0, sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH", action: "FWP_ACTION_BLOCK" },
        { filterId: "7", sublayer: "eebecc03-ced4-4380-819a-2734397b2b74", action: "FWP_ACTION_PERMIT" },
      ],
      filterName: name0,
    });
    assert.equal(records[1]?.layer, "FWPM_LAYER_ALE_AUTH_CONNECT_V6");
    assert.equal(records[1]?.localAddr, "2001:4898:1a:1045::543");
    assert.equal(records[1]?.filterName, name1);
    const table = showText("netevents", keploy.session, { file: path }, "test");
    assert.match(
      table,
      new RegExp(
        `CLASSIFY_DROP\\s+out\\s+17\\s+10\\.216\\.117\\.17:52998\\s+10\\.50\\.50\\.50:53\\s+${id0}\\s+ALE_AUTH_CONNECT_V4\\s+${name0.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`,
      ),
    );
  });

  test("a capture's wfpdiag.xml: the <netEvent>s of <events>, filterChange entries passed over; a member whose *_SET flag is clear reads as absent", () => {
    const text = `<?xml version="1.0"?>
<wfpdiag>
\t<header><timeStamp>2020-01-01T00:00:00.000Z</timeStamp></header>
\t<events numItems="2">
\t\t<filterChange><changeType>FWPM_CHANGE_ADD</changeType><filterKey>{00000000-0000-0000-0000-000000000001}</filterKey></filterChange>
\t\t<netEvent>
\t\t\t<header>
\t\t\t\t<timeStamp>2020-01-01T00:00:01.250Z</timeStamp>
\t\t\t\t<flags numItems="2"><item>FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET</item><item>FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET</item></flags>
\t\t\t\t<ipVersion>FWP_IP_VERSION_V4</ipVersion>
\t\t\t\t<ipProtocol>1</ipProtocol>
\t\t\t\t<localAddrV4>0.0.0.0</localAddrV4>
\t\t\t\t<remoteAddrV4>192.0.2.7</remoteAddrV4>
\t\t\t\t<localPort>0</localPort>
\t\t\t\t<remotePort>0</remotePort>
\t\t\t\t<appId/>
\t\t\t\t<userId/>
\t\t\t</header>
\t\t\t<type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type>
\t\t\t<classifyDrop><filterId>0</filterId><layerId>44</layerId><msFwpDirection>MS_FWP_DIRECTION_IN</msFwpDirection></classifyDrop>
\t\t</netEvent>
\t\t<netEvent>
\t\t\t<header><timeStamp>2020-01-01T00:00:02.000Z</timeStamp><ipVersion>FWP_IP_VERSION_NONE</ipVersion></header>
\t\t\t<type>FWPM_NET_EVENT_TYPE_IKEEXT_MM_FAILURE</type>
\t\t</netEvent>
\t</events>
</wfpdiag>
`;
    const records = parseNetEventsXml(text);
    assert.equal(records.length, 2);
    const [drop, other] = records;
    assert.equal(drop?.direction, "inbound");
    assert.equal(drop?.ipProtocol, 1);
    assert.equal(drop?.localAddr, null, "LOCAL_ADDR_SET is clear: the printed 0.0.0.0 is netsh's zero");
    assert.equal(drop?.remoteAddr, "192.0.2.7");
    assert.equal(drop?.localPort, null);
    assert.equal(drop?.layer, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
    assert.deepEqual(drop?.terminatingFilters, []);
    assert.equal(other?.type, "FWPM_NET_EVENT_TYPE_IKEEXT_MM_FAILURE");
    assert.equal(other?.filterId, null);
    assert.equal(other?.direction, null);
  });

  test("bad files: every fault named with its code and path, nothing thrown but OpenWfpErrors", () => {
    const good = `<netEvents numItems="1"><item><header><timeStamp>2020-01-01T00:00:00.000Z</timeStamp><ipVersion>FWP_IP_VERSION_V4</ipVersion><localAddrV4>10.0.0.1</localAddrV4><remoteAddrV4>10.0.0.2</remoteAddrV4></header><type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type><classifyDrop><filterId>5</filterId><layerId>48</layerId></classifyDrop></item></netEvents>`;
    assert.equal(parseNetEventsXml(good).length, 1);
    const cases: [string, string, RegExp][] = [
      [
        good.replace("2020-01-01T00:00:00.000Z", "yesterday"),
        "NETSH_BAD_VALUE",
        /netEvents\/item\[0\]\/header\/timeStamp/,
      ],
      [good.replace("10.0.0.2", "10.0.0.256"), "NETSH_BAD_VALUE", /netEvents\/item\[0\]\/header\/remoteAddrV4/],
      [good.replace("<localAddrV4>10.0.0.1", "<localAddrV4>::1"), "NETSH_BAD_VALUE", /header\/localAddrV4/],
      [good.replace("<filterId>5", "<filterId>-5"), "NETSH_BAD_VALUE", /classifyDrop\/filterId/],
      [good.replace("<layerId>48", "<layerId>70000"), "FWP_E_OUT_OF_BOUNDS", /classifyDrop\/layerId/],
      [good.replace("CLASSIFY_DROP</type>", "nonsense</type>"), "NETSH_BAD_VALUE", /item\[0\]\/type/],
      [good.replace(/<classifyDrop>.*<\/classifyDrop>/, ""), "NETSH_MISSING_ELEMENT", /item\[0\]\/classifyDrop/],
      [
        good.replace("</header>", "<flags><item>FWPM_NET_EVENT_FLAG_NOPE</item></flags></header>"),
        "NETSH_BAD_VALUE",
        /header\/flags\/item\[0\]/,
      ],
      [good.replace("</netEvents>", ""), "NETSH_MALFORMED_XML", /./],
      ["<wfpstate></wfpstate>", "NETSH_NOT_NETSH", /wfpstate/],
    ];
    for (const [text, code, where] of cases) {
      assert.throws(
        () => parseNetEventsXml(text),
        (e: unknown) => {
          assert.ok(e instanceof Error && "code" in e, String(e));
          assert.equal((e as { code: string }).code, code, (e as Error).message);
          assert.match((e as Error).message, where);
          return true;
        },
      );
    }
    // A show filters file is a <wfpdiag> without <events>.
    assert.throws(
      () => showText("netevents", keploy.session, { file: LE_VOILE }, "test"),
      /NETSH_MISSING_ELEMENT.*wfpdiag\/events/,
    );
    assert.throws(
      () => showText("netevents", keploy.session, { file: join(dir, "none.xml") }, "test"),
      /E_FILE: cannot read net events/,
    );
    assert.throws(
      () => showText("netevents", keploy.session, { file: LE_VOILE, xml: true }, "test"),
      /--file reads events Windows wrote/,
    );
  });
});
