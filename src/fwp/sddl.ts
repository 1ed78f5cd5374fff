/**
 * The subset of SDDL that WFP policies use for FWP_SECURITY_DESCRIPTOR_TYPE condition values (e.g.
 * ALE_USER_ID `D:(A;;CC;;;S-1-5-18)`, where CC = 0x1 = FWP_ACTRL_MATCH_FILTER, §A.3), to and from the
 * self-relative binary form of MS-DTYP §2.4.6:
 * - owner `O:` and group `G:` (S-1-… text or a two-letter alias);
 * - a DACL `D:` with optional P/AI/AR flags, either `NO_ACCESS_CONTROL` (a NULL DACL: SE_DACL_PRESENT
 *   set and no ACL) or access-allowed (A, 0x0) / access-denied (D, 0x1) ACEs and their callback forms
 *   XA (ACCESS_ALLOWED_CALLBACK_ACE_TYPE, 0x9) / XD (ACCESS_DENIED_CALLBACK_ACE_TYPE, 0xA) carrying a
 *   conditional expression (sddl-conditional.ts), all with empty object GUID fields;
 * - a SACL `S:` that is `NO_ACCESS_CONTROL` (a NULL SACL: SE_SACL_PRESENT with no ACL, as `netsh wfp`
 *   dumps print it) or empty; SACL ACEs are not supported.
 * Rights are two-letter codes or a hex/decimal mask. Machine-relative aliases (LA = <machine>-500,
 * LG = <machine>-501) resolve against `options.machineSid`, domain-relative ones (DA, DU, …) against
 * `options.domainSid`; see SddlOptions. Binary layout written: header, DACL, SACL, owner, group.
 * Anything else is FWP_E_INVALID_PARAMETER naming the offset in the text.
 * Sources: https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-string-format,
 * https://learn.microsoft.com/windows/win32/secauthz/sid-strings, MS-DTYP §2.4.4 (ACE), §2.4.5 (ACL),
 * §2.4.6 (SECURITY_DESCRIPTOR), §2.5.1 (SDDL).
 */
import { FwpError } from "./error.ts";
import {
  type ConditionNode,
  decodeCondition,
  encodeCondition,
  formatConditionText,
  parseConditionText,
} from "./sddl-conditional.ts";
import { formatSid, isValidSid, tryParseSid } from "./sid.ts";

const SE_DACL_PRESENT = 0x0004;
const SE_SACL_PRESENT = 0x0010;
const SE_DACL_AUTO_INHERIT_REQ = 0x0100;
const SE_SACL_AUTO_INHERIT_REQ = 0x0200;
const SE_DACL_AUTO_INHERITED = 0x0400;
const SE_SACL_AUTO_INHERITED = 0x0800;
const SE_DACL_PROTECTED = 0x1000;
const SE_SACL_PROTECTED = 0x2000;
const SE_SELF_RELATIVE = 0x8000;
const DACL_CONTROL = SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ;
const SACL_CONTROL = SE_SACL_PROTECTED | SE_SACL_AUTO_INHERITED | SE_SACL_AUTO_INHERIT_REQ;
const NULL_ACL = "NO_ACCESS_CONTROL";

const ACCESS_ALLOWED_CALLBACK_ACE_TYPE = 0x9;
const ACCESS_DENIED_CALLBACK_ACE_TYPE = 0xa;
const ACE_FLAGS: Readonly<Record<string, number>> = {
  OI: 0x1,
  CI: 0x2,
  NP: 0x4,
  IO: 0x8,
  ID: 0x10,
  SA: 0x40,
  FA: 0x80,
};
/** SDDL access-right codes (generic, standard, and the directory-service codes WFP masks reuse). */
const RIGHTS: Readonly<Record<string, number>> = {
  CC: 0x1,
  DC: 0x2,
  LC: 0x4,
  SW: 0x8,
  RP: 0x10,
  WP: 0x20,
  DT: 0x40,
  LO: 0x80,
  CR: 0x100,
  SD: 0x10000,
  RC: 0x20000,
  WD: 0x40000,
  WO: 0x80000,
  GA: 0x10000000,
  GX: 0x20000000,
  GW: 0x40000000,
  GR: 0x80000000,
};
/** SDDL SID aliases that name one fixed SID on every machine (sid-strings page, MS-DTYP §2.5.1.1). */
const SID_ALIASES: Readonly<Record<string, string>> = {
  AA: "S-1-5-32-579",
  AC: "S-1-15-2-1",
  AN: "S-1-5-7",
  AO: "S-1-5-32-548",
  AS: "S-1-18-1",
  AU: "S-1-5-11",
  BA: "S-1-5-32-544",
  BG: "S-1-5-32-546",
  BO: "S-1-5-32-551",
  BU: "S-1-5-32-545",
  CD: "S-1-5-32-574",
  CG: "S-1-3-1",
  CO: "S-1-3-0",
  CY: "S-1-5-32-569",
  ED: "S-1-5-9",
  ER: "S-1-5-32-573",
  ES: "S-1-5-32-576",
  HA: "S-1-5-32-578",
  HI: "S-1-16-12288",
  IS: "S-1-5-32-568",
  IU: "S-1-5-4",
  LS: "S-1-5-19",
  LU: "S-1-5-32-559",
  LW: "S-1-16-4096",
  ME: "S-1-16-8192",
  MP: "S-1-16-8448",
  MS: "S-1-5-32-577",
  MU: "S-1-5-32-558",
  NO: "S-1-5-32-556",
  NS: "S-1-5-20",
  NU: "S-1-5-2",
  OW: "S-1-3-4",
  PO: "S-1-5-32-550",
  PS: "S-1-5-10",
  PU: "S-1-5-32-547",
  RA: "S-1-5-32-575",
  RC: "S-1-5-12",
  RD: "S-1-5-32-555",
  RE: "S-1-5-32-552",
  RM: "S-1-5-32-580",
  RU: "S-1-5-32-554",
  SI: "S-1-16-16384",
  SO: "S-1-5-32-549",
  SS: "S-1-18-2",
  SU: "S-1-5-6",
  SY: "S-1-5-18",
  UD: "S-1-5-84-0-0-0-0-0",
  WD: "S-1-1-0",
  WR: "S-1-5-33",
};
/** Local accounts: the machine's domain SID plus this RID. */
const MACHINE_ALIASES: Readonly<Record<string, number>> = { LA: 500, LG: 501 };
/**
 * Domain accounts and groups: the domain SID plus this RID. EA, SA, EK and RO live in the forest root
 * domain; they resolve against the same `domainSid` (a single-domain forest).
 */
const DOMAIN_ALIASES: Readonly<Record<string, number>> = {
  RO: 498,
  DA: 512,
  DU: 513,
  DG: 514,
  DC: 515,
  DD: 516,
  CA: 517,
  SA: 518,
  EA: 519,
  PA: 520,
  CN: 522,
  AP: 525,
  KA: 526,
  EK: 527,
  RS: 553,
};
const ALIAS_BY_SID: ReadonlyMap<string, string> = new Map(Object.entries(SID_ALIASES).map(([a, s]) => [s, a]));

/**
 * The machine domain SID used for LA/LG when none is given. It is a placeholder, not a real machine:
 * a policy that names LA is imported as "the local Administrator of machine S-1-5-21-0-0-0", and
 * formats back as LA.
 */
export const DEFAULT_MACHINE_SID = "S-1-5-21-0-0-0";

export interface SddlOptions {
  /**
   * Domain SID of the machine whose local accounts LA (RID 500, Administrator) and LG (RID 501, Guest)
   * name, as S-1-… text. Default DEFAULT_MACHINE_SID (S-1-5-21-0-0-0, a fake machine).
   */
  readonly machineSid?: string;
  /**
   * Domain SID for the domain-relative aliases (DA, DU, DG, DC, DD, CA, SA, EA, PA, RS, CN, AP, KA, EK,
   * RO). No default: without it those aliases are FWP_E_INVALID_PARAMETER.
   */
  readonly domainSid?: string;
  /**
   * formatSddl only: print a SID that has an alias as the alias (SY, WD, LA…), as Windows does, so the
   * text of a `netsh wfp` dump round-trips. Default false: every SID as S-1-… text.
   */
  readonly aliases?: boolean;
}

export interface Ace {
  /** "A" access allowed, "D" access denied (with a condition: XA / XD callback ACEs). */
  readonly type: "A" | "D";
  /** ACE flag bits (OI 0x1, CI 0x2, NP 0x4, IO 0x8, ID 0x10, SA 0x40, FA 0x80). */
  readonly flags: number;
  readonly mask: number;
  /** Binary SID. */
  readonly sid: Uint8Array;
  /**
   * Present on a conditional callback ACE (XA / XD; types 0x9 / 0xA): the expression in its
   * ApplicationData. The ACE applies only when it evaluates to TRUE (MS-DTYP §2.4.4.17.3).
   */
  readonly condition?: ConditionNode;
}

export interface SecurityDescriptor {
  readonly owner: Uint8Array | null;
  readonly group: Uint8Array | null;
  /** null = no DACL or a NULL DACL (everyone allowed); [] = empty DACL (nobody). */
  readonly dacl: readonly Ace[] | null;
  /** SE_DACL_PROTECTED / AUTO_INHERIT_REQ / AUTO_INHERITED bits from P, AR, AI. */
  readonly daclControl: number;
  /** With dacl null: SE_DACL_PRESENT is set without an ACL (`D:NO_ACCESS_CONTROL`). */
  readonly nullDacl?: boolean;
  /**
   * Absent: no SACL (SE_SACL_PRESENT clear). null: a NULL SACL (`S:NO_ACCESS_CONTROL`). []: an empty
   * SACL (`S:`).
   */
  readonly sacl?: readonly [] | null;
  /** SE_SACL_PROTECTED / AUTO_INHERIT_REQ / AUTO_INHERITED bits from the SACL's P, AR, AI. */
  readonly saclControl?: number;
}

function bad(detail: string, path?: string): never {
  throw new FwpError("FWP_E_INVALID_PARAMETER", path === undefined ? { detail } : { path, detail });
}

/** A domain SID from options: S-1-… text with room for one more sub-authority. */
function domainOf(text: string | undefined, name: string, path?: string): string | undefined {
  if (text === undefined) return undefined;
  const sid = tryParseSid(text);
  if (sid === undefined || (sid[1] ?? 15) >= 15)
    bad(`options.${name} ${JSON.stringify(text)} is not a domain SID.`, path);
  return formatSid(sid);
}

/** The SIDs of the machine- and domain-relative aliases under the given options. */
interface RelativeAliases {
  readonly machine: string;
  readonly domain: string | undefined;
}

function relativeAliases(options: SddlOptions, path?: string): RelativeAliases {
  return {
    machine: domainOf(options.machineSid ?? DEFAULT_MACHINE_SID, "machineSid", path) ?? DEFAULT_MACHINE_SID,
    domain: domainOf(options.domainSid, "domainSid", path),
  };
}

/** SDDL text for a SID: its alias when asked for and one exists, else S-1-… text. */
function sidText(sid: Uint8Array, useAliases: boolean, rel: RelativeAliases): string {
  const text = formatSid(sid);
  if (!useAliases) return text;
  const fixed = ALIAS_BY_SID.get(text);
  if (fixed !== undefined) return fixed;
  const cut = text.lastIndexOf("-");
  const parent = text.slice(0, cut);
  const rid = Number(text.slice(cut + 1));
  if (parent === rel.machine) {
    for (const [alias, r] of Object.entries(MACHINE_ALIASES)) if (r === rid) return alias;
  }
  if (parent === rel.domain) {
    for (const [alias, r] of Object.entries(DOMAIN_ALIASES)) if (r === rid) return alias;
  }
  return text;
}

/** Parses SDDL text into its parts (see the module comment); errors name the offset in `text`. */
export function parseSddl(text: string, path?: string, options: SddlOptions = {}): SecurityDescriptor {
  const rel = relativeAliases(options, path);
  const fail: (detail: string, at: number) => never = (detail, at) =>
    bad(`${detail} (offset ${at} in the SDDL text)`, path);
  const sidOf = (token: string, at: number): Uint8Array => {
    const upper = token.toUpperCase();
    const fixed = SID_ALIASES[upper];
    if (fixed !== undefined) return tryParseSid(fixed) as Uint8Array;
    const machineRid = MACHINE_ALIASES[upper];
    if (machineRid !== undefined) return tryParseSid(`${rel.machine}-${machineRid}`) as Uint8Array;
    const domainRid = DOMAIN_ALIASES[upper];
    if (domainRid !== undefined) {
      if (rel.domain === undefined) fail(`${upper} names a domain account; it needs options.domainSid.`, at);
      return tryParseSid(`${rel.domain}-${domainRid}`) as Uint8Array;
    }
    return tryParseSid(token) ?? fail(`Unknown SID ${JSON.stringify(token)}.`, at);
  };
  const rightsOf = (field: string, at: number): number => {
    if (/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(field)) {
      const n = Number(field);
      if (n > 0xffffffff) fail(`Access mask ${field} is too large.`, at);
      return n;
    }
    if (field.length % 2 !== 0) fail(`Bad access rights ${JSON.stringify(field)}.`, at);
    let mask = 0;
    for (let k = 0; k < field.length; k += 2) {
      const bit = RIGHTS[field.slice(k, k + 2).toUpperCase()];
      if (bit === undefined) fail(`Unknown access right ${JSON.stringify(field.slice(k, k + 2))}.`, at + k);
      mask = (mask | bit) >>> 0;
    }
    return mask;
  };
  const flagsOf = (field: string, at: number): number => {
    if (field.length % 2 !== 0) fail(`Bad ACE flags ${JSON.stringify(field)}.`, at);
    let bits = 0;
    for (let k = 0; k < field.length; k += 2) {
      const bit = ACE_FLAGS[field.slice(k, k + 2).toUpperCase()];
      if (bit === undefined) fail(`Unknown ACE flag ${JSON.stringify(field.slice(k, k + 2))}.`, at + k);
      bits |= bit;
    }
    return bits;
  };

  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  /** One ACE field: up to the next ';', ')' or '(' (trimmed), with its offset. */
  const field = (): { value: string; at: number } => {
    ws();
    const at = i;
    while (i < text.length && !";()".includes(text[i] as string)) i++;
    return { value: text.slice(at, i).trim(), at };
  };
  const ace = (): Ace => {
    const aceAt = i;
    i++; // '('
    const fields: { value: string; at: number }[] = [];
    for (let k = 0; k < 6; k++) {
      fields.push(field());
      if (k < 5) {
        if (text[i] !== ";") fail("An ACE has 6 fields separated by ';'.", i);
        i++;
      }
    }
    const [type, flags, rights, objectGuid, inheritGuid, sid] = fields as [
      (typeof fields)[0],
      (typeof fields)[0],
      (typeof fields)[0],
      (typeof fields)[0],
      (typeof fields)[0],
      (typeof fields)[0],
    ];
    const kind = type.value.toUpperCase();
    if (kind !== "A" && kind !== "D" && kind !== "XA" && kind !== "XD") {
      fail(`Unsupported ACE type ${JSON.stringify(type.value)} (A, D, XA or XD).`, type.at);
    }
    if (objectGuid.value !== "" || inheritGuid.value !== "") {
      fail(
        "Object ACEs (object GUID fields) are not supported.",
        objectGuid.value !== "" ? objectGuid.at : inheritGuid.at,
      );
    }
    const base = {
      type: kind.endsWith("A") ? ("A" as const) : ("D" as const),
      flags: flagsOf(flags.value, flags.at),
      mask: rightsOf(rights.value, rights.at),
      sid: sidOf(sid.value, sid.at),
    };
    const callback = kind.startsWith("X");
    if (text[i] === ")") {
      if (callback) fail(`An ${kind} ACE needs a conditional expression.`, i);
      i++;
      return base;
    }
    if (text[i] !== ";") fail(`Unterminated ACE starting at offset ${aceAt}.`, i);
    if (!callback) fail(`Only XA and XD ACEs carry a conditional expression, not ${kind}.`, i);
    i++;
    const { node, end } = parseConditionText(text, i, { sidOf, fail });
    i = end;
    ws();
    if (text[i] !== ")") fail("Expected ')' after the conditional expression.", i);
    i++;
    return { ...base, condition: node };
  };
  /** ACL flags (P, AR, AI) after D: or S:, as SE_DACL_* bits (shifted by the caller for the SACL). */
  const aclFlags = (): number => {
    let bits = 0;
    for (;;) {
      ws();
      if (text.startsWith("AR", i) || text.startsWith("ar", i)) bits |= SE_DACL_AUTO_INHERIT_REQ;
      else if (text.startsWith("AI", i) || text.startsWith("ai", i)) bits |= SE_DACL_AUTO_INHERITED;
      else if (text[i] === "P" || text[i] === "p") {
        bits |= SE_DACL_PROTECTED;
        i++;
        continue;
      } else return bits;
      i += 2;
    }
  };
  const nullAcl = (): boolean => {
    ws();
    if (text.slice(i, i + NULL_ACL.length).toUpperCase() !== NULL_ACL) return false;
    i += NULL_ACL.length;
    return true;
  };

  let owner: Uint8Array | null = null;
  let group: Uint8Array | null = null;
  let dacl: Ace[] | null = null;
  let daclControl = 0;
  let nullDacl = false;
  let sacl: [] | null | undefined;
  let saclControl = 0;
  const seen = new Set<string>();
  ws();
  if (i >= text.length) fail("Empty SDDL.", 0);
  for (ws(); i < text.length; ws()) {
    const at = i;
    const part = text.slice(i, i + 2).toUpperCase();
    if (!/^[OGDS]:$/.test(part)) fail(`Expected O:, G:, D: or S: at ${JSON.stringify(text.slice(i, i + 20))}.`, at);
    if (seen.has(part)) fail(`${part} appears twice.`, at);
    seen.add(part);
    i += 2;
    if (part === "O:" || part === "G:") {
      ws();
      const m = /^(S-1-(0[xX][0-9a-fA-F]{12}|\d+)(-\d+)*|[A-Za-z]{2})/i.exec(text.slice(i));
      if (m === null) fail(`Missing SID after ${part}.`, i);
      const sid = sidOf((m as RegExpExecArray)[0], i);
      i += (m as RegExpExecArray)[0].length;
      if (part === "O:") owner = sid;
      else group = sid;
      continue;
    }
    const flags = aclFlags();
    if (part === "S:") {
      saclControl = flags === 0 ? 0 : flags << 1; // SE_DACL_x → SE_SACL_x (the next bit up)
      if (nullAcl()) sacl = null;
      else {
        sacl = [];
        ws();
        if (text[i] === "(") fail("SACL ACEs are not supported.", i);
      }
      continue;
    }
    daclControl = flags;
    if (nullAcl()) {
      nullDacl = true;
      continue;
    }
    dacl = [];
    for (ws(); text[i] === "("; ws()) dacl.push(ace());
  }
  return {
    owner,
    group,
    dacl,
    daclControl,
    ...(nullDacl ? { nullDacl } : {}),
    ...(sacl === undefined ? {} : { sacl, saclControl }),
  };
}

function writeU16(out: Uint8Array, at: number, n: number): void {
  out[at] = n & 0xff;
  out[at + 1] = (n >>> 8) & 0xff;
}

function writeU32(out: Uint8Array, at: number, n: number): void {
  writeU16(out, at, n & 0xffff);
  writeU16(out, at + 2, n >>> 16);
}

function readU16(b: Uint8Array, at: number): number {
  return (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
}

function readU32(b: Uint8Array, at: number): number {
  return (readU16(b, at) | (readU16(b, at + 2) << 16)) >>> 0;
}

/** The self-relative binary form (MS-DTYP §2.4.6) of a security descriptor. */
export function encodeSecurityDescriptor(sd: SecurityDescriptor): Uint8Array {
  const conditions = (sd.dacl ?? []).map((ace) =>
    ace.condition === undefined ? undefined : encodeCondition(ace.condition),
  );
  const aceSizes = (sd.dacl ?? []).map((ace, k) => 8 + ace.sid.length + (conditions[k]?.length ?? 0));
  const daclSize = sd.dacl === null ? 0 : 8 + aceSizes.reduce((n, s) => n + s, 0);
  if (daclSize > 0xffff || aceSizes.some((s) => s > 0xffff)) bad("The DACL is larger than 65535 bytes.");
  const saclSize = sd.sacl === undefined || sd.sacl === null ? 0 : 8;
  const size = 20 + daclSize + saclSize + (sd.owner?.length ?? 0) + (sd.group?.length ?? 0);
  const out = new Uint8Array(size);
  out[0] = 1;
  let control = SE_SELF_RELATIVE;
  if (sd.dacl !== null || sd.nullDacl === true) control |= SE_DACL_PRESENT | (sd.daclControl & DACL_CONTROL);
  if (sd.sacl !== undefined) control |= SE_SACL_PRESENT | ((sd.saclControl ?? 0) & SACL_CONTROL);
  writeU16(out, 2, control);
  let at = 20;
  if (sd.dacl !== null) {
    writeU32(out, 16, at);
    out[at] = 2; // ACL_REVISION
    writeU16(out, at + 2, daclSize);
    writeU16(out, at + 4, sd.dacl.length);
    at += 8;
    sd.dacl.forEach((ace, k) => {
      const condition = conditions[k];
      const aceSize = aceSizes[k] ?? 0;
      out[at] =
        condition === undefined
          ? ace.type === "A"
            ? 0
            : 1
          : ace.type === "A"
            ? ACCESS_ALLOWED_CALLBACK_ACE_TYPE
            : ACCESS_DENIED_CALLBACK_ACE_TYPE;
      out[at + 1] = ace.flags;
      writeU16(out, at + 2, aceSize);
      writeU32(out, at + 4, ace.mask);
      out.set(ace.sid, at + 8);
      if (condition !== undefined) out.set(condition, at + 8 + ace.sid.length);
      at += aceSize;
    });
  }
  if (saclSize !== 0) {
    writeU32(out, 12, at);
    out[at] = 2;
    writeU16(out, at + 2, 8);
    at += 8;
  }
  if (sd.owner !== null) {
    writeU32(out, 4, at);
    out.set(sd.owner, at);
    at += sd.owner.length;
  }
  if (sd.group !== null) {
    writeU32(out, 8, at);
    out.set(sd.group, at);
  }
  return out;
}

function sidAt(b: Uint8Array, offset: number, end: number, path?: string): Uint8Array {
  const count = b[offset + 1] ?? 0;
  const sidEnd = offset + 8 + 4 * count;
  const sid = b.subarray(offset, sidEnd);
  return sidEnd <= end && isValidSid(sid) ? sid.slice() : bad("Malformed SID inside the security descriptor.", path);
}

/** Reads a self-relative security descriptor (the subset above); anything else is FWP_E_INVALID_PARAMETER. */
export function decodeSecurityDescriptor(b: Uint8Array, path?: string): SecurityDescriptor {
  if (b.length < 20 || b[0] !== 1) bad("Not a security descriptor (revision 1, 20-byte header).", path);
  const control = readU16(b, 2);
  if ((control & SE_SELF_RELATIVE) === 0) bad("Security descriptor is not self-relative.", path);
  const ownerAt = readU32(b, 4);
  const groupAt = readU32(b, 8);
  const saclAt = readU32(b, 12);
  const daclAt = readU32(b, 16);
  for (const o of [ownerAt, groupAt, saclAt, daclAt])
    if (o !== 0 && (o < 20 || o + 8 > b.length)) bad("Offset out of range.", path);
  const daclPresent = (control & SE_DACL_PRESENT) !== 0;
  let dacl: Ace[] | null = null;
  if (daclPresent && daclAt !== 0) {
    dacl = [];
    const aclEnd = daclAt + readU16(b, daclAt + 2);
    if (aclEnd > b.length) bad("ACL runs past the end.", path);
    let at = daclAt + 8;
    for (let i = 0; i < readU16(b, daclAt + 4); i++) {
      const type = b[at] ?? 0xff;
      const aceSize = readU16(b, at + 2);
      const callback = type === ACCESS_ALLOWED_CALLBACK_ACE_TYPE || type === ACCESS_DENIED_CALLBACK_ACE_TYPE;
      if ((type > 1 && !callback) || aceSize < 16 || at + aceSize > aclEnd) bad("Unsupported or malformed ACE.", path);
      const sid = sidAt(b, at + 8, at + aceSize, path);
      const base = {
        type: type === 0 || type === ACCESS_ALLOWED_CALLBACK_ACE_TYPE ? ("A" as const) : ("D" as const),
        flags: b[at + 1] ?? 0,
        mask: readU32(b, at + 4),
        sid,
      };
      if (callback) {
        const decoded = decodeCondition(b.subarray(at + 8 + sid.length, at + aceSize));
        if (!decoded.ok) bad(`Callback ACE ${i}: ${decoded.reason}`, path);
        dacl.push({ ...base, condition: decoded.node });
      } else dacl.push(base);
      at += aceSize;
    }
  }
  let sacl: [] | null | undefined;
  if ((control & SE_SACL_PRESENT) !== 0) {
    if (saclAt === 0) sacl = null;
    else if (readU16(b, saclAt + 4) !== 0) bad("SACL ACEs are not supported.", path);
    else sacl = [];
  }
  return {
    owner: ownerAt === 0 ? null : sidAt(b, ownerAt, b.length, path),
    group: groupAt === 0 ? null : sidAt(b, groupAt, b.length, path),
    dacl,
    daclControl: daclPresent ? control & DACL_CONTROL : 0,
    ...(daclPresent && daclAt === 0 ? { nullDacl: true } : {}),
    ...(sacl === undefined ? {} : { sacl, saclControl: control & SACL_CONTROL }),
  };
}

function formatRights(mask: number): string {
  let rest = mask >>> 0;
  let codes = "";
  for (const [code, bit] of Object.entries(RIGHTS)) {
    if ((rest & bit) >>> 0 === bit) {
      codes += code;
      rest = (rest & ~bit) >>> 0;
    }
  }
  return rest === 0 && codes !== "" ? codes : `0x${(mask >>> 0).toString(16)}`;
}

function formatAclFlags(bits: number): string {
  return (
    (bits & SE_DACL_PROTECTED ? "P" : "") +
    (bits & SE_DACL_AUTO_INHERIT_REQ ? "AR" : "") +
    (bits & SE_DACL_AUTO_INHERITED ? "AI" : "")
  );
}

/**
 * SDDL text of a security descriptor: O:, G:, D:, S: in that order; rights as codes when they cover the
 * mask; SIDs as S-1-… text, or as aliases with `options.aliases` (LA/LG for `options.machineSid`).
 */
export function formatSddl(sd: SecurityDescriptor, options: SddlOptions = {}): string {
  const rel = relativeAliases(options);
  const useAliases = options.aliases === true;
  const sidOut = (sid: Uint8Array): string => sidText(sid, useAliases, rel);
  let text = "";
  if (sd.owner !== null) text += `O:${sidOut(sd.owner)}`;
  if (sd.group !== null) text += `G:${sidOut(sd.group)}`;
  if (sd.dacl !== null || sd.nullDacl === true) {
    text += `D:${formatAclFlags(sd.daclControl)}`;
    if (sd.dacl === null) text += NULL_ACL;
    for (const ace of sd.dacl ?? []) {
      const flags = Object.entries(ACE_FLAGS)
        .filter(([, bit]) => ace.flags & bit)
        .map(([code]) => code)
        .join("");
      const type = ace.condition === undefined ? ace.type : `X${ace.type}`;
      const condition = ace.condition === undefined ? "" : `;${formatConditionText(ace.condition, sidOut)}`;
      text += `(${type};${flags};${formatRights(ace.mask)};;;${sidOut(ace.sid)}${condition})`;
    }
  }
  if (sd.sacl !== undefined) {
    text += `S:${formatAclFlags((sd.saclControl ?? 0) >>> 1)}`;
    if (sd.sacl === null) text += NULL_ACL;
  }
  return text;
}

/** SDDL text → self-relative security descriptor bytes. */
export function securityDescriptorFromSddl(text: string, path?: string, options: SddlOptions = {}): Uint8Array {
  return encodeSecurityDescriptor(parseSddl(text, path, options));
}

/** Self-relative security descriptor bytes → SDDL text. */
export function securityDescriptorToSddl(bytes: Uint8Array, path?: string, options: SddlOptions = {}): string {
  return formatSddl(decodeSecurityDescriptor(bytes, path), options);
}
