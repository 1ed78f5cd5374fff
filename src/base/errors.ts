/**
 * The error base of openwfp. Every error the project raises or returns carries a stable `code`
 * (a Windows name such as `FWP_E_ALREADY_EXISTS` where Windows has one, an openwfp name otherwise)
 * and, where it applies, the place in the input at fault: a `path` into a document
 * (`filters[3].conditions[1].value`) or a byte `offset` into a packet or file plus the `field` read there.
 */
export interface ErrorPlace {
  /** Path into a structured input, e.g. `filters[3].conditions[1].value`. */
  readonly path?: string;
  /** Byte offset into the packet or file at fault. */
  readonly offset?: number;
  /** Name of the field being read at `offset`, e.g. `ipv4.ihl`. */
  readonly field?: string;
}

export class OpenWfpError extends Error {
  readonly code: string;
  readonly path: string | undefined;
  readonly offset: number | undefined;
  readonly field: string | undefined;

  constructor(code: string, message: string, place: ErrorPlace = {}, options?: { cause?: unknown }) {
    super(formatMessage(code, message, place), options);
    this.name = "OpenWfpError";
    this.code = code;
    this.path = place.path;
    this.offset = place.offset;
    this.field = place.field;
  }
}

function formatMessage(code: string, message: string, place: ErrorPlace): string {
  const where: string[] = [];
  if (place.path !== undefined) where.push(`at ${place.path}`);
  if (place.field !== undefined) where.push(`field ${place.field}`);
  if (place.offset !== undefined) where.push(`offset ${place.offset}`);
  return where.length > 0 ? `${code}: ${message} (${where.join(", ")})` : `${code}: ${message}`;
}

/** An error turned into text for a user, whatever was thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
