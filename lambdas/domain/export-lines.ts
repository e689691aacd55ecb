/**
 * What every export writes (R-DSR-1 for one subject, R-TERM-2 for a whole tenant): one JSON line per record, the
 * record's metadata beside the event as it was received, decrypted from its inline or S3 body.
 */
import { createHash } from 'node:crypto';
import type { PlatformEvent, StoredEvent, Tenant } from './model';
import type { DocumentStore, PayloadStore, TenantCrypto } from './ports';
import { EVENT_PURPOSE } from './processing';

export interface ExportLine {
  readonly eventId: string;
  readonly kind: string;
  readonly name: string;
  readonly timestamp: string;
  readonly receivedAt: string;
  readonly quarantined: boolean;
  /** The event as received; absent (with `unavailable`) when its S3 body is missing. */
  readonly event?: PlatformEvent;
  readonly unavailable?: 'payload_missing';
}

export function exportLine(stored: StoredEvent, event: PlatformEvent | undefined): ExportLine {
  return {
    eventId: stored.eventId,
    kind: stored.kind,
    name: stored.name,
    timestamp: stored.timestamp,
    receivedAt: stored.receivedAt,
    quarantined: stored.quarantined === true,
    ...(event === undefined ? { unavailable: 'payload_missing' as const } : { event }),
  };
}

/** The plaintext event of a stored record, or undefined when its S3 body is missing. */
export async function decryptStoredEvent(
  deps: { readonly payloads: Pick<PayloadStore, 'get'>; readonly crypto: TenantCrypto },
  tenant: Pick<Tenant, 'tenantId' | 'keyRef'>,
  stored: StoredEvent,
): Promise<PlatformEvent | undefined> {
  const ciphertext = 'inline' in stored.body ? Buffer.from(stored.body.inline, 'base64') : await deps.payloads.get(stored.body.objectKey);
  if (!ciphertext) return undefined;
  const plaintext = await deps.crypto.decrypt(tenant, ciphertext, EVENT_PURPOSE, stored.eventId);
  return JSON.parse(Buffer.from(plaintext).toString('utf8')) as PlatformEvent;
}

/**
 * R-DSR-1, R-TERM-2: export links live an hour, long enough to download, short enough that a leaked link soon dies;
 * every status read hands out fresh ones.
 */
export const EXPORT_LINK_SECONDS = 3600;

/** Presigned GET links of an export's manifest and parts, valid for EXPORT_LINK_SECONDS. */
export async function presignExport(
  exports: Pick<DocumentStore, 'presign'>,
  keys: { readonly manifest: string; readonly parts: readonly string[] },
): Promise<{ manifest: string; parts: string[] }> {
  const [manifest, ...parts] = await Promise.all([keys.manifest, ...keys.parts].map((key) => exports.presign(key, EXPORT_LINK_SECONDS)));
  return { manifest, parts };
}

/** Hex SHA-256 of an export part, as its manifest lists it. */
export const sha256Hex = (body: Uint8Array): string => createHash('sha256').update(body).digest('hex');
