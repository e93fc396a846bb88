import { createHmac, randomBytes } from 'node:crypto';

/** A new signing secret in the Standard Webhooks format: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The HMAC key of a secret: for `whsec_...` secrets the base64-decoded part (Standard Webhooks),
 * for any other secret its UTF-8 bytes.
 */
export function signingKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'x-hub-signature-256': string;
}

/**
 * Standard Webhooks: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`; plus GitHub's
 * `X-Hub-Signature-256: sha256=<hex HMAC of the body>` keyed by the secret string as configured,
 * so receivers written for GitHub verify unchanged.
 */
export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): SignedHeaders {
  const v1 = createHmac('sha256', signingKey(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  const hub = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${v1}`,
    'x-hub-signature-256': `sha256=${hub}`,
  };
}
