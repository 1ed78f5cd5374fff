import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { appIdFromFileName, isFwpError, parseSid, securityDescriptorFromSddl } from "../../fwp/index.ts";
import { netEventHeader } from "./from-classify.ts";
import { compileNetEventTemplate, type NetEventEnumTemplate, netEventMatches } from "./template.ts";
import type { NetEvent } from "./types.ts";

const EDGE = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe";
const USER = "S-1-5-21-1004336348-1177238915-682003330-1001";

function event(): NetEvent {
  return {
    type: "FWPM_NET_EVENT_TYPE_CAPABILITY_DROP",
    header: netEventHeader(
      { direction: "outbound", appId: appIdFromFileName(EDGE), userId: parseSid(USER), scopeId: 7 },
      0n,
      "V6",
    ),
    direction: "outbound",
    cast: undefined,
    body: {},
  };
}

function rejects(template: NetEventEnumTemplate, code: Parameters<typeof isFwpError>[1], path: string): void {
  assert.throws(
    () => compileNetEventTemplate(template),
    (e) => isFwpError(e, code) && e.path === path,
  );
}

describe("net event enumeration templates (H37)", () => {
  test("zero conditions match every event", () => {
    assert.equal(netEventMatches(compileNetEventTemplate({}), event()), true);
    assert.equal(netEventMatches(compileNetEventTemplate(undefined), event()), true);
  });

  test("app id matches the event's app id blob, exactly or by PREFIX (file name suffix)", () => {
    const exact = compileNetEventTemplate({
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_ALE_APP_ID",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_BYTE_BLOB_TYPE", value: appIdFromFileName(EDGE) },
        },
      ],
    });
    assert.equal(netEventMatches(exact, event()), true);
    const other = compileNetEventTemplate({
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_ALE_APP_ID",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_BYTE_BLOB_TYPE", value: appIdFromFileName("C:\\x.exe") },
        },
      ],
    });
    assert.equal(netEventMatches(other, event()), false);
  });

  test("user id is matched by a security descriptor granting the event's user", () => {
    const grant = (sid: string) =>
      compileNetEventTemplate({
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_ALE_USER_ID",
            matchType: "FWP_MATCH_EQUAL",
            conditionValue: {
              type: "FWP_SECURITY_DESCRIPTOR_TYPE",
              value: securityDescriptorFromSddl(`O:SYG:SYD:(A;;CC;;;${sid})`),
            },
          },
        ],
      });
    assert.equal(netEventMatches(grant(USER), event()), true);
    assert.equal(netEventMatches(grant("S-1-5-18"), event()), false);
  });

  test("SCOPE_ID has no published GUID and is named", () => {
    const t = compileNetEventTemplate({
      conditions: [
        {
          fieldKey: "FWPM_CONDITION_SCOPE_ID",
          matchType: "FWP_MATCH_EQUAL",
          conditionValue: { type: "FWP_UINT32", value: 7 },
        },
      ],
    });
    assert.equal(netEventMatches(t, event()), true);
  });

  test("startTime after endTime → FWP_E_INVALID_INTERVAL", () => {
    rejects({ startTime: 10n, endTime: 9n }, "FWP_E_INVALID_INTERVAL", "template.startTime");
  });

  test("the same field twice → FWP_E_DUPLICATE_CONDITION", () => {
    const c = {
      fieldKey: "FWPM_CONDITION_IP_PROTOCOL",
      matchType: "FWP_MATCH_EQUAL",
      conditionValue: { type: "FWP_UINT8", value: 6 },
    } as const;
    rejects(
      { conditions: [c, { ...c, fieldKey: "3971ef2b-623e-4f9a-8cb1-6e79b806b9a7" }] },
      "FWP_E_DUPLICATE_CONDITION",
      "template.conditions[1].fieldKey",
    );
  });

  test("a field outside the net event set, an unknown field, a wrong type or match type are refused", () => {
    rejects(
      {
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_FLAGS",
            matchType: "FWP_MATCH_EQUAL",
            conditionValue: { type: "FWP_UINT32", value: 1 },
          },
        ],
      },
      "FWP_E_INVALID_PARAMETER",
      "template.conditions[0].fieldKey",
    );
    rejects(
      {
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_NOPE",
            matchType: "FWP_MATCH_EQUAL",
            conditionValue: { type: "FWP_UINT32", value: 1 },
          },
        ],
      },
      "FWP_E_CONDITION_NOT_FOUND",
      "template.conditions[0].fieldKey",
    );
    rejects(
      {
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_IP_PROTOCOL",
            matchType: "FWP_MATCH_EQUAL",
            conditionValue: { type: "FWP_UINT16", value: 6 },
          },
        ],
      },
      "FWP_E_TYPE_MISMATCH",
      "template.conditions[0].conditionValue",
    );
    rejects(
      {
        conditions: [
          {
            fieldKey: "FWPM_CONDITION_IP_PROTOCOL",
            matchType: "FWP_MATCH_RANGE",
            conditionValue: { type: "FWP_UINT8", value: 6 },
          },
        ],
      },
      "FWP_E_MATCH_TYPE_MISMATCH",
      "template.conditions[0].matchType",
    );
    rejects(
      {
        conditions: [
          { fieldKey: "FWPM_CONDITION_IP_PROTOCOL", matchType: 99, conditionValue: { type: "FWP_UINT8", value: 6 } },
        ],
      },
      "FWP_E_INVALID_ENUMERATOR",
      "template.conditions[0].matchType",
    );
  });
});
