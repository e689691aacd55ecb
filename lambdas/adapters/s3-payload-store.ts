/** PayloadStore over one S3 bucket; every key lies under `tenants/<id>/` (R-SEC-4). */
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PayloadStore } from '../domain/ports';
import { chunk } from './retry';
import { assertTenantObjectKey } from './tenant-object-key';

/** DeleteObjects takes at most 1,000 keys a request. */
const DELETE_BATCH = 1_000;

export class S3PayloadStore implements PayloadStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: assertTenantObjectKey(key), Body: body }));
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

  async delete(keys: readonly string[]): Promise<void> {
    for (const keysChunk of chunk(keys.map(assertTenantObjectKey), DELETE_BATCH)) {
      const answer = await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keysChunk.map((Key) => ({ Key })), Quiet: true } }),
      );
      // DeleteObjects answers 200 even when some keys failed; a purge must not pass over them silently.
      if (answer.Errors?.length) {
        const first = answer.Errors[0];
        throw new Error(`DeleteObjects: ${answer.Errors.length} keys not deleted (first: ${first.Key}: ${first.Code})`);
      }
    }
  }
}
