import { defineResource } from '@/lib/registry';
import { noteIdsStartingWith, requireNotesStore } from '@/tools/notes/store';

export default defineResource({
  name: 'note',
  uri: 'notes://{note_id}',
  access: { scopes: ['notes:read'], org: 'required' },
  title: 'A note',
  description: 'One note of your organization, as Markdown. Another organization’s note reads as not found.',
  mimeType: 'text/markdown',
  complete: { note_id: (prefix, { principal }) => noteIdsStartingWith(principal.organizationId, prefix) },
  read: async (uri, { note_id }, { principal }) => {
    if (note_id === undefined) return undefined;
    // Only the caller's namespace is looked at: another organization's id is simply not found there.
    const note = await requireNotesStore().get(principal.organizationId, note_id);
    if (!note) return undefined;
    return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: `# ${note.title}\n\n${note.body}\n` }] };
  },
});
