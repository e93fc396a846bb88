import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findClaudeCode } from './claude-code';

describe('findClaudeCode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cocode-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes CLAUDE_CODE_EXECUTABLE when it is an executable file, and nothing else then', async () => {
    const cli = join(dir, 'claude');
    writeFileSync(cli, '#!/bin/sh\n');
    chmodSync(cli, 0o755);
    await expect(findClaudeCode(cli)).resolves.toBe(cli);
    chmodSync(cli, 0o644);
    await expect(findClaudeCode(cli)).resolves.toBeNull();
    await expect(findClaudeCode(join(dir, 'missing'))).resolves.toBeNull();
  });
});
