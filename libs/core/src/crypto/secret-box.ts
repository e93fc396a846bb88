import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/**
 * Encrypts small secrets (repository credentials) for storage: AES-256-GCM with a fresh random IV
 * per value, so the database holds `v1.<iv>.<tag>.<ciphertext>` (base64url) and never the clear
 * text. `context` (the owning row's id) is bound as associated data: a value copied to another
 * row, tampered with, or read with another key does not decrypt.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new Error(`SecretBox needs a ${SECRET_KEY_BYTES}-byte key`);
    this.key = Buffer.from(key);
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** The clear text; throws SecretBoxError when the value was not made by this key for this context. */
  decrypt(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed value');
    const [iv, tag, body] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('not a sealed value');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      // Never the cause: it says nothing useful and must not carry key material into a log.
      throw new SecretBoxError('cannot be decrypted (another SECRETS_ENCRYPTION_KEY, or altered)');
    }
  }
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(`sealed secret ${message}`);
    this.name = 'SecretBoxError';
  }
}
