import { AppError } from '../errors/app-error';
import { loadConfig } from '../config/app-config';
import { assertMetricsAllowed } from './metrics-access';

const outcome = (fn: () => void): number | 'allowed' => {
  try {
    fn();
    return 'allowed';
  } catch (err) {
    return (err as AppError).status;
  }
};

describe('GET /metrics access', () => {
  it('is open without a token in development only', () => {
    expect(loadConfig({}).metrics).toEqual({ token: null, open: true });
    expect(loadConfig({ NODE_ENV: 'test' }).metrics).toEqual({ token: null, open: false });
    const prod = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      SECRETS_ENCRYPTION_KEY: 'ab'.repeat(32),
    }).metrics;
    expect(prod).toEqual({ token: null, open: false });
    expect(outcome(() => assertMetricsAllowed(prod, undefined))).toBe(403);
    expect(outcome(() => assertMetricsAllowed(loadConfig({}).metrics, undefined))).toBe('allowed');
  });

  it('with METRICS_TOKEN, wants exactly that bearer token, in development too', () => {
    const access = loadConfig({ METRICS_TOKEN: 'scrape-0123456789abcdef' }).metrics;
    expect(access).toEqual({ token: 'scrape-0123456789abcdef', open: false });
    expect(outcome(() => assertMetricsAllowed(access, 'Bearer scrape-0123456789abcdef'))).toBe('allowed');
    expect(outcome(() => assertMetricsAllowed(access, 'bearer scrape-0123456789abcdef'))).toBe('allowed');
    expect(outcome(() => assertMetricsAllowed(access, undefined))).toBe(401);
    expect(outcome(() => assertMetricsAllowed(access, 'Bearer scrape-0123456789abcdeF'))).toBe(401);
    expect(outcome(() => assertMetricsAllowed(access, 'Bearer scrape'))).toBe(401);
    expect(outcome(() => assertMetricsAllowed(access, 'Basic c2NyYXBl'))).toBe(401);
  });

  it('refuses a short token at start-up', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(
      /METRICS_TOKEN must be at least 16 characters without spaces/,
    );
  });
});
