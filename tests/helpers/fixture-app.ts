import { z } from 'zod';
import { createRegistry, defineResource, defineTool, jsonResult, toolError } from '@/lib/registry';

/**
 * A small app of the tests' own, for framework tests that need scopes, a scope hierarchy,
 * organizations and roles whatever the template owner keeps in tools/: a per-organization document
 * list in memory (`docs_write` needs docs:write, `docs_read` docs:read, `docs:admin` implies both),
 * a signed-in tool, a public one, a role-gated one and a scoped resource.
 */
export const FIXTURE_SCOPES = { read: 'docs:read', write: 'docs:write', admin: 'docs:admin' } as const;

export function createFixtureApp() {
  const docs = new Map<string, string[]>();
  return createRegistry(
    [
      defineTool({
        name: 'echo',
        access: 'public',
        title: 'Echo',
        description: 'Public: answers anyone.',
        input: z.object({ message: z.string().max(200).optional() }),
        handler: ({ message }) => jsonResult({ echo: message ?? null }),
      }),
      defineTool({
        name: 'me',
        access: 'signed-in',
        title: 'Me',
        description: 'Signed in: the verified subject.',
        input: z.object({}),
        handler: (_input, { principal }) =>
          principal.kind === 'user'
            ? jsonResult({ subject: principal.subject, organizationId: principal.organizationId ?? null })
            : toolError('Sign in first'),
      }),
      defineTool({
        name: 'docs_write',
        access: { scopes: [FIXTURE_SCOPES.write], org: 'required' },
        title: 'Write a doc',
        description: 'Adds a document to your organization.',
        input: z.object({ title: z.string().min(1).max(100) }),
        handler: ({ title }, { principal }) => {
          if (principal.kind !== 'user' || !principal.organizationId) return toolError('No organization');
          const list = docs.get(principal.organizationId) ?? [];
          docs.set(principal.organizationId, [...list, title]);
          return jsonResult({ organizationId: principal.organizationId, title });
        },
      }),
      defineTool({
        name: 'docs_read',
        access: { scopes: [FIXTURE_SCOPES.read], org: 'required' },
        title: 'Read docs',
        description: "Your organization's documents.",
        input: z.object({}),
        handler: (_input, { principal }) => {
          if (principal.kind !== 'user' || !principal.organizationId) return toolError('No organization');
          return jsonResult({
            organizationId: principal.organizationId,
            titles: docs.get(principal.organizationId) ?? [],
          });
        },
      }),
      defineTool({
        name: 'admin_report',
        access: { roles: ['admin'] },
        title: 'Admin report',
        description: 'Organization admins only.',
        input: z.object({}),
        handler: (_input, { principal }) =>
          principal.kind === 'user' ? jsonResult({ organizationId: principal.organizationId }) : toolError('No'),
      }),
      defineResource({
        name: 'doc_index',
        uri: 'docs://index',
        access: { scopes: [FIXTURE_SCOPES.read], org: 'required' },
        title: 'Document index',
        description: "Your organization's document titles.",
        mimeType: 'text/plain',
        read: (uri, _variables, { principal }) => {
          if (principal.kind !== 'user' || !principal.organizationId) return undefined;
          const titles = docs.get(principal.organizationId) ?? [];
          return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: titles.join('\n') }] };
        },
      }),
    ],
    { scopeHierarchy: { [FIXTURE_SCOPES.admin]: [FIXTURE_SCOPES.read, FIXTURE_SCOPES.write] } },
  );
}
