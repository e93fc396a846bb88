import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportPathProblem, resolveWorkingDirectory, workingDirectoryProblem } from './working-directory';

describe('workingDirectoryProblem', () => {
  const roots = ['/srv/tests', '/home/ci/'];

  it.each(['/srv/tests', '/srv/tests/shop', '/home/ci/suites/a'])('accepts %s', (dir) => {
    expect(workingDirectoryProblem(dir, roots)).toBeNull();
  });

  it.each([
    ['relative/dir', 'workingDirectory must be an absolute path'],
    ['/srv/tests-other', 'workingDirectory must be inside /srv/tests or /home/ci/ (TESTS_WORKDIR_ROOTS)'],
    ['/srv/tests/../../etc', 'workingDirectory must be inside /srv/tests or /home/ci/ (TESTS_WORKDIR_ROOTS)'],
    ['/etc', 'workingDirectory must be inside /srv/tests or /home/ci/ (TESTS_WORKDIR_ROOTS)'],
  ])('refuses %s', (dir, problem) => {
    expect(workingDirectoryProblem(dir, roots)).toBe(problem);
  });

  it('refuses every directory when no root is configured', () => {
    expect(workingDirectoryProblem('/srv/tests', [])).toMatch(/TESTS_WORKDIR_ROOTS is empty/);
  });
});

describe('resolveWorkingDirectory', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'workdir-spec-'));
    await mkdir(join(base, 'root/suite'), { recursive: true });
    await mkdir(join(base, 'elsewhere'));
    await symlink(join(base, 'elsewhere'), join(base, 'root/escape'));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('gives the real path of a directory inside a root', async () => {
    expect(await resolveWorkingDirectory(join(base, 'root/suite'), [join(base, 'root')])).toEqual({
      ok: true,
      path: join(base, 'root/suite'),
    });
  });

  it('refuses a symbolic link leading out of the root, and a missing directory', async () => {
    const escaped = await resolveWorkingDirectory(join(base, 'root/escape'), [join(base, 'root')]);
    expect(escaped).toEqual({ ok: false, reason: expect.stringMatching(/outside TESTS_WORKDIR_ROOTS/) });
    const missing = await resolveWorkingDirectory(join(base, 'root/none'), [join(base, 'root')]);
    expect(missing).toEqual({ ok: false, reason: expect.stringMatching(/does not exist/) });
  });
});

describe('reportPathProblem', () => {
  it('accepts a relative path inside the directory', () => {
    expect(reportPathProblem('reports/junit.xml')).toBeNull();
    expect(reportPathProblem('./junit.xml')).toBeNull();
  });

  it('refuses absolute paths and paths leaving the directory', () => {
    expect(reportPathProblem('/tmp/junit.xml')).toMatch(/relative/);
    expect(reportPathProblem('../junit.xml')).toMatch(/must not leave/);
    expect(reportPathProblem('a/../../junit.xml')).toMatch(/must not leave/);
    expect(reportPathProblem(' ')).toMatch(/empty/);
  });
});
