import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('copies what fits in the budget under numbered file names', async () => {
    const files = await findArtifacts(join(dir, 'src'), ['*.jar']);
    const result = await storeArtifacts(join(dir, 'src'), files, join(dir, 'out'), 50);
    expect(result.stored).toEqual([{ name: 'app.jar', size: 4, file: '1', path: 'target/app.jar' }]);
    expect(result.skipped).toEqual([{ path: 'big.jar', size: 100 }]);
    expect(await readFile(join(dir, 'out', '1'), 'utf8')).toBe('jar!');
  });
});
