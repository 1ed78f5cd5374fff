import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EtherType } from "./ethertype.ts";
import { captureFiles, hex, packetsWithOracle } from "./link-ip-fixtures.testing.ts";
import {
  emitLoopbackHeader,
  LoopbackFamily,
  LoopbackView,
  loopbackFamilyEtherType,
  parseLoopback,
} from "./loopback.ts";

const LINKTYPE_NULL = 0;

describe("BSD loopback (LINKTYPE_NULL) on real captures", () => {
  const files = captureFiles("loopback_null");

  it("covers both pcap and pcapng loopback captures", () => {
    assert.ok(files.length >= 5);
  });

  for (const path of files) {
    it(`agrees with TShark's null.family and the IP version on ${path}`, () => {
      for (const { packet, oracle } of packetsWithOracle(path)) {
        assert.equal(packet.linkType, LINKTYPE_NULL);
        const view = LoopbackView.check(packet.data);
        assert.ok(view.ok);
        if (oracle["null.family"] === undefined) {
          // pcpp frame 3 starts 0f 00 08 00: no BSD family in either byte order (TShark's heuristic
          // reads an EtherType out of it); the LINKTYPE_NULL rule yields an unknown family.
          assert.equal(view.value.etherType, undefined);
          continue;
        }
        assert.equal(view.value.family, Number(oracle["null.family"]));
        // Every capture here was written on a little-endian machine.
        assert.equal(view.value.byteOrder, "little");
        const version = packet.data[view.value.payloadOffset]! >>> 4;
        assert.equal(String(version), oracle["ip.version"]);
        assert.equal(view.value.etherType, version === 4 ? EtherType.Ipv4 : EtherType.Ipv6);
      }
    });

    it(`parse → emit → parse gives the original bytes on ${path}`, () => {
      for (const { packet } of packetsWithOracle(path)) {
        const repr = parseLoopback(packet.data);
        assert.ok(repr.ok);
        const out = new Uint8Array(4);
        emitLoopbackHeader(repr.value, out, 0);
        assert.equal(hex(out), hex(packet.data.subarray(0, 4)));
        assert.deepEqual(parseLoopback(out), repr);
      }
    });
  }
});

describe("loopback byte order", () => {
  it("detects a big-endian NULL header (a capture from a big-endian host)", () => {
    const r = parseLoopback(Uint8Array.from([0, 0, 0, 2, 0x45]));
    assert.ok(r.ok);
    assert.deepEqual(r.value, { family: LoopbackFamily.Inet, byteOrder: "big" });
  });

  it("LINKTYPE_LOOP is always network order", () => {
    const r = parseLoopback(Uint8Array.from([0, 0, 0, 24]), 0, 4, "loop");
    assert.ok(r.ok);
    assert.equal(r.value.family, LoopbackFamily.Inet6Bsd);
    const out = new Uint8Array(4);
    emitLoopbackHeader(r.value, out, 0);
    assert.equal(hex(out), "00000018");
  });

  it("maps every BSD AF_INET6 value to IPv6 and nothing else to an EtherType", () => {
    for (const f of [24, 28, 30]) assert.equal(loopbackFamilyEtherType(f), EtherType.Ipv6);
    assert.equal(loopbackFamilyEtherType(2), EtherType.Ipv4);
    assert.equal(loopbackFamilyEtherType(10), undefined);
    assert.equal(loopbackFamilyEtherType(0), undefined);
  });

  it("a header shorter than 4 bytes is an error at its offset", () => {
    const r = LoopbackView.check(Uint8Array.from([2, 0, 0, 0, 0]), 2);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.protocol, "loopback");
      assert.equal(r.error.field, "family");
      assert.equal(r.error.offset, 2);
    }
  });
});
