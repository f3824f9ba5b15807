import { z } from 'zod';
import { definePrompt } from '@/lib/registry';
import { noteIdsStartingWith, requireNotesStore } from '@/tools/notes/store';

export default definePrompt({
  name: 'summarize_notes',
  access: { scopes: ['notes:read'], org: 'required' },
  title: 'Summarize a note',
  description: 'Asks the model for a short summary of one note of your organization.',
  arguments: z.object({ note_id: z.string().min(1).max(128).describe('The id of a note of your organization') }),
  audit: ['note_id'],
  // Suggests ids from the caller's organization only: the completer is given the verified caller.
  complete: { note_id: (prefix, { principal }) => noteIdsStartingWith(principal.organizationId, prefix) },
  handler: async ({ note_id }, { principal }) => {
    const note = await requireNotesStore().get(principal.organizationId, note_id);
    const text = note
      ? `Summarize this note in three sentences.\n\nTitle: ${note.title}\n\n${note.body}`
      : 'There is no note with that id in your organization.';
    return { description: 'Summarize a note', messages: [{ role: 'user', content: { type: 'text', text } }] };
  },
});
