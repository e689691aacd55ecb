/**
 * The JSON path subset that subject paths (R-DSR-1) and correction paths (R-DSR-3) share: one parser, and one walk
 * under reading and writing, so a correction reaches exactly the places extraction reads.
 */
import { parseJsonPath, readPath, writePath } from '../../lambdas/domain/json-paths';

describe('R-DSR-1, R-DSR-3: parseJsonPath', () => {
  it('compiles every form of the supported subset', () => {
    expect(parseJsonPath("$.a['b c'][0][*]..d.*").segments).toEqual([
      { type: 'member', name: 'a', descendant: false },
      { type: 'member', name: 'b c', descendant: false },
      { type: 'index', index: 0, descendant: false },
      { type: 'wildcard', descendant: false },
      { type: 'member', name: 'd', descendant: true },
      { type: 'wildcard', descendant: false },
    ]);
    expect(parseJsonPath(`$..["it's"]`).segments).toEqual([{ type: 'member', name: "it's", descendant: true }]);
    expect(parseJsonPath(`$['a\\'b']`).segments).toEqual([{ type: 'member', name: "a'b", descendant: false }]);
  });

  it.each([
    ['', `expected '$'`],
    ['a.b', `expected '$'`],
    ['$', 'selects the whole document'],
    ['$.', 'position 2'],
    ['$.a.', 'position 4'],
    ['$a', 'position 1'],
    ['$.a[', 'position 3'],
    ['$.a[-1]', 'position 3'],
    ['$.a[01]', 'position 3'],
    ["$['']", 'non-empty'],
    ["$['a]", 'position 1'],
    ['$...a', 'position 3'],
    ['$.a b', 'position 3'],
  ])('refuses %j with a message naming the problem', (path, message) => {
    expect(() => parseJsonPath(path)).toThrow(message);
  });
});

describe('R-DSR-3: readPath and writePath walk alike', () => {
  const doc = () => ({
    user: { email: 'a@example.com', tags: ['x', 'y'] },
    orders: [{ customer: { email: 'b@example.com' } }, { customer: { email: 'c@example.com' } }],
    'odd key': { v: 'odd' },
  });

  it.each(['$..email', '$.user.tags[*]', '$.orders[1].customer.email', "$['odd key'].v", '$.*', '$..customer', '$.user.missing', '$.user.tags[5]'])(
    '%s: writing sets exactly the places reading finds, and creates none',
    (source) => {
      const path = parseJsonPath(source);
      const read = readPath(path, doc());
      const written = doc();

      const count = writePath(path, written, () => 'SET');

      expect(count).toBe(read.length);
      expect(readPath(path, written)).toEqual(read.map(() => 'SET'));
      expect(Object.keys(written)).toEqual(Object.keys(doc()));
    },
  );

  it('leaves the places `keep` names', () => {
    const written = doc();

    const count = writePath(parseJsonPath('$..email'), written, () => 'SET', (parent) => parent === written.user);

    expect(count).toBe(2);
    expect(written.user.email).toBe('a@example.com');
    expect(written.orders.map((o) => o.customer.email)).toEqual(['SET', 'SET']);
  });
});
