import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig, type AwsClientsConfig } from './client-config';
import type { Composition } from '../shared/composition';

export function createDocumentClient(config: AwsClientsConfig = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient(clientConfig(config, 'dynamodb'));
  // Issue 12: the SDK's logger middleware copies every input and output through its sensitive-data filter for a
  // logger that discards them (the default no-op logger): 7.5% of the processor's CPU in bench section 9. The
  // platform never passes the SDK a logger; errors still reach the caller unchanged.
  client.middlewareStack.remove('loggerMiddleware');
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The function's one DynamoDB client. */
export const dynamoOf = (c: Composition): DynamoDBDocumentClient => c.once('dynamodb', () => createDocumentClient(c.clients));
