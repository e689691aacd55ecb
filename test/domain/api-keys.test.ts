/**
 * Tenant API keys (R-SEC-3): shown once, stored only as a SHA-256, and read from the request before any lookup.
 */
import { createHash } from 'node:crypto';
import { apiKeyFromHeaders, hashApiKey, issueApiKey } from '../../lambdas/domain/api-keys';

const NOW = new Date('2026-03-02T10:00:00.000Z');

describe('issueApiKey', () => {
  it('R-SEC-3: a key is lq_<keyId>_<256-bit secret>; only its SHA-256 is meant to be stored', () => {
    // Act
    const issued = issueApiKey(NOW);

    // Assess
    expect(issued.apiKey).toMatch(/^lq_key_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);
    expect(issued.apiKey.startsWith(`lq_${issued.keyId}_`)).toBe(true);
    expect(issued.keyHash).toBe(createHash('sha256').update(issued.apiKey).digest('hex'));
    expect(issued.keyHash).not.toContain(issued.apiKey.slice(-43));
  });

  it('R-SEC-3: two keys issued in the same millisecond differ in id, secret and hash', () => {
    const [a, b] = [issueApiKey(NOW), issueApiKey(NOW)];

    expect(a.keyId).not.toBe(b.keyId);
    expect(a.apiKey.slice(-43)).not.toBe(b.apiKey.slice(-43));
    expect(a.keyHash).not.toBe(b.keyHash);
  });

  it('hashApiKey is deterministic, so a presented key finds its record', () => {
    const { apiKey, keyHash } = issueApiKey(NOW);

    expect(hashApiKey(apiKey)).toBe(keyHash);
  });
});

describe('apiKeyFromHeaders', () => {
  const { apiKey } = issueApiKey(NOW);

  it.each([
    [{ authorization: `Bearer ${apiKey}` }],
    [{ authorization: `bearer   ${apiKey}  ` }],
    [{ 'x-api-key': ` ${apiKey}` }],
  ])('reads the key from %j', (headers) => {
    expect(apiKeyFromHeaders(headers)).toBe(apiKey);
  });

  it.each([[{}], [{ authorization: '' }], [{ authorization: `Basic ${apiKey}` }], [{ 'x-api-key': '   ' }]])(
    'no key in %j → missing_api_key (401)',
    (headers) => {
      expect(() => apiKeyFromHeaders(headers)).toThrow(expect.objectContaining({ code: 'missing_api_key', status: 401 }));
    },
  );

  it.each([['lq_nope'], [`${apiKey}x`], [apiKey.replace('lq_', 'LQ_')], [`lq_key_${'0'.repeat(26)}_${'a'.repeat(42)}`]])(
    'a malformed key %s → invalid_api_key (401), rejected before any lookup',
    (presented) => {
      expect(() => apiKeyFromHeaders({ authorization: `Bearer ${presented}` })).toThrow(
        expect.objectContaining({ code: 'invalid_api_key', status: 401, message: 'Unknown or revoked API key' }),
      );
    },
  );
});
