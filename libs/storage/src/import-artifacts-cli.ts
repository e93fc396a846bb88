// `node dist/libs/storage/src/import-artifacts-cli.js <dir>`: puts the build artifacts kept on disk
// by versions before the file store (ARTIFACTS_ROOT, laid out <dir>/<buildId>/<n>) into the store
// FILE_STORE names, under the keys the gateway now reads (builds/<buildId>/<n>). Run it once, with
// the worker's settings, on a host that sees the old directory; running it again puts the same
// files again. Reads .env like npm start.
import 'reflect-metadata';
import { constants, existsSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { getConfig } from '@app/core/config/app-config';
import { DatabasePool } from '@app/core/database/database-pool';
import { dataSourceOptions } from '@app/core/database/data-source-options';
import { Sql } from '@app/core/database/sql';
import { UnitOfWork } from '@app/core/database/unit-of-work';
import { FileStore } from './file-store';
import { PostgresFileStore } from './postgres-file-store';
import { S3FileStore } from './s3-file-store';
import { StoredFilesRepository } from './stored-files.repository';

const USAGE = 'usage: node dist/libs/storage/src/import-artifacts-cli.js <old ARTIFACTS_ROOT directory>\n';
const BUILD_DIR = /^build_[A-Za-z0-9_]+$/;
const ARTIFACT_FILE = /^[0-9]+$/;

async function withStore<T>(fn: (store: FileStore) => Promise<T>): Promise<T> {
  const config = getConfig('worker');
  if (config.fileStore.kind === 's3') {
    const store = new S3FileStore(config.fileStore);
    try {
      return await fn(store);
    } finally {
      store.destroy();
    }
  }
  const database = new DatabasePool(config, 'cocode-import-artifacts');
  const dataSource = new DataSource({
    ...dataSourceOptions(config, 'cocode-import-artifacts', database.pool),
    entities: [],
    migrations: [],
  });
  await dataSource.initialize();
  try {
    return await fn(
      new PostgresFileStore(new StoredFilesRepository(new Sql(database)), new UnitOfWork(dataSource)),
    );
  } finally {
    await dataSource.destroy();
  }
}

export async function importArtifacts(dir: string, store: FileStore): Promise<string> {
  let builds = 0;
  let files = 0;
  let bytes = 0;
  for (const build of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (!build.isDirectory() || !BUILD_DIR.test(build.name)) continue;
    let found = 0;
    for (const name of await readdir(join(dir, build.name))) {
      if (!ARTIFACT_FILE.test(name)) continue;
      const fh = await open(join(dir, build.name, name), constants.O_RDONLY | constants.O_NOFOLLOW).catch(
        () => null,
      );
      if (!fh) continue;
      let body: Readable | null = null;
      try {
        const stat = await fh.stat();
        if (!stat.isFile()) continue;
        body = stat.size
          ? fh.createReadStream({ start: 0, end: stat.size - 1, autoClose: false })
          : Readable.from([]);
        await store.put(`builds/${build.name}/${name}`, body, { size: stat.size });
        found++;
        bytes += stat.size;
      } finally {
        body?.destroy();
        await fh.close();
      }
    }
    files += found;
    if (found) builds++;
  }
  return `imported ${files} artifact files (${bytes} bytes) of ${builds} builds from ${dir}\n`;
}

async function main(argv: string[]): Promise<number> {
  const env = join(process.cwd(), '.env');
  if (existsSync(env)) process.loadEnvFile(env);
  const [dir, ...rest] = argv;
  if (!dir || rest.length || !existsSync(dir)) {
    process.stderr.write(USAGE);
    return 64; // EX_USAGE
  }
  process.stdout.write(await withStore((store) => importArtifacts(dir, store)));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`import-artifacts: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
