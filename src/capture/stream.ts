/**
 * Streaming a capture file of any size with constant memory: `openCaptureStream(path)` gives a `CaptureStream`,
 * an AsyncIterable of packets read chunk by chunk (1 MiB by default) into one reused buffer. Its `format`,
 * `interfaces`, `errors` (and the rest) fill in as reading proceeds and are complete when iteration ends.
 * Never throws on bad bytes or I/O failure: those end iteration with an error in `errors`.
 */
import { ChunkedFile, DEFAULT_CHUNK_SIZE, ioError } from "./chunked-file.ts";
import { CaptureDecoder, STEP_NEED_MORE, STEP_OTHER, STEP_PACKET } from "./decoder.ts";
import type { CaptureError } from "./error.ts";
import type {
  CapturedPacket,
  CaptureFormat,
  InterfaceInfo,
  InterfaceStatistics,
  NameRecord,
  SectionInfo,
} from "./types.ts";

export interface CaptureStreamOptions {
  /** Bytes read per chunk; default 1 MiB. */
  readonly chunkSize?: number;
  /**
   * True (default): each packet's `data` is its own copy. False: `data` is a view into the chunk buffer,
   * valid only until the iterator is advanced (no allocation per packet beyond the record object).
   */
  readonly copyData?: boolean;
}

export class CaptureStream implements AsyncIterable<CapturedPacket> {
  private readonly decoder = new CaptureDecoder();
  private readonly ioErrors: CaptureError[] = [];
  private started = false;

  constructor(
    readonly path: string,
    private readonly options: CaptureStreamOptions = {},
  ) {}

  get format(): CaptureFormat | undefined {
    return this.decoder.format;
  }
  get interfaces(): InterfaceInfo[] {
    return this.decoder.interfaces;
  }
  get sections(): SectionInfo[] {
    return this.decoder.sections;
  }
  get nameRecords(): NameRecord[] {
    return this.decoder.nameRecords;
  }
  get statistics(): InterfaceStatistics[] {
    return this.decoder.statistics;
  }
  /** Faults met so far (decoding and I/O), in file order. */
  get errors(): CaptureError[] {
    return this.ioErrors.length === 0 ? this.decoder.errors : [...this.decoder.errors, ...this.ioErrors];
  }
  /** The fatal fault that ended reading, if any. */
  get error(): CaptureError | undefined {
    return this.errors.find((e) => e.fatal);
  }

  [Symbol.asyncIterator](): AsyncIterator<CapturedPacket> {
    return this.packets();
  }

  /** The packets of the file, once: a stream is read a single time. */
  async *packets(): AsyncGenerator<CapturedPacket, void, undefined> {
    if (this.started) return;
    this.started = true;
    const file = await ChunkedFile.open(this.path, this.options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    if (!(file instanceof ChunkedFile)) {
      this.ioErrors.push(file);
      return;
    }
    const copy = this.options.copyData ?? true;
    const d = this.decoder;
    try {
      for (;;) {
        d.base = file.fileOffset;
        const step = d.step(file.buf, file.start, file.end, file.eof);
        if (step === STEP_PACKET) {
          const packet = d.packet(file.buf, copy);
          file.start += d.consumed;
          yield packet;
        } else if (step === STEP_OTHER) {
          file.start += d.consumed;
        } else if (step === STEP_NEED_MORE) {
          try {
            await file.refill(d.needed);
          } catch (e) {
            this.ioErrors.push(ioError(e, file.fileOffset + file.end));
            return;
          }
        } else {
          return;
        }
      }
    } finally {
      await file.close();
    }
  }
}

/** A capture file as a stream of packets (see `CaptureStream`). Nothing is read until iteration starts. */
export function openCaptureStream(path: string, options?: CaptureStreamOptions): CaptureStream {
  return new CaptureStream(path, options);
}
