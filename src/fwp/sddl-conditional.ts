/**
 * Conditional expressions of callback ACEs (XA / XD): the SDDL text form, e.g.
 * `(WIN://SYSAPPID Contains "Microsoft.WindowsStore_8wekyb3d8bbwe")`, and the binary form kept in the
 * ACE's ApplicationData — the signature "artx" (0x61 0x72 0x74 0x78) followed by tokens in postfix
 * order (operands first, then their operator), zero-padded to a multiple of 4 bytes.
 *
 * Token byte codes (MS-DTYP §2.4.4.17.4–§2.4.4.17.8):
 * - literals: signed integers 0x01–0x04 (int8/16/32/64, all stored as an 8-byte two's-complement value,
 *   then a sign byte 1 '+' / 2 '-' / 3 none and a base byte 1 octal / 2 decimal / 3 hex), Unicode string
 *   0x10, octet string 0x18, composite 0x50, SID 0x51 — each of the last four a 4-byte byte length then
 *   the data (UTF-16LE, bytes, the element tokens, a binary SID);
 * - attribute names: local 0xF8, @User. 0xF9, @Resource. 0xFA, @Device. 0xFB — a 4-byte byte length then
 *   the UTF-16LE name without its prefix;
 * - relational: == 0x80, != 0x81, < 0x82, <= 0x83, > 0x84, >= 0x85, Contains 0x86, Any_of 0x88,
 *   Not_Contains 0x8E, Not_Any_of 0x8F; Member_of 0x89, Device_Member_of 0x8A, Member_of_Any 0x8B,
 *   Device_Member_of_Any 0x8C, Not_Member_of 0x90 … Not_Device_Member_of_Any 0x93;
 * - logical: Exists 0x87, Not_Exists 0x8D, && 0xA0, || 0xA1, ! 0xA2.
 *
 * Text syntax (https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-definition-language-for-conditional-aces-,
 * MS-DTYP §2.5.1.1): precedence from loosest to tightest is ||, &&, !, then the relational and
 * membership/existence operators; a relational operator takes an attribute on its left. Formatting puts
 * every operator expression in parentheses and spaces around infix operators, as Windows prints them,
 * so a parsed expression formats back to the same text.
 */
import { FwpError } from "./error.ts";

/** Which claim set an attribute name refers to. */
export type ConditionAttributeScope = "local" | "user" | "resource" | "device";

export type ConditionBinaryOperator =
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "Contains"
  | "Any_of"
  | "Not_Contains"
  | "Not_Any_of"
  | "&&"
  | "||";

export type ConditionUnaryOperator =
  | "Member_of"
  | "Device_Member_of"
  | "Member_of_Any"
  | "Device_Member_of_Any"
  | "Not_Member_of"
  | "Not_Device_Member_of"
  | "Not_Member_of_Any"
  | "Not_Device_Member_of_Any"
  | "Exists"
  | "Not_Exists"
  | "!";

/** One node of a conditional expression tree. */
export type ConditionNode =
  | { readonly kind: "attribute"; readonly scope: ConditionAttributeScope; readonly name: string }
  | {
      readonly kind: "integer";
      readonly value: bigint;
      /** Token width: 1 int8, 2 int16, 3 int32, 4 int64 (the byte code; SDDL text always gives 4). */
      readonly token: 1 | 2 | 3 | 4;
      /** 1 '+', 2 '-', 3 no sign. */
      readonly sign: 1 | 2 | 3;
      /** 1 octal, 2 decimal, 3 hexadecimal. */
      readonly base: 1 | 2 | 3;
    }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "octets"; readonly value: Uint8Array }
  | { readonly kind: "sid"; readonly sid: Uint8Array }
  | { readonly kind: "composite"; readonly items: readonly ConditionNode[] }
  | { readonly kind: "unary"; readonly op: ConditionUnaryOperator; readonly operand: ConditionNode }
  | {
      readonly kind: "binary";
      readonly op: ConditionBinaryOperator;
      readonly left: ConditionNode;
      readonly right: ConditionNode;
    };

/** "artx": the first four bytes of a conditional ACE's ApplicationData. */
export const ACE_CONDITION_SIGNATURE: readonly number[] = [0x61, 0x72, 0x74, 0x78];

const BINARY_CODES: Readonly<Record<ConditionBinaryOperator, number>> = {
  "==": 0x80,
  "!=": 0x81,
  "<": 0x82,
  "<=": 0x83,
  ">": 0x84,
  ">=": 0x85,
  Contains: 0x86,
  Any_of: 0x88,
  Not_Contains: 0x8e,
  Not_Any_of: 0x8f,
  "&&": 0xa0,
  "||": 0xa1,
};
const UNARY_CODES: Readonly<Record<ConditionUnaryOperator, number>> = {
  Member_of: 0x89,
  Device_Member_of: 0x8a,
  Member_of_Any: 0x8b,
  Device_Member_of_Any: 0x8c,
  Not_Member_of: 0x90,
  Not_Device_Member_of: 0x91,
  Not_Member_of_Any: 0x92,
  Not_Device_Member_of_Any: 0x93,
  Exists: 0x87,
  Not_Exists: 0x8d,
  "!": 0xa2,
};
const BINARY_BY_CODE = new Map(Object.entries(BINARY_CODES).map(([k, v]) => [v, k as ConditionBinaryOperator]));
const UNARY_BY_CODE = new Map(Object.entries(UNARY_CODES).map(([k, v]) => [v, k as ConditionUnaryOperator]));
const ATTRIBUTE_CODES: Readonly<Record<ConditionAttributeScope, number>> = {
  local: 0xf8,
  user: 0xf9,
  resource: 0xfa,
  device: 0xfb,
};
const ATTRIBUTE_PREFIXES: readonly (readonly [string, ConditionAttributeScope])[] = [
  ["@User.", "user"],
  ["@Device.", "device"],
  ["@Resource.", "resource"],
];
const TOKEN_STRING = 0x10;
const TOKEN_OCTETS = 0x18;
const TOKEN_COMPOSITE = 0x50;
const TOKEN_SID = 0x51;
/** Nesting deeper than this is refused (text and binary), so formatting and parsing never overflow the stack. */
const MAX_DEPTH = 256;
/** Relational operators as words, longest first where one is a prefix of another. */
const RELATIONAL_WORDS: readonly ConditionBinaryOperator[] = ["Not_Contains", "Not_Any_of", "Contains", "Any_of"];
const RELATIONAL_SYMBOLS: readonly ConditionBinaryOperator[] = ["==", "!=", "<=", ">=", "<", ">"];
const MEMBER_WORDS: readonly ConditionUnaryOperator[] = [
  "Not_Device_Member_of_Any",
  "Not_Device_Member_of",
  "Not_Member_of_Any",
  "Not_Member_of",
  "Device_Member_of_Any",
  "Device_Member_of",
  "Member_of_Any",
  "Member_of",
  "Not_Exists",
  "Exists",
];

/** What the SDDL parser around a condition supplies: SID text (aliases included) and error reporting. */
export interface ConditionTextContext {
  /** Binary SID for the text inside SID(…), or a thrown FwpError naming `offset`. */
  sidOf(text: string, offset: number): Uint8Array;
  /** Throws FWP_E_INVALID_PARAMETER naming the offset in the whole SDDL text. */
  fail(detail: string, offset: number): never;
}

/** Characters of an attribute name besides letters and digits (MS-DTYP §2.5.1.1 attr-char). */
function isAttrChar(c: string): boolean {
  return /^[A-Za-z0-9:./_]$/.test(c);
}

/**
 * Parses one conditional expression starting at `start` in `text` (at its opening parenthesis) and
 * returns it with the offset just after it.
 */
export function parseConditionText(
  text: string,
  start: number,
  ctx: ConditionTextContext,
): { readonly node: ConditionNode; readonly end: number } {
  let i = start;
  let depth = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const startsWithWord = (word: string): boolean =>
    text.startsWith(word, i) && !isAttrChar(text[i + word.length] ?? " ");
  const enter = (): void => {
    if (++depth > MAX_DEPTH) ctx.fail(`Conditional expression nested deeper than ${MAX_DEPTH}.`, i);
  };

  const attribute = (): ConditionNode => {
    const at = i;
    let scope: ConditionAttributeScope = "local";
    for (const [prefix, s] of ATTRIBUTE_PREFIXES) {
      if (text.slice(i, i + prefix.length).toLowerCase() === prefix.toLowerCase()) {
        scope = s;
        i += prefix.length;
        break;
      }
    }
    if (scope === "local" && text[i] === "@") ctx.fail("Unknown attribute prefix (@User., @Device., @Resource.).", i);
    let name = "";
    while (i < text.length) {
      const c = text[i] as string;
      if (isAttrChar(c)) {
        name += c;
        i++;
      } else if (c === "%" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
        name += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 5), 16));
        i += 5;
      } else break;
    }
    if (name === "") ctx.fail("Expected an attribute name.", at);
    return { kind: "attribute", scope, name };
  };

  const integer = (): ConditionNode => {
    const at = i;
    const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text.slice(i));
    if (m === null) return ctx.fail("Expected a literal.", at);
    const signText = m[1] as string;
    const digits = m[2] as string;
    i += m[0].length;
    if (isAttrChar(text[i] ?? " ")) ctx.fail(`Bad integer literal ${JSON.stringify(text.slice(at, i + 1))}.`, at);
    const base = /^0[xX]/.test(digits) ? 3 : digits.length > 1 && digits.startsWith("0") ? 1 : 2;
    const magnitude = base === 1 ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
    const value = signText === "-" ? -magnitude : magnitude;
    if (value < -(1n << 63n) || value >= 1n << 63n) ctx.fail("Integer literal out of the int64 range.", at);
    return { kind: "integer", value, token: 4, sign: signText === "+" ? 1 : signText === "-" ? 2 : 3, base };
  };

  const literal = (): ConditionNode => {
    ws();
    const at = i;
    const c = text[i];
    if (c === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) ctx.fail("Unterminated string literal.", at);
      i = close + 1;
      return { kind: "string", value: text.slice(at + 1, close) };
    }
    if (c === "#") {
      const m = /^#[0-9a-fA-F]*/.exec(text.slice(i)) as RegExpExecArray;
      const hex = m[0].slice(1);
      if (hex.length % 2 !== 0) ctx.fail("An octet string literal has an even number of hex digits.", at);
      i += m[0].length;
      const value = new Uint8Array(hex.length / 2);
      for (let k = 0; k < value.length; k++) value[k] = Number.parseInt(hex.slice(2 * k, 2 * k + 2), 16);
      return { kind: "octets", value };
    }
    if (text.slice(i, i + 4).toUpperCase() === "SID(") {
      const close = text.indexOf(")", i + 4);
      if (close < 0) ctx.fail("Unterminated SID(…) literal.", at);
      const sidText = text.slice(i + 4, close).trim();
      i = close + 1;
      return { kind: "sid", sid: ctx.sidOf(sidText, at + 4) };
    }
    if (c === "{") {
      enter();
      i++;
      const items: ConditionNode[] = [];
      ws();
      if (text[i] === "}") i++;
      else {
        for (;;) {
          items.push(literal());
          ws();
          if (text[i] === ",") {
            i++;
            continue;
          }
          if (text[i] === "}") {
            i++;
            break;
          }
          ctx.fail("Expected ',' or '}' in a composite literal.", i);
        }
      }
      depth--;
      return { kind: "composite", items };
    }
    return integer();
  };

  /** The right operand of a relational operator: a literal, a composite, or an attribute. */
  const value = (): ConditionNode => {
    ws();
    const c = text[i] ?? "";
    if (c === "@" || (/^[A-Za-z_]$/.test(c) && text.slice(i, i + 4).toUpperCase() !== "SID(")) return attribute();
    return literal();
  };

  const primary = (): ConditionNode => {
    ws();
    const at = i;
    if (text[i] === "(") {
      enter();
      i++;
      const node = orExpr();
      ws();
      if (text[i] !== ")") ctx.fail("Expected ')' in a conditional expression.", i);
      i++;
      depth--;
      return node;
    }
    for (const op of MEMBER_WORDS) {
      if (startsWithWord(op)) {
        i += op.length;
        ws();
        const operand = op === "Exists" || op === "Not_Exists" ? attribute() : literal();
        return { kind: "unary", op, operand };
      }
    }
    if (i >= text.length) ctx.fail("Unexpected end of the conditional expression.", at);
    const left = attribute();
    ws();
    for (const op of RELATIONAL_SYMBOLS) {
      if (text.startsWith(op, i)) {
        i += op.length;
        return { kind: "binary", op, left, right: value() };
      }
    }
    for (const op of RELATIONAL_WORDS) {
      if (startsWithWord(op)) {
        i += op.length;
        return { kind: "binary", op, left, right: value() };
      }
    }
    return left;
  };

  const notExpr = (): ConditionNode => {
    ws();
    if (text[i] === "!" && text[i + 1] !== "=") {
      enter();
      i++;
      const operand = notExpr();
      depth--;
      return { kind: "unary", op: "!", operand };
    }
    return primary();
  };

  const andExpr = (): ConditionNode => {
    const before = depth;
    let node = notExpr();
    for (ws(); text.startsWith("&&", i); ws()) {
      enter();
      i += 2;
      node = { kind: "binary", op: "&&", left: node, right: notExpr() };
    }
    depth = before;
    return node;
  };

  const orExpr = (): ConditionNode => {
    const before = depth;
    let node = andExpr();
    for (ws(); text.startsWith("||", i); ws()) {
      enter();
      i += 2;
      node = { kind: "binary", op: "||", left: node, right: andExpr() };
    }
    depth = before;
    return node;
  };

  ws();
  if (text[i] !== "(") ctx.fail("A conditional expression starts with '('.", i);
  const node = primary();
  return { node, end: i };
}

function formatInteger(n: Extract<ConditionNode, { kind: "integer" }>): string {
  const negative = n.value < 0n;
  const magnitude = negative ? -n.value : n.value;
  const digits =
    n.base === 3 ? `0x${magnitude.toString(16)}` : n.base === 1 ? `0${magnitude.toString(8)}` : magnitude.toString();
  const sign = negative || n.sign === 2 ? "-" : n.sign === 1 ? "+" : "";
  return sign + digits;
}

function formatAttributeName(name: string): string {
  let out = "";
  for (const c of name) out += isAttrChar(c) ? c : `%${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  return out;
}

/**
 * SDDL text of a conditional expression (what follows the SID field of an XA/XD ACE), parenthesised as
 * Windows prints it; `sidText` formats SID literals (alias or S-1-… text). A string that holds a double
 * quote has no SDDL form: FWP_E_INVALID_PARAMETER.
 */
export function formatConditionText(node: ConditionNode, sidText: (sid: Uint8Array) => string): string {
  const text = formatNode(node, sidText);
  return node.kind === "unary" || node.kind === "binary" ? text : `(${text})`;
}

function formatNode(node: ConditionNode, sidText: (sid: Uint8Array) => string): string {
  switch (node.kind) {
    case "attribute": {
      const prefix = ATTRIBUTE_PREFIXES.find(([, s]) => s === node.scope)?.[0] ?? "";
      return prefix + formatAttributeName(node.name);
    }
    case "integer":
      return formatInteger(node);
    case "string":
      if (node.value.includes('"')) {
        throw new FwpError("FWP_E_INVALID_PARAMETER", {
          detail: "A conditional string literal holding '\"' has no SDDL form.",
        });
      }
      return `"${node.value}"`;
    case "octets":
      return `#${Array.from(node.value, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    case "sid":
      return `SID(${sidText(node.sid)})`;
    case "composite":
      return `{${node.items.map((x) => formatNode(x, sidText)).join(", ")}}`;
    case "unary":
      return node.op === "!"
        ? `(!${formatNode(node.operand, sidText)})`
        : `(${node.op} ${formatNode(node.operand, sidText)})`;
    case "binary":
      return `(${formatNode(node.left, sidText)} ${node.op} ${formatNode(node.right, sidText)})`;
  }
}

/** Growable little-endian byte writer for the token stream. */
class Writer {
  bytes = new Uint8Array(64);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
  u8(n: number): void {
    this.room(1);
    this.bytes[this.length++] = n & 0xff;
  }
  u32(n: number): void {
    this.room(4);
    for (let k = 0; k < 4; k++) this.bytes[this.length++] = (n >>> (8 * k)) & 0xff;
  }
  i64(n: bigint): void {
    const u = BigInt.asUintN(64, n);
    this.room(8);
    for (let k = 0n; k < 8n; k++) this.bytes[this.length++] = Number((u >> (8n * k)) & 0xffn);
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }
  utf16(s: string): void {
    this.u32(2 * s.length);
    this.room(2 * s.length);
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      this.bytes[this.length++] = c & 0xff;
      this.bytes[this.length++] = c >>> 8;
    }
  }
}

function emit(node: ConditionNode, w: Writer): void {
  switch (node.kind) {
    case "attribute":
      w.u8(ATTRIBUTE_CODES[node.scope]);
      w.utf16(node.name);
      return;
    case "integer":
      w.u8(node.token);
      w.i64(node.value);
      w.u8(node.sign);
      w.u8(node.base);
      return;
    case "string":
      w.u8(TOKEN_STRING);
      w.utf16(node.value);
      return;
    case "octets":
      w.u8(TOKEN_OCTETS);
      w.u32(node.value.length);
      w.raw(node.value);
      return;
    case "sid":
      w.u8(TOKEN_SID);
      w.u32(node.sid.length);
      w.raw(node.sid);
      return;
    case "composite": {
      w.u8(TOKEN_COMPOSITE);
      const lengthAt = w.length;
      w.u32(0);
      for (const item of node.items) emit(item, w);
      const size = w.length - lengthAt - 4;
      for (let k = 0; k < 4; k++) w.bytes[lengthAt + k] = (size >>> (8 * k)) & 0xff;
      return;
    }
    case "unary":
      emit(node.operand, w);
      w.u8(UNARY_CODES[node.op]);
      return;
    case "binary":
      emit(node.left, w);
      emit(node.right, w);
      w.u8(BINARY_CODES[node.op]);
      return;
  }
}

/** ApplicationData of a conditional ACE: "artx", the postfix tokens, zero padding to a multiple of 4. */
export function encodeCondition(node: ConditionNode): Uint8Array {
  const w = new Writer();
  for (const b of ACE_CONDITION_SIGNATURE) w.u8(b);
  emit(node, w);
  while (w.length % 4 !== 0) w.u8(0);
  return w.bytes.slice(0, w.length);
}

/** Why ApplicationData is not a conditional expression this module reads, or the expression. */
export type ConditionDecodeResult =
  | { readonly ok: true; readonly node: ConditionNode }
  | { readonly ok: false; readonly reason: string };

function depthOf(node: ConditionNode): number {
  switch (node.kind) {
    case "unary":
      return 1 + depthOf(node.operand);
    case "binary":
      return 1 + Math.max(depthOf(node.left), depthOf(node.right));
    case "composite":
      return 1 + node.items.reduce((d, x) => Math.max(d, depthOf(x)), 0);
    default:
      return 0;
  }
}

/**
 * Reads the ApplicationData of a callback ACE as a conditional expression (MS-DTYP §2.4.4.17.4). Never
 * throws: lengths are checked against the data, nesting is bounded, and a malformed stream is a reason.
 */
export function decodeCondition(data: Uint8Array): ConditionDecodeResult {
  if (data.length < 4 || ACE_CONDITION_SIGNATURE.some((b, k) => data[k] !== b)) {
    return { ok: false, reason: 'ApplicationData does not start with the "artx" signature.' };
  }
  const u32 = (at: number): number =>
    ((data[at] ?? 0) | ((data[at + 1] ?? 0) << 8) | ((data[at + 2] ?? 0) << 16) | ((data[at + 3] ?? 0) << 24)) >>> 0;
  const utf16 = (at: number, byteLength: number): string => {
    let s = "";
    for (let k = 0; k < byteLength; k += 2)
      s += String.fromCharCode((data[at + k] ?? 0) | ((data[at + k + 1] ?? 0) << 8));
    return s;
  };
  /** One literal or attribute token at `at` inside [.., end): the node and the offset after it. */
  const operand = (at: number, end: number, depth: number): { node: ConditionNode; next: number } | string => {
    const code = data[at] ?? 0;
    if (code >= 0x01 && code <= 0x04) {
      if (at + 11 > end) return "An integer token runs past the end.";
      let v = 0n;
      for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(data[at + 1 + k] ?? 0);
      const sign = data[at + 9] ?? 0;
      const base = data[at + 10] ?? 0;
      if (sign < 1 || sign > 3 || base < 1 || base > 3) return "An integer token has a bad sign or base byte.";
      return {
        node: {
          kind: "integer",
          value: BigInt.asIntN(64, v),
          token: code as 1 | 2 | 3 | 4,
          sign: sign as 1 | 2 | 3,
          base: base as 1 | 2 | 3,
        },
        next: at + 11,
      };
    }
    const scope = (Object.keys(ATTRIBUTE_CODES) as ConditionAttributeScope[]).find((s) => ATTRIBUTE_CODES[s] === code);
    const isVariable = scope !== undefined || [TOKEN_STRING, TOKEN_OCTETS, TOKEN_COMPOSITE, TOKEN_SID].includes(code);
    if (!isVariable) return `Unknown token 0x${code.toString(16).padStart(2, "0")} at byte ${at}.`;
    if (at + 5 > end) return "A token length runs past the end.";
    const size = u32(at + 1);
    const body = at + 5;
    if (size > end - body) return "A token's data runs past the end.";
    const next = body + size;
    if (scope !== undefined || code === TOKEN_STRING) {
      if (size % 2 !== 0) return "A UTF-16 token has an odd byte length.";
      const s = utf16(body, size);
      return { node: scope === undefined ? { kind: "string", value: s } : { kind: "attribute", scope, name: s }, next };
    }
    if (code === TOKEN_OCTETS) return { node: { kind: "octets", value: data.slice(body, next) }, next };
    if (code === TOKEN_SID) {
      const count = data[body + 1] ?? 0xff;
      if (data[body] !== 1 || count > 15 || size !== 8 + 4 * count) return "A SID token holds a malformed SID.";
      return { node: { kind: "sid", sid: data.slice(body, next) }, next };
    }
    if (depth >= MAX_DEPTH) return `Composite literals nested deeper than ${MAX_DEPTH}.`;
    const items: ConditionNode[] = [];
    for (let p = body; p < next; ) {
      const r = operand(p, next, depth + 1);
      if (typeof r === "string") return r;
      items.push(r.node);
      p = r.next;
    }
    return { node: { kind: "composite", items }, next };
  };

  const stack: { node: ConditionNode; depth: number }[] = [];
  let at = 4;
  while (at < data.length) {
    const code = data[at] ?? 0;
    if (code === 0) {
      for (let k = at; k < data.length; k++) {
        if (data[k] !== 0) return { ok: false, reason: `Non-zero byte after padding at byte ${k}.` };
      }
      break;
    }
    const unary = UNARY_BY_CODE.get(code);
    const binary = BINARY_BY_CODE.get(code);
    if (unary !== undefined) {
      const a = stack.pop();
      if (a === undefined) return { ok: false, reason: `${unary} without an operand at byte ${at}.` };
      if (a.depth >= MAX_DEPTH) return { ok: false, reason: `Expression nested deeper than ${MAX_DEPTH}.` };
      stack.push({ node: { kind: "unary", op: unary, operand: a.node }, depth: a.depth + 1 });
      at++;
      continue;
    }
    if (binary !== undefined) {
      const right = stack.pop();
      const left = stack.pop();
      if (left === undefined || right === undefined) {
        return { ok: false, reason: `${binary} without two operands at byte ${at}.` };
      }
      const depth = 1 + Math.max(left.depth, right.depth);
      if (depth > MAX_DEPTH) return { ok: false, reason: `Expression nested deeper than ${MAX_DEPTH}.` };
      stack.push({ node: { kind: "binary", op: binary, left: left.node, right: right.node }, depth });
      at++;
      continue;
    }
    const r = operand(at, data.length, 0);
    if (typeof r === "string") return { ok: false, reason: r };
    stack.push({ node: r.node, depth: depthOf(r.node) });
    at = r.next;
  }
  const top = stack[0];
  if (stack.length !== 1 || top === undefined) {
    return { ok: false, reason: `The expression leaves ${stack.length} values instead of one.` };
  }
  return { ok: true, node: top.node };
}
