import assert from "node:assert/strict";
import { test } from "node:test";
import { FwpError, fieldIndex, getLayer, parseSid } from "../../fwp/index.ts";
import { incomingValuesFromText, metadataFromText } from "./incoming.ts";

const CONNECT = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");

test("incoming values land at their field index; the rest are FWP_EMPTY", () => {
  const v = incomingValuesFromText(CONNECT, ["remotePort=445", "FWPM_CONDITION_IP_REMOTE_ADDRESS=10.0.0.1"]);
  assert.equal(v.length, CONNECT.fields.length);
  assert.deepEqual(v[fieldIndex(CONNECT, "FWPM_CONDITION_IP_REMOTE_PORT") ?? -1], { type: "FWP_UINT16", value: 445 });
  assert.deepEqual(v[fieldIndex(CONNECT, "FWPM_CONDITION_IP_REMOTE_ADDRESS") ?? -1], {
    type: "FWP_UINT32",
    value: 0x0a000001,
  });
  assert.equal(v.filter((x) => x.type === "FWP_EMPTY").length, CONNECT.fields.length - 2);
});

test("a token field takes a SID list: the user, then enabled groups", () => {
  const v = incomingValuesFromText(CONNECT, ["userId=S-1-5-21-1-2-3-1001, S-1-5-32-544"]);
  assert.deepEqual(v[fieldIndex(CONNECT, "FWPM_CONDITION_ALE_USER_ID") ?? -1], {
    type: "FWP_TOKEN_ACCESS_INFORMATION_TYPE",
    value: {
      sids: [
        { sid: parseSid("S-1-5-21-1-2-3-1001"), attributes: 0 },
        { sid: parseSid("S-1-5-32-544"), attributes: 0x4 },
      ],
      restrictedSids: [],
    },
  });
});

test("ranges, prefixes, repeated fields and missing '=' are refused", () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof FwpError);
      return `${e.code} ${e.path}`;
    }
    return "no error";
  };
  assert.equal(
    code(() => incomingValuesFromText(CONNECT, ["remotePort=1-2"])),
    "FWP_E_TYPE_MISMATCH --value remotePort",
  );
  assert.equal(
    code(() => incomingValuesFromText(CONNECT, ["remoteAddress=10.0.0.0/8"])),
    "FWP_E_TYPE_MISMATCH --value remoteAddress",
  );
  assert.equal(
    code(() => incomingValuesFromText(CONNECT, ["remotePort=1", "remote_port=2"])),
    "FWP_E_INVALID_PARAMETER --value remote_port",
  );
  assert.equal(
    code(() => incomingValuesFromText(CONNECT, ["remotePort"])),
    "FWP_E_INVALID_PARAMETER --value",
  );
  assert.equal(
    code(() => metadataFromText(["a=1", "a=2"])),
    "FWP_E_INVALID_PARAMETER --meta a",
  );
});

test("metadata: integers, booleans and text", () => {
  assert.deepEqual(
    metadataFromText(["processId=4", "big=18446744073709551615", "elevated=true", "processPath=C:\\a=b.exe"]),
    {
      processId: 4,
      big: 18446744073709551615n,
      elevated: true,
      processPath: "C:\\a=b.exe",
    },
  );
});
