import { createHmac } from 'node:crypto';
import { newWebhookSecret, signingKey, signWebhook } from './webhook-signer';

describe('webhook signer', () => {
  // The Standard Webhooks reference vector.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = 1614265330;
  const body = '{"test": 2432232314}';

  it('matches the Standard Webhooks reference signature', () => {
    expect(signWebhook(secret, id, timestamp, body)['webhook-signature']).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('signs GitHub-style with the secret string as the key', () => {
    const expected = createHmac('sha256', secret).update(body).digest('hex');
    expect(signWebhook(secret, id, timestamp, body)['x-hub-signature-256']).toBe(`sha256=${expected}`);
  });

  it('uses the base64 part of whsec_ secrets and the UTF-8 bytes of any other', () => {
    expect(signingKey(secret)).toEqual(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'));
    expect(signingKey('plain-secret-1234')).toEqual(Buffer.from('plain-secret-1234'));
  });

  it('changes when the body, id or timestamp changes', () => {
    const base = signWebhook(secret, id, timestamp, body)['webhook-signature'];
    expect(signWebhook(secret, id, timestamp, `${body} `)['webhook-signature']).not.toBe(base);
    expect(signWebhook(secret, `${id}x`, timestamp, body)['webhook-signature']).not.toBe(base);
    expect(signWebhook(secret, id, timestamp + 1, body)['webhook-signature']).not.toBe(base);
  });

  it('generates 32-byte whsec_ secrets', () => {
    const s = newWebhookSecret();
    expect(s).toMatch(/^whsec_/);
    expect(signingKey(s)).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(s);
  });
});
