import { declareFunction } from '../shared/declarations';
import { WORKFLOW_NAMES } from '../domain/privacy';

/** R-DSR-1..5, R-TERM-1..5: the privacy API. It never touches tenant data itself. */
export const PRIVACY = declareFunction({
  name: 'privacy',
  description: 'Records data-subject requests and terminations and starts their workflows',
  uses: {
    control: 'read-write',
    audit: 'append',
    // Hashes subjects, encrypts corrections.
    tenantKeys: { purposes: ['subject-key', 'privacy-corrections'] },
    // Presigns exports, reads signed records.
    exports: 'read',
    records: 'read',
    workflows: WORKFLOW_NAMES,
  },
});
