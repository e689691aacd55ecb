import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig, type AwsClientsConfig } from './client-config';
import type { Composition } from '../shared/composition';

export function createDocumentClient(config: AwsClientsConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(config, 'dynamodb')), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** The function's one DynamoDB client. */
export const dynamoOf = (c: Composition): DynamoDBDocumentClient => c.once('dynamodb', () => createDocumentClient(c.clients));
