import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { S3FileStore } from '@app/storage';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { GitRepo } from '../support/git-repo';
import { eventually, freePort, TestSystem } from '../support/system';
import { ROOT, sandboxTmpDir } from '../support/env';

const S3rver = require('s3rver') as new (options: object) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

type Build = {
  buildId: string;
  status: string;
  artifacts: Array<{ name: string; size: number; url: string }>;
  error: string | null;
};

const run = promisify(execFile);
const IMPORT_CLI = join(ROOT, 'dist', 'libs', 'storage', 'src', 'import-artifacts-cli.js');
const BUCKET = 'cocode-e2e';
/** The stage the dead worker leaves behind (a number no other suite's process patterns match). */
const SLEEP = '3177';
/** Host pids of `sleep SLEEP` (stages run in sandboxes, seen here from outside). */
const orphans = (): number[] => {
  try {
    return execFileSync('pgrep', ['-f', `^sleep ${SLEEP}$`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return [];
  }
};
/** The big artifact: several 256 KiB chunks in PostgreSQL, and not a multiple of one. */
const BIG_BYTES = 3 * 256 * 1024 + 4321;

/**
 * Gateway and worker share no disk: each has its own WORKSPACES_ROOT and ARTIFACTS_ROOT (the old
 * shared artifacts directory, no longer read), and the artifacts a build made on the worker are
 * downloaded through the gateway from the file store, PostgreSQL or S3 (s3rver).
 */
describe.each(['postgres', 's3'] as const)('build artifacts in the %s file store', (kind) => {
  const tmp = sandboxTmpDir(`cocode-store-${kind}-e2e-`);
  const gatewayRoot = join(tmp, 'gateway');
  const workerRoot = join(tmp, 'worker');
  const repo = new GitRepo(join(tmp, 'repo'));
  let s3: InstanceType<typeof S3rver> | null = null;
  let s3Env: Record<string, string> = {};
  let system: TestSystem;
  let worker: Awaited<ReturnType<TestSystem['startWorker']>>;
  let admin: string;
  let projectId: string;

  beforeAll(async () => {
    repo.commit('v1', { 'app.txt': 'main app\n', 'docs/readme.md': '# readme\n' });
    if (kind === 's3') {
      const port = await freePort();
      s3 = new S3rver({
        address: '127.0.0.1',
        port,
        silent: true,
        directory: join(tmp, 's3rver'),
        configureBuckets: [{ name: BUCKET }],
      });
      await s3.run();
      s3Env = {
        FILE_STORE: 's3',
        S3_BUCKET: BUCKET,
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
        S3_REGION: 'us-east-1',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        S3_FORCE_PATH_STYLE: 'true',
      };
    }
    const rootsOf = (dir: string) => ({
      WORKSPACES_ROOT: join(dir, 'workspaces'),
      ARTIFACTS_ROOT: join(dir, 'artifacts'),
    });
    // The gateway alone first (its roots), then the worker with roots of its own.
    system = await TestSystem.start({
      worker: false,
      env: { ...s3Env, ...rootsOf(gatewayRoot), BUILDS_LEASE_SECONDS: '2', BUILDS_SWEEP_INTERVAL_MS: '300' },
    });
    worker = await system.startWorker(rootsOf(workerRoot));
    admin = await system.adminToken();
    const me = (await system.http.get('/v2/users/me').auth(admin, { type: 'bearer' }).expect(200)).body;
    projectId = (
      await system.http
        .post('/v2/projects')
        .auth(admin, { type: 'bearer' })
        .send({
          name: `Store ${kind}`,
          key: kind === 's3' ? 'STS' : 'STP',
          ownerId: me.id,
          visibility: 'private',
        })
        .expect(201)
    ).body.id;
  });

  afterAll(async () => {
    await system?.stop();
    await s3?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const get = (url: string) => system.http.get(url).auth(admin, { type: 'bearer' });
  const download = (url: string) =>
    get(url)
      .buffer(true)
      .parse((res, cb) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => cb(null, Buffer.concat(parts)));
      });
  const finished = (id: string) =>
    eventually(async () => {
      const b = (await get(`/v2/builds/${id}`).expect(200)).body as Build;
      return ['success', 'failed', 'cancelled'].includes(b.status) ? b : null;
    }, 30000);
  const storedKeys = async (buildId: string): Promise<number> => {
    if (kind === 'postgres')
      return (
        await system.sql<{ n: number }>(`SELECT count(*)::int AS n FROM stored_files WHERE key LIKE $1`, [
          `builds/${buildId}/%`,
        ])
      )[0].n;
    // s3rver keeps objects as files under <directory>/<bucket>/<key>._S3rver_object.
    const dir = join(tmp, 's3rver', BUCKET, 'builds', buildId);
    if (!existsSync(dir)) return 0;
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('._S3rver_object'))
      .length;
  };

  /** A store client of the test's own, on the same bucket as gateway and worker (s3 only). */
  const withS3 = async <T>(fn: (store: S3FileStore) => Promise<T>): Promise<T> => {
    const store = new S3FileStore({
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint: s3Env.S3_ENDPOINT,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    });
    try {
      return await fn(store);
    } finally {
      store.destroy();
    }
  };
  const trigger = async (body: Record<string, unknown>): Promise<string> => {
    const pipeline = (
      await system.http
        .post('/v2/pipelines')
        .auth(admin, { type: 'bearer' })
        .send({ projectId, repositoryUrl: repo.url, defaultBranch: 'main', ...body })
        .expect(201)
    ).body as { id: string };
    return (
      (
        await system.http
          .post(`/v2/pipelines/${pipeline.id}/trigger`)
          .auth(admin, { type: 'bearer' })
          .send({})
          .expect(202)
      ).body as { buildId: string }
    ).buildId;
  };

  it('stores what the worker collected and the gateway streams it, with the same status codes and headers', async () => {
    const buildId = await trigger({
      name: 'artifacts',
      stages: [
        {
          name: 'build',
          commands: [
            'mkdir -p dist',
            'cp app.txt dist/app.txt',
            `head -c ${BIG_BYTES} /dev/urandom > dist/big.bin`,
            'sha256sum dist/big.bin | cut -c1-64 > dist/big.sha256',
            ': > dist/empty.txt',
          ],
        },
      ],
      artifacts: ['dist/*', 'docs/*.md'],
    });
    const build = await finished(buildId);
    expect(build).toEqual(expect.objectContaining({ status: 'success', error: null }));
    expect(build.artifacts.map((a) => [a.name, a.size])).toEqual([
      ['app.txt', 9],
      ['big.bin', BIG_BYTES],
      ['big.sha256', 65],
      ['empty.txt', 0],
      ['readme.md', 9],
    ]);

    const byName = new Map(build.artifacts.map((a) => [a.name, new URL(a.url).pathname]));
    const app = await download(byName.get('app.txt')!).expect(200);
    expect((app.body as Buffer).toString()).toBe('main app\n');
    expect(app.headers['content-type']).toBe('application/octet-stream');
    expect(app.headers['content-length']).toBe('9');
    expect(app.headers['content-disposition']).toBe(
      `attachment; filename="app.txt"; filename*=UTF-8''app.txt`,
    );

    const big = await download(byName.get('big.bin')!).expect(200);
    expect(big.headers['content-length']).toBe(String(BIG_BYTES));
    const sum = await download(byName.get('big.sha256')!).expect(200);
    expect(
      createHash('sha256')
        .update(big.body as Buffer)
        .digest('hex'),
    ).toBe((sum.body as Buffer).toString().trim());
    const empty = await download(byName.get('empty.txt')!).expect(200);
    expect(empty.headers['content-length']).toBe('0');
    expect((empty.body as Buffer).length).toBe(0);

    await get(`/v2/builds/${buildId}/artifacts/nope.txt`).expect(404);
    await get(`/v2/builds/build_0000000000000000/artifacts/app.txt`).expect(404);

    // Nothing went through a disk: the gateway's roots were never made, the worker's workspace is gone.
    expect(existsSync(join(gatewayRoot, 'artifacts'))).toBe(false);
    expect(existsSync(join(gatewayRoot, 'workspaces'))).toBe(false);
    expect(existsSync(join(workerRoot, 'artifacts'))).toBe(false);
    expect(readdirSync(join(workerRoot, 'workspaces'))).toEqual([]);
    expect(await storedKeys(buildId)).toBe(5);

    // Deleting the pipeline deletes its builds' files from the store.
    const { pipelineId } = (await get(`/v2/builds/${buildId}`).expect(200)).body as { pipelineId: string };
    await system.http.delete(`/v2/pipelines/${pipelineId}`).auth(admin, { type: 'bearer' }).expect(204);
    expect(await storedKeys(buildId)).toBe(0);
    await get(byName.get('app.txt')!).expect(404);
  });

  it('answers 404 for an artifact the build names but the store has lost; the import of old files fixes it', async () => {
    const buildId = await trigger({
      name: 'lost',
      stages: [{ name: 'build', commands: ['true'] }],
      artifacts: ['app.txt'],
    });
    const build = await finished(buildId);
    expect(build.artifacts.map((a) => a.name)).toEqual(['app.txt']);
    const url = new URL(build.artifacts[0].url).pathname;
    await download(url).expect(200);
    if (kind === 'postgres')
      await system.sql(`DELETE FROM stored_files WHERE key LIKE $1`, [`builds/${buildId}/%`]);
    else expect(await withS3((store) => store.deletePrefix(`builds/${buildId}/`))).toBe(1);
    await get(url).expect(404);

    // A build recorded by a version before the store names its file "0" (ARTIFACTS_ROOT/<id>/0);
    // the import of that directory brings it back.
    const [{ artifacts }] = await system.sql<{ artifacts: Array<{ file: string }> }>(
      `SELECT artifacts FROM builds WHERE id = $1`,
      [buildId],
    );
    expect(artifacts[0].file).toMatch(/^[0-9a-f]{12}\/0$/);
    await system.sql(`UPDATE builds SET artifacts = jsonb_set(artifacts, '{0,file}', '"0"') WHERE id = $1`, [
      buildId,
    ]);
    await get(url).expect(404);
    const legacy = join(tmp, 'legacy');
    mkdirSync(join(legacy, buildId), { recursive: true });
    mkdirSync(join(legacy, 'not-a-build'));
    writeFileSync(join(legacy, buildId, '0'), 'from the old disk\n');
    writeFileSync(join(legacy, 'not-a-build', '0'), 'ignored');
    const { stdout } = await run(process.execPath, [IMPORT_CLI, legacy], {
      env: { ...system.gatewayEnv, ...s3Env },
      cwd: ROOT,
    });
    expect(stdout).toBe(`imported 1 artifact files (18 bytes) of 1 builds from ${legacy}\n`);
    const back = await download(url).expect(200);
    expect((back.body as Buffer).toString()).toBe('from the old disk\n');
  });

  it('deletes what a worker stored before it died, once the sweep fails its build', async () => {
    const buildId = await trigger({
      name: 'dies',
      stages: [{ name: 'hang', commands: [`exec sleep ${SLEEP}`] }],
      artifacts: ['app.txt'],
    });
    await eventually(async () =>
      ((await get(`/v2/builds/${buildId}`).expect(200)).body as Build).status === 'running' ? true : null,
    );
    // As if the worker had stored its artifacts and died before recording them.
    const key = `builds/${buildId}/deadbeef0000/0`;
    if (kind === 'postgres') {
      const id = randomUUID();
      await system.sql(
        `INSERT INTO stored_files (id, key, size, content_type, chunk_size) VALUES ($1, $2, 1, 'text/plain', 262144)`,
        [id, key],
      );
      await system.sql(`INSERT INTO stored_file_chunks (file_id, seq, data) VALUES ($1, 0, 'x'::bytea)`, [
        id,
      ]);
    } else await withS3((store) => store.put(key, Readable.from([Buffer.from('x')]), { size: 1 }));
    expect(await storedKeys(buildId)).toBe(1);
    await eventually(async () => (orphans().length ? true : null), 5000);
    await worker.kill('SIGKILL');
    await worker.start();
    const build = await finished(buildId);
    expect(build).toEqual(expect.objectContaining({ status: 'failed', artifacts: [] }));
    await eventually(async () => ((await storedKeys(buildId)) === 0 ? true : null), 10000);
    // The restarted worker kills what the dead one left running.
    await eventually(async () => (orphans().length === 0 ? true : null), 10000);
  });
});
