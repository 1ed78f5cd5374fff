import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMac } from "../../wire/index.ts";
import { ms, Scheduler, seconds } from "../sim/scheduler.ts";
import { collect } from "./link-fixtures.testing.ts";
import { SharedSegment } from "./shared-segment.ts";

const MAC = ["02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"] as const;
const BROADCAST = "ff:ff:ff:ff:ff:ff";

/** A 60-byte frame from `src` to `dst` carrying `tag` in its first payload byte. */
function frame(dst: string, src: string, tag: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set(parseMac(dst)!, 0);
  f.set(parseMac(src)!, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f[14] = tag;
  return f;
}

function setup(mode: "hub" | "switch") {
  const s = new Scheduler();
  const lan = new SharedSegment(s, { mode, delayNs: ms(1) });
  const ports = [lan.port(), lan.port(), lan.port()];
  const inbox = ports.map((p) => collect(s, p));
  const tags = () => inbox.map((box) => box.map((r) => r.frame[14]));
  return { s, lan, ports, inbox, tags };
}

describe("SharedSegment as a hub", () => {
  it("repeats every frame to every other port, each receiver with its own copy, after the delay", () => {
    const { s, lan, ports, inbox, tags } = setup("hub");
    ports[0]!.transmit(frame(MAC[1], MAC[0], 1));
    s.run();
    assert.deepEqual(tags(), [[], [1], [1]]);
    assert.notEqual(inbox[1]![0]!.frame, inbox[2]![0]!.frame);
    assert.equal(inbox[1]![0]!.atNs, ms(1));
    assert.equal(lan.counters.framesSent, 1);
    assert.equal(lan.counters.framesDelivered, 2);
    assert.equal(lan.counters.framesFlooded, 1);
    assert.equal(ports[0]!.name, "lan.0");
  });
});

describe("SharedSegment as a learning switch (IEEE 802.1D)", () => {
  it("floods unknown unicast, then forwards to the learned port only", () => {
    const { s, lan, ports, tags } = setup("switch");
    ports[0]!.transmit(frame(MAC[1], MAC[0], 1)); // 1 is unknown: flooded; 0 learned on port 0
    s.run();
    ports[1]!.transmit(frame(MAC[0], MAC[1], 2)); // 0 is known: port 0 only; 1 learned on port 1
    s.run();
    ports[0]!.transmit(frame(MAC[1], MAC[0], 3)); // port 1 only
    s.run();
    assert.deepEqual(tags(), [[2], [1, 3], [1]]);
    assert.equal(lan.counters.framesFlooded, 1);
    assert.equal(lan.counters.framesForwarded, 2);
    assert.equal(lan.learnedPort(parseMac(MAC[1])!), ports[1]);
  });

  it("floods broadcast and multicast to every other port", () => {
    const { s, ports, tags } = setup("switch");
    ports[1]!.transmit(frame(BROADCAST, MAC[1], 1));
    ports[1]!.transmit(frame("33:33:ff:00:00:02", MAC[1], 2));
    ports[1]!.transmit(frame("01:00:5e:00:00:fb", MAC[1], 3));
    s.run();
    assert.deepEqual(tags(), [[1, 2, 3], [], [1, 2, 3]]);
  });

  it("filters a frame whose destination was learned on the port it came from", () => {
    const { s, lan, ports, tags } = setup("switch");
    ports[0]!.transmit(frame(BROADCAST, MAC[0], 1));
    s.run();
    ports[0]!.transmit(frame(MAC[0], MAC[2], 2)); // MAC[2] "behind" port 0 sends to MAC[0], also behind port 0
    s.run();
    assert.deepEqual(tags(), [[], [1], [1]]);
    assert.equal(lan.counters.framesFiltered, 1);
  });

  it("forgets a MAC after the 300 s aging time and floods again", () => {
    const { s, ports, tags } = setup("switch");
    ports[1]!.transmit(frame(BROADCAST, MAC[1], 1));
    s.run();
    s.runFor(seconds(301));
    ports[0]!.transmit(frame(MAC[1], MAC[0], 2));
    s.run();
    assert.deepEqual(tags(), [[1], [2], [1, 2]]);
  });

  it("never learns a group source address, and drops runts too short for two addresses", () => {
    const { s, lan, ports, tags } = setup("switch");
    ports[2]!.transmit(frame(BROADCAST, "03:00:00:00:00:09", 1));
    ports[0]!.transmit(frame("03:00:00:00:00:09", MAC[0], 2)); // a group destination: flooded anyway
    ports[0]!.transmit(new Uint8Array(11));
    s.run();
    assert.equal(lan.learnedPort(parseMac("03:00:00:00:00:09")!), undefined);
    assert.deepEqual(tags(), [[1], [1, 2], [2]]);
    assert.equal(lan.counters.framesDropped, 1);
  });
});
