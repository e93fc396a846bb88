// docs/openapi.json is the OpenAPI document the gateway serves at /docs-json, committed so that the
// contract can be read without running anything. This keeps the two equal; after an API change:
//   npm run build && UPDATE_OPENAPI=1 npx jest --selectProjects e2e --runTestsByPath test/e2e/openapi-document.e2e-spec.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/env';
import { TestSystem } from '../support/system';

const FILE = join(ROOT, 'docs', 'openapi.json');

describe('docs/openapi.json', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
  });
  afterAll(() => system?.stop());

  it('is the document the gateway serves', async () => {
    const served = (await system.http.get('/docs-json').expect(200)).body as object;
    const text = `${JSON.stringify(served, null, 2)}\n`;
    if (process.env.UPDATE_OPENAPI === '1') writeFileSync(FILE, text);
    expect(JSON.parse(readFileSync(FILE, 'utf8'))).toEqual(served);
  });
});
