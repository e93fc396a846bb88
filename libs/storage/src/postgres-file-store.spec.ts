import { DatabasePool, dataSourceOptions, Sql, UnitOfWork } from '@app/core';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { DataSource, QueryRunner } from 'typeorm';
import { StoredFiles1796200000000 } from '../../../migrations/1796200000000-StoredFiles';
import { fileStoreContract, readAll } from '../../../test/support/file-store-contract';
import { CHUNK_BYTES, PostgresFileStore } from './postgres-file-store';
import { StoredFilesRepository } from './stored-files.repository';

// Against a scratch database of its own (created and dropped here), with the real migration.
const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const DB = `cocode_store_spec_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

describe('PostgresFileStore', () => {
  let admin: Client;
  let dataSource: DataSource;
  let sql: Sql;
  let store: PostgresFileStore;

  beforeAll(async () => {
    admin = new Client({ connectionString: `${PG_BASE}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${DB}"`);
    const config = { database: { url: `${PG_BASE}/${DB}`, poolSize: 4, runMigrations: false } };
    const database = new DatabasePool(config, 'store-spec');
    dataSource = new DataSource({
      ...dataSourceOptions(config, 'store-spec', database.pool),
      entities: [],
      migrations: [],
    });
    await dataSource.initialize();
    const runner = dataSource.createQueryRunner();
    await new StoredFiles1796200000000().up(runner as QueryRunner);
    await runner.release();
    sql = new Sql(database);
    store = new PostgresFileStore(new StoredFilesRepository(sql), new UnitOfWork(dataSource));
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await admin.query(`DROP DATABASE IF EXISTS "${DB}" WITH (FORCE)`);
    await admin.end();
  });

  fileStoreContract(() => store, 3 * CHUNK_BYTES + 12_345);

  it('keeps a file as chunks of 256 KiB and its chunks go with it', async () => {
    const data = randomBytes(2 * CHUNK_BYTES + 1);
    await store.put('chunks/one', Readable.from([data]), { size: data.length });
    const rows = await sql.rows<{ seq: number; n: number }>(
      `SELECT c.seq, length(c.data) AS n FROM stored_file_chunks c JOIN stored_files f ON f.id = c.file_id
        WHERE f.key = $1 ORDER BY c.seq`,
      ['chunks/one'],
    );
    expect(rows).toEqual([
      { seq: 0, n: CHUNK_BYTES },
      { seq: 1, n: CHUNK_BYTES },
      { seq: 2, n: 1 },
    ]);
    const chunksOfKey = () =>
      sql.one<{ n: number }>(
        `SELECT count(*)::int AS n FROM stored_file_chunks WHERE file_id IN (SELECT id FROM stored_files WHERE key = $1)`,
        ['chunks/one'],
      );
    await store.put('chunks/one', Readable.from([Buffer.from('x')]), { size: 1 });
    expect(await chunksOfKey()).toEqual({ n: 1 });
    await store.deletePrefix('chunks/');
    expect(await chunksOfKey()).toEqual({ n: 0 });
    // No chunk outlives its file (replaced or deleted).
    expect(
      await sql.one(`SELECT count(*)::int AS n FROM stored_file_chunks c
                      WHERE NOT EXISTS (SELECT 1 FROM stored_files f WHERE f.id = c.file_id)`),
    ).toEqual({ n: 0 });
  });

  it('fails a download whose file is replaced while it is read, rather than mixing two files', async () => {
    const data = randomBytes(6 * CHUNK_BYTES);
    await store.put('race/file', Readable.from([data]), { size: data.length });
    const got = await store.get('race/file');
    const first = await new Promise<Buffer>((resolve) => got!.stream.once('data', resolve));
    got!.stream.pause();
    await store.put('race/file', Readable.from([Buffer.from('new')]), { size: 3 });
    got!.stream.resume();
    await expect(readAll(got!.stream)).rejects.toThrow(/changed while it was read/);
    expect(first.equals(data.subarray(0, first.length))).toBe(true);
  });
});
