import { createRegistry } from '@/lib/registry';
import notesCreate from './notes/notes_create';
import notesDelete from './notes/notes_delete';
import notesList from './notes/notes_list';
import orgMembers from './org_members';
import ping from './ping';
import { scopeHierarchy } from './scopes';
import whoami from './whoami';

/** Every tool the server offers. Adding a tool: one file in tools/ and one line here. */
export const registry = createRegistry([ping, whoami, notesList, notesCreate, notesDelete, orgMembers], {
  scopeHierarchy,
});
