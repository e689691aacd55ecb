/** What `npm start` prints: where it listens, the demo credentials, and commands that work as shown. */
import type { LocalPlatform } from './platform';

/** Quotes for a POSIX shell. */
const sh = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

export function banner(local: LocalPlatform): string {
  const lines = [
    '',
    `Lumiqo local platform ready in ${(local.startupMs / 1000).toFixed(1)} s`,
    `  API             ${local.url}`,
    `  data            ${local.dataDir ?? 'in memory (gone on exit; keep it with --data-dir <dir> or LUMIQO_DATA_DIR)'}`,
    `  admin token     ${local.adminToken}   (operator routes: Authorization: Bearer <token>; npm run cli -- --help)`,
    `  Stripe webhook  POST ${local.url}/v1/billing/stripe/webhook, signing secret ${local.stripeWebhookSecret} (stripe listen --forward-to …; R-BILL-3)`,
    local.ai.baseUrl
      ? `  AI assistant    model ${local.ai.model} at ${local.ai.baseUrl} (R-AI-1)`
      : '  AI assistant    not configured: AI routes answer ai_not_configured. Set LUMIQO_OPENAI_BASE_URL (and LUMIQO_OPENAI_API_KEY or _FILE, LUMIQO_OPENAI_MODEL) to any OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1',
    `  Stripe meters   daily usage report and reconciliation against ${local.stripeApiBaseUrl ?? 'https://api.stripe.com'} (LUMIQO_STRIPE_API_BASE_URL, LUMIQO_LOCAL_STRIPE_API_KEY; R-BILL-2)`,
    `  dead letters    GET ${local.url}/_local/dead-letters (admin token)`,
    `  signing key     ${local.keyDir}/signing.pem (verifies deletion records and certificates)`,
    `  emulators       DynamoDB ${local.clients.endpoints.dynamodb}  Kinesis ${local.clients.endpoints.kinesis}  S3 ${local.clients.endpoints.s3}`,
  ];
  const demo = local.demo;
  if (demo) {
    const event = JSON.stringify({ type: 'event', name: 'signup', properties: { plan: 'starter', email: 'ann@example.com' } });
    const access = JSON.stringify({ type: 'access', subject: { kind: 'email', value: 'ann@example.com' } });
    lines.push(
      '',
      `Demo tenant '${demo.tenantId}'`,
      `  ingest key      ${demo.apiKey}   (scope ingest: for senders, safe to ship in a client app)`,
      `  read key        ${demo.readApiKey}   (scope read: for dashboards; cannot send)`,
      `  privacy key     ${demo.privacyApiKey}   (scope privacy: data-subject requests)`,
      ...(demo.aiApiKey ? [`  AI key          ${demo.aiApiKey}   (scope ai: questions to the AI assistant)`] : []),
      `  webhook source  ${demo.sourceId} (${demo.sourceScheme === 'standard' ? 'Standard Webhooks' : demo.sourceScheme}) at ${local.url}${demo.webhookPath}`,
      `  webhook secret  ${demo.webhookSecret}`,
      '',
      'Ingest an event (ingest key):',
      `  curl -sS -X POST ${local.url}/v1/events -H ${sh(`Authorization: Bearer ${demo.apiKey}`)} -H 'Content-Type: application/json' -d ${sh(event)}`,
      'Read it back with the read key (stored within about a second):',
      `  curl -sS ${sh(`${local.url}/v1/events?kind=event`)} -H ${sh(`Authorization: Bearer ${demo.readApiKey}`)}`,
      'Rollups of the last hour:',
      `  curl -sS ${local.url}/v1/rollups -H ${sh(`Authorization: Bearer ${demo.readApiKey}`)}`,
      'Everything about ann@example.com (a data-subject access request; GET its Location for the export links):',
      `  curl -sS -X POST ${local.url}/v1/privacy/requests -H ${sh(`Authorization: Bearer ${demo.privacyApiKey}`)} -H 'Content-Type: application/json' -d ${sh(access)}`,
    );
  }
  if (demo?.aiApiKey) {
    lines.push(
      'Ask the AI assistant about the demo data (AI key; needs LUMIQO_OPENAI_BASE_URL):',
      `  curl -sS -X POST ${local.url}/v1/ai/conversations -H ${sh(`Authorization: Bearer ${demo.aiApiKey}`)} -H 'Content-Type: application/json' -d ${sh(JSON.stringify({ question: 'Which events did we receive in the last hour?' }))}`,
    );
  }
  lines.push('', 'Ctrl-C stops.', '');
  return lines.join('\n');
}
