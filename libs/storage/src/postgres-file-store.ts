import { UnitOfWork } from '@app/core';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  assertKey,
  assertPrefix,
  DEFAULT_CONTENT_TYPE,
  FileStore,
  PutOptions,
  StoredFile,
} from './file-store';
import { StoredFilesRepository } from './stored-files.repository';

/** Bytes a row of stored_file_chunks holds (the last one of a file fewer). */
export const CHUNK_BYTES = 256 * 1024;
/** Chunks read per query when a file is read: ~1 MiB in memory at most per download. */
const CHUNKS_PER_READ = 4;

/**
 * Files as rows of PostgreSQL (FILE_STORE=postgres, the default): nothing more to run. A put runs in
 * one transaction, so a put that fails or a process that dies mid-put leaves nothing; the bytes
 * flow in and out CHUNK_BYTES at a time, never a whole file in memory.
 */
export class PostgresFileStore extends FileStore {
  constructor(
    private readonly files: StoredFilesRepository,
    private readonly uow: UnitOfWork,
  ) {
    super();
  }

  async put(key: string, body: Readable, options: PutOptions): Promise<void> {
    assertKey(key);
    const { size } = options;
    await this.uow.run(async (tx) => {
      await this.files.lockKey(key, tx.manager);
      await this.files.deleteKey(key, tx.manager);
      const id = randomUUID();
      const contentType = options.contentType ?? DEFAULT_CONTENT_TYPE;
      await this.files.insertFile({ id, key, size, contentType, chunkSize: CHUNK_BYTES }, tx.manager);
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let seq = 0;
      let total = 0;
      const flush = async (bytes: number) => {
        const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
        await this.files.insertChunk(id, seq++, all.subarray(0, bytes), tx.manager);
        const rest = all.subarray(bytes);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
      };
      for await (const piece of body as AsyncIterable<Buffer | string>) {
        const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
        total += buf.length;
        if (total > size) throw new Error(`${key}: more than the ${size} bytes announced`);
        pending.push(buf);
        pendingBytes += buf.length;
        while (pendingBytes >= CHUNK_BYTES) await flush(CHUNK_BYTES);
      }
      if (pendingBytes) await flush(pendingBytes);
      if (total !== size) throw new Error(`${key}: ${total} bytes where ${size} were announced`);
    });
  }

  async get(key: string): Promise<StoredFile | null> {
    assertKey(key);
    const row = await this.files.find(key);
    if (!row) return null;
    const size = Number(row.size);
    const files = this.files;
    async function* bytes(): AsyncGenerator<Buffer> {
      let next = 0;
      let sent = 0;
      while (sent < size) {
        const chunks = await files.chunks(row!.id, next, CHUNKS_PER_READ);
        // Replaced or deleted while being read: fail the stream rather than send a cut file.
        if (!chunks.length || chunks[0].seq !== next) throw new Error(`${key} changed while it was read`);
        for (const c of chunks) {
          if (c.seq !== next) throw new Error(`${key} changed while it was read`);
          next++;
          sent += c.data.length;
          yield c.data;
        }
      }
    }
    return {
      stream: Readable.from(bytes(), { objectMode: false, highWaterMark: CHUNK_BYTES }),
      size,
      contentType: row.content_type,
    };
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.files.deleteKey(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertPrefix(prefix);
    return this.files.deletePrefix(prefix);
  }
}
