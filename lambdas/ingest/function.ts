import { declareFunction } from '../shared/declarations';

/** R-ING-1..5, R-ING-7, R-DSR-6: the internet-facing ingestion function. */
export const INGEST = declareFunction({
  name: 'ingest',
  description: 'Authenticates, validates and publishes events and signed webhooks',
  uses: {
    // Reads API keys and webhook sources; writes delivery de-duplication markers and a Shopify GDPR webhook's privacy
    // request, nothing else (R-SEC-5).
    control: 'ingest',
    stream: 'write',
    // Webhook secrets; a Shopify GDPR webhook hashes its subject with the tenant's subject key (R-DSR-6) …
    tenantKeys: { purposes: ['webhook-secret', 'subject-key'] },
    // … is audited (R-SEC-6) and opens an access or erasure request.
    audit: 'append',
    workflows: ['access', 'erasure'],
  },
});
