import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScript } from './run-script';

/** Running, that is: neither gone nor a zombie waiting for an init that does not reap (containers). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('runScript', () => {
  let cwd: string;
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', DEPLOY_VERSION: 'v1.2.3' };
  beforeEach(() => (cwd = mkdtempSync(join(tmpdir(), 'run-script-'))));
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('runs the command in a shell with exactly the given environment, in the given directory', async () => {
    const result = await runScript(
      'echo "v=$DEPLOY_VERSION"; env | cut -d= -f1 | sort | tr "\\n" " "; echo; pwd',
      {
        env,
        cwd,
        timeoutMs: 5000,
      },
    );
    expect(result).toEqual(expect.objectContaining({ exitCode: 0, timedOut: false, aborted: false }));
    const [first, names, dir] = result.output.trim().split('\n');
    expect(first).toBe('v=v1.2.3');
    // sh adds PWD (and maybe SHLVL/_); nothing of this process's environment gets through.
    expect(names.split(' ').filter((n) => n && !['PWD', 'SHLVL', '_'].includes(n))).toEqual([
      'DEPLOY_VERSION',
      'PATH',
    ]);
    expect(dir).toBe(cwd);
  });

  it('reports the exit code of a failing command and its stderr', async () => {
    const result = await runScript('echo broken >&2; exit 3', { env, cwd, timeoutMs: 5000 });
    expect(result.exitCode).toBe(3);
    expect(result.output).toBe('broken\n');
  });

  it('kills the whole process group at the timeout, children included', async () => {
    const started = Date.now();
    const result = await runScript('sleep 30 & echo $! > child.pid; wait', { env, cwd, timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    const child = Number(readFileSync(join(cwd, 'child.pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(child)).toBe(false);
  });

  it('stops when aborted', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const result = await runScript('sleep 30', { env, cwd, timeoutMs: 10000, signal: abort.signal });
    expect(result).toEqual(expect.objectContaining({ aborted: true, timedOut: false }));
  });

  it('keeps only the tail of a long output', async () => {
    const result = await runScript('i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done', {
      env,
      cwd,
      timeoutMs: 5000,
    });
    expect(result.output.length).toBeLessThanOrEqual(8 * 1024);
    expect(result.output.endsWith('line 1999\n')).toBe(true);
    expect(result.output).not.toContain('line 1\n');
  });

  it('does not wait for a backgrounded child that keeps the output open', async () => {
    const started = Date.now();
    const result = await runScript('sleep 5 & echo started', { env, cwd, timeoutMs: 10000 });
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
