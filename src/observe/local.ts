/**
 * The set of a host's own addresses, asked once per packet: IPv4 as numbers, IPv6 as their 16 bytes in hex.
 * An IPv4-mapped IPv6 address is the same address as its IPv4 form.
 */
import type { IpAddress } from "../base/index.ts";

function v6Key(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 16; i++) s += ((bytes[i] as number) | 0x100).toString(16).slice(1);
  return s;
}

export class LocalAddresses {
  readonly #v4 = new Set<number>();
  readonly #v6 = new Set<string>();

  constructor(addresses: readonly IpAddress[]) {
    for (const a of addresses) this.add(a);
  }

  add(a: IpAddress): void {
    if (a.version === 4) this.#v4.add(a.value >>> 0);
    else {
      const v4 = a.toV4();
      if (v4 !== undefined) this.#v4.add(v4.value >>> 0);
      else this.#v6.add(v6Key(a.bytes));
    }
  }

  has(a: IpAddress): boolean {
    if (a.version === 4) return this.#v4.has(a.value >>> 0);
    const v4 = a.toV4();
    if (v4 !== undefined) return this.#v4.has(v4.value >>> 0);
    return this.#v6.has(v6Key(a.bytes));
  }

  get size(): number {
    return this.#v4.size + this.#v6.size;
  }
}
