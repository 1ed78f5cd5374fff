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
  /**
   * The IPv4 set again as open addressing over an Int32Array (0 marks an empty bucket; 0.0.0.0 itself is
   * `#v4Zero`), asked twice per packet: numbers above 2^30 are heap numbers to a Set, not here.
   */
  #v4Table = new Int32Array(8);
  #v4Zero = false;

  constructor(addresses: readonly IpAddress[]) {
    for (const a of addresses) this.add(a);
  }

  add(a: IpAddress): void {
    if (a.version === 4) this.#addV4(a.value >>> 0);
    else {
      const v4 = a.toV4();
      if (v4 !== undefined) this.#addV4(v4.value >>> 0);
      else this.#v6.add(v6Key(a.bytes));
    }
  }

  has(a: IpAddress): boolean {
    if (a.version === 4) return this.hasV4(a.value);
    const v4 = a.toV4();
    if (v4 !== undefined) return this.hasV4(v4.value);
    return this.#v6.has(v6Key(a.bytes));
  }

  /** `has` for an IPv4 address given as its unsigned number (the observer's hot path: no object). */
  hasV4(value: number): boolean {
    const v = value | 0;
    if (v === 0) return this.#v4Zero;
    const table = this.#v4Table;
    const mask = table.length - 1;
    for (let i = mix(v) & mask; ; i = (i + 1) & mask) {
      const x = table[i] as number;
      if (x === v) return true;
      if (x === 0) return false;
    }
  }

  get size(): number {
    return this.#v4.size + this.#v6.size;
  }

  #addV4(value: number): void {
    if (this.#v4.has(value)) return;
    this.#v4.add(value);
    if (value === 0) {
      this.#v4Zero = true;
      return;
    }
    if (this.#v4.size * 2 > this.#v4Table.length) {
      let n = this.#v4Table.length;
      while (this.#v4.size * 2 > n) n *= 2;
      this.#v4Table = new Int32Array(n);
      for (const x of this.#v4) if (x !== 0) this.#place(x | 0);
    } else {
      this.#place(value | 0);
    }
  }

  #place(v: number): void {
    const table = this.#v4Table;
    const mask = table.length - 1;
    let i = mix(v) & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = v;
  }
}

function mix(v: number): number {
  const h = Math.imul(v ^ (v >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}
