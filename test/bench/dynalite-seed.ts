/**
 * Issue 12, bench section 8: items written straight into dynalite's storage, without HTTP, the SDK or dynalite's
 * per-item lock and read, so a corpus of a million events is seeded in minutes. Each item is laid out as dynalite's
 * PutItem lays out an item with a new key (node_modules/dynalite/actions/putItem.js): the item under
 * `createKey(item, table)` in the table's item database, and each secondary index's entry (its projection: keys
 * plus the projected attributes) under the key `getIndexActions` gives it, in that index's database. Both functions
 * are dynalite's own (`dynalite/db`). For new keys only: an existing item's old index entries are not removed.
 *
 * `sameAsPut` checks the layout against dynalite itself: for items a real put has written, it reads every key the
 * seeder would write and compares the stored value.
 */
import type { DynaliteStore, DynaliteSubDb, DynaliteTable } from '../../bin/local/emulators';
import type { WireItem } from '../../lambdas/adapters/event-items';
import { isDeepStrictEqual } from 'node:util';

interface IndexActions {
  readonly puts: readonly { readonly index: string; readonly key: string; readonly item: WireItem }[];
}
/* dynalite ships no type declarations; these are the parts used here. */
const dynaliteDb = require('dynalite/db') as {
  createKey(item: WireItem, table: DynaliteTable): string;
  getIndexActions(indexes: readonly unknown[], existingItem: WireItem | undefined, item: WireItem, table: DynaliteTable): IndexActions;
  validateItem(item: WireItem, table: DynaliteTable): Error | undefined;
};

/** Local before global, as dynalite's updateIndexes walks them. */
const INDEX_TYPES = ['Local', 'Global'] as const;

interface Put {
  readonly key: string;
  readonly value: WireItem;
}

export class DynaliteSeeder {
  private constructor(
    private readonly store: DynaliteStore,
    private readonly table: DynaliteTable,
  ) {}

  static async open(store: DynaliteStore, tableName: string): Promise<DynaliteSeeder> {
    const table = await new Promise<DynaliteTable>((resolve, reject) =>
      store.getTable(tableName, (error, found) => (error || !found ? reject(error ?? new Error(`dynalite has no table ${tableName}`)) : resolve(found))),
    );
    return new DynaliteSeeder(store, table);
  }

  /** What a put of each item writes, by the database it goes to. */
  private layout(items: readonly WireItem[]): Map<DynaliteSubDb, Put[]> {
    const byDb = new Map<DynaliteSubDb, Put[]>();
    const add = (db: DynaliteSubDb, put: Put) => {
      const puts = byDb.get(db);
      if (puts) puts.push(put);
      else byDb.set(db, [put]);
    };
    const itemDb = this.store.getItemDb(this.table.TableName);
    for (const item of items) {
      const invalid = dynaliteDb.validateItem(item, this.table);
      if (invalid) throw invalid;
      add(itemDb, { key: dynaliteDb.createKey(item, this.table), value: item });
      for (const type of INDEX_TYPES) {
        const indexes = this.table[`${type}SecondaryIndexes`] ?? [];
        for (const action of dynaliteDb.getIndexActions(indexes, undefined, item, this.table).puts) {
          add(this.store.getIndexDb(type, this.table.TableName, action.index), { key: action.key, value: action.item });
        }
      }
    }
    return byDb;
  }

  /** Writes items with new keys and their index entries, one level batch per database. */
  async put(items: readonly WireItem[]): Promise<void> {
    for (const [db, puts] of this.layout(items)) {
      await new Promise<void>((resolve, reject) =>
        db.batch(
          puts.map(({ key, value }) => ({ type: 'put', key, value })),
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    }
  }

  /**
   * The table's items counted by `label(partition key)`, from dynalite's key space, no value read: what a full
   * Scan reads, at a fraction of its cost. An item's key is `createKey`'s `<hash>/<hex of pk>/<hex of sk>/` under
   * the item database's prefix `item-<table>~` (dynalite/db's getItemDb); string partition keys only.
   */
  async countItems(label: (partitionKey: string) => string): Promise<Record<string, number>> {
    const hashKey = this.table.KeySchema.find((key) => key.KeyType === 'HASH')?.AttributeName;
    if (this.table.AttributeDefinitions.find((a) => a.AttributeName === hashKey)?.AttributeType !== 'S') throw new Error('countItems: the partition key is not a string');
    const prefix = `item-${this.table.TableName}~`;
    const keys = this.store.db.keys({ gte: prefix, lt: `${prefix}\xff` });
    const counts: Record<string, number> = {};
    try {
      for (let page = await keys.nextv(10_000); page.length > 0; page = await keys.nextv(10_000)) {
        for (const key of page) {
          const name = label(Buffer.from(key.slice(prefix.length).split('/')[1], 'hex').toString('utf8'));
          counts[name] = (counts[name] ?? 0) + 1;
        }
      }
    } finally {
      await keys.close();
    }
    return counts;
  }

  /** The keys of `items` whose stored value (item or index entry) is not what `put` would write; [] if all are. */
  async sameAsPut(items: readonly WireItem[]): Promise<string[]> {
    const differing: string[] = [];
    for (const [db, puts] of this.layout(items)) {
      for (const { key, value } of puts) {
        const stored = await new Promise<unknown>((resolve, reject) => db.get(key, (error, found) => (error && error.name !== 'NotFoundError' ? reject(error) : resolve(found))));
        // Through JSON, as the level database stores values.
        if (!isDeepStrictEqual(stored, JSON.parse(JSON.stringify(value)))) differing.push(key);
      }
    }
    return differing;
  }
}
