/**
 * Where capture writers put their bytes. A sink receives views that the writer may reuse after `write`
 * returns, so a sink that keeps bytes must copy them. Two sinks are provided: in memory and a file.
 */
import { closeSync, openSync, writeSync } from "node:fs";

export interface CaptureSink {
  write(bytes: Uint8Array): void;
  /** Flushes and releases the sink; writing after close is an error. */
  close(): void;
}

/** Collects everything written in one growing byte array. */
export class ByteArraySink implements CaptureSink {
  private buf = new Uint8Array(4096);
  private length = 0;

  write(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.length + bytes.length) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  close(): void {}

  /** A copy of the bytes written so far. */
  toUint8Array(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Writes to a file (by path, created or truncated, or an open file descriptor) through a 1 MiB buffer.
 * I/O failures throw: writing is the caller's explicit request, not untrusted input.
 */
export class FileSink implements CaptureSink {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private readonly buf: Uint8Array;
  private used = 0;
  private closed = false;

  constructor(target: string | number, bufferSize = 1024 * 1024) {
    this.ownsFd = typeof target === "string";
    this.fd = typeof target === "string" ? openSync(target, "w") : target;
    this.buf = new Uint8Array(Math.max(4096, bufferSize));
  }

  write(bytes: Uint8Array): void {
    if (this.closed) throw new Error("FileSink: write after close");
    if (this.used + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) {
      writeAll(this.fd, bytes);
      return;
    }
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  flush(): void {
    if (this.used > 0) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Flushes, and closes the file if this sink opened it. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.ownsFd) closeSync(this.fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}
