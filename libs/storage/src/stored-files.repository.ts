import { Injectable } from '@nestjs/common';
import { Sql } from '@app/core';
import { EntityManager } from 'typeorm';

export interface StoredFileRow {
  id: string;
  size: string;
  content_type: string;
}

/** stored_files (one row a key) and stored_file_chunks (its bytes, in order): PostgresFileStore's tables. */
@Injectable()
export class StoredFilesRepository {
  constructor(private readonly sql: Sql) {}

  /** Until the transaction ends, other puts of `key` wait (two at once would collide on the key). */
  async lockKey(key: string, manager: EntityManager): Promise<void> {
    await this.sql.rows(
      `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
      [`stored_files:${key}`],
      manager,
    );
  }

  /** Removes the file under `key` (its chunks go with it: ON DELETE CASCADE). */
  async deleteKey(key: string, manager?: EntityManager): Promise<number> {
    return this.sql.exec(`DELETE FROM stored_files WHERE key = $1`, [key], manager);
  }

  async deletePrefix(prefix: string): Promise<number> {
    return this.sql.exec(`DELETE FROM stored_files WHERE key LIKE $1 ESCAPE '\\'`, [
      `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
    ]);
  }

  async insertFile(
    file: { id: string; key: string; size: number; contentType: string; chunkSize: number },
    manager: EntityManager,
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO stored_files (id, key, size, content_type, chunk_size) VALUES ($1, $2, $3, $4, $5)`,
      [file.id, file.key, file.size, file.contentType, file.chunkSize],
      manager,
    );
  }

  async insertChunk(fileId: string, seq: number, data: Buffer, manager: EntityManager): Promise<void> {
    await this.sql.exec(
      `INSERT INTO stored_file_chunks (file_id, seq, data) VALUES ($1, $2, $3)`,
      [fileId, seq, data],
      manager,
    );
  }

  async find(key: string): Promise<StoredFileRow | undefined> {
    return this.sql.one<StoredFileRow>(`SELECT id, size, content_type FROM stored_files WHERE key = $1`, [
      key,
    ]);
  }

  /** Up to `count` chunks of a file from `fromSeq` on, in order. */
  async chunks(
    fileId: string,
    fromSeq: number,
    count: number,
  ): Promise<Array<{ seq: number; data: Buffer }>> {
    return this.sql.rows(
      `SELECT seq, data FROM stored_file_chunks WHERE file_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
      [fileId, fromSeq, count],
    );
  }
}
