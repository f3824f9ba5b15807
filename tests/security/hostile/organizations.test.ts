import { describe, expect, it } from 'vitest';
import { header, rawRequest, rpcBody } from '../helpers';
import {
  type Row,
  SSE_NOT_FOUND,
  anon,
  bearer,
  call,
  hostileRows,
  post,
  ran,
  servers,
  tok,
  useHostileStack,
} from './rows';

/**
 * The hostile matrix, organizations and roles: arguments never choose them.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'anonymous, org_id smuggled in arguments',
    on: 'endpoint',
    request: () => post(call('org_echo', { org_id: 'org_acme', organizationId: 'org_acme' })),
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'token without org_id, org smuggled in arguments and _meta: hidden tool',
    on: 'endpoint',
    request: async () => {
      const message = call('org_echo', { org_id: 'org_acme', organizationId: 'org_acme' });
      return post(
        { ...message, params: { ...message.params, _meta: { org_id: 'org_acme' } } },
        bearer(await tok({ org_id: undefined, scope: 'notes:read' })),
      );
    },
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('org_echo'),
  },
  {
    name: 'role tool, member (role smuggled in arguments)',
    on: 'endpoint',
    request: async () => post(call('admin_only', { role: 'admin', roles: ['admin'] }), bearer(await tok())),
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('admin_only'),
  },
  {
    name: 'role tool, membership lookup down: 503',
    on: 'endpoint',
    request: async () => post(call('admin_only'), bearer(await tok({ sub: 'user_down' }))),
    status: 503,
    www: null,
    check: (r) => expect(header(r, 'retry-after')).toBe('10'),
  },
];

useHostileStack(['endpoint']);

hostileRows('Organizations and roles: arguments never choose them', ROWS);

describe('after the hostile rows', () => {
  it('organization ids in arguments or _meta never change the verified organization (in-process echo)', async () => {
    ran.length = 0;
    const message = call('org_echo', { org_id: 'org_globex', organizationId: 'org_globex' });
    const response = await rawRequest(
      servers.endpoint!.url,
      post(
        { ...message, params: { ...message.params, _meta: { org_id: 'org_globex' } } },
        bearer(await tok({ scope: 'notes:read' })),
      ),
    );
    expect(response.status).toBe(200);
    expect(rpcBody(response)).toMatchObject({ result: { structuredContent: { organizationId: 'org_acme' } } });
    expect(ran).toEqual([
      { tool: 'org_echo', organizationId: 'org_acme', args: { org_id: 'org_globex', organizationId: 'org_globex' } },
    ]);
  });
});
