import { z } from 'zod';
import { defineTool, jsonResult, toolError } from '@/lib/registry';
import { withNotesStore } from '@/tools/notes/store';

export default defineTool({
  name: 'notes_delete',
  access: { scopes: ['notes:write'], org: 'required' },
  title: 'Delete a note',
  description: 'Delete a note of your organization by id. Ids of other organizations are answered like missing notes.',
  input: z.object({ id: z.string().min(1).max(128).describe('The id from notes_create or notes_list') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  audit: ['id'],
  handler: async ({ id }, { principal }) => {
    // Defense in depth: the policy already requires an organization; without one, nothing is deleted.
    if (principal.kind !== 'user' || !principal.organizationId)
      return toolError('Notes need a signed-in user in an organization');
    const organizationId = principal.organizationId;
    return withNotesStore(async (store) => {
      // Only the caller's namespace is looked at: another organization's id is simply not found there.
      const deleted = await store.remove(organizationId, id);
      return deleted ? jsonResult({ deleted: true, id }) : toolError('Note not found');
    });
  },
});
