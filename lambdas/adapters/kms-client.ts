import { KMS } from '@aws-sdk/client-kms';
import { clientConfig, type AwsClientsConfig } from './client-config';
import type { Composition } from '../shared/composition';

/** The aggregated client: the Encryption SDK's KMS keyring calls its methods. */
export function createKmsClient(config: AwsClientsConfig = {}): KMS {
  return new KMS(clientConfig(config, 'kms'));
}

/** The function's one KMS client. */
export const kmsOf = (c: Composition): KMS => c.once('kms', () => createKmsClient(c.clients));
