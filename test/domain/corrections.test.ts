/**
 * Rectification's corrections (R-DSR-3): a value is set at every place its path matches, never where nothing
 * matches, never on the fields that place a record in the indexes, and never on the caller's object.
 */
import { applyCorrections, validateCorrectionPath } from '../../lambdas/domain/corrections';

const event = () => ({
  type: 'event',
  name: 'order',
  timestamp: '2026-03-02T10:00:00.000Z',
  properties: {
    email: 'old@example.com',
    buyer: { email: 'old@example.com', name: 'Ann' },
    items: [{ sku: 'a', note: 'x' }, { sku: 'b', note: 'y' }],
  },
});

describe('applyCorrections', () => {
  it('R-DSR-3: a descendant path sets the value at every existing match', () => {
    const { value, matches, changed } = applyCorrections(event(), [{ path: '$..email', value: 'new@example.com' }]);

    expect(value.properties.email).toBe('new@example.com');
    expect(value.properties.buyer.email).toBe('new@example.com');
    expect(matches).toBe(2);
    expect(changed).toBe(true);
  });

  it('R-DSR-3: a path that matches nothing creates nothing', () => {
    const original = event();

    const { value, matches, changed } = applyCorrections(original, [
      { path: '$.properties.phone', value: '+44 20 7946 0000' },
      { path: '$.properties.items[5].note', value: 'z' },
    ]);

    expect(value).toEqual(original);
    expect(value.properties).not.toHaveProperty('phone');
    expect({ matches, changed }).toEqual({ matches: 0, changed: false });
  });

  it('wildcards and indexes select as subject paths do; each match gets its own copy of the value', () => {
    const { value } = applyCorrections(event(), [
      { path: '$.properties.items[*].note', value: { text: 'corrected' } },
      { path: '$.properties.items[0].sku', value: 'a2' },
    ]);

    expect(value.properties.items).toEqual([
      { sku: 'a2', note: { text: 'corrected' } },
      { sku: 'b', note: { text: 'corrected' } },
    ]);
    expect(value.properties.items[0].note).not.toBe(value.properties.items[1].note);
  });

  it('never modifies the event it was given', () => {
    const original = event();
    const before = JSON.stringify(original);

    applyCorrections(original, [{ path: '$..email', value: 'new@example.com' }]);

    expect(JSON.stringify(original)).toBe(before);
  });

  it('leaves the top-level type and timestamp alone even when a descendant path reaches them', () => {
    const { value } = applyCorrections(event(), [
      { path: '$..timestamp', value: 'yesterday' },
      { path: '$..type', value: 'metric' },
    ]);

    expect(value.type).toBe('event');
    expect(value.timestamp).toBe('2026-03-02T10:00:00.000Z');
  });

  it('a member named __proto__ is set as data, never as the prototype', () => {
    const parsed = JSON.parse('{"type":"event","properties":{"__proto__":{"email":"a@example.com"}}}') as Record<string, unknown>;

    const { value } = applyCorrections(parsed, [{ path: "$.properties['__proto__']", value: { polluted: true } }]);

    const properties = value.properties as Record<string, unknown>;
    // Were the prototype replaced, `polluted` would be inherited.
    expect('polluted' in properties).toBe(false);
    expect(Object.getOwnPropertyDescriptor(properties, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('validateCorrectionPath', () => {
  it.each(['$.properties.email', '$..email', "$['properties']['home address']", '$.properties.items[*].note'])('accepts %s', (path) => {
    expect(() => validateCorrectionPath(path)).not.toThrow();
  });

  it.each([
    ['properties.email', /expected '\$'/],
    ['$', /whole document/],
    ['$.a..', /member name/],
    ['$.type', /type/],
    ['$.timestamp', /timestamp/],
  ])('refuses %s', (path, message) => {
    expect(() => validateCorrectionPath(path)).toThrow(message);
  });
});
