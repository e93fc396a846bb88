import { ID_PREFIXES, IdKind, newId, newSecret } from './ids';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

describe('newId', () => {
  it.each(Object.entries(ID_PREFIXES) as Array<[IdKind, string]>)(
    'makes a %s id as "%s_" and 16 characters of [0-9a-z]',
    (kind, prefix) => {
      expect(newId(kind)).toMatch(new RegExp(`^${prefix}_[0-9a-z]{16}$`));
    },
  );

  it('never repeats itself over many calls', () => {
    const ids = new Set(Array.from({ length: 20_000 }, () => newId('user')));
    expect(ids.size).toBe(20_000);
  });

  it('uses all 36 characters about equally often', () => {
    const counts = new Map<string, number>();
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      for (const ch of newId('task').slice('task_'.length)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join('')).toBe(ALPHABET);
    // 160,000 draws: ~4,444 per character, standard deviation ~66. A 10% band is ~7 sigma wide,
    // yet catches a modulo bias (256 % 36 would make four characters ~14% more frequent).
    const expected = (n * 16) / 36;
    for (const [ch, count] of counts) {
      expect({ ch, deviation: Math.abs(count - expected) / expected < 0.1 }).toEqual({ ch, deviation: true });
    }
  });
});

describe('newSecret', () => {
  it('is 32 random bytes in base64url by default', () => {
    expect(newSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('takes the number of bytes', () => {
    expect(Buffer.from(newSecret(12), 'base64url')).toHaveLength(12);
  });

  it('differs each time', () => {
    expect(newSecret()).not.toBe(newSecret());
  });
});
