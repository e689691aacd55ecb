/**
 * R-AI-4: personal-data forms the redaction must catch, shared by the domain tests (test/domain/ai/redaction.test.ts)
 * and the end-to-end check against the fake provider's request log (test/integration/ai.test.ts).
 */
import fc from 'fast-check';
import { luhnValid } from '../../lambdas/domain/ai/redaction';

/** A fixed corpus: each form with the token kind it must become. */
export const CORPUS: [kind: string, value: string][] = [
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
export const pii = fc.oneof(
  email.map((v) => ['email', v] as const),
  luhnCard.map((v) => ['card', v] as const),
  ipv4.map((v) => ['ip', v] as const),
  ipv6.map((v) => ['ip', v] as const),
  phone.map((v) => ['phone', v] as const),
  secret.map((v) => ['secret', v] as const),
);
export const filler = fc.constantFrom('checkout failed for', 'retry from', 'contact:', 'status 502', 'at 2026-12-01T10:15:00Z', '—', 'ok');
