// Swagger UI's "Try it out" in a real browser, loaded from 127.0.0.1 and from localhost: the
// OpenAPI server must be same-origin for both (a fixed http://localhost:PORT made the call from
// 127.0.0.1 cross-origin, and the browser blocked it). Headless Chromium from the distribution's
// package (apt-get install chromium; .ci/run installs it) driven by playwright-core, which never
// downloads a browser. Without an installed chromium the suite fails in CI and is skipped, saying
// why, elsewhere.
import { existsSync } from 'node:fs';
import { Browser, chromium } from 'playwright-core';
import { TestSystem } from '../support/system';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => !!p && existsSync(p),
);
// In CI the browser is required (.ci/run installs it): a missing chromium fails the suite there
// instead of skipping it. Elsewhere the suite is skipped with the reason.
if (!CHROMIUM && !process.env.CI)
  process.stderr.write('swagger-browser: skipped, chromium is not installed (apt-get install chromium)\n');
const suite = CHROMIUM || process.env.CI ? describe : describe.skip;

suite('Swagger UI in a browser', () => {
  let system: TestSystem;
  let browser: Browser;
  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium); CI requires it');
    [system, browser] = await Promise.all([
      TestSystem.start({ worker: false }),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('declares a server relative to the page when PUBLIC_BASE_URL is not set', async () => {
    const doc = await system.http.get('/docs-json').expect(200);
    expect(doc.body.servers).toEqual([{ url: '/' }]);
  });

  for (const host of ['127.0.0.1', 'localhost']) {
    it(`"Try it out" reaches the API from a page loaded at ${host}`, async () => {
      const origin = `http://${host}:${system.gateway.port}`;
      const page = await browser.newPage();
      try {
        await page.goto(`${origin}/docs`);
        const operation = page.locator('.opblock', {
          has: page.locator('.opblock-summary-path[data-path="/v2/auth/me"]'),
        });
        await operation.locator('.opblock-summary').first().click();
        await operation.locator('.try-out__btn').click();
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url().includes('/v2/auth/me'), { timeout: 15_000 }),
          operation.locator('.execute').click(),
        ]);
        // Same origin, and the API's own answer (no token: 401), not a CORS failure.
        expect(new URL(response.url()).origin).toBe(origin);
        expect(response.status()).toBe(401);
        const shown = operation.locator('.live-responses-table tbody .response-col_status').first();
        await shown.waitFor();
        expect((await shown.textContent())?.trim()).toBe('401');
      } finally {
        await page.close();
      }
    });
  }
});
