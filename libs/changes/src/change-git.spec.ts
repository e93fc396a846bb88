import { parseCommits, parseNumstat } from './change-git';
import { openProblems } from './changes.service';

describe('parseCommits', () => {
  it('reads sha, author and the whole message of each commit', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const text = `${a}\0Ann <ann@x.io>\0Add login\n\nWith a body\n\x1e\n${b}\0Bob <bob@x.io>\0Fix\n\x1e\n`;
    expect(parseCommits(text)).toEqual([
      { sha: a, author: 'Ann <ann@x.io>', message: 'Add login\n\nWith a body' },
      { sha: b, author: 'Bob <bob@x.io>', message: 'Fix' },
    ]);
    expect(parseCommits('')).toEqual([]);
  });
});

describe('parseNumstat', () => {
  it('counts files, added and deleted lines; a binary file adds no lines', () => {
    expect(parseNumstat('3\t1\tsrc/a.ts\n10\t0\tsrc/b.ts\n-\t-\tlogo.png\n')).toEqual({
      files: 3,
      additions: 13,
      deletions: 1,
    });
    expect(parseNumstat('')).toEqual({ files: 0, additions: 0, deletions: 0 });
  });
});

describe('openProblems', () => {
  const ok = {
    projectId: 'prj_0123456789abcdef',
    repositoryUrl: 'https://git.example.com/shop.git',
    branch: 'cocode/ECOM-1-backend-1',
    baseBranch: 'main',
    baseSha: 'a'.repeat(40),
    headSha: 'b'.repeat(40),
  };

  it('accepts a complete request', () => {
    expect(openProblems(ok)).toEqual([]);
  });

  it('refuses credentials in the URL, bad branches and short commit ids', () => {
    const fields = (o: object) => openProblems({ ...ok, ...o }).map((p) => p.field);
    expect(fields({ repositoryUrl: 'https://bot:token@git.example.com/shop.git' })).toEqual([
      'repositoryUrl',
    ]);
    expect(fields({ repositoryUrl: 'ext::sh -c touch% /tmp/x' })).toEqual(['repositoryUrl']);
    expect(fields({ branch: '-delete', baseBranch: 'a..b' })).toEqual(['branch', 'baseBranch']);
    expect(fields({ headSha: 'abc1234' })).toEqual(['headSha']);
  });
});
