import { acceptedContent, inputRequired, inputResponse } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { defineTool, jsonResult, toolError } from '@/lib/registry';
import { withNotesStore } from '@/tools/notes/store';

const Confirmation = z.object({ confirm: z.boolean().describe('Delete the note for good') });

/** The state sealed when this deletion was asked about; the seal also binds it to this caller and these arguments. */
const AskedFor = z.object({ asked: z.literal('notes_delete'), id: z.string() });

export default defineTool({
  name: 'notes_delete',
  access: { scopes: ['notes:write'], org: 'required' },
  // Deleting must never outlive the consent that allowed it: each call asks the issuer first.
  liveToken: true,
  rate: { requests: 10, window: '1 m' },
  title: 'Delete a note',
  description: 'Delete a note of your organization by id. Ids of other organizations are answered like missing notes.',
  input: z.object({ id: z.string().min(1).max(128).describe('The id from notes_create or notes_list') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  audit: ['id'],
  // Confirmation through a form elicitation, only from a client that declared it can show one: the
  // server must not ask for input the client did not declare, and such clients delete as before.
  ask: async ({ id }, { input }) => {
    if (!input.canElicit) return undefined;
    // An answer counts only together with the state sealed when this deletion was asked about.
    const asked = AskedFor.safeParse(input.state);
    if (asked.success && asked.data.id === id) {
      const confirmed = acceptedContent(input.responses, 'confirm', Confirmation);
      if (confirmed?.confirm === true) return undefined;
      if (confirmed || inputResponse(input.responses, 'confirm').kind === 'elicit')
        return toolError('Not deleted: the deletion was not confirmed');
    }
    return input.ask(
      {
        confirm: inputRequired.elicit({
          message: `Delete note ${id}? This cannot be undone.`,
          requestedSchema: Confirmation,
        }),
      },
      { asked: 'notes_delete', id },
    );
  },
  handler: ({ id }, { principal: { organizationId } }) =>
    withNotesStore(async (store) => {
      // Only the caller's namespace is looked at: another organization's id is simply not found there.
      const deleted = await store.remove(organizationId, id);
      return deleted ? jsonResult({ deleted: true, id }) : toolError('Note not found');
    }),
});
