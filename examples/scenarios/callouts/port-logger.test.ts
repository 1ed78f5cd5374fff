import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { simulate } from "../../../src/host/index.ts";
import { seen } from "./port-logger.ts";

describe("examples/scenarios/callout-module.json", () => {
  it("the TypeScript callouts see every outbound connect and block port 8080, on the client only", async () => {
    const r = await simulate({ scenarioPath: join(import.meta.dirname, "../callout-module.json") });
    assert.deepEqual(seen.get("client"), [80, 8080]);
    assert.equal(seen.has("server"), false, "the module applies to the hosts it names");
    const curl = r.apps.find((a) => a.app === "curl");
    assert.equal(curl?.sockets.find((s) => s.socket === "ok")?.outcome, "connected");
    assert.equal(curl?.sockets.find((s) => s.socket === "blocked")?.outcome, "blocked");
    const drop = r.hosts
      .find((h) => h.name === "client")
      ?.netEvents.find((e) => e.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP");
    assert.ok(drop !== undefined, "the callout's block raised a CLASSIFY_DROP net event");
  });
});
