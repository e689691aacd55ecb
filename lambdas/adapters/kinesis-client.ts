import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { clientConfig, type AwsClientsConfig } from './client-config';
import type { Composition } from '../shared/composition';

export function createKinesisClient(config: AwsClientsConfig = {}): KinesisClient {
  // The default HTTP/2 handler fails against kinesalite (ERR_HTTP2_ERROR); HTTP/1.1 works everywhere.
  return new KinesisClient({ requestHandler: new NodeHttpHandler(), ...clientConfig(config, 'kinesis') });
}

/** The function's one Kinesis client. */
export const kinesisOf = (c: Composition): KinesisClient => c.once('kinesis', () => createKinesisClient(c.clients));
