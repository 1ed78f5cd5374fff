/**
 * Socket tables: AF_INET and AF_INET6 ports are separate namespaces except for dual-mode sockets (F15), and a
 * closed UDP or ping socket leaves its layer (a host that opens and closes sockets forever keeps none).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addr, lan } from "./net-fixtures.testing.ts";
import { ms } from "./sim/scheduler.ts";

function pair() {
  return lan([
    { name: "a", addresses: ["10.0.0.1/24", "fd00::1/64"] },
    { name: "b", addresses: ["10.0.0.2/24", "fd00::2/64"] },
  ]);
}

describe("port namespaces", () => {
  it("UDP 0.0.0.0:53 and an IPv6-only [::]:53 coexist; a dual-mode [::]:53 conflicts with the IPv4 one", () => {
    const { hosts } = pair();
    const a = hosts.a!;
    const v4 = a.host.udp.socket(a.app, 4);
    v4.bind(undefined, 53);
    assert.equal(v4.lastError, undefined);
    const v6 = a.host.udp.socket(a.app, 6, false);
    v6.bind(undefined, 53);
    assert.equal(v6.lastError, undefined, "an IPv6-only socket has its own port space");
    assert.equal(v6.bound, true);
    const dual = a.host.udp.socket(a.app, 6, true);
    assert.throws(() => dual.bind(undefined, 53), /WSAEADDRINUSE/);
    const again = a.host.udp.socket(a.app, 4);
    assert.throws(() => again.bind(undefined, 53), /WSAEADDRINUSE/, "the same family still conflicts");
    v4.close();
    assert.throws(() => dual.bind(undefined, 53), /WSAEADDRINUSE/, "the IPv6-only socket still holds it");
    v6.close();
    const dual2 = a.host.udp.socket(a.app, 6, true);
    dual2.bind(undefined, 53);
    assert.equal(dual2.bound, true, "once both are closed, a dual-mode socket takes the port… ");
    assert.throws(() => a.host.udp.socket(a.app, 4).bind(undefined, 53), /WSAEADDRINUSE/, "…for IPv4 too");
  });

  it("a datagram reaches the socket of its own family when both hold the port", () => {
    const { hosts, net } = pair();
    const a = hosts.a!;
    const b = hosts.b!;
    const v4 = b.host.udp.socket(b.app, 4);
    v4.bind(undefined, 7);
    const v6 = b.host.udp.socket(b.app, 6, false);
    v6.bind(undefined, 7);
    const c4 = a.host.udp.socket(a.app, 4);
    c4.sendTo(new Uint8Array(3), addr("10.0.0.2"), 7);
    const c6 = a.host.udp.socket(a.app, 6);
    c6.sendTo(new Uint8Array(5), addr("fd00::2"), 7);
    net.runFor(ms(100));
    assert.deepEqual(
      v4.queue.map((m) => m.data.length),
      [3],
    );
    assert.deepEqual(
      v6.queue.map((m) => m.data.length),
      [5],
    );
  });

  it("TCP: an IPv4 and an IPv6-only listener on port 80 both accept; a dual-mode one is refused", () => {
    const { hosts } = pair();
    const b = hosts.b!;
    const l4 = b.host.tcp.socket(b.app, 4);
    l4.bind(undefined, 80);
    l4.listen();
    const l6 = b.host.tcp.socket(b.app, 6, false);
    l6.bind(undefined, 80);
    l6.listen();
    assert.equal(l6.error, undefined);
    assert.ok(l6.listener !== undefined);
    const dual = b.host.tcp.socket(b.app, 6, true);
    assert.throws(() => dual.bind(undefined, 80), /WSAEADDRINUSE/);
  });
});

describe("closed sockets leave their layer", () => {
  it("a thousand UDP and ping sockets opened and closed leave none behind", () => {
    const { hosts, net } = pair();
    const a = hosts.a!;
    const b = hosts.b!;
    const to = addr("10.0.0.2");
    for (let i = 0; i < 1000; i++) {
      const u = a.host.udp.socket(a.app, 4);
      u.sendTo(new Uint8Array(1), to, 9);
      const p = a.host.icmp.socket(a.app, 4);
      p.ping(to, 1, i);
      net.runFor(ms(1));
      u.close();
      p.close();
    }
    net.runFor(ms(100));
    assert.equal(a.host.udp.sockets.length, 0);
    assert.equal(a.host.icmp.sockets.length, 0);
    // An open one is still found and delivered to.
    const u = b.host.udp.socket(b.app, 4);
    u.bind(undefined, 9);
    const c = a.host.udp.socket(a.app, 4);
    c.sendTo(new Uint8Array(2), to, 9);
    net.runFor(ms(100));
    assert.equal(u.queue.length, 1);
    assert.deepEqual(b.host.udp.sockets, [u]);
  });
});
