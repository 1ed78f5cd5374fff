/**
 * A file read in large chunks into one reusable buffer: the window `buf[start, end)` holds the unread bytes
 * that are in memory, `fileOffset` is the file offset of `buf[0]`. `refill(n)` slides the window to the front
 * and reads until `n` bytes are available from `start`, growing the buffer only for a record larger than it
 * (never beyond what the file still holds), so memory stays constant whatever the file size.
 */
import { readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { describeError } from "../base/errors.ts";
import { type CaptureError, captureError } from "./error.ts";

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export class ChunkedFile {
  buf: Uint8Array;
  start = 0;
  end = 0;
  fileOffset = 0;
  eof: boolean;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    chunkSize: number,
    private readonly syncReads: boolean,
  ) {
    this.buf = new Uint8Array(chunkSize);
    this.eof = size === 0;
  }

  /** Opens `path`; an I/O failure comes back as an E_CAPTURE_IO value. */
  static async open(path: string, chunkSize: number, syncReads = false): Promise<ChunkedFile | CaptureError> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, "r");
      const size = (await handle.stat()).size;
      return new ChunkedFile(handle, size, Math.max(64, Math.floor(chunkSize)), syncReads);
    } catch (e) {
      await handle?.close().catch(() => undefined);
      return captureError("E_CAPTURE_IO", `cannot open ${path}: ${describeError(e)}`, 0, "file", true);
    }
  }

  /**
   * Makes `needed` bytes available from `start`. When the file holds fewer, reads what is left and sets `eof`
   * so that the decoder reports the truncation.
   */
  async refill(needed: number): Promise<void> {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.fileOffset += this.start;
      this.start = 0;
    }
    const left = this.size - (this.fileOffset + this.end);
    if (needed > this.end + left) {
      if (this.end < this.buf.length) await this.readMore();
      this.eof = true;
      return;
    }
    if (needed > this.buf.length) {
      const bigger = new Uint8Array(needed);
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
    while (this.end < needed && !this.eof) await this.readMore();
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

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

export function ioError(e: unknown, offset: number): CaptureError {
  return captureError("E_CAPTURE_IO", `read failed: ${describeError(e)}`, offset, "file", true);
}
