/**
 * DocumentStore over one S3 bucket: the exports bucket (subject and termination exports, work lists, under
 * `tenants/<id>/`) or the records bucket (signed deletion records, `deletion-records/<id>/`).
 *
 * No SSE parameters here: each bucket's default encryption (SSE-KMS with the deployment's key, set by CDK) applies
 * to every put, so a forgotten header can never store a document unencrypted, and a presigned GET needs none.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DocumentStore } from '../domain/ports';
import { S3ObjectVersions } from './s3-versions';
import { assertDocumentKey, assertDocumentPrefix, assertPresignExpiry } from './tenant-object-key';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { s3Of } from './s3-client';

export class S3DocumentStore implements DocumentStore {
  private readonly versions: S3ObjectVersions;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {
    this.versions = new S3ObjectVersions(s3, bucket);
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: assertDocumentKey(key), Body: body, ContentType: contentType }));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: assertDocumentKey(key) }));
      return answer.Body ? await answer.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** Current objects only (what a reader can get); S3 lists keys in UTF-8 binary order. */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const page of this.versions.currentPages(assertDocumentPrefix(prefix))) keys.push(...page.map((o) => o.Key!));
    return keys;
  }

  /** R-DSR-2, R-TERM-3: every version and delete marker, so no export stays recoverable. */
  async deletePrefix(prefix: string): Promise<number> {
    return this.versions.deletePrefix(assertDocumentPrefix(prefix));
  }

  /** R-DSR-1, R-TERM-2: a GET URL signed with the caller's credentials, valid for `expiresInSeconds`. */
  async presign(key: string, expiresInSeconds: number): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: assertDocumentKey(key) });
    return getSignedUrl(this.s3, command, { expiresIn: assertPresignExpiry(expiresInSeconds) });
  }
}

/** The exports bucket: subject and termination exports, work lists. */
export const exportsOf = (c: Composition): S3DocumentStore =>
  c.once('exports', () => new S3DocumentStore(s3Of(c), c.env.value('exports', ENV.exportsBucket)));
/** The records bucket: signed deletion records and certificates. */
export const recordsOf = (c: Composition): S3DocumentStore =>
  c.once('records', () => new S3DocumentStore(s3Of(c), c.env.value('records', ENV.recordsBucket)));
