/** PayloadStore over one S3 bucket; every key lies under `tenants/<id>/` (R-SEC-4). */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PayloadStore } from '../domain/ports';
import { PAYLOAD_EXPIRY_TAG } from '../domain/retention';
import { S3ObjectVersions } from './s3-versions';
import { assertTenantObjectKey, assertTenantObjectPrefix } from './tenant-object-key';
import type { Composition } from '../shared/composition';
import { ENV } from '../shared/settings';
import { s3Of } from './s3-client';

export class S3PayloadStore implements PayloadStore {
  private readonly versions: S3ObjectVersions;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {
    this.versions = new S3ObjectVersions(s3, bucket);
  }

  async put(key: string, body: Uint8Array, options: { readonly expireAfterDays?: number } = {}): Promise<void> {
    // R-RET-1: the lifecycle rule of this class deletes the object (tenant-data-store.ts).
    const tagging = options.expireAfterDays === undefined ? {} : { Tagging: `${PAYLOAD_EXPIRY_TAG}=${options.expireAfterDays}` };
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: assertTenantObjectKey(key), Body: body, ...tagging }));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: assertTenantObjectKey(key) }));
      return answer.Body ? await answer.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** R-DSR-2: every version of each key, so no noncurrent version keeps the data. */
  async delete(keys: readonly string[]): Promise<void> {
    await this.versions.deleteKeys(keys.map(assertTenantObjectKey));
  }

  /** R-TERM-3 */
  async deletePrefix(prefix: string): Promise<number> {
    return this.versions.deletePrefix(assertTenantObjectPrefix(prefix));
  }

  async countPrefix(prefix: string): Promise<number> {
    return this.versions.countPrefix(assertTenantObjectPrefix(prefix));
  }
}

/** Large payloads in the payload bucket, with the function's own credentials. */
export const payloadStoreOf = (c: Composition): S3PayloadStore =>
  c.once('payloads', () => new S3PayloadStore(s3Of(c), c.env.value('tenantData', ENV.payloadBucket)));
