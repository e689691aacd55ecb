/**
 * Table shapes, in one place. The CDK data stack defines its tables from these, and the local runtime
 * creates its emulator tables from the synthesized template, so no second copy of the schema exists.
 */
import { INDEX } from '../domain/keys';

export interface TableShape {
  /** Logical name; CDK construct id and the suffix of the physical name. */
  readonly name: 'Control' | 'TenantData' | 'Audit';
  readonly partitionKey: string;
  readonly sortKey: string;
  /** TTL attribute (epoch seconds): retention (R-RET-1), replay windows, audit retention (R-SEC-6). */
  readonly ttlAttribute: string;
  /**
   * `projection`: the non-key attributes the index holds (INCLUDE); absent, the whole item (ALL). Issue 12: the
   * event indexes hold keys plus what an event list shows, not the encrypted body, so an event is written in full
   * once (the table) and as a small index entry twice; reads fetch bodies from the table by key.
   */
  readonly indexes: readonly { readonly name: string; readonly partitionKey: string; readonly sortKey: string; readonly projection?: readonly string[] }[];
}

/** What an event list page shows besides the body: the event indexes project these (issue 12). */
export const EVENT_LIST_ATTRIBUTES = ['tenantId', 'eventId', 'kind', 'name', 'timestamp', 'receivedAt', 'attributes', 'expiresAt'] as const;

export const TABLES = {
  control: { name: 'Control', partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt', indexes: [] },
  tenantData: {
    name: 'TenantData',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    indexes: [
      { name: INDEX.byKind, partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: EVENT_LIST_ATTRIBUTES },
      { name: INDEX.byName, partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: EVENT_LIST_ATTRIBUTES },
    ],
  },
  audit: {
    name: 'Audit',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    indexes: [{ name: INDEX.auditBySubject, partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
  },
} as const satisfies Record<string, TableShape>;
