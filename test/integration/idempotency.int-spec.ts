import { IdempotencyService, requestFingerprint } from '@app/core';
import { IntegrationContext, rejection } from '../support/integration';

/** The Idempotency-Key rules (IdempotencyService) on a real idempotency_keys table. */
describe('IdempotencyService', () => {
  let ctx: IntegrationContext;
  let keys: IdempotencyService;
  let seq = 0;
  /** A key of its own for each test: the rules are per (principal, key). */
  const key = () => `key-${++seq}`;
  /** Request fingerprints as the interceptor makes them (the column holds exactly 64 characters). */
  const HASH_1 = requestFingerprint('POST', '/v2/projects', { name: 'one' });
  const HASH_2 = requestFingerprint('POST', '/v2/projects', { name: 'two' });
  const stillProcessing = (idempotencyKey: string) => ({
    code: 'CONFLICT',
    status: 409,
    message: 'A request with this Idempotency-Key is still being processed',
    details: { idempotencyKey },
  });
  const row = async (principal: string, k: string) =>
    (
      await ctx.sql<{ state: string; request_hash: string; lock_in_future: boolean }>(
        `SELECT state, request_hash, locked_until > now() AS lock_in_future
           FROM idempotency_keys WHERE principal = $1 AND key = $2`,
        [principal, k],
      )
    )[0];

  beforeAll(async () => {
    ctx = await IntegrationContext.start([]);
    keys = ctx.get(IdempotencyService);
  });
  afterAll(() => ctx?.stop());

  it('claims a new key once; the same request meanwhile is told it is still being processed', async () => {
    const k = key();
    expect(await keys.claim('usr_a', k, HASH_1)).toEqual({ kind: 'claimed' });
    expect(await rejection(keys.claim('usr_a', k, HASH_1))).toEqual(stillProcessing(k));
    expect(await row('usr_a', k)).toEqual({
      state: 'processing',
      request_hash: HASH_1,
      lock_in_future: true,
    });
  });

  it('replays the stored answer once completed: status, body and headers', async () => {
    const k = key();
    await keys.claim('usr_a', k, HASH_1);
    await keys.complete('usr_a', k, 201, { id: 'prj_1', name: 'x' }, { location: '/v2/projects/prj_1' });
    const replay = {
      kind: 'replay',
      status: 201,
      body: { id: 'prj_1', name: 'x' },
      headers: { location: '/v2/projects/prj_1' },
    };
    expect(await keys.claim('usr_a', k, HASH_1)).toEqual(replay);
    expect(await keys.claim('usr_a', k, HASH_1)).toEqual(replay);
  });

  it('refuses the key with another request body (422), processing or completed', async () => {
    const mismatch = {
      code: 'VALIDATION_ERROR',
      status: 422,
      message: 'Idempotency-Key reused with a different request',
      details: {
        fields: [
          {
            field: 'Idempotency-Key',
            message: 'This key was already used with a different request body',
            code: 'idempotency_mismatch',
          },
        ],
      },
    };
    const k = key();
    await keys.claim('usr_a', k, HASH_1);
    expect(await rejection(keys.claim('usr_a', k, HASH_2))).toEqual(mismatch);
    await keys.complete('usr_a', k, 200, null, {});
    expect(await rejection(keys.claim('usr_a', k, HASH_2))).toEqual(mismatch);
  });

  it('keeps keys per principal: the same key of another caller is theirs to claim', async () => {
    const k = key();
    await keys.claim('usr_a', k, HASH_1);
    expect(await keys.claim('usr_b', k, HASH_2)).toEqual({ kind: 'claimed' });
  });

  it('frees the key of a failed request for a retry, and never a completed one', async () => {
    const k = key();
    await keys.claim('usr_a', k, HASH_1);
    await keys.release('usr_a', k);
    expect(await row('usr_a', k)).toBeUndefined();
    expect(await keys.claim('usr_a', k, HASH_2)).toEqual({ kind: 'claimed' });
    await keys.complete('usr_a', k, 202, { ok: true }, {});
    await keys.release('usr_a', k);
    expect(await keys.claim('usr_a', k, HASH_2)).toEqual({
      kind: 'replay',
      status: 202,
      body: { ok: true },
      headers: {},
    });
  });

  it('lets a retry take over a key whose first attempt died (its lock ran out)', async () => {
    const k = key();
    await keys.claim('usr_a', k, HASH_1);
    await ctx.sql(`UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = $1`, [
      k,
    ]);
    expect(await keys.claim('usr_a', k, HASH_1)).toEqual({ kind: 'claimed' });
    expect(await row('usr_a', k)).toEqual({
      state: 'processing',
      request_hash: HASH_1,
      lock_in_future: true,
    });
    // Taken over: a third attempt waits again.
    expect(await rejection(keys.claim('usr_a', k, HASH_1))).toEqual(stillProcessing(k));
  });

  it('forgets an expired key: claimed anew, another body included; purgeExpired removes the rest', async () => {
    const [k1, k2] = [key(), key()];
    for (const k of [k1, k2]) {
      await keys.claim('usr_a', k, HASH_1);
      await keys.complete('usr_a', k, 200, { old: true }, {});
    }
    await ctx.sql(
      `UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = ANY($1)`,
      [[k1, k2]],
    );
    expect(await keys.claim('usr_a', k1, HASH_2)).toEqual({ kind: 'claimed' });
    expect(await row('usr_a', k1)).toEqual({
      state: 'processing',
      request_hash: HASH_2,
      lock_in_future: true,
    });
    expect(await keys.purgeExpired()).toBe(1);
    expect(await row('usr_a', k2)).toBeUndefined();
  });
});
