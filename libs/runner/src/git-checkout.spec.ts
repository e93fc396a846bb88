import { withCredentials } from './git-checkout';

describe('withCredentials', () => {
  it('puts percent-encoded credentials into an https URL, replacing any', () => {
    expect(
      withCredentials('https://old@git.example.com/a/b.git', { username: 'bot', password: 'p@ss:w/rd' }),
    ).toBe('https://bot:p%40ss%3Aw%2Frd@git.example.com/a/b.git');
  });
});
