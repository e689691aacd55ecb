/**
 * R-AI-1, R-AI-3: the AI function's model provider: the secret holding its API key (KMS-encrypted with the services
 * key; created with a random placeholder, the operator puts the provider's key into it, README "AI assistant"), and
 * the settings the function gets as AI_SETTINGS (endpoint, model, price table, budgets and bounds).
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { AiSettings } from '../../lambdas/domain/ai/settings';
import { allow, allowKeyViaServices } from './grants';
import { operatorSecret } from './operator-secret';

export interface AiProviderProps {
  readonly key: kms.IKey;
  readonly settings: AiSettings;
}

export class AiProvider extends Construct {
  readonly apiKeySecret: secretsmanager.Secret;
  readonly settings: AiSettings;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AiProviderProps) {
    super(scope, id);
    this.key = props.key;
    this.settings = props.settings;
    this.apiKeySecret = operatorSecret(this, 'ApiKeySecret', {
      description: 'API key of the AI model provider (OpenAI-compatible endpoint ai.baseUrl) used by the AI function (R-AI-3)',
      key: props.key,
      rotationReason:
        'The model provider issues the API key (its dashboard or admin API) and only it can create a new one; a Secrets Manager rotation function cannot, so rotation is the operator issuing a key at the provider and putting it here, which the function picks up within five minutes',
    });
  }

  /** Reads the API key; the services key only as Secrets Manager uses it to decrypt the secret. */
  grantReadApiKey(grantee: iam.IGrantable): void {
    allow(grantee, { actions: ['secretsmanager:GetSecretValue'], resources: [this.apiKeySecret.secretArn] });
    allowKeyViaServices(grantee, this.key, ['kms:Decrypt'], ['secretsmanager']);
  }
}
