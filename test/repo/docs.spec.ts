// The project's documentation stands alone: every relative link in README.md and docs/ names a
// file of this repository (no ../shared/... of a sibling checkout).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(__dirname, '..', '..');
const documents = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(root, 'docs', f)),
];

describe('documentation', () => {
  it.each(documents.map((d) => [relative(root, d), d]))(
    '%s links only to files in the repository',
    (_, doc) => {
      const text = readFileSync(doc, 'utf8');
      const targets = [
        ...[...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]),
        // Paths named in code spans, like `../shared/spec/x.txt` or `docs/api.md`.
        ...[...text.matchAll(/`((?:\.\.?\/|docs\/)[^`\s]+\.(?:md|txt|json))`/g)].map((m) => m[1]),
      ].filter((t) => !/^[a-z]+:/.test(t));
      const broken = targets.filter((t) => {
        const path = resolve(dirname(doc), t);
        return !path.startsWith(root + '/') || !existsSync(path);
      });
      expect(broken).toEqual([]);
    },
  );

  it('names WORKER_PORT next to PORT (a busy 3001 stops npm start too)', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toMatch(/`PORT`[^\n]*\n?[^\n]*`WORKER_PORT`/);
  });
});
