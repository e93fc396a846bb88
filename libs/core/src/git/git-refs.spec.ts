import { isBranchName, isCommitSha, isGitUrl, redactUrl, urlSecrets } from './git-refs';

describe('isGitUrl', () => {
  it.each([
    'https://github.com/acme/shop.git',
    'http://git.local/acme/shop',
    'ssh://git@github.com/acme/shop.git',
    'git://git.kernel.org/pub/scm/git/git.git',
    'file:///tmp/repos/shop',
    'git@github.com:acme/shop.git',
    'https://user:tok3n@git.example.com/acme/shop.git',
  ])('accepts %s', (url) => expect(isGitUrl(url)).toBe(true));

  it.each([
    '',
    '/tmp/repos/shop',
    '--upload-pack=touch /tmp/pwned',
    '-oProxyCommand=x@host:path',
    'ext::sh -c touch% /tmp/pwned',
    'ftp://example.com/repo',
    'https://example.com/a b',
    'https://example.com/\nx',
  ])('refuses %j', (url) => expect(isGitUrl(url)).toBe(false));
});

describe('isBranchName', () => {
  it.each(['main', 'release/2.0', 'feature/JIRA-12_login', 'v1.2.3'])('accepts %s', (ref) =>
    expect(isBranchName(ref)).toBe(true),
  );

  it.each([
    '',
    '-x',
    '--upload-pack=x',
    'a..b',
    'a b',
    'a~1',
    'a^',
    'a:b',
    'a*',
    'a[',
    'a\\b',
    '/a',
    'a/',
    'a//b',
    'a.lock',
    'a.',
    '.hidden',
    'a/.b',
    'a@{1}',
    '@',
  ])('refuses %j', (ref) => expect(isBranchName(ref)).toBe(false));
});

describe('isCommitSha', () => {
  it('accepts 7 to 64 hexadecimal digits', () => {
    expect(isCommitSha('a1b2c3d')).toBe(true);
    expect(isCommitSha('A1B2C3D4E5F60718293a4b5c6d7e8f9012345678')).toBe(true);
    expect(isCommitSha('abc')).toBe(false);
    expect(isCommitSha('HEAD~1')).toBe(false);
    expect(isCommitSha('-abcdefg')).toBe(false);
  });
});

describe('credentials in URLs', () => {
  it('redacts the password or token of a URL', () => {
    expect(redactUrl('https://ci:s3cr%40t@git.example.com/a.git')).toBe(
      'https://ci:***@git.example.com/a.git',
    );
    expect(redactUrl('https://git.example.com/a.git')).toBe('https://git.example.com/a.git');
    expect(redactUrl('git@github.com:acme/shop.git')).toBe('git@github.com:acme/shop.git');
  });

  it('lists the password both as written and decoded, for masking', () => {
    expect(urlSecrets('https://ci:s3cr%40t@git.example.com/a.git')).toEqual(['s3cr%40t', 's3cr@t']);
    expect(urlSecrets('https://ci@git.example.com/a.git')).toEqual([]);
    expect(urlSecrets('file:///tmp/x')).toEqual([]);
  });
});
