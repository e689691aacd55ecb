/**
 * Access (R-DSR-1): every record that mentions the subject, decrypted, as JSON Lines parts in the exports bucket,
 * and a manifest that lists each part with its size and SHA-256.
 */
import { objectKeys } from '../keys';
import type { SubjectWorkflowState } from '../privacy';
import { exportLine, sha256Hex } from '../export-lines';
import { addCounts, AuditedSubjectTasks } from './audited-tasks';

/** Events per export part: one part is built in memory, then written whole. */
export const EXPORT_BATCH = 250;

/** One line of a subject export (JSON Lines): the record's metadata and the whole event as it was received. */
export interface SubjectExportManifest {
  readonly kind: 'lumiqo.subject-export.v1';
  readonly tenantId: string;
  readonly requestId: string;
  readonly subjectHash: string;
  readonly generatedAt: string;
  readonly records: number;
  readonly parts: readonly { readonly key: string; readonly records: number; readonly bytes: number; readonly sha256: string }[];
  readonly format: string;
}

export const EXPORT_FORMAT =
  'JSON Lines (UTF-8): one object per record: {eventId, kind, name, timestamp, receivedAt, quarantined, event}, event being the record as received';

export class AccessTasks extends AuditedSubjectTasks {
  /** R-DSR-1: one part of the export: the batch's records decrypted, quarantined ones included. */
  exportRecords(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('export-records', state, async (ctx) => {
      const { ids, next } = await this.batch(ctx.state, EXPORT_BATCH);
      const events = this.mentioning(ctx.state, await this.deps.store.getEvents(ctx.state.tenantId, ids));
      const lines = await Promise.all(events.map(async (stored) => JSON.stringify(exportLine(stored, await this.decryptEvent(ctx.tenant, stored)))));
      const parts = [...(ctx.state.parts ?? [])];
      if (lines.length > 0) {
        const file = `part-${String(parts.length + 1).padStart(5, '0')}.jsonl`;
        const key = objectKeys.subjectExport(ctx.state.tenantId, ctx.state.subjectHash, ctx.state.requestId, file);
        await this.deps.exports.put(key, Buffer.from(`${lines.join('\n')}\n`, 'utf8'), 'application/x-ndjson');
        parts.push(key);
      }
      return {
        next: { ...next, parts, counts: addCounts(ctx.state.counts, { events: lines.length }) },
        detail: { exported: lines.length, parts: parts.length },
        step: next.done === true,
      };
    });
  }

  /** R-DSR-1: the manifest that lists every part with its size and SHA-256, so the subject can check the export. */
  writeExportManifest(state: SubjectWorkflowState): Promise<SubjectWorkflowState> {
    return this.run('write-export-manifest', state, async ({ state: s, request, now }) => {
      const parts: SubjectExportManifest['parts'][number][] = [];
      for (const key of s.parts ?? []) {
        const body = await this.deps.exports.get(key);
        if (!body) throw new Error(`Export part missing: ${key}`);
        const text = Buffer.from(body).toString('utf8');
        parts.push({ key, records: text.split('\n').filter((line) => line !== '').length, bytes: body.byteLength, sha256: sha256Hex(body) });
      }
      const manifest: SubjectExportManifest = {
        kind: 'lumiqo.subject-export.v1',
        tenantId: s.tenantId,
        requestId: s.requestId,
        subjectHash: s.subjectHash,
        generatedAt: now.toISOString(),
        records: parts.reduce((sum, p) => sum + p.records, 0),
        parts,
        format: EXPORT_FORMAT,
      };
      const key = objectKeys.subjectExport(s.tenantId, s.subjectHash, s.requestId, 'manifest.json');
      await this.deps.exports.put(key, Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'), 'application/json');
      const exportKeys = { manifest: key, parts: parts.map((p) => p.key) };
      return { next: s, detail: { records: manifest.records, parts: parts.length }, patch: { result: { ...request.result, exportKeys } } };
    });
  }
}
