import { randomBytes } from 'node:crypto';
import { SecretBox, SecretBoxError } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips a value, and never stores it in clear', () => {
    const sealed = box.encrypt('{"token":"ghp_s3cr3t"}', 'prj_1');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('s3cr3t');
    expect(box.decrypt(sealed, 'prj_1')).toBe('{"token":"ghp_s3cr3t"}');
  });

  it('uses a fresh IV each time', () => {
    expect(box.encrypt('same', 'prj_1')).not.toBe(box.encrypt('same', 'prj_1'));
  });

  it('refuses another key', () => {
    const sealed = box.encrypt('token', 'prj_1');
    expect(() => new SecretBox(randomBytes(32)).decrypt(sealed, 'prj_1')).toThrow(SecretBoxError);
  });

  it('refuses another context (a value copied to another row)', () => {
    expect(() => box.decrypt(box.encrypt('token', 'prj_1'), 'prj_2')).toThrow(SecretBoxError);
  });

  it('refuses a tampered ciphertext, tag or IV', () => {
    const sealed = box.encrypt('a token value', 'prj_1');
    for (const i of [1, 2, 3]) {
      const parts = sealed.split('.');
      const bytes = Buffer.from(parts[i], 'base64url');
      bytes[0] ^= 1;
      parts[i] = bytes.toString('base64url');
      expect(() => box.decrypt(parts.join('.'), 'prj_1')).toThrow(SecretBoxError);
    }
  });

  it('refuses what it did not make, and says nothing of the key', () => {
    for (const bad of ['', 'v1.a.b', 'v2.a.b.c', 'plain text'])
      expect(() => box.decrypt(bad, 'prj_1')).toThrow(/sealed secret/);
  });

  it('needs a 32-byte key', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32-byte/);
  });
});
