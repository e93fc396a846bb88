import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const STATE_FILE = join(ROOT, 'dist', '.e2e-state.json');

export interface E2eState {
  runId: string;
  templateDb: string;
}

export function readState(): E2eState {
  if (!existsSync(STATE_FILE)) throw new Error('e2e global setup did not run');
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2eState;
}

/**
 * A temporary directory the sandbox's uid can enter (mkdtemp makes 0700 ones): workspaces and
 * file:// repositories under it are bound into sandboxes by bubblewrap running as that uid.
 */
export function sandboxTmpDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** Deletes the keys matching `pattern` (SCAN, not KEYS: other suites share the server). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** The start time in a run id (its first 8 base-36 digits: Date.now() at global setup). */
export function runStartedAt(runId: string): number {
  return parseInt(runId.slice(0, 8), 36);
}
