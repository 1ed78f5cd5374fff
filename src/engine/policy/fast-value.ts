/**
 * The condition values a large policy is made of, read without parseConditionValue's general machinery:
 * a dotted IPv4 address for an FWP_UINT32 field (a blocklist's remote addresses) and plain decimal digits
 * for an unsigned 8-, 16- or 32-bit field (ports, protocols). For the text it accepts the answer is the
 * value parseConditionValue gives (`{type, value}`, the address in host order, §A10); anything else —
 * surrounding blanks, leading `+`, ranges, prefixes, names, values out of range — is undefined and goes
 * to parseConditionValue, which also makes every error.
 */
import type { FwpConditionValue, FwpDataTypeName } from "../../fwp/index.ts";

const UNSIGNED_MAX: Readonly<Partial<Record<FwpDataTypeName, number>>> = {
  FWP_UINT8: 0xff,
  FWP_UINT16: 0xffff,
  FWP_UINT32: 0xffffffff,
};

/** Decimal digits only (at most 10): their value, or -1. */
function digitsValue(text: string): number {
  const n = text.length;
  if (n === 0 || n > 10) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * "a.b.c.d", each part 0..255 written without leading zeros (as Ipv4Address.parse reads it): the address
 * as a number, or -1.
 */
function dottedQuadValue(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9) return -1;
    // "0" alone, or a part not starting with 0 (no "01"), at most three digits.
    if (digits === 1 && part === 0) return -1;
    if (++digits > 3) return -1;
    part = part * 10 + d;
  }
  return parts === 4 ? value : -1;
}

/** parseConditionValue's answer for the common texts above; undefined for everything else. */
export function fastConditionValue(dataType: FwpDataTypeName, text: string): FwpConditionValue | undefined {
  const max = UNSIGNED_MAX[dataType];
  if (max === undefined) return undefined;
  const n = digitsValue(text);
  if (n >= 0) return n <= max ? ({ type: dataType, value: n } as FwpConditionValue) : undefined;
  if (dataType !== "FWP_UINT32") return undefined;
  const address = dottedQuadValue(text);
  return address >= 0 ? { type: "FWP_UINT32", value: address } : undefined;
}
