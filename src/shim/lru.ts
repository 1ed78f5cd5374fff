/**
 * A map that remembers use order: `touch` moves an entry to the young end, `oldest` gives the entry to
 * evict, every operation is O(1). A doubly-linked list beside a Map, so that evicting the oldest entry
 * never walks the Map's insertion order (V8 keeps deleted entries there until it rehashes, which made
 * "first entry" quadratic under churn).
 */
class Node<K, V> {
  prev: Node<K, V> | undefined;
  next: Node<K, V> | undefined;
  constructor(
    readonly key: K,
    public value: V,
  ) {}
}

export class LruMap<K, V> {
  readonly #map = new Map<K, Node<K, V>>();
  #head: Node<K, V> | undefined;
  #tail: Node<K, V> | undefined;

  get size(): number {
    return this.#map.size;
  }

  /** The value without changing the order. */
  peek(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** The value, moved to the young end. */
  touch(key: K): V | undefined {
    const n = this.#map.get(key);
    if (n === undefined) return undefined;
    if (n !== this.#tail) {
      this.#unlink(n);
      this.#append(n);
    }
    return n.value;
  }

  /** Sets `key` at the young end (replacing any value it had). */
  set(key: K, value: V): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      old.value = value;
      if (old !== this.#tail) {
        this.#unlink(old);
        this.#append(old);
      }
      return;
    }
    const n = new Node(key, value);
    this.#map.set(key, n);
    this.#append(n);
  }

  delete(key: K): boolean {
    const n = this.#map.get(key);
    if (n === undefined) return false;
    this.#unlink(n);
    this.#map.delete(key);
    return true;
  }

  /** The oldest entry, or undefined when empty. */
  oldest(): { readonly key: K; readonly value: V } | undefined {
    const h = this.#head;
    return h === undefined ? undefined : { key: h.key, value: h.value };
  }

  /** Values from the oldest to the youngest (a snapshot: safe to delete while iterating). */
  values(): V[] {
    const out: V[] = [];
    for (let n = this.#head; n !== undefined; n = n.next) out.push(n.value);
    return out;
  }

  clear(): void {
    this.#map.clear();
    this.#head = undefined;
    this.#tail = undefined;
  }

  #append(n: Node<K, V>): void {
    n.prev = this.#tail;
    n.next = undefined;
    if (this.#tail !== undefined) this.#tail.next = n;
    else this.#head = n;
    this.#tail = n;
  }

  #unlink(n: Node<K, V>): void {
    if (n.prev !== undefined) n.prev.next = n.next;
    else this.#head = n.next;
    if (n.next !== undefined) n.next.prev = n.prev;
    else this.#tail = n.prev;
    n.prev = undefined;
    n.next = undefined;
  }
}
