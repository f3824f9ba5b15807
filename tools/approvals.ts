import type { Approval } from '@/lib/registry';

/**
 * The OAuth clients approved to call this server: one entry per client, reviewed like code
 * (lib/auth/approvals.ts has the rules, docs/GOVERNANCE.md the review). A machine or an agent must
 * be listed to call at all; people's clients only once this file lists an interactive client or
 * ALLOWED_CLIENT_IDS is set. Past `expires` (the first day it is refused, UTC) a client gets 403;
 * `npm run inventory -- --expiring-within 30` exits non-zero while one is about to, for CI.
 *
 *   clientId  exactly as tokens carry it (an opaque id, or a metadata-document https URL)
 *   kind      'interactive' (a person signs in), 'machine' (client credentials) or 'agent'
 *   scopes    the most its tokens may carry; a token granted more is refused
 *   localOnly honoured only against the bundled local authorization server (development seeds)
 */
// biome-ignore format: one field a line, so the example's lines can be removed by the README's recipe
export const approvals: readonly Approval[] = [
  { // the notes example
    clientId: 'client_local_report_job', // the notes example
    kind: 'machine', // the notes example
    owner: 'you, in development (npm run token -- --machine client_local_report_job)', // the notes example
    purpose: 'A nightly job reading the notes of its organization for a report', // the notes example
    scopes: ['notes:read'], // the notes example
    expires: '2030-12-31', // the notes example
    localOnly: true, // the notes example
  }, // the notes example
];
