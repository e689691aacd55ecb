/**
 * R-DSR-1: data-subject identifiers found by JSON path, normalised, and stored only as keyed hashes.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { parseJsonPath, readPath } from '../../lambdas/domain/json-paths';
import type { PlatformEvent, SubjectPath } from '../../lambdas/domain/model';
import {
  DEFAULT_SUBJECT_PATHS,
  extractSubjects,
  hashSubject,
  normaliseIdentifier,
  subjectHasher,
} from '../../lambdas/domain/subjects';

const at = (kind: string, path: string) => [{ kind, path }];

describe('R-DSR-1: DEFAULT_SUBJECT_PATHS', () => {
  it('compiles every default path', () => {
    for (const { path } of DEFAULT_SUBJECT_PATHS) expect(parseJsonPath(path).source).toBe(path);
  });
});

describe('R-DSR-1: extractSubjects', () => {
  const doc = {
    user: { email: ' Ana@Example.COM ', id: 42, tags: ['x', 'y'] },
    orders: [{ customer: { email: 'b@example.com' } }, { customer: { email: 'c@example.com' } }],
    'odd key': { v: 'odd' },
  };

  it.each([
    ['$.user.email', ['ana@example.com']],
    ['$.user.id', ['42']],
    ['$.user.tags[1]', ['y']],
    ['$.user.tags[*]', ['x', 'y']],
    ['$.orders[*].customer.email', ['b@example.com', 'c@example.com']],
    ['$.orders[0].customer.email', ['b@example.com']],
    ["$['odd key'].v", ['odd']],
    ['$..email', ['ana@example.com', 'b@example.com', 'c@example.com']],
    ['$.user.missing', []],
    ['$.user.tags[5]', []],
    ['$.orders.customer', []],
  ])('%s selects %j', (path, expected) => {
    expect(extractSubjects(doc, at('email', path)).map((s) => s.value).sort()).toEqual([...expected].sort());
  });

  it('finds identifiers anywhere in a whole platform event with the default paths', () => {
    const event: PlatformEvent = {
      type: 'api_call',
      method: 'GET',
      route: '/orders',
      status: 200,
      latencyMs: 3,
      timestamp: '2026-11-23T10:15:00.000Z',
      payload: { data: [{ customer_id: 'cus_1', contact: { email: 'A@B.example' } }] },
      properties: { userId: 'u-7' },
    };
    expect(extractSubjects(event, DEFAULT_SUBJECT_PATHS)).toEqual([
      { kind: 'email', value: 'a@b.example' },
      { kind: 'user_id', value: 'u-7' },
      { kind: 'customer_id', value: 'cus_1' },
    ]);
  });

  it('counts only string and finite-number leaves, and ignores empty strings', () => {
    const value = { id: [{ id: null }, { id: true }, { id: { id: '' } }, { id: '   ' }, { id: 7.5 }, { id: 'ok' }] };
    expect(extractSubjects(value, at('user_id', '$..id'))).toEqual([
      { kind: 'user_id', value: 'ok' },
      { kind: 'user_id', value: '7.5' },
    ]);
  });

  it('de-duplicates per (kind, normalised value), keeping the same value under two kinds', () => {
    const value = { a: 'X@Y.example', b: 'x@y.example ', c: 'x@y.example' };
    const paths = [...at('email', '$.a'), ...at('email', '$.b'), ...at('user_id', '$.c')];
    expect(extractSubjects(value, paths)).toEqual([
      { kind: 'email', value: 'x@y.example' },
      { kind: 'user_id', value: 'x@y.example' },
    ]);
  });

  it('does not read inherited properties', () => {
    expect(extractSubjects({}, at('user_id', '$.constructor'))).toEqual([]);
    expect(extractSubjects({ a: [] }, at('user_id', '$.a.length'))).toEqual([]);
  });

  it('stops at depth 32, so a hostile nesting cannot run deep', () => {
    const nest = (depth: number): unknown => (depth === 0 ? { email: 'deep@example.com' } : { next: nest(depth - 1) });
    expect(extractSubjects(nest(31), at('email', '$..email'))).toHaveLength(1);
    expect(extractSubjects(nest(32), at('email', '$..email'))).toEqual([]);
    // 100,000 levels: found nothing, and did not overflow the stack.
    let deep: unknown = { email: 'bottom@example.com' };
    for (let i = 0; i < 100_000; i += 1) deep = { next: deep };
    expect(extractSubjects(deep, at('email', '$..email'))).toEqual([]);
  });

  it('returns at most 1,000 identifiers', () => {
    const many = { users: Array.from({ length: 5000 }, (_, i) => ({ email: `u${i}@example.com` })) };
    expect(extractSubjects(many, at('email', '$..email'))).toHaveLength(1000);
  });

  it('searches a body-sized document (240k nodes) completely with every default path', () => {
    const wide = { rows: Array.from({ length: 80_000 }, (_, i) => ({ n: { v: i } })), last: { customer_id: 'cus_last' } };
    expect(extractSubjects(wide, DEFAULT_SUBJECT_PATHS)).toEqual([{ kind: 'customer_id', value: 'cus_last' }]);
  });

  it('bounds chained recursive descents over a hostile shape (unbounded, this one runs for minutes)', () => {
    const chain = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: chain(depth - 1) });
    const hostile = Array.from({ length: 2000 }, () => chain(30)); // ~360 KB: fits in one request body
    const started = Date.now();
    expect(extractSubjects(hostile, at('user_id', '$..*..*..*..*')).length).toBeLessThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('never throws on arbitrary JSON with the default paths', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const found = extractSubjects(value, DEFAULT_SUBJECT_PATHS);
        expect(found.every((s) => s.value !== '' && s.value === normaliseIdentifier(s.kind, s.value))).toBe(true);
      }),
    );
  });

  it('finds an email planted anywhere (within depth 32) in arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.emailAddress(), (value, email) => {
        const planted = { wrapper: [value, { email }] };
        expect(extractSubjects(planted, DEFAULT_SUBJECT_PATHS)).toContainEqual({ kind: 'email', value: email.toLowerCase() });
      }),
    );
  });
});

describe('R-DSR-1: normaliseIdentifier and hashSubject', () => {
  const key = Buffer.alloc(32, 7);

  it('lower-cases and trims emails; only trims other kinds', () => {
    expect(normaliseIdentifier('email', '  Ana@Example.COM\n')).toBe('ana@example.com');
    expect(normaliseIdentifier('user_id', '  AbC ')).toBe('AbC');
  });

  it('normalises Unicode to NFC, so the same name typed two ways is one subject', () => {
    expect(normaliseIdentifier('user_id', 'Jose\u0301')).toBe(normaliseIdentifier('user_id', 'Jos\u00e9'));
  });

  it('is HMAC-SHA256 over kind:normalised, base64url', () => {
    const expected = createHmac('sha256', key).update('email:ana@example.com').digest('base64url');
    expect(hashSubject(key, 'email', ' ANA@example.com')).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('differs by tenant key and by kind, so hashes never link across tenants or kinds', () => {
    const other = Buffer.alloc(32, 8);
    expect(hashSubject(key, 'user_id', '42')).not.toBe(hashSubject(other, 'user_id', '42'));
    expect(hashSubject(key, 'user_id', '42')).not.toBe(hashSubject(key, 'customer_id', '42'));
  });

  it('gives the extracted value and the requested value the same hash', () => {
    const [found] = extractSubjects({ email: ' Ana@Example.com' }, DEFAULT_SUBJECT_PATHS);
    expect(hashSubject(key, found.kind, found.value)).toBe(hashSubject(key, 'email', 'ana@example.COM'));
  });
});

/** `$..name` with a `where`, read the slow way: the descendant search's nodes in its order (a stack), within depth 32. */
function whereSearch(root: unknown, name: string, where: { member: string; equals: unknown }): unknown[] {
  const selected: unknown[] = [];
  const pending: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  for (let node = pending.pop(); node; node = pending.pop()) {
    const { value, depth } = node;
    if (typeof value !== 'object' || value === null || depth >= 32) continue;
    const object = value as Record<string, unknown>;
    if (!Array.isArray(value) && Object.hasOwn(object, name) && object[where.member] === where.equals) selected.push(object[name]);
    for (const key of Object.keys(object)) pending.push({ value: object[key], depth: depth + 1 });
  }
  return selected;
}

/** Issue 12's oracle: the extraction before the one-pass plan, every path read on its own with readPath. */
function extractOneByOne(value: unknown, paths: readonly SubjectPath[]): { kind: string; value: string }[] {
  const seen = new Set<string>();
  const subjects: { kind: string; value: string }[] = [];
  for (const { kind, path, where } of paths) {
    const leaves = where ? whereSearch(value, path.slice('$..'.length), where) : readPath(parseJsonPath(path), value);
    for (const leaf of leaves) {
      const raw = typeof leaf === 'string' ? leaf : typeof leaf === 'number' && Number.isFinite(leaf) ? String(leaf) : undefined;
      if (raw === undefined) continue;
      const normalised = normaliseIdentifier(kind, raw);
      if (normalised === '' || seen.has(JSON.stringify([kind, normalised]))) continue;
      seen.add(JSON.stringify([kind, normalised]));
      subjects.push({ kind, value: normalised });
    }
  }
  return subjects;
}

describe('issue 12: one walk for every $..name path', () => {
  const names = ['email', 'userId', 'user_id', 'customerId', 'customer_id', 'customer', 'id', 'object', 'shopDomain', 'a', 'items'];
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('object'), tie('array')),
    leaf: fc.oneof(fc.constantFrom('Ann@Example.com', ' usr_1 ', 'cus_9', 'customer', ''), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
    object: fc.dictionary(fc.constantFrom(...names), tie('tree'), { maxKeys: 5 }),
    array: fc.array(tie('tree'), { maxLength: 4 }),
  }));
  const pathSets = fc.constantFrom(
    DEFAULT_SUBJECT_PATHS,
    [{ kind: 'email', path: '$..email' }, { kind: 'user_id', path: '$.a[*].userId' }, { kind: 'email', path: '$..a' }, { kind: 'user_id', path: '$..email' }],
    [{ kind: 'customer_id', path: '$.items[0].customerId' }, { kind: 'user_id', path: '$..*' }],
    // What follows a `$..name` is read on from the nodes the shared walk found.
    [{ kind: 'customer_id', path: '$..customer.id' }, { kind: 'email', path: '$..a[*].email' }, { kind: 'user_id', path: '$..a..userId' }, { kind: 'email', path: '$..a' }],
  );

  it('finds exactly what reading each path on its own finds, in the same order', () => {
    fc.assert(fc.property(tree, pathSets, (value, paths) => void expect(extractSubjects(value, paths)).toEqual(extractOneByOne(value, paths))), { numRuns: 500 });
  });

  it('reads on from the walk what follows a $..name, as readPath does', () => {
    const value = { customer: { id: 'cus_1', customer: { id: 7 } }, a: [{ email: 'x@e.io', a: { userId: 'u1' } }, { a: [{ userId: 'u2' }] }], items: [{ customer: { id: 'cus_2' } }] };
    const paths: SubjectPath[] = [{ kind: 'customer_id', path: '$..customer.id' }, { kind: 'email', path: '$..a[*].email' }, { kind: 'user_id', path: '$..a..userId' }];
    const expected = [['customer_id', 'cus_1'], ['customer_id', 'cus_2'], ['customer_id', '7'], ['email', 'x@e.io'], ['user_id', 'u2'], ['user_id', 'u1']];
    expect(extractOneByOne(value, paths).map((s) => [s.kind, s.value])).toEqual(expected);
    expect(extractSubjects(value, paths)).toEqual(extractOneByOne(value, paths));
  });

  it('keeps the depth bound of the descendant search', () => {
    const nest = (depth: number): unknown => (depth === 0 ? { email: 'deep@example.com' } : { a: nest(depth - 1) });
    for (const depth of [30, 31, 32, 33]) expect(extractSubjects(nest(depth), DEFAULT_SUBJECT_PATHS)).toEqual(extractOneByOne(nest(depth), DEFAULT_SUBJECT_PATHS));
  });

  it('subjectHasher gives hashSubject, and remembers within its capacity', () => {
    const key = new Uint8Array(32).fill(5);
    const hash = subjectHasher(key, 2);
    for (const [kind, value] of [['email', 'a@x.io'], ['user_id', 'u1'], ['email', 'a@x.io'], ['email', 'b@x.io'], ['user_id', 'u1']]) {
      expect(hash(kind, value)).toBe(hashSubject(key, kind, value));
    }
  });
});
