/**
 * R-AI-4, R-DSR-3, R-DSR-4: nothing personal goes to the model provider. Every text sent (the question, every tool
 * result) passes through a Redactor first:
 *  - values at the tenant's subject paths (or the platform defaults) and at known personal fields (`email`, `phone`,
 *    `ip`, `name`, `card`, `password`…) become stable per-conversation tokens such as `⟨email_3⟩`;
 *  - every remaining string is swept for e-mail addresses, card numbers (Luhn-checked), IBANs (mod-97-checked), IPv4
 *    and IPv6 addresses, phone numbers and secret-like tokens;
 *  - special-category fields (GDPR Art. 9: health, religion, ethnicity…) become `⟨special_n⟩` unless the tenant has
 *    enabled them for AI.
 * The same value always gets the same token within a conversation (the vault is stored with it, encrypted under the
 * tenant key), so the model can reason about "the same customer" without seeing who it is; `restore` puts the
 * values back into the answer the tenant is shown. The provider never sees them.
 */
import { isIP } from 'node:net';
import type { SubjectPath } from '../model';
import { DEFAULT_SUBJECT_PATHS, extractSubjects } from '../subjects';

/** What a conversation's vault keeps: token → value, and the next number per kind. */
export interface VaultState {
  readonly tokens: Readonly<Record<string, string>>;
  readonly next: Readonly<Record<string, number>>;
}

export const EMPTY_VAULT: VaultState = { tokens: {}, next: {} };

export interface RedactionOptions {
  /** The tenant's subject paths; the platform defaults when absent. */
  readonly subjectPaths?: readonly SubjectPath[];
  /** R-AI-4: special-category fields are sent only when the tenant has enabled them. @default false */
  readonly allowSpecialCategory?: boolean;
}

const TOKEN = /⟨([a-z_]+)_(\d+)⟩/g;

/** Field names (lower case, `-`/`_`/spaces removed) whose values are personal whatever they look like. */
const KNOWN_FIELDS: Readonly<Record<string, string>> = Object.fromEntries(
  (
    [
      ['email', ['email', 'emailaddress', 'mail', 'useremail', 'customeremail']],
      ['phone', ['phone', 'phonenumber', 'mobile', 'tel', 'telephone', 'msisdn']],
      ['ip', ['ip', 'ipaddress', 'clientip', 'remoteaddr', 'remoteip', 'xforwardedfor', 'sourceip']],
      ['name', ['name', 'firstname', 'lastname', 'fullname', 'givenname', 'familyname', 'surname', 'username', 'displayname']],
      ['address', ['address', 'street', 'streetaddress', 'postcode', 'postalcode', 'zip', 'zipcode']],
      ['card', ['card', 'cardnumber', 'pan', 'ccnumber', 'creditcard']],
      ['iban', ['iban', 'bankaccount', 'accountnumber']],
      ['secret', ['password', 'passwd', 'secret', 'token', 'accesstoken', 'refreshtoken', 'apikey', 'authorization', 'cookie', 'setcookie', 'session', 'sessionid', 'clientsecret', 'privatekey']],
      ['dob', ['dob', 'birthdate', 'dateofbirth', 'birthday']],
      ['national_id', ['ssn', 'nationalid', 'passport', 'passportnumber', 'taxid', 'nin']],
      ['user_agent', ['useragent']],
    ] as const
  ).flatMap(([kind, names]) => names.map((name) => [name, kind])),
);

/** GDPR Art. 9 categories, by field name. */
const SPECIAL_FIELDS = new Set([
  'health', 'healthcondition', 'diagnosis', 'medical', 'medication', 'disability', 'religion', 'belief', 'ethnicity', 'race',
  'ethnicorigin', 'sexualorientation', 'sexlife', 'political', 'politicalopinion', 'tradeunion', 'biometric', 'genetic',
]);

const normaliseField = (name: string) => name.toLowerCase().replace(/[\s_-]/g, '');

/** Luhn checksum of a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616 mod-97 check of an IBAN (spaces removed). */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

const digitsOf = (s: string) => s.replace(/\D/g, '');

/** One free-text detector: a candidate pattern and the check a candidate must pass. */
interface Detector {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly accept?: (match: string) => boolean;
}

/** In this order: secrets first (they may contain `@` or digits), then the structured forms, phones last. */
const DETECTORS: readonly Detector[] = [
  {
    kind: 'secret',
    pattern:
      /\b(?:sk-(?:proj-)?[A-Za-z0-9_-]{16,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{10,}|gh[opsur]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|lq_[A-Za-z0-9_-]{16,})/g,
  },
  { kind: 'secret', pattern: /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{12,}/g },
  // Generic high-entropy tokens: 32+ characters mixing upper case, lower case and digits (ids here are upper case).
  {
    kind: 'secret',
    pattern: /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_-])/g,
    accept: (m) => /[a-z]/.test(m) && /[A-Z]/.test(m) && /\d/.test(m),
  },
  { kind: 'email', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  { kind: 'iban', pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, accept: ibanValid },
  {
    kind: 'card',
    pattern: /(?<![\d.+])\d(?:[ -]?\d){12,18}(?![\d.])/g,
    accept: (m) => digitsOf(m).length >= 13 && luhnValid(digitsOf(m)),
  },
  {
    kind: 'ip',
    pattern: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,8}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:.])/g,
    accept: (m) => isIP(m) === 6,
  },
  // After IPv6, which may end in an IPv4 address (::ffff:192.0.2.1): that one is taken whole.
  { kind: 'ip', pattern: /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g, accept: (m) => isIP(m) === 4 },
  {
    kind: 'phone',
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,8}(?:[ .-]\d{1,8}){1,5}(?![\w])|(?<![\w+])\+\d{7,15}(?!\w)/g,
    accept: (m) => {
      const digits = digitsOf(m).length;
      if (digits < 7 || digits > 15) return false;
      // Dates and times are not phones: 2026-12-01, 10.15.30.
      if (/^\d{4}-\d{2}-\d{2}$/.test(m) || /^\d{1,2}[.-]\d{1,2}[.-]\d{2,4}$/.test(m)) return false;
      return m.startsWith('+') || m.includes('(') || /^\d{2,5}(?:[ .-]\d{2,5}){2,4}$/.test(m);
    },
  },
];

/** Redacts for one conversation; `state()` is what to store with it. */
export class Redactor {
  private readonly tokens: Record<string, string>;
  private readonly next: Record<string, number>;
  private readonly byValue = new Map<string, string>();
  private readonly subjectPaths: readonly SubjectPath[];

  constructor(
    vault: VaultState = EMPTY_VAULT,
    private readonly options: RedactionOptions = {},
  ) {
    this.tokens = { ...vault.tokens };
    this.next = { ...vault.next };
    for (const [token, value] of Object.entries(this.tokens)) this.byValue.set(`${kindOfToken(token)}\0${value}`, token);
    this.subjectPaths = options.subjectPaths ?? DEFAULT_SUBJECT_PATHS;
  }

  state(): VaultState {
    return { tokens: { ...this.tokens }, next: { ...this.next } };
  }

  /** The token of `value` as `kind`: the same one every time within the conversation. */
  tokenFor(kind: string, value: string): string {
    const key = `${kind}\0${value}`;
    let token = this.byValue.get(key);
    if (!token) {
      const n = (this.next[kind] ?? 0) + 1;
      this.next[kind] = n;
      token = `⟨${kind}_${n}⟩`;
      this.tokens[token] = value;
      this.byValue.set(key, token);
    }
    return token;
  }

  /** Free text: every detected form replaced by its token. */
  text(input: string): string {
    let out = input;
    for (const { kind, pattern, accept } of DETECTORS) {
      out = out.replace(pattern, (match) => (accept && !accept(match) ? match : this.tokenFor(kind, match)));
    }
    return out;
  }

  /**
   * A JSON value (a tool result, an event): subject-path values and known fields become tokens, special-category
   * fields too unless enabled, and every other string is swept as free text.
   */
  value(input: unknown): unknown {
    const subjects = new Map<string, string>();
    for (const { kind, value } of extractSubjects(input, this.subjectPaths)) subjects.set(value, safeKind(kind));
    return this.walk(input, subjects, undefined, 0);
  }

  /** The answer as the tenant sees it: every token of this conversation back to its value. */
  restore(text: string): string {
    return text.replace(TOKEN, (token) => this.tokens[token] ?? token);
  }

  private walk(input: unknown, subjects: ReadonlyMap<string, string>, field: string | undefined, depth: number): unknown {
    if (depth > 32) return '⟨truncated⟩';
    const fieldKind = field === undefined ? undefined : fieldKindOf(field, this.options.allowSpecialCategory === true);
    if (typeof input === 'string') {
      const subject = subjects.get(input);
      if (subject) return this.tokenFor(subject, input);
      if (fieldKind && input !== '') return this.tokenFor(fieldKind, input);
      return this.text(input);
    }
    if (typeof input === 'number') {
      if (fieldKind) return this.tokenFor(fieldKind, String(input));
      const digits = Number.isInteger(input) ? String(Math.abs(input)) : '';
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? this.tokenFor('card', digits) : input;
    }
    if (Array.isArray(input)) return input.map((item) => this.walk(item, subjects, field, depth + 1));
    if (input && typeof input === 'object') {
      return Object.fromEntries(
        Object.entries(input as Record<string, unknown>).map(([key, v]) => {
          const kind = fieldKindOf(key, this.options.allowSpecialCategory === true);
          // A personal field's whole content (an object, an array) becomes one token.
          if (kind && v !== null && typeof v === 'object') return [key, this.tokenFor(kind, JSON.stringify(v))];
          return [key, this.walk(v, subjects, key, depth + 1)];
        }),
      );
    }
    return input;
  }
}

function fieldKindOf(field: string, allowSpecial: boolean): string | undefined {
  const name = normaliseField(field);
  if (SPECIAL_FIELDS.has(name)) return allowSpecial ? undefined : 'special';
  return KNOWN_FIELDS[name];
}

const kindOfToken = (token: string) => token.slice(1, token.lastIndexOf('_'));
/** A subject kind as a token name: lower case letters and `_` only. */
const safeKind = (kind: string) => kind.toLowerCase().replace(/[^a-z_]/g, '_') || 'subject';
