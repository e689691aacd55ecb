import { declareFunction } from '../shared/declarations';

/** R-AI-1..6: questions about a tenant's own data through tenant-scoped tools; rollup anomaly insights. */
export const AI = declareFunction({
  name: 'ai',
  description: 'Answers a tenant\'s questions about its own data through tenant-scoped tools, and detects rollup anomalies',
  uses: {
    // API key lookup, the tenant record (plan, subject paths); R-DSR-4: the consent flags (T#<tenant>#CONSENT).
    control: 'read',
    // R-AI-2, R-SEC-4: every tool reads through the tenant-scoped role, as the query function's read routes do.
    tenantRead: 'assume',
    // R-AI-5, R-AI-6: conversations, messages, usage counters, insights: the T#<tenant>#AI partitions only.
    aiData: 'read-write',
    // R-AI-5: conversations sealed under the tenant's key, purpose 'ai' only.
    tenantKeys: { purposes: ['ai'] },
    // R-SEC-6: each answer and each feedback audited.
    audit: 'append',
    // R-AI-3: the provider's API key (Secrets Manager) and the AI settings.
    aiProvider: 'invoke',
    // R-BILL-2: one ai_tokens usage mark per provider call, in the billing ledger's MARK partitions only (no read).
    usage: 'mark',
  },
});
