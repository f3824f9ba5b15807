import { z } from 'zod';
import { defineTool, jsonResult } from '@/lib/registry';
import { withNotesStore } from '@/tools/notes/store';

export default defineTool({
  name: 'notes_list',
  // People, and machines such as a reporting job (tools/approvals.ts): a machine's token names its organization too.
  access: { scopes: ['notes:read'], org: 'required', callers: ['user', 'machine'] },
  title: 'List notes',
  description:
    "List the notes of your organization, newest first. Only your current organization's notes are ever listed.",
  // No organization argument on purpose: the organization is the one in the verified token.
  input: z.object({
    limit: z.number().int().min(1).max(100).optional().describe('At most this many notes (default: all, newest first)'),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  // The policy requires an organization, so the principal has one (the wrapper checks before this runs).
  handler: ({ limit }, { principal: { organizationId } }) =>
    withNotesStore(async (store) => {
      const notes = await store.list(organizationId, { limit });
      return jsonResult({ organizationId, count: notes.length, notes });
    }),
});
