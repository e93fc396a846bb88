import { existsSync, readFileSync } from 'node:fs';
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
