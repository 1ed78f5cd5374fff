/**
 * In-place ascending sort of `a[0..n)` followed by removal of repeats; returns the new length. Hand
 * written (quicksort with median-of-three, insertion sort below 16 elements) because
 * `TypedArray.prototype.subarray(...).sort()` would allocate a view on every classification.
 */
export function sortUnique(a: Int32Array, n: number): number {
  if (n < 2) return n;
  quicksort(a, 0, n - 1);
  let w = 1;
  for (let r = 1; r < n; r++) {
    const v = a[r] as number;
    if (v !== a[w - 1]) a[w++] = v;
  }
  return w;
}

function insertion(a: Int32Array, lo: number, hi: number): void {
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= lo && (a[j] as number) > v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
}

function quicksort(a: Int32Array, lo: number, hi: number): void {
  while (hi - lo >= 16) {
    const mid = (lo + hi) >>> 1;
    // Median of three to a[mid].
    if ((a[mid] as number) < (a[lo] as number)) swap(a, mid, lo);
    if ((a[hi] as number) < (a[lo] as number)) swap(a, hi, lo);
    if ((a[hi] as number) < (a[mid] as number)) swap(a, hi, mid);
    const pivot = a[mid] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Recurse into the smaller part, loop on the larger: stack depth O(log n).
    if (j - lo < hi - i) {
      quicksort(a, lo, j);
      lo = i;
    } else {
      quicksort(a, i, hi);
      hi = j;
    }
  }
  insertion(a, lo, hi);
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i] as number;
  a[i] = a[j] as number;
  a[j] = t;
}
