import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killProcessGroup, runShell } from './process-runner';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const waitUntil = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

describe('runShell', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'runner-spec-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const run = (command: string, extra: Partial<Parameters<typeof runShell>[1]> = {}) => {
    let output = '';
    return runShell(command, {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', GREETING: 'hello' },
      timeoutMs: 5000,
      onOutput: (t) => (output += t),
      ...extra,
    }).then((r) => ({ ...r, output }));
  };

  it('runs in the directory with exactly the environment given, stdout and stderr together', async () => {
    const r = await run('echo "$GREETING $(pwd)"; echo oops >&2; echo "home=${HOME:-none}"');
    expect(r).toEqual(expect.objectContaining({ outcome: 'exited', exitCode: 0 }));
    expect(r.output).toContain(`hello ${dir}\n`);
    expect(r.output).toContain('oops\n');
    expect(r.output).toContain('home=none\n');
  });

  it('reports the exit code of a failing command', async () => {
    expect(await run('exit 3')).toEqual(expect.objectContaining({ outcome: 'exited', exitCode: 3 }));
  });

  it('keeps multi-byte characters whole across chunks', async () => {
    const r = await run(`printf '中文%.0s' $(seq 1 5000)`);
    expect(r.output).toBe('中文'.repeat(5000));
  });

  it('kills the whole process group at the timeout, children included', async () => {
    const pidFile = join(dir, 'child.pid');
    const started = Date.now();
    const r = await run(`sleep 30 & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
    expect(r.outcome).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3000);
    const child = Number((await import('node:fs')).readFileSync(pidFile, 'utf8'));
    expect(await waitUntil(() => !alive(child))).toBe(true);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const r = await run(`trap '' TERM; sleep 30`, { timeoutMs: 200 });
    expect(r.outcome).toBe('timeout');
    expect(r.durationMs).toBeLessThan(4000);
  });

  it('stops when aborted (cancel) and does not start when already aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    expect((await run('sleep 30', { signal: ac.signal })).outcome).toBe('aborted');
    expect((await run('echo never', { signal: ac.signal })).output).toBe('');
  });

  it('returns when the command exits even if a background child keeps its output open', async () => {
    let pgid = 0;
    const r = await run('sleep 30 & echo started', { onSpawn: (p) => (pgid = p) });
    expect(r).toEqual(expect.objectContaining({ outcome: 'exited', exitCode: 0, pgid }));
    expect(r.durationMs).toBeLessThan(2000);
    expect(killProcessGroup(pgid)).toBe(true);
  });

  it('reports a command that cannot start', async () => {
    const r = await run('true', { cwd: join(dir, 'missing') });
    expect(r.outcome).toBe('spawn_error');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
