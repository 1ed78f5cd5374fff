/**
 * The subset of SDDL that WFP policies use for FWP_SECURITY_DESCRIPTOR_TYPE condition values (e.g.
 * ALE_USER_ID `D:(A;;CC;;;S-1-5-18)`, where CC = 0x1 = FWP_ACTRL_MATCH_FILTER, §A.3), to and from the
 * self-relative binary form of MS-DTYP §2.4.6: owner `O:`, group `G:`, and a DACL `D:` with optional
 * P/AI/AR flags and access-allowed (A) / access-denied (D) ACEs whose object GUID fields are empty.
 * Rights are two-letter codes or a hex/decimal mask; SIDs are S-1-… text or a two-letter alias.
 * Binary layout written: header, DACL, owner, group. SACLs and object ACEs are not supported
 * (FWP_E_INVALID_PARAMETER).
 * Sources: https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-string-format,
 * MS-DTYP §2.4.4 (ACE), §2.4.5 (ACL), §2.4.6 (SECURITY_DESCRIPTOR), §2.5.1 (SDDL).
 */
import { FwpError } from "./error.ts";
import { formatSid, isValidSid, tryParseSid } from "./sid.ts";

const SE_DACL_PRESENT = 0x0004;
const SE_DACL_AUTO_INHERIT_REQ = 0x0100;
const SE_DACL_AUTO_INHERITED = 0x0400;
const SE_DACL_PROTECTED = 0x1000;
const SE_SELF_RELATIVE = 0x8000;

const ACE_TYPES: Readonly<Record<string, number>> = { A: 0, D: 1 };
const ACE_FLAGS: Readonly<Record<string, number>> = { OI: 0x1, CI: 0x2, NP: 0x4, IO: 0x8, ID: 0x10 };
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
/** Well-known SID aliases of SDDL. */
const SID_ALIASES: Readonly<Record<string, string>> = {
  WD: "S-1-1-0",
  CO: "S-1-3-0",
  OW: "S-1-3-4",
  NU: "S-1-5-2",
  IU: "S-1-5-4",
  SU: "S-1-5-6",
  AN: "S-1-5-7",
  AU: "S-1-5-11",
  SY: "S-1-5-18",
  LS: "S-1-5-19",
  NS: "S-1-5-20",
  BA: "S-1-5-32-544",
  BU: "S-1-5-32-545",
  BG: "S-1-5-32-546",
  PU: "S-1-5-32-547",
  NO: "S-1-5-32-556",
  AC: "S-1-15-2-1",
};

export interface Ace {
  /** "A" access allowed, "D" access denied. */
  readonly type: "A" | "D";
  /** ACE flag bits (OI 0x1, CI 0x2, NP 0x4, IO 0x8, ID 0x10). */
  readonly flags: number;
  readonly mask: number;
  /** Binary SID. */
  readonly sid: Uint8Array;
}

export interface SecurityDescriptor {
  readonly owner: Uint8Array | null;
  readonly group: Uint8Array | null;
  /** null = no DACL (everyone allowed); [] = empty DACL (nobody). */
  readonly dacl: readonly Ace[] | null;
  /** SE_DACL_PROTECTED / AUTO_INHERIT_REQ / AUTO_INHERITED bits from P, AR, AI. */
  readonly daclControl: number;
}

function bad(detail: string, path?: string): never {
  throw new FwpError("FWP_E_INVALID_PARAMETER", path === undefined ? { detail } : { path, detail });
}

function sidOf(text: string, path?: string): Uint8Array {
  const sid = tryParseSid(SID_ALIASES[text.toUpperCase()] ?? text);
  return sid ?? bad(`Unknown SID ${JSON.stringify(text)} in SDDL.`, path);
}

function rightsOf(text: string, path?: string): number {
  if (/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(text)) {
    const n = Number(text);
    if (n > 0xffffffff) bad(`Access mask ${text} is too large.`, path);
    return n;
  }
  if (text.length % 2 !== 0) bad(`Bad access rights ${JSON.stringify(text)}.`, path);
  let mask = 0;
  for (let i = 0; i < text.length; i += 2) {
    const bit = RIGHTS[text.slice(i, i + 2).toUpperCase()];
    if (bit === undefined) bad(`Unknown access right ${JSON.stringify(text.slice(i, i + 2))}.`, path);
    mask = (mask | bit) >>> 0;
  }
  return mask;
}

/** Parses the SDDL subset into its parts. */
export function parseSddl(text: string, path?: string): SecurityDescriptor {
  let owner: Uint8Array | null = null;
  let group: Uint8Array | null = null;
  let dacl: Ace[] | null = null;
  let daclControl = 0;
  const src = text.replace(/\s+/g, "");
  let i = 0;
  const take = (re: RegExp): string | undefined => {
    const m = re.exec(src.slice(i));
    if (m === null) return undefined;
    i += m[0].length;
    return m[0];
  };
  const sidToken = /^(S-1-(0[xX][0-9a-fA-F]{12}|\d+)(-\d+)*|[A-Z]{2})/i;
  if (src === "") bad("Empty SDDL.", path);
  while (i < src.length) {
    const part = take(/^[OGDS]:/i)?.toUpperCase();
    if (part === undefined) bad(`Bad SDDL at ${JSON.stringify(src.slice(i, i + 20))}.`, path);
    if (part === "S:") bad("SACLs are not supported.", path);
    if (part === "O:" || part === "G:") {
      const sid = sidOf(take(sidToken) ?? bad(`Missing SID after ${part}.`, path), path);
      if (part === "O:") owner = sid;
      else group = sid;
      continue;
    }
    for (let f = take(/^(P|AI|AR)/); f !== undefined; f = take(/^(P|AI|AR)/)) {
      daclControl |= f === "P" ? SE_DACL_PROTECTED : f === "AI" ? SE_DACL_AUTO_INHERITED : SE_DACL_AUTO_INHERIT_REQ;
    }
    dacl = [];
    for (let a = take(/^\([^()]*\)/); a !== undefined; a = take(/^\([^()]*\)/)) {
      const fields = a.slice(1, -1).split(";");
      if (fields.length !== 6) bad(`An ACE has 6 fields: ${JSON.stringify(a)}.`, path);
      const [type, flags, rights, objectGuid, inheritGuid, sid] = fields as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const aceType = ACE_TYPES[type.toUpperCase()];
      if (aceType === undefined) bad(`Unsupported ACE type ${JSON.stringify(type)} (A or D).`, path);
      if (objectGuid !== "" || inheritGuid !== "") bad("Object ACEs are not supported.", path);
      if (flags.length % 2 !== 0) bad(`Bad ACE flags ${JSON.stringify(flags)}.`, path);
      let flagBits = 0;
      for (let k = 0; k < flags.length; k += 2) {
        const bit = ACE_FLAGS[flags.slice(k, k + 2).toUpperCase()];
        if (bit === undefined) bad(`Unknown ACE flag ${JSON.stringify(flags.slice(k, k + 2))}.`, path);
        flagBits |= bit;
      }
      dacl.push({
        type: aceType === 0 ? "A" : "D",
        flags: flagBits,
        mask: rightsOf(rights, path),
        sid: sidOf(sid, path),
      });
    }
  }
  return { owner, group, dacl, daclControl };
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
  const aclSize = sd.dacl === null ? 0 : 8 + sd.dacl.reduce((n, ace) => n + 8 + ace.sid.length, 0);
  const size = 20 + aclSize + (sd.owner?.length ?? 0) + (sd.group?.length ?? 0);
  const out = new Uint8Array(size);
  out[0] = 1;
  writeU16(out, 2, SE_SELF_RELATIVE | (sd.dacl === null ? 0 : SE_DACL_PRESENT | sd.daclControl));
  let at = 20;
  if (sd.dacl !== null) {
    writeU32(out, 16, at);
    out[at] = 2; // ACL_REVISION
    writeU16(out, at + 2, aclSize);
    writeU16(out, at + 4, sd.dacl.length);
    at += 8;
    for (const ace of sd.dacl) {
      out[at] = ace.type === "A" ? 0 : 1;
      out[at + 1] = ace.flags;
      writeU16(out, at + 2, 8 + ace.sid.length);
      writeU32(out, at + 4, ace.mask);
      out.set(ace.sid, at + 8);
      at += 8 + ace.sid.length;
    }
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

function sidAt(b: Uint8Array, offset: number, path?: string): Uint8Array {
  const count = b[offset + 1] ?? 0;
  const sid = b.subarray(offset, offset + 8 + 4 * count);
  return isValidSid(sid) ? sid.slice() : bad("Malformed SID inside the security descriptor.", path);
}

/** Reads a self-relative security descriptor (the subset above); anything else is FWP_E_INVALID_PARAMETER. */
export function decodeSecurityDescriptor(b: Uint8Array, path?: string): SecurityDescriptor {
  if (b.length < 20 || b[0] !== 1) bad("Not a security descriptor (revision 1, 20-byte header).", path);
  const control = readU16(b, 2);
  if ((control & SE_SELF_RELATIVE) === 0) bad("Security descriptor is not self-relative.", path);
  const ownerAt = readU32(b, 4);
  const groupAt = readU32(b, 8);
  const daclAt = readU32(b, 16);
  for (const o of [ownerAt, groupAt, daclAt])
    if (o !== 0 && (o < 20 || o + 8 > b.length)) bad("Offset out of range.", path);
  let dacl: Ace[] | null = null;
  if ((control & SE_DACL_PRESENT) !== 0 && daclAt !== 0) {
    dacl = [];
    const aclEnd = daclAt + readU16(b, daclAt + 2);
    if (aclEnd > b.length) bad("ACL runs past the end.", path);
    let at = daclAt + 8;
    for (let i = 0; i < readU16(b, daclAt + 4); i++) {
      const type = b[at] ?? 0xff;
      const aceSize = readU16(b, at + 2);
      if (type > 1 || aceSize < 16 || at + aceSize > aclEnd) bad("Unsupported or malformed ACE.", path);
      dacl.push({
        type: type === 0 ? "A" : "D",
        flags: b[at + 1] ?? 0,
        mask: readU32(b, at + 4),
        sid: sidAt(b, at + 8, path),
      });
      at += aceSize;
    }
  }
  return {
    owner: ownerAt === 0 ? null : sidAt(b, ownerAt, path),
    group: groupAt === 0 ? null : sidAt(b, groupAt, path),
    dacl,
    daclControl: control & (SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ),
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

/** SDDL text of a security descriptor (SIDs as S-1-… text, rights as codes when they cover the mask). */
export function formatSddl(sd: SecurityDescriptor): string {
  let text = "";
  if (sd.owner !== null) text += `O:${formatSid(sd.owner)}`;
  if (sd.group !== null) text += `G:${formatSid(sd.group)}`;
  if (sd.dacl !== null) {
    text += "D:";
    if (sd.daclControl & SE_DACL_PROTECTED) text += "P";
    if (sd.daclControl & SE_DACL_AUTO_INHERIT_REQ) text += "AR";
    if (sd.daclControl & SE_DACL_AUTO_INHERITED) text += "AI";
    for (const ace of sd.dacl) {
      const flags = Object.entries(ACE_FLAGS)
        .filter(([, bit]) => ace.flags & bit)
        .map(([code]) => code)
        .join("");
      text += `(${ace.type};${flags};${formatRights(ace.mask)};;;${formatSid(ace.sid)})`;
    }
  }
  return text;
}

/** SDDL text → self-relative security descriptor bytes. */
export function securityDescriptorFromSddl(text: string, path?: string): Uint8Array {
  return encodeSecurityDescriptor(parseSddl(text, path));
}

/** Self-relative security descriptor bytes → SDDL text. */
export function securityDescriptorToSddl(bytes: Uint8Array, path?: string): string {
  return formatSddl(decodeSecurityDescriptor(bytes, path));
}
