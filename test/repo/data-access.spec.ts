// Checks on the repository itself: one way to reach the database (docs/data-access.md).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

const files = [...sources(join(root, 'libs')), ...sources(join(root, 'apps'))].map((p) => ({
  path: relative(root, p),
  text: readFileSync(p, 'utf8'),
}));

/** Where SQL may live: repositories, and the database layer itself (pool, Sql, migrations runner). */
const mayHoldSql = (path: string) =>
  path.endsWith('.repository.ts') || path.startsWith('libs/core/src/database/');

describe('data access', () => {
  it('no SQL outside repositories: services hold rules, repositories statements', () => {
    const markers = [
      /\.query\(/,
      /createQueryBuilder/,
      /\bsql\.(rows|one|exec|page)\(/,
      /@Inject(Repository|DataSource)\b/,
      /`\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|WITH)\s/,
    ];
    const offenders = files
      .filter((f) => !mayHoldSql(f.path))
      .flatMap((f) => markers.filter((m) => m.test(f.text)).map((m) => `${f.path}: ${m.source}`));
    expect(offenders).toEqual([]);
  });

  it("nothing reaches into TypeORM's driver (one public pool: DatabasePool)", () => {
    const offenders = files.filter((f) => /\.driver\b[^;]*\.master\b|driver as unknown/.test(f.text));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });
});
