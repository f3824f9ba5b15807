import { z } from 'zod';
import { defineTool, jsonResult, toolError } from '@/lib/registry';
import { withNotesStore } from '@/tools/notes/store';

export default defineTool({
  name: 'notes_list',
  access: { scopes: ['notes:read'], org: 'required' },
  title: 'List notes',
  description:
    "List the notes of your organization, newest first. Only your current organization's notes are ever listed.",
  // No organization argument on purpose: the organization is the one in the verified token.
  input: z.object({
    limit: z.number().int().min(1).max(100).optional().describe('At most this many notes (default: all, newest first)'),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: async ({ limit }, { principal }) => {
    // Defense in depth: the policy already requires an organization; without one, nothing is read.
    if (principal.kind !== 'user' || !principal.organizationId)
      return toolError('Notes need a signed-in user in an organization');
    const organizationId = principal.organizationId;
    return withNotesStore(async (store) => {
      const notes = await store.list(organizationId, { limit });
      return jsonResult({ organizationId, count: notes.length, notes });
    });
  },
});
