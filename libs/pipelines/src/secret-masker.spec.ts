import { MASK, maskText, secretsOf, StreamMasker } from './secret-masker';

describe('secretsOf', () => {
  it('masks every variable value of at least 4 characters, longest first, once each', () => {
    expect(secretsOf({ A: 'abc', B: 'abcd', C: 'token-123456', D: 'abcd', E: '' })).toEqual([
      'token-123456',
      'abcd',
    ]);
  });
});

describe('maskText', () => {
  it('replaces every occurrence of every secret', () => {
    expect(maskText('a s3cret b s3cret', ['s3cret'])).toBe(`a ${MASK} b ${MASK}`);
  });

  it('masks a longer secret before a shorter one it contains', () => {
    expect(maskText('pw=hunter22!', secretsOf({ A: 'hunter22!', B: 'hunter' }))).toBe(`pw=${MASK}`);
  });

  it('leaves text without secrets alone', () => {
    expect(maskText('nothing here', ['secret'])).toBe('nothing here');
    expect(maskText('nothing here', [])).toBe('nothing here');
  });
});

describe('StreamMasker', () => {
  const run = (secrets: string[], chunks: string[]) => {
    const masker = new StreamMasker(secrets);
    const out = chunks.map((c) => masker.push(c));
    return { out, all: out.join('') + masker.end() };
  };

  it('masks a secret split across chunks', () => {
    const { all } = run(['supersecret'], ['token=super', 'sec', 'ret and more\n']);
    expect(all).toBe(`token=${MASK} and more\n`);
    expect(all).not.toContain('super');
  });

  it('masks a secret split into single characters', () => {
    const { out, all } = run(['abcdef'], [...'xxabcdefyy']);
    expect(all).toBe(`xx${MASK}yy`);
    for (const piece of out) expect('abcdef'.includes(piece) && piece.length > 1).toBe(false);
  });

  it('never releases a prefix of a secret before it knows', () => {
    const masker = new StreamMasker(['password1']);
    expect(masker.push('the passw')).not.toContain('passw');
    expect(masker.push('ord1 is set')).not.toContain('password1');
    expect(masker.end()).toBe(' is set');
  });

  it('releases everything at once when there are no secrets', () => {
    const masker = new StreamMasker([]);
    expect(masker.push('hello ')).toBe('hello ');
    expect(masker.end()).toBe('');
  });

  it('keeps the text that is not secret, in order', () => {
    const text = 'line 1\nline 2 with key=abcd1234 inside\nline 3\n';
    const chunks = text.match(/.{1,5}/gs)!;
    expect(run(['abcd1234'], chunks).all).toBe(text.replace('abcd1234', MASK));
  });
});
