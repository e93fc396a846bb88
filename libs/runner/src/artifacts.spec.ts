import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { artifactNames, findArtifacts, storeArtifacts } from './artifacts';

describe('artifactNames', () => {
  it('uses the file name when it is unique', () => {
    expect(artifactNames(['target/app.jar', 'docs/readme.txt'])).toEqual(['app.jar', 'readme.txt']);
  });

  it('uses the flattened path when two files share a name, and never gives one name twice', () => {
    expect(artifactNames(['a/app.jar', 'b/app.jar', 'a_app.jar'])).toEqual([
      'a_app.jar',
      'b_app.jar',
      'a_app.jar-2',
    ]);
  });
});

describe('findArtifacts and storeArtifacts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artifacts-spec-'));
    await mkdir(join(dir, 'src/target/classes'), { recursive: true });
    await mkdir(join(dir, 'src/.git'), { recursive: true });
    await writeFile(join(dir, 'src/target/app.jar'), 'jar!');
    await writeFile(join(dir, 'src/target/classes/A.class'), 'class');
    await writeFile(join(dir, 'src/.git/x.jar'), 'not me');
    await writeFile(join(dir, 'src/big.jar'), 'x'.repeat(100));
    await symlink('/etc/passwd', join(dir, 'src/target/passwd.jar'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds regular files matching the globs, never through .git or symbolic links', async () => {
    expect(await findArtifacts(join(dir, 'src'), ['*.jar'])).toEqual([
      { path: 'big.jar', size: 100 },
      { path: 'target/app.jar', size: 4 },
    ]);
    expect(await findArtifacts(join(dir, 'src'), ['target/**'])).toEqual([
      { path: 'target/app.jar', size: 4 },
      { path: 'target/classes/A.class', size: 5 },
    ]);
    expect(await findArtifacts(join(dir, 'src'), [])).toEqual([]);
    expect(await findArtifacts(join(dir, 'missing'), ['*'])).toEqual([]);
  });

  /** A sink keeping what it is given, as a file store would. */
  const sink = () => {
    const kept = new Map<string, { text: string; size: number }>();
    const put = async (file: string, body: Readable, size: number) => {
      const parts: Buffer[] = [];
      for await (const p of body as AsyncIterable<Buffer>) parts.push(p);
      kept.set(file, { text: Buffer.concat(parts).toString(), size });
    };
    return { kept, put };
  };

  it('streams what fits in the budget into the store under numbered file names', async () => {
    const files = await findArtifacts(join(dir, 'src'), ['*.jar']);
    const { kept, put } = sink();
    const result = await storeArtifacts(join(dir, 'src'), files, put, 50, 'a1/');
    expect(result.stored).toEqual([{ name: 'app.jar', size: 4, file: 'a1/1', path: 'target/app.jar' }]);
    expect(result.skipped).toEqual([{ path: 'big.jar', size: 100 }]);
    expect([...kept]).toEqual([['a1/1', { text: 'jar!', size: 4 }]]);
  });

  it('stores an empty file, and never a symbolic link even when asked for one', async () => {
    await writeFile(join(dir, 'src/empty.txt'), '');
    const { kept, put } = sink();
    const result = await storeArtifacts(
      join(dir, 'src'),
      [
        { path: 'empty.txt', size: 0 },
        { path: 'target/passwd.jar', size: 10 },
      ],
      put,
      1000,
    );
    expect(result.stored).toEqual([{ name: 'empty.txt', size: 0, file: '0', path: 'empty.txt' }]);
    expect(result.skipped).toEqual([{ path: 'target/passwd.jar', size: 10 }]);
    expect([...kept]).toEqual([['0', { text: '', size: 0 }]]);
  });

  it('fails when the store fails', async () => {
    const files = await findArtifacts(join(dir, 'src'), ['target/*.jar']);
    const put = () => Promise.reject(new Error('store down'));
    await expect(storeArtifacts(join(dir, 'src'), files, put, 1000)).rejects.toThrow('store down');
  });
});
