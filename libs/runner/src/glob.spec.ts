import { globProblem, globToRegExp, matchesAny } from './glob';

const matches = (glob: string, path: string) => globToRegExp(glob).test(path);

describe('artifact globs', () => {
  it.each([
    ['dist/app.jar', 'dist/app.jar', true],
    ['dist/*.jar', 'dist/app.jar', true],
    ['dist/*.jar', 'dist/sub/app.jar', false],
    ['dist/**/*.jar', 'dist/app.jar', true],
    ['dist/**/*.jar', 'dist/a/b/c/app.jar', true],
    ['dist/**', 'dist/a/b.txt', true],
    ['**/report.xml', 'report.xml', true],
    ['**/report.xml', 'a/b/report.xml', true],
    ['*.jar', 'app.jar', true],
    ['*.jar', 'build/libs/app.jar', true],
    ['*.jar', 'app.jar.sha256', false],
    ['./out/a.txt', 'out/a.txt', true],
    ['out/?.txt', 'out/a.txt', true],
    ['out/?.txt', 'out/ab.txt', false],
    ['out/[ab].txt', 'out/b.txt', true],
    ['out/[!ab].txt', 'out/b.txt', false],
    ['out/[!ab].txt', 'out/c.txt', true],
    ['out/[a-c].txt', 'out/c.txt', true],
    ['out/*.{jar,war}', 'out/x.war', true],
    ['out/*.{jar,war}', 'out/x.zip', false],
    ['out/a+b(1).txt', 'out/a+b(1).txt', true],
    ['out/a.txt', 'outXa.txt', false],
    ['out/*', 'out/.hidden', true],
  ])('%s against %s: %s', (glob, path, expected) => {
    expect(matches(glob, path)).toBe(expected);
  });

  it('treats regular-expression characters literally', () => {
    expect(matches('a.b', 'axb')).toBe(false);
    expect(matches('x$^|y', 'x$^|y')).toBe(true);
  });

  it('matches a path against several globs', () => {
    const globs = ['*.jar', 'reports/**/*.xml'].map(globToRegExp);
    expect(matchesAny('reports/unit/junit.xml', globs)).toBe(true);
    expect(matchesAny('README.md', globs)).toBe(false);
  });

  it.each([
    ['', 'is empty'],
    ['/etc/passwd', 'must be relative to the workspace'],
    ['../secrets/*', 'must not leave the workspace ("..")'],
    ['dist/../../x', 'must not leave the workspace ("..")'],
    ['dist/{a,b', 'unbalanced "{" in glob "dist/{a,b"'],
  ])('refuses %j: %s', (glob, problem) => {
    expect(globProblem(glob)).toBe(problem);
  });

  it('accepts ordinary globs', () => {
    expect(globProblem('dist/**/*.jar')).toBeNull();
    expect(globProblem('app..jar')).toBeNull();
  });
});
