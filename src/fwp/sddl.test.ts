import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { isFwpError } from "./error.ts";
import {
  DEFAULT_MACHINE_SID,
  decodeSecurityDescriptor,
  encodeSecurityDescriptor,
  formatSddl,
  parseSddl,
  securityDescriptorFromSddl,
  securityDescriptorToSddl,
} from "./sddl.ts";
import { parseSid } from "./sid.ts";
import { isSelfRelativeSecurityDescriptor } from "./value.ts";

const FIXTURES = new URL("../../fixtures/wfp-state/", import.meta.url);
const DUMPS = ["keploy__wfpstate.xml", "le_voile__filters.xml", "libgrabber__wfpfilters.xml"];

/** Every distinct SDDL string in the `netsh wfp` dumps, read by regex from the raw XML. */
function dumpSddl(): string[] {
  const out = new Set<string>();
  for (const f of DUMPS) {
    for (const m of readFileSync(new URL(f, FIXTURES), "utf8").matchAll(/<sd>([^<]*)<\/sd>/g)) out.add(m[1] as string);
  }
  return [...out];
}

function utf16le(ascii: string): number[] {
  return [...ascii].flatMap((c) => [c.charCodeAt(0), 0]);
}

function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

function throwsAt(text: string, offset: number, options = {}): void {
  assert.throws(
    () => securityDescriptorFromSddl(text, "p", options),
    (e) => isFwpError(e, "FWP_E_INVALID_PARAMETER") && e.path === "p" && e.message.includes(`offset ${offset} `),
    `${text} → offset ${offset}`,
  );
}

describe("SDDL subset for FWP_SECURITY_DESCRIPTOR_TYPE", () => {
  it("D:(A;;CC;;;S-1-5-18) is one allow ACE with mask 0x1 (FWP_ACTRL_MATCH_FILTER) in a self-relative SD", () => {
    const sd = securityDescriptorFromSddl("D:(A;;CC;;;S-1-5-18)");
    assert.ok(isSelfRelativeSecurityDescriptor(sd));
    // Header: revision 1, control SE_SELF_RELATIVE|SE_DACL_PRESENT, DACL right after the header.
    assert.deepEqual([...sd.subarray(0, 4)], [1, 0, 0x04, 0x80]);
    assert.deepEqual([...sd.subarray(16, 20)], [20, 0, 0, 0]);
    // ACL: revision 2, size 8 + 20, one ACE: allowed, no flags, size 20, mask 1, then the SID.
    assert.deepEqual([...sd.subarray(20, 28)], [2, 0, 28, 0, 1, 0, 0, 0]);
    assert.deepEqual([...sd.subarray(28, 36)], [0, 0, 20, 0, 1, 0, 0, 0]);
    assert.deepEqual(sd.subarray(36), parseSid("S-1-5-18"));
    assert.equal(sd.length, 48);
  });

  it("round-trips owner, group, DACL flags, allow and deny ACEs and SID aliases", () => {
    const text = "O:BAG:SYD:PAI(A;;CC;;;WD)(D;OICI;0x3;;;S-1-5-21-1-2-3-1001)";
    const back = securityDescriptorToSddl(securityDescriptorFromSddl(text));
    assert.equal(back, "O:S-1-5-32-544G:S-1-5-18D:PAI(A;;CC;;;S-1-1-0)(D;OICI;CCDC;;;S-1-5-21-1-2-3-1001)");
    assert.equal(securityDescriptorToSddl(securityDescriptorFromSddl(back)), back);
    assert.equal(
      securityDescriptorToSddl(securityDescriptorFromSddl(text), undefined, { aliases: true }),
      "O:BAG:SYD:PAI(A;;CC;;;WD)(D;OICI;CCDC;;;S-1-5-21-1-2-3-1001)",
    );
    const parts = decodeSecurityDescriptor(securityDescriptorFromSddl("D:"));
    assert.deepEqual(parts.dacl, []);
    assert.equal(parseSddl("O:SY").dacl, null);
  });

  it("unsupported or malformed SDDL is FWP_E_INVALID_PARAMETER", () => {
    for (const bad of [
      "",
      "S:(AU;;CC;;;WD)",
      "D:(A;;CC;;S-1-5-18)",
      "D:(OA;;CC;x;;WD)",
      "D:(A;;QQ;;;WD)",
      "D:(A;;CC;;;XX)",
      "Q:",
    ]) {
      assert.throws(
        () => securityDescriptorFromSddl(bad, "p"),
        (e) => isFwpError(e, "FWP_E_INVALID_PARAMETER") && e.path === "p",
        bad,
      );
    }
  });
});

describe("SDDL of real netsh wfp dumps (fixtures/wfp-state)", () => {
  const all = dumpSddl();

  it("the dumps hold the LA alias, conditional XA ACEs and S:NO_ACCESS_CONTROL", () => {
    assert.ok(all.some((s) => s.includes(";LA)")));
    assert.ok(all.some((s) => s.includes("(XA;")));
    assert.ok(all.some((s) => s.endsWith("S:NO_ACCESS_CONTROL")));
  });

  it("every distinct <sd> string parses, encodes, decodes and formats back to exactly the same text", () => {
    assert.ok(all.length >= 40, `only ${all.length} strings`);
    for (const text of all) {
      const bytes = securityDescriptorFromSddl(text);
      assert.ok(isSelfRelativeSecurityDescriptor(bytes), text);
      const decoded = decodeSecurityDescriptor(bytes);
      assert.equal(formatSddl(decoded, { aliases: true }), text);
      // The decoded parts encode to the same bytes again.
      assert.deepEqual(encodeSecurityDescriptor(decoded), bytes, text);
    }
  });
});

describe("machine- and domain-relative SID aliases", () => {
  it("LA and LG are RIDs 500 and 501 of options.machineSid, and format back as LA / LG for that machine only", () => {
    const machineSid = "S-1-5-21-1004336348-1177238915-682003330";
    const sd = parseSddl("O:LAG:LGD:(A;;CC;;;LA)", undefined, { machineSid });
    assert.deepEqual(sd.owner, parseSid(`${machineSid}-500`));
    assert.deepEqual(sd.group, parseSid(`${machineSid}-501`));
    assert.equal(formatSddl(sd, { machineSid, aliases: true }), "O:LAG:LGD:(A;;CC;;;LA)");
    // Another machine's Administrator is just a SID.
    assert.equal(
      formatSddl(sd, { aliases: true }),
      `O:${machineSid}-500G:${machineSid}-501D:(A;;CC;;;${machineSid}-500)`,
    );
    assert.equal(formatSddl(sd, { machineSid }), `O:${machineSid}-500G:${machineSid}-501D:(A;;CC;;;${machineSid}-500)`);
  });

  it("without options LA is the Administrator of the documented placeholder machine", () => {
    assert.equal(DEFAULT_MACHINE_SID, "S-1-5-21-0-0-0");
    assert.deepEqual(parseSddl("O:LA").owner, parseSid("S-1-5-21-0-0-0-500"));
    assert.equal(securityDescriptorToSddl(securityDescriptorFromSddl("O:LA"), undefined, { aliases: true }), "O:LA");
  });

  it("domain aliases need options.domainSid; a bad machineSid or domainSid is refused", () => {
    throwsAt("D:(A;;CC;;;DA)", 11);
    const domainSid = "S-1-5-21-7-8-9";
    const sd = parseSddl("D:(A;;CC;;;DA)(A;;CC;;;DU)", undefined, { domainSid });
    assert.deepEqual(
      sd.dacl?.map((a) => a.sid),
      [parseSid(`${domainSid}-512`), parseSid(`${domainSid}-513`)],
    );
    assert.equal(formatSddl(sd, { domainSid, aliases: true }), "D:(A;;CC;;;DA)(A;;CC;;;DU)");
    for (const options of [{ machineSid: "S-1-5-21-x" }, { domainSid: "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15" }]) {
      assert.throws(
        () => parseSddl("O:SY", "p", options),
        (e) => isFwpError(e, "FWP_E_INVALID_PARAMETER") && e.path === "p",
      );
    }
  });
});

describe("NULL and empty ACLs", () => {
  it("D:NO_ACCESS_CONTROL sets SE_DACL_PRESENT with no DACL offset (a NULL DACL)", () => {
    const bytes = securityDescriptorFromSddl("O:SYD:NO_ACCESS_CONTROL");
    // Control 0x8004 = SE_SELF_RELATIVE | SE_DACL_PRESENT; OffsetDacl (bytes 16..19) is 0; owner at 20.
    assert.deepEqual([...bytes.subarray(0, 20)], [1, 0, 0x04, 0x80, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(bytes.length, 32);
    const sd = decodeSecurityDescriptor(bytes);
    assert.equal(sd.dacl, null);
    assert.equal(sd.nullDacl, true);
    assert.equal(formatSddl(sd, { aliases: true }), "O:SYD:NO_ACCESS_CONTROL");
    // Protected NULL DACL keeps its flag.
    assert.deepEqual(
      [...securityDescriptorFromSddl("D:PNO_ACCESS_CONTROL").subarray(2, 4)],
      [0x04, 0x90], // SE_SELF_RELATIVE | SE_DACL_PROTECTED | SE_DACL_PRESENT
    );
    assert.equal(securityDescriptorToSddl(securityDescriptorFromSddl("D:PNO_ACCESS_CONTROL")), "D:PNO_ACCESS_CONTROL");
  });

  it("S:NO_ACCESS_CONTROL sets SE_SACL_PRESENT with no SACL offset; S: is an empty SACL", () => {
    const bytes = securityDescriptorFromSddl("D:(A;NP;CC;;;SY)S:NO_ACCESS_CONTROL");
    // Control 0x8014 = SE_SELF_RELATIVE | SE_SACL_PRESENT | SE_DACL_PRESENT; OffsetSacl (bytes 12..15) is 0.
    assert.deepEqual([...bytes.subarray(2, 4)], [0x14, 0x80]);
    assert.deepEqual([...bytes.subarray(12, 16)], [0, 0, 0, 0]);
    const sd = decodeSecurityDescriptor(bytes);
    assert.equal(sd.sacl, null);
    assert.equal(formatSddl(sd, { aliases: true }), "D:(A;NP;CC;;;SY)S:NO_ACCESS_CONTROL");

    const empty = securityDescriptorFromSddl("S:PAI");
    // SE_SELF_RELATIVE | SE_SACL_PROTECTED 0x2000 | SE_SACL_AUTO_INHERITED 0x800 | SE_SACL_PRESENT 0x10.
    assert.deepEqual([...empty.subarray(2, 4)], [0x10, 0xa8]);
    // OffsetSacl 20, then an 8-byte ACL: revision 2, size 8, no ACEs.
    assert.deepEqual([...empty.subarray(12, 16)], [20, 0, 0, 0]);
    assert.deepEqual([...empty.subarray(20)], [2, 0, 8, 0, 0, 0, 0, 0]);
    assert.deepEqual(decodeSecurityDescriptor(empty).sacl, []);
    assert.equal(securityDescriptorToSddl(empty), "S:PAI");
  });
});

describe("conditional (callback) ACEs", () => {
  it("a dump's XA ACE is type 0x9 with 'artx' and postfix tokens in its ApplicationData, byte for byte", () => {
    const bytes = securityDescriptorFromSddl('D:(XA;;CC;;;WD;(WIN://SYSAPPID Contains "MSTeams_8wekyb3d8bbwe"))');
    // MS-DTYP §2.4.4.17.4: "artx", then in postfix order the local attribute token (0xF8, DWORD byte
    // length, UTF-16LE name), the Unicode string literal (0x10, DWORD byte length, UTF-16LE), then the
    // Contains operator 0x86; the ACE ends on a DWORD boundary with 0x00 padding.
    const applicationData = [
      ...[0x61, 0x72, 0x74, 0x78],
      0xf8,
      ...[28, 0, 0, 0],
      ...utf16le("WIN://SYSAPPID"),
      0x10,
      ...[42, 0, 0, 0],
      ...utf16le("MSTeams_8wekyb3d8bbwe"),
      0x86,
      ...[0, 0, 0], // 85 bytes so far → padded to 88
    ];
    const everyone = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]; // S-1-1-0
    const aceSize = 8 + everyone.length + applicationData.length; // 108
    const expected = [
      ...[1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0], // header, DACL at 20
      ...[2, 0, 8 + aceSize, 0, 1, 0, 0, 0], // ACL: revision 2, size, one ACE
      ...[0x09, 0x00, aceSize, 0, 1, 0, 0, 0], // ACCESS_ALLOWED_CALLBACK_ACE_TYPE, no flags, size, mask CC
      ...everyone,
      ...applicationData,
    ];
    assert.equal(aceSize, 108);
    assert.deepEqual([...bytes], expected);
    assert.equal(
      securityDescriptorToSddl(bytes, undefined, { aliases: true }),
      'D:(XA;;CC;;;WD;(WIN://SYSAPPID Contains "MSTeams_8wekyb3d8bbwe"))',
    );
  });

  it("XD with a user attribute, an integer, a SID composite, Member_of and && encodes in postfix order", () => {
    const bytes = securityDescriptorFromSddl("D:(XD;;CC;;;BA;((@User.clearance >= 5) && (Member_of {SID(BA)})))");
    const ba = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0]; // S-1-5-32-544
    const applicationData = [
      ...[0x61, 0x72, 0x74, 0x78],
      0xf9, // user attribute; the "@User." prefix is not stored
      ...u32le(18),
      ...utf16le("clearance"),
      0x04, // int64 literal: QWORD value, sign 3 (none), base 2 (decimal)
      ...[5, 0, 0, 0, 0, 0, 0, 0],
      3,
      2,
      0x85, // >=
      0x50, // composite: DWORD byte length of its elements, then the elements
      ...u32le(1 + 4 + 16),
      0x51, // SID literal: DWORD byte length, binary SID
      ...u32le(16),
      ...ba,
      0x89, // Member_of
      0xa0, // &&
    ];
    while (applicationData.length % 4 !== 0) applicationData.push(0);
    const ace = bytes.subarray(28);
    assert.equal(ace[0], 0x0a); // ACCESS_DENIED_CALLBACK_ACE_TYPE
    assert.equal(ace[2], 8 + 16 + applicationData.length);
    assert.deepEqual([...ace.subarray(8, 24)], ba);
    assert.deepEqual([...ace.subarray(24)], applicationData);
    assert.equal(
      securityDescriptorToSddl(bytes, undefined, { aliases: true }),
      "D:(XD;;CC;;;BA;((@User.clearance >= 5) && (Member_of {SID(BA)})))",
    );
  });

  it("expressions of every operator and literal kind round-trip through the binary form", () => {
    for (const condition of [
      '(Title == "PM")',
      "(Title)",
      '((@User.Title == "PM") || (@User.Division != "Sales"))',
      "(!(@Device.managed == 1))",
      "(Exists @Resource.Project)",
      "(Not_Exists Title)",
      "(Member_of {SID(BA), SID(S-1-5-21-1-2-3-1001)})",
      "(Device_Member_of_Any {SID(WD)})",
      "(Not_Member_of SID(SY))",
      "(@User.Project Any_of @Resource.Project)",
      "(@User.level Not_Any_of {1, 0x10, -2, +3, 017, 0})",
      '(@User.tags Contains {"a", "b c"})',
      '(@User.tags Not_Contains "x")',
      "(@Resource.hash == #0a0bff)",
      "((a < 1) && ((b <= 2) || ((c > 3) && (d >= -9223372036854775808))))",
      "(@User.dept%0020name == 1)",
    ]) {
      const text = `D:(XA;;CC;;;WD;${condition})`;
      const bytes = securityDescriptorFromSddl(text);
      assert.equal(securityDescriptorToSddl(bytes, undefined, { aliases: true }), text);
    }
  });

  it("precedence is || < && < ! < relational, and spacing is normalised", () => {
    const cases: [string, string][] = [
      ["(a == 1 || b == 2 && c == 3)", "((a == 1) || ((b == 2) && (c == 3)))"],
      ["(a==1&&b==2||c==3)", "(((a == 1) && (b == 2)) || (c == 3))"],
      ['( WIN://SYSAPPID   Contains"x" )', '(WIN://SYSAPPID Contains "x")'],
      ["(!(a == 1) && Exists b)", "((!(a == 1)) && (Exists b))"],
      ["(Member_of{SID(BA)})", "(Member_of {SID(BA)})"],
      ["(x == #0A0B)", "(x == #0a0b)"],
    ];
    for (const [input, canonical] of cases) {
      const back = securityDescriptorToSddl(securityDescriptorFromSddl(`D:(XA;;CC;;;WD;${input})`), undefined, {
        aliases: true,
      });
      assert.equal(back, `D:(XA;;CC;;;WD;${canonical})`, input);
    }
  });
});

describe("bad SDDL names the offset in the text", () => {
  it("each error carries FWP_E_INVALID_PARAMETER, the path and the offset of the fault", () => {
    throwsAt("D:(A;;CC;;;XX)", 11);
    throwsAt("D:(A;;QQ;;;WD)", 6);
    throwsAt("D:(A;XY;CC;;;WD)", 5);
    throwsAt("O:SYQ:", 4);
    throwsAt("O:SYO:SY", 4);
    throwsAt("S:(AU;;CC;;;WD)", 2);
    throwsAt("D:(AU;;CC;;;WD)", 3);
    throwsAt("D:(A;;CC;;S-1-5-18)", 18);
    throwsAt("D:(XA;;CC;;;WD)", 14);
    throwsAt("D:(A;;CC;;;WD;(x == 1))", 13);
    throwsAt('D:(XA;;CC;;;WD;(WIN://SYSAPPID Contains "abc))', 40);
    throwsAt("D:(XA;;CC;;;WD;(x ==))", 20);
    throwsAt("D:(XA;;CC;;;WD;(Member_of {SID(QQ)}))", 31);
    throwsAt("D:(XA;;CC;;;WD;(x == 1)", 23);
    throwsAt("D:(XA;;CC;;;WD;(x == #123))", 21);
    throwsAt("D:(XA;;CC;;;WD;(@Foo.x == 1))", 16);
    throwsAt(`D:(XA;;CC;;;WD;${"(".repeat(300)}x${")".repeat(300)})`, 271);
    throwsAt("   ", 0);
  });
});

describe("malformed binary descriptors", () => {
  const valid = securityDescriptorFromSddl(
    'O:SYG:SYD:(XA;;CC;;;WD;((WIN://SYSAPPID Contains "a") || (Member_of {SID(BA), SID(SY)})))(A;;CC;;;AC)S:NO_ACCESS_CONTROL',
  );

  /** Replaces the ApplicationData of the first ACE (at 28 + 8 + 12) and fixes up its sizes. */
  function withApplicationData(data: number[]): Uint8Array {
    const out = new Uint8Array(48 + data.length);
    out.set(valid.subarray(0, 48));
    out.set(data, 48);
    const size = 8 + 12 + data.length;
    out.fill(0, 4, 12); // no owner, no group
    out.set([(8 + size) & 0xff, (8 + size) >>> 8, 1, 0], 22); // ACL size, one ACE
    out.set([size & 0xff, size >>> 8], 30); // ACE size
    return out;
  }

  it("bad conditional token streams are FWP_E_INVALID_PARAMETER, not crashes", () => {
    const artx = [0x61, 0x72, 0x74, 0x78];
    for (const data of [
      [0x61, 0x72, 0x74, 0x79], // wrong signature
      [...artx], // no expression
      [...artx, 0x86, 0, 0, 0], // operator without operands
      [...artx, 0xf8, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0], // length far past the end
      [...artx, 0xf8, 3, 0, 0, 0, 0x41, 0, 0, 0], // odd UTF-16 length
      [...artx, 0x77, 0, 0, 0], // unknown token
      [...artx, 0xf8, 2, 0, 0, 0, 0x41, 0, 0, 7], // non-zero byte after padding
      [...artx, 0xf8, 2, 0, 0, 0, 0x41, 0, 0xf8, 2, 0, 0, 0, 0x42, 0, 0, 0], // two values left
      [...artx, 0x51, 4, 0, 0, 0, 1, 9, 0, 0], // malformed SID literal
    ]) {
      assert.throws(
        () => decodeSecurityDescriptor(withApplicationData(data), "p"),
        (e) => isFwpError(e, "FWP_E_INVALID_PARAMETER") && e.path === "p",
        JSON.stringify(data),
      );
    }
  });

  it("deeply nested operators are refused rather than overflowing the stack", () => {
    const data = [0x61, 0x72, 0x74, 0x78, 0xf8, 2, 0, 0, 0, 0x41, 0, ...new Array<number>(5000).fill(0xa2)];
    while (data.length % 4 !== 0) data.push(0);
    assert.throws(
      () => decodeSecurityDescriptor(withApplicationData(data)),
      (e) => isFwpError(e),
    );
  });

  it("every truncation and every single-byte change decodes or fails with FwpError", () => {
    for (let n = 0; n < valid.length; n++) {
      try {
        decodeSecurityDescriptor(valid.subarray(0, n));
      } catch (e) {
        assert.ok(isFwpError(e, "FWP_E_INVALID_PARAMETER"), `truncated at ${n}: ${String(e)}`);
      }
    }
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let k = 0; k < 3000; k++) {
      const b = valid.slice();
      b[next() % b.length] = next() & 0xff;
      try {
        const sd = decodeSecurityDescriptor(b);
        formatSddl(sd);
      } catch (e) {
        assert.ok(isFwpError(e, "FWP_E_INVALID_PARAMETER"), String(e));
      }
    }
  });
});
