import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig, type AwsClientsConfig } from './client-config';
import type { Composition } from '../shared/composition';

export function createS3Client(config: AwsClientsConfig = {}): S3Client {
  return new S3Client({ ...clientConfig(config, 's3'), forcePathStyle: config.forcePathStyle ?? false });
}

/** The function's one S3 client. */
export const s3Of = (c: Composition): S3Client => c.once('s3', () => createS3Client(c.clients));
