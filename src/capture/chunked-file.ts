/**
 * A file read in large chunks into reusable buffers: the window `buf[start, end)` holds the unread bytes that
 * are in memory, `fileOffset` is the file offset of `buf[0]`. `refill(n)` makes `n` bytes available from
 * `start`, growing the buffer only for a record larger than it (never beyond what the file still holds), so
 * memory stays constant whatever the file size.
 *
 * With `readAhead: n`, n more buffers of the same size are filled by libuv's thread pool (the next n chunks of
 * the file, in order) while the caller works on the current one, so that reading overlaps with decoding. Each
 * buffer keeps `RESERVE` bytes in front of the chunk it is read into: at `refill`, the unread tail of the
 * window (a record cut by the chunk boundary) is copied there, just before the bytes that continue it, and the
 * buffers swap. A tail longer than the reserve (a record larger than it) is instead kept at the front of the
 * current buffer, which grows to hold what is read after it. Without read-ahead there is one buffer and no
 * reserve, as before. In both cases a failed read throws with `fileOffset + end` still the offset it read.
 */
import { read, readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { describeError } from "../base/errors.ts";
import { type CaptureError, captureError } from "./error.ts";

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/** Bytes kept in front of each read-ahead chunk for the tail of the previous one (most records are smaller). */
const RESERVE = 64 * 1024;

export interface ChunkedFileOptions {
  /** Read with readSync (blocking, no event-loop turn) rather than FileHandle.read. Default false. */
  readonly syncReads?: boolean;
  /**
   * Chunks to read ahead on libuv's thread pool, each into a buffer of its own, while the current one is
   * decoded. Default 0 (none).
   */
  readonly readAhead?: number;
}

type AheadResult = number | { readonly failure: unknown };

export class ChunkedFile {
  buf: Uint8Array;
  start = 0;
  end = 0;
  fileOffset = 0;
  eof: boolean;

  private readonly syncReads: boolean;
  private readonly chunkSize: number;
  /** Read-ahead only: bytes kept in front of each chunk, reads kept in flight, and idle buffers. */
  private readonly reserve: number;
  private readonly depth: number;
  private readonly idle: Uint8Array[] = [];
  /** Reads in flight, in file order; the first one reads from `fileOffset + end`. */
  private readonly ahead: AheadRead[] = [];
  /** File offset of the byte after the last read issued. */
  private nextPosition = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    chunkSize: number,
    options: ChunkedFileOptions,
  ) {
    this.syncReads = options.syncReads ?? false;
    this.chunkSize = chunkSize;
    this.eof = size === 0;
    this.depth = Math.max(0, Math.floor(options.readAhead ?? 0));
    this.reserve = this.depth > 0 ? Math.min(RESERVE, chunkSize) : 0;
    this.buf = new Uint8Array(this.reserve + chunkSize);
    for (let i = 0; i < this.depth; i++) this.idle.push(new Uint8Array(this.reserve + chunkSize));
  }

  /** Opens `path`; an I/O failure comes back as an E_CAPTURE_IO value. */
  static async open(
    path: string,
    chunkSize: number,
    options: ChunkedFileOptions = {},
  ): Promise<ChunkedFile | CaptureError> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, "r");
      const size = (await handle.stat()).size;
      return new ChunkedFile(handle, size, Math.max(64, Math.floor(chunkSize)), options);
    } catch (e) {
      await handle?.close().catch(() => undefined);
      return captureError("E_CAPTURE_IO", `cannot open ${path}: ${describeError(e)}`, 0, "file", true);
    }
  }

  /**
   * Makes `needed` bytes available from `start`. When the file holds fewer, reads what is left and sets `eof`
   * so that the decoder reports the truncation. A failed read throws, with `fileOffset + end` still the file
   * offset it was reading.
   */
  async refill(needed: number): Promise<void> {
    while (this.end - this.start < needed && this.ahead.length > 0) await this.takeReadAhead(needed);
    // Nothing is in flight here: the first refill, a record larger than the chunks read ahead, or no read-ahead.
    if (this.end - this.start < needed) await this.fill(needed);
    this.startReadAhead();
  }

  /**
   * Waits for the first read in flight and moves its bytes into the window: the unread tail is copied into
   * the reserve in front of them and the buffers swap, or, for a tail longer than the reserve, the bytes are
   * appended to the current buffer (grown to `needed` at once when the file holds that much).
   */
  private async takeReadAhead(needed: number): Promise<void> {
    const read = this.ahead[0] as AheadRead;
    const result = await read.result;
    this.ahead.shift();
    if (typeof result !== "number") {
      this.idle.push(read.buffer);
      throw result.failure;
    }
    const reserve = this.reserve;
    const tail = this.end - this.start;
    if (tail <= reserve) {
      read.buffer.set(this.buf.subarray(this.start, this.end), reserve - tail);
      this.idle.push(this.buf);
      this.buf = read.buffer;
      this.fileOffset = read.position - reserve;
      this.start = reserve - tail;
      this.end = reserve + result;
    } else {
      this.slideToFront();
      if (this.end + result > this.buf.length) {
        const available = this.end + this.size - read.position;
        this.grow(needed <= available ? Math.max(needed, this.end + result) : this.end + result);
      }
      this.buf.set(read.buffer.subarray(reserve, reserve + result), this.end);
      this.end += result;
      this.idle.push(read.buffer);
    }
    if (result < read.length) {
      // A short read (the file shrank while being read): the reads after it were issued for other offsets.
      for (const later of this.ahead.splice(0)) {
        await later.result;
        this.idle.push(later.buffer);
      }
      this.nextPosition = this.fileOffset + this.end;
    }
    if (result === 0 || this.fileOffset + this.end >= this.size) this.eof = true;
  }

  /** Slides the window to the front and reads (growing the buffer if needed) until `needed` bytes are in. */
  private async fill(needed: number): Promise<void> {
    this.slideToFront();
    const left = this.size - (this.fileOffset + this.end);
    if (needed > this.end + left) {
      if (this.end < this.buf.length && !this.eof) await this.readMore();
      this.eof = true;
    } else {
      if (needed > this.buf.length) this.grow(needed);
      while (this.end < needed && !this.eof) await this.readMore();
    }
    this.nextPosition = this.fileOffset + this.end;
  }

  private slideToFront(): void {
    if (this.start === 0) return;
    this.buf.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.fileOffset += this.start;
    this.start = 0;
  }

  private grow(length: number): void {
    const bigger = new Uint8Array(length);
    bigger.set(this.buf.subarray(0, this.end));
    this.buf = bigger;
  }

  private async readMore(): Promise<void> {
    const length = this.buf.length - this.end;
    const position = this.fileOffset + this.end;
    const bytesRead = this.syncReads
      ? readSync(this.handle.fd, this.buf, this.end, length, position)
      : (await this.handle.read(this.buf, this.end, length, position)).bytesRead;
    this.end += bytesRead;
    if (bytesRead === 0 || this.fileOffset + this.end >= this.size) this.eof = true;
  }

  /** Keeps `depth` reads in flight (on libuv's thread pool) for the chunks after the ones in memory. */
  private startReadAhead(): void {
    if (this.eof) return;
    while (this.ahead.length < this.depth && this.nextPosition < this.size) {
      const buffer = this.idle.pop();
      if (buffer === undefined) return;
      const position = this.nextPosition;
      const length = Math.min(this.chunkSize, buffer.length - this.reserve, this.size - position);
      const result = new Promise<AheadResult>((resolve) => {
        read(this.handle.fd, buffer, this.reserve, length, position, (e, bytesRead) => {
          resolve(e === null ? bytesRead : { failure: e });
        });
      });
      this.ahead.push({ buffer, position, length, result });
      this.nextPosition = position + length;
    }
  }

  /** Closes the file, after every read still in flight (the descriptor must outlive them). */
  async close(): Promise<void> {
    for (const read of this.ahead.splice(0)) await read.result;
    await this.handle.close().catch(() => undefined);
  }
}

/** A read in flight into `buffer[reserve, reserve + length)` from file offset `position`. */
interface AheadRead {
  readonly buffer: Uint8Array;
  readonly position: number;
  readonly length: number;
  /** Bytes read, or the failure (the promise never rejects, so no rejection goes unobserved). */
  readonly result: Promise<AheadResult>;
}

export function ioError(e: unknown, offset: number): CaptureError {
  return captureError("E_CAPTURE_IO", `read failed: ${describeError(e)}`, offset, "file", true);
}
