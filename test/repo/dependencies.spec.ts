// Checks on the repository itself, not on running code: what a new user meets at `npm ci`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as semver from 'semver';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: unknown }>;
};

describe('dependencies', () => {
  it('every locked package accepts every Node version package.json promises (no EBADENGINE)', () => {
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const wanted = (entry.engines as { node?: unknown } | undefined)?.node;
      if (!path || typeof wanted !== 'string') continue;
      if (!semver.subset(pkg.engines.node, wanted)) refused.push(`${path}@${entry.version}: node ${wanted}`);
    }
    expect(refused).toEqual([]);
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });

  it('every runtime dependency is imported somewhere (or says why not)', () => {
    // Needed without an import of their own: peers of what is imported.
    const peers: Record<string, string> = {
      passport: 'peer dependency of @nestjs/passport',
      '@fastify/static': 'optional peer of @nestjs/swagger: serves Swagger UI on Fastify',
      '@anthropic-ai/claude-agent-sdk':
        'an ES module, imported at run time by name (libs/agents/src/code/claude-code.ts): tsc would turn import() into require()',
    };
    const sources: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name === 'dist') continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js)$/.test(e.name)) sources.push(readFileSync(p, 'utf8'));
      }
    };
    for (const dir of ['apps', 'libs', 'scripts']) walk(join(root, dir));
    const all = sources.join('\n');
    const unused = Object.keys(pkg.dependencies).filter((name) => {
      if (peers[name]) return false;
      const quoted = name.replace(/[/.]/g, (c) => `\\${c}`);
      return !new RegExp(`(from |require\\(|import\\(|import )'${quoted}(/[^']*)?'`).test(all);
    });
    expect(unused).toEqual([]);
  });
});
