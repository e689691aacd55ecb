/**
 * R-AI-4, R-DSR-3, R-DSR-4: what the Redactor lets through. A fixed corpus of personal-data forms, each of which must
 * be gone from the redacted text and back in the restored one; its "can" twins (look-alikes that are not personal
 * data: timestamps, ids, counts, invalid card numbers) stay as they are; and fast-check generated forms.
 */
import fc from 'fast-check';
import { Redactor, ibanValid, luhnValid } from '../../../lambdas/domain/ai/redaction';

const CORPUS: [kind: string, value: string][] = [
  ['email', 'ann.lee+shop@example.com'],
  ['email', 'BOB_SMITH@mail.example.co.uk'],
  ['card', '4111 1111 1111 1111'],
  ['card', '5500-0000-0000-0004'],
  ['card', '378282246310005'],
  ['card', '6011111111111117'],
  ['iban', 'DE89 3704 0044 0532 0130 00'],
  ['iban', 'GB29NWBK60161331926819'],
  ['iban', 'FR1420041010050500013M02606'],
  ['ip', '203.0.113.42'],
  ['ip', '2001:db8::8a2e:370:7334'],
  ['ip', 'fe80::1ff:fe23:4567:890a'],
  ['phone', '+44 20 7946 0958'],
  ['phone', '+1 (415) 555-2671'],
  ['phone', '(030) 123 4567'],
  ['phone', '+4915112345678'],
  ['secret', 'sk-proj-abcdefghijklmnopqrstuvwx1234'],
  ['secret', 'sk_live_51HxYzAbCdEfGhIjKlMn'],
  ['secret', 'ghp_1234567890abcdefghijABCDEFGHIJ123456'],
  ['secret', 'AKIAIOSFODNN7EXAMPLE'],
  ['secret', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
  ['secret', 'Bearer abcDEF123456ghiJKL789'],
  ['secret', 'xoxb-123456789012-abcdefghijkl'],
  ['secret', 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpL'],
];

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

/** A card number with a valid Luhn check digit. */
const luhnCard = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 15, maxLength: 15 }).map((digits) => {
  const body = [4, ...digits].join('');
  for (let check = 0; check < 10; check++) if (luhnValid(body + check)) return body + check;
  throw new Error('unreachable');
});
const local = fc.stringMatching(/^[a-z][a-z0-9._]{0,15}[a-z0-9]$/).filter((s) => !s.includes('..'));
const email = fc.tuple(local, fc.stringMatching(/^[a-z]{2,12}$/), fc.constantFrom('com', 'org', 'de', 'co.uk')).map(([l, d, t]) => `${l}@${d}.${t}`);
const ipv4 = fc.ipV4().filter((ip) => !/^0\./.test(ip));
const ipv6 = fc.ipV6().filter((ip) => ip.includes(':') && !/^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,1}$/i.test(ip) && ip.length > 6);
const phone = fc.tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 100, max: 999 }), fc.integer({ min: 1000000, max: 9999999 })).map(([cc, area, n]) => `+${cc} ${area} ${n}`);
const secret = fc.stringMatching(/^[A-Za-z0-9]{30,40}$/).map((s) => `sk_live_${s}`);
const pii = fc.oneof(
  email.map((v) => ['email', v] as const),
  luhnCard.map((v) => ['card', v] as const),
  ipv4.map((v) => ['ip', v] as const),
  ipv6.map((v) => ['ip', v] as const),
  phone.map((v) => ['phone', v] as const),
  secret.map((v) => ['secret', v] as const),
);
const filler = fc.constantFrom('checkout failed for', 'retry from', 'contact:', 'status 502', 'at 2026-12-01T10:15:00Z', '—', 'ok');

describe('R-AI-4: generated forms (fast-check)', () => {
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
