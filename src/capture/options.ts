/**
 * pcapng options, parsed generically: a list of (code, value) in block order
 * (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html §3.5). Each option is a 16-bit code,
 * a 16-bit length and a value padded to 32 bits; opt_endofopt (code 0) or the end of the area ends the list.
 */
import { copyBytes, pad4, readU16 } from "./bytes.ts";
import { type CaptureError, captureError } from "./error.ts";
import type { PcapngOption } from "./types.ts";

/** Option codes this module interprets. Codes are per block type except opt_endofopt and opt_comment. */
export const OptionCode = {
  END_OF_OPT: 0,
  COMMENT: 1,
  SHB_HARDWARE: 2,
  SHB_OS: 3,
  SHB_USERAPPL: 4,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_FILTER: 11,
  IF_OS: 12,
  IF_FCSLEN: 13,
  IF_TSOFFSET: 14,
  EPB_FLAGS: 2,
  ISB_STARTTIME: 2,
  ISB_ENDTIME: 3,
  ISB_IFRECV: 4,
  ISB_IFDROP: 5,
} as const;

/**
 * Options in `buf[start, end)`; values are copies. An option running past `end` adds a non-fatal
 * E_CAPTURE_BAD_OPTION to `errors` (offsets are `base + position`) and ends the list.
 */
export function parseOptions(
  buf: Uint8Array,
  start: number,
  end: number,
  le: boolean,
  base: number,
  field: string,
  errors: CaptureError[],
): PcapngOption[] {
  const options: PcapngOption[] = [];
  let p = start;
  while (p + 4 <= end) {
    const code = readU16(buf, p, le);
    const length = readU16(buf, p + 2, le);
    if (code === OptionCode.END_OF_OPT) break;
    if (p + 4 + length > end) {
      errors.push(
        captureError(
          "E_CAPTURE_BAD_OPTION",
          `option ${code} of length ${length} runs past the end of its block`,
          base + p + 2,
          `${field}.length`,
          false,
        ),
      );
      break;
    }
    options.push({ code, value: copyBytes(buf, p + 4, p + 4 + length) });
    p += 4 + pad4(length);
  }
  return options;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** A string option's value (UTF-8, any trailing NULs dropped). */
export function optionText(value: Uint8Array): string {
  let end = value.length;
  while (end > 0 && value[end - 1] === 0) end--;
  return utf8.decode(value.subarray(0, end));
}

/** The first option with `code`, or undefined. */
export function findOption(options: readonly PcapngOption[], code: number): PcapngOption | undefined {
  for (const o of options) if (o.code === code) return o;
  return undefined;
}

/** All values of string options with `code` (e.g. every opt_comment). */
export function optionTexts(options: readonly PcapngOption[], code: number): string[] {
  const out: string[] = [];
  for (const o of options) if (o.code === code) out.push(optionText(o.value));
  return out;
}
