/**
 * Buffered output that respects back-pressure: commands that print one line per packet of a
 * multi-gigabyte capture must not queue the whole output in memory when standard output is a slow pipe.
 * A closed pipe (`openwfp decode big.pcap | head`) ends output quietly instead of crashing.
 */
import type { Writable } from "node:stream";

export class LineWriter {
  readonly #stream: Writable;
  #buffer = "";
  #closed = false;

  constructor(stream: Writable) {
    this.#stream = stream;
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") this.#closed = true;
    });
  }

  /** True once the reader went away; callers may stop producing. */
  get closed(): boolean {
    return this.#closed;
  }

  async write(text: string): Promise<void> {
    this.#buffer += text;
    if (this.#buffer.length >= 65536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buffer.length === 0 || this.#closed) {
      this.#buffer = "";
      return;
    }
    const chunk = this.#buffer;
    this.#buffer = "";
    if (!this.#stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#stream.off("drain", done);
          this.#stream.off("error", done);
          this.#stream.off("close", done);
          resolve();
        };
        this.#stream.on("drain", done);
        this.#stream.on("error", done);
        this.#stream.on("close", done);
      });
    }
  }
}
