import { Logger } from '@nestjs/common';
import { BuildLogService } from './build-log.service';
import { StreamMasker } from './secret-masker';

/** Output is written as one log event per this much text or this long, whichever comes first. */
const CHUNK_CHARS = 64 * 1024;
const FLUSH_MS = 200;

/**
 * The output side of a running build: masks secrets as the text streams in (before anything is
 * stored), batches it into log events, and cuts the log at BUILDS_MAX_LOG_BYTES with a note.
 * Writes are chained, so events keep their order whatever the database's latency.
 */
export class BuildLogWriter {
  private readonly logger = new Logger(BuildLogWriter.name);
  private masker: StreamMasker;
  private buffer = '';
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private bytes = 0;
  private truncated = false;

  constructor(
    private readonly log: BuildLogService,
    private readonly buildId: string,
    private readonly secrets: readonly string[],
    private readonly maxBytes: number,
  ) {
    this.masker = new StreamMasker(secrets);
  }

  write(text: string): void {
    if (this.truncated || !text) return;
    this.buffer += this.masker.push(text);
    if (this.buffer.length >= CHUNK_CHARS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Everything written so far, stored (the masker's held-back tail included). */
  drain(): Promise<void> {
    this.buffer += this.masker.end();
    return this.flush();
  }

  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let text = this.buffer;
    this.buffer = '';
    if (!text) return this.chain;
    const size = Buffer.byteLength(text);
    if (this.bytes + size > this.maxBytes) {
      const room = Math.max(0, this.maxBytes - this.bytes);
      text = `${Buffer.from(text)
        .subarray(0, room)
        .toString('utf8')
        .replace(
          /\uFFFD$/,
          '',
        )}\n[log truncated: the build's log reached ${this.maxBytes} bytes (BUILDS_MAX_LOG_BYTES)]\n`;
      this.truncated = true;
    }
    this.bytes += size;
    this.chain = this.chain
      .then(() => this.log.append(this.buildId, [{ kind: 'log', body: text }]))
      .then(
        () => undefined,
        (err: Error) => this.logger.warn(`build ${this.buildId}: a log chunk was lost: ${err.message}`),
      );
    return this.chain;
  }
}
