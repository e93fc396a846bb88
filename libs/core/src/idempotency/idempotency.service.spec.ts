import { canonicalJson, requestFingerprint } from './idempotency.service';

describe('canonicalJson', () => {
  it('sorts object keys, at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [{ z: 1, y: 2 }] } })).toBe(
      '{"a":{"c":[{"y":2,"z":1}],"d":2},"b":1}',
    );
  });

  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ name: 'ci', scopes: ['read'], tier: 'pro' })).toBe(
      canonicalJson({ tier: 'pro', scopes: ['read'], name: 'ci' }),
    );
  });

  it('drops undefined properties', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('keeps null properties', () => {
    expect(canonicalJson({ a: null })).toBe('{"a":null}');
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
  });

  it('keeps array order', () => {
    expect(canonicalJson([1, 2])).toBe('[1,2]');
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('writes primitives as JSON, and undefined as null', () => {
    expect(canonicalJson('say "hi"')).toBe('"say \\"hi\\""');
    expect(canonicalJson(1.5)).toBe('1.5');
    expect(canonicalJson(false)).toBe('false');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('produces JSON that parses back to the same value', () => {
    const value = { 'we"ird\nkey': ['x', { n: -0.25, t: true }], ünïcode: '✓', empty: {} };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('does not confuse a string holding JSON with the object it spells', () => {
    expect(canonicalJson('{"a":1}')).not.toBe(canonicalJson({ a: 1 }));
  });
});

describe('requestFingerprint', () => {
  const body = { name: 'deploy-bot', scopes: ['read', 'write'], nested: { x: 1, y: 2 } };

  it('is a SHA-256 hex digest', () => {
    expect(requestFingerprint('POST', '/api/v2/clients', body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the same for the same request', () => {
    expect(requestFingerprint('POST', '/api/v2/clients', body)).toBe(
      requestFingerprint('POST', '/api/v2/clients', structuredClone(body)),
    );
  });

  it('does not depend on key order', () => {
    const reordered = { nested: { y: 2, x: 1 }, scopes: ['read', 'write'], name: 'deploy-bot' };
    expect(requestFingerprint('POST', '/api/v2/clients', reordered)).toBe(
      requestFingerprint('POST', '/api/v2/clients', body),
    );
  });

  it('ignores undefined fields', () => {
    expect(requestFingerprint('POST', '/api/v2/clients', { ...body, description: undefined })).toBe(
      requestFingerprint('POST', '/api/v2/clients', body),
    );
  });

  it('differs for a different body', () => {
    const base = requestFingerprint('POST', '/api/v2/clients', body);
    expect(requestFingerprint('POST', '/api/v2/clients', { ...body, name: 'other' })).not.toBe(base);
    expect(requestFingerprint('POST', '/api/v2/clients', { ...body, scopes: ['write', 'read'] })).not.toBe(
      base,
    );
    expect(requestFingerprint('POST', '/api/v2/clients', { ...body, extra: null })).not.toBe(base);
    expect(requestFingerprint('POST', '/api/v2/clients', undefined)).not.toBe(base);
  });

  it('differs for a different path', () => {
    expect(requestFingerprint('POST', '/api/v2/clients', body)).not.toBe(
      requestFingerprint('POST', '/api/v2/users', body),
    );
  });

  it('differs for a different method', () => {
    expect(requestFingerprint('POST', '/api/v2/clients/cli_1', body)).not.toBe(
      requestFingerprint('PATCH', '/api/v2/clients/cli_1', body),
    );
  });
});
