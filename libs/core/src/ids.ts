import { randomBytes } from 'node:crypto';

export const ID_PREFIXES = {
  user: 'usr',
  client: 'cli',
  project: 'prj',
  task: 'task',
  activation: 'act',
  pipeline: 'pipe',
  build: 'build',
  deployment: 'dep',
  application: 'app',
  suite: 'suite',
  run: 'run',
  webhook: 'whk',
  delivery: 'dlv',
  mail: 'mail',
  audit: 'aud',
  refreshToken: 'rt',
  event: 'evt',
  document: 'doc',
  change: 'chg',
  flow: 'flow',
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A prefixed random id such as `usr_k3j9x0a1b2c3d4e5` (16 base-36 characters, ~82 bits). */
export function newId(kind: IdKind): string {
  let out = '';
  while (out.length < 16) {
    // 252 = 7 * 36: dropping the top bytes keeps every character equally likely.
    for (const b of randomBytes(24)) if (b < 252 && out.length < 16) out += ALPHABET[b % 36];
  }
  return `${ID_PREFIXES[kind]}_${out}`;
}

/** An opaque secret (refresh tokens, client secrets, verification tokens). */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
