import { formatCredentials } from './bootstrap.service';

describe('formatCredentials', () => {
  it('frames the generated credentials with what to do next', () => {
    const text = formatCredentials(['admin password:  s3cret', 'client_secret:   abc']);
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^\+-+\+$/);
    expect(lines[lines.length - 1]).toBe(lines[0]);
    expect(lines.every((l) => l.length === lines[0].length)).toBe(true);
    expect(text).toContain('| admin password:  s3cret');
    expect(text).toContain('npm run admin -- reset-password');
  });

  it('prints nothing when nothing was generated', () => {
    expect(formatCredentials([])).toBe('');
  });
});
