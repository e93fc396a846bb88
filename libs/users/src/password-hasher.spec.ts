import { AppConfig, AppError, ErrorCode } from '@app/core';
import { PasswordHasher } from './password-hasher';

// The module object itself (not an ES namespace copy), so jest.spyOn can wrap its functions.
const argon2: typeof import('@node-rs/argon2') = require('@node-rs/argon2');

/** Fails instead of hanging when a leaked slot leaves a call queued for ever. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: a hashing slot leaked`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function hasherWith(maxConcurrentHashes: number): PasswordHasher {
  return new PasswordHasher({ auth: { maxConcurrentHashes } } as unknown as AppConfig);
}

describe('PasswordHasher', () => {
  const hasher = hasherWith(4);
  let stored: string;

  beforeAll(async () => {
    stored = await hasher.hash('Correct-Horse-42');
  });

  it("hashes with argon2id at OWASP's baseline (19 MiB, 2 iterations, 1 lane)", () => {
    expect(stored.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
  });

  it('salts every hash', async () => {
    expect(await hasher.hash('Correct-Horse-42')).not.toBe(stored);
  });

  it('verifies the right password', async () => {
    await expect(hasher.verify(stored, 'Correct-Horse-42')).resolves.toBe(true);
  });

  it('refuses a wrong password', async () => {
    await expect(hasher.verify(stored, 'correct-horse-42')).resolves.toBe(false);
    await expect(hasher.verify(stored, '')).resolves.toBe(false);
  });

  it('refuses any password when there is no stored hash (unknown user)', async () => {
    await expect(hasher.verify(null, 'Correct-Horse-42')).resolves.toBe(false);
    await expect(hasher.verify(null, '')).resolves.toBe(false);
  });

  describe('for an unknown user (no stored hash)', () => {
    afterEach(() => jest.restoreAllMocks());

    it('still spends an argon2 verification, so timing does not tell unknown users apart', async () => {
      const spy = jest.spyOn(argon2, 'verify');
      await hasher.verify(null, 'Correct-Horse-42');
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][0]).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });

    it('answers false even if the password happened to match the dummy hash', async () => {
      jest.spyOn(argon2, 'verify').mockResolvedValue(true);
      await expect(hasher.verify(null, 'whatever')).resolves.toBe(false);
      await expect(hasher.verify(stored, 'whatever')).resolves.toBe(true);
    });
  });

  it('answers false, not an error, for a malformed stored hash', async () => {
    await expect(hasher.verify('not-a-hash', 'Correct-Horse-42')).resolves.toBe(false);
  });

  describe('under a flood', () => {
    afterEach(() => jest.restoreAllMocks());

    /** Counts argon2 hashes in flight while still running the real ones. */
    function watchHashesInFlight(): { max: () => number } {
      const realHash = argon2.hash;
      let inFlight = 0;
      let max = 0;
      jest.spyOn(argon2, 'hash').mockImplementation(async (...args: Parameters<typeof argon2.hash>) => {
        inFlight++;
        max = Math.max(max, inFlight);
        try {
          return await realHash(...args);
        } finally {
          inFlight--;
        }
      });
      return { max: () => max };
    }

    it('never runs more hashes at once than maxConcurrentHashes', async () => {
      const watch = watchHashesInFlight();
      const limited = hasherWith(2);
      const hashes = await Promise.all(Array.from({ length: 6 }, (_, i) => limited.hash(`Password-${i}`)));
      expect(hashes).toHaveLength(6);
      expect(watch.max()).toBe(2);
    });

    it('queues up to 16 callers per slot and refuses the rest at once with a 503', async () => {
      const limited = hasherWith(1); // 1 running + a queue of 16
      const order: string[] = [];
      const calls = Array.from({ length: 20 }, (_, i) =>
        limited.hash(`Password-${i}`).then(
          (h) => {
            order.push(`done ${i}`);
            return h;
          },
          (err: unknown) => {
            order.push(`refused ${i}`);
            throw err;
          },
        ),
      );
      const results = await Promise.allSettled(calls);

      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(17);
      const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, reason: r.reason }] : []));
      expect(refused.map((r) => r.i)).toEqual([17, 18, 19]);
      for (const { reason } of refused) {
        expect(reason).toBeInstanceOf(AppError);
        expect((reason as AppError).code).toBe(ErrorCode.ServiceUnavailable);
        expect((reason as AppError).status).toBe(503);
        expect((reason as AppError).headers).toEqual({ 'Retry-After': '1' });
      }
      // Refused without waiting for any hash to finish.
      expect(order.slice(0, 3)).toEqual(['refused 17', 'refused 18', 'refused 19']);
    });

    it('serves callers again once the flood has drained', async () => {
      const limited = hasherWith(1);
      await Promise.allSettled(Array.from({ length: 20 }, (_, i) => limited.hash(`Password-${i}`)));
      const watch = watchHashesInFlight();
      const again = await within(2000, Promise.all([limited.hash('Again-0'), limited.hash('Again-1')]));
      expect(watch.max()).toBe(1);
      await expect(within(2000, limited.verify(again[0], 'Again-0'))).resolves.toBe(true);
    });

    it('frees the slot when a verification fails', async () => {
      const limited = hasherWith(1);
      await expect(limited.verify('garbage', 'x')).resolves.toBe(false);
      await expect(within(2000, limited.hash('still-served'))).resolves.toMatch(/^\$argon2id\$/);
    });
  });
});
