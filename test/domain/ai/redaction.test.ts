/**
 * R-AI-4, R-DSR-3, R-DSR-4: what the Redactor lets through. A fixed corpus of personal-data forms, each of which must
 * be gone from the redacted text and back in the restored one; its "can" twins (look-alikes that are not personal
 * data: timestamps, ids, counts, invalid card numbers) stay as they are; and fast-check generated forms.
 */
import fc from 'fast-check';
import { Redactor, ibanValid, luhnValid } from '../../../lambdas/domain/ai/redaction';
import { CORPUS, filler, pii } from '../../support/pii';

describe('R-AI-4: the fixed corpus', () => {
  test.each(CORPUS)('a %s (%s) in free text is replaced by a token, and restored', (kind, value) => {
    const redactor = new Redactor();
    const text = `Customer said: "${value}" when checkout failed.`;
    const redacted = redactor.text(text);
    expect(redacted).not.toContain(value);
    expect(redacted).toMatch(new RegExp(`⟨${kind}_1⟩`));
    expect(redactor.restore(redacted)).toBe(text);
  });

  test.each([
    ['a timestamp', '2026-12-01T10:15:00.000Z'],
    ['a date', '2026-12-01'],
    ['a time', '10:15:30'],
    ['an event id', 'e_01JEXAMPLE7ZQ4M3V6T8N2K9RXY'],
    ['a route', 'POST /checkout/:id'],
    ['a count', 'count 12345, errors 17'],
    ['a latency', 'p95 812.5 ms'],
    ['a number failing Luhn', '4111 1111 1111 1112'],
    ['an IBAN failing mod 97', 'DE89 3704 0044 0532 0130 01'],
    ['an invalid IPv4', '999.1.1.1'],
    ['a version', 'v1.2.3'],
  ])('can: %s (%s) stays as it is', (_what, value) => {
    expect(new Redactor().text(value)).toBe(value);
  });

  test('the same value gets the same token within a conversation, another value the next number; the vault carries over', () => {
    const redactor = new Redactor();
    expect(redactor.text('a@example.com b@example.com a@example.com')).toBe('⟨email_1⟩ ⟨email_2⟩ ⟨email_1⟩');
    const later = new Redactor(redactor.state());
    expect(later.text('b@example.com c@example.com')).toBe('⟨email_2⟩ ⟨email_3⟩');
    expect(later.restore('⟨email_3⟩ and ⟨email_1⟩')).toBe('c@example.com and a@example.com');
  });

  test('known fields and subject paths become tokens whatever they hold; special-category fields unless enabled', () => {
    const event = {
      type: 'api_call',
      route: '/checkout',
      status: 502,
      properties: { customer: { name: 'Ann Lee', userId: 'u-829', phone: '5551234' }, note: 'call me at ann@example.com', health: 'diabetic', card: 4111111111111111 },
      headers: { authorization: 'token xyz', 'x-forwarded-for': '198.51.100.7' },
    };
    const redactor = new Redactor(undefined, { subjectPaths: [{ kind: 'user_id', path: '$.properties.customer.userId' }] });
    const out = JSON.stringify(redactor.value(event));
    for (const value of ['Ann Lee', 'u-829', '5551234', 'ann@example.com', 'diabetic', '4111111111111111', 'token xyz', '198.51.100.7']) {
      expect(out).not.toContain(value);
    }
    expect(out).toContain('"route":"/checkout"');
    expect(out).toContain('"status":502');
    expect(out).toContain('⟨special_1⟩');
    expect(out).toContain('⟨user_id_1⟩');
    // R-AI-4 "can": a tenant that enabled special-category data gets the field through.
    expect(JSON.stringify(new Redactor(undefined, { allowSpecialCategory: true }).value(event))).toContain('diabetic');
  });

  test('checksums: Luhn and IBAN mod 97', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('GB29NWBK60161331926819')).toBe(true);
    expect(ibanValid('GB29NWBK60161331926818')).toBe(false);
  });
});

describe('R-AI-4: generated forms (fast-check)', () => {
  test('each generated value, alone, becomes exactly one token of its kind: nothing of it is left beside the token', () => {
    fc.assert(
      fc.property(pii, ([kind, value]) => {
        expect(new Redactor().text(value)).toBe(`⟨${kind}_1⟩`);
      }),
      { numRuns: 500 },
    );
    for (const [kind, value] of CORPUS) expect([value, new Redactor().text(value)]).toEqual([value, `⟨${kind}_1⟩`]);
  });

  test('no generated personal value survives redaction in free text, JSON strings or arrays; restore gives it back', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(filler, pii), { minLength: 1, maxLength: 6 }), (parts) => {
        const text = parts.map(([f, [, v]]) => `${f} ${v}`).join(' ');
        const redactor = new Redactor();
        const redacted = redactor.text(text);
        const json = JSON.stringify(redactor.value({ message: text, list: parts.map(([, [, v]]) => v) }));
        for (const [, [, value]] of parts) {
          if (redacted.includes(value)) throw new Error(`'${value}' survived in ${redacted}`);
          if (json.includes(value)) throw new Error(`'${value}' survived in ${json}`);
        }
        expect(redactor.restore(redacted)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
