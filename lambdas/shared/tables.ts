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
  readonly indexes: readonly { readonly name: string; readonly partitionKey: string; readonly sortKey: string }[];
}

export const TABLES = {
  control: { name: 'Control', partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt', indexes: [] },
  tenantData: {
    name: 'TenantData',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    indexes: [
      { name: INDEX.byKind, partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      { name: INDEX.byName, partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
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
