// The seeded directory served through the WorkOS User Management and
// Authorization endpoints that `@workos-inc/node` calls, so the MCP server's
// identity lookups (roles, permissions, profiles, organization members) run
// against the local authorization server with the real SDK: same paths, query
// parameters, list envelope (`{ object: 'list', data, list_metadata: { before,
// after } }`; the role list has no list_metadata, as in WorkOS) and snake_case
// objects the SDK deserializes. Read-only (GET) and development-only.
//
//   GET /user_management/organization_memberships?user_id=&organization_id=&statuses=&limit=&before=&after=&order=
//   GET /user_management/organization_memberships/:id
//   GET /user_management/users?organization_id=&email=&limit=&before=&after=&order=
//   GET /user_management/users/:id
//   GET /authorization/organizations/:organization_id/roles   (authorization.listOrganizationRoles)
//
// Every request needs `Authorization: Bearer ${LOCAL_WORKOS_API_KEY}`
// (WORKOS_API_KEY for the MCP server in development, with WORKOS_API_URL
// pointing here).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as seeded from './directory';
import type { Organization, OrganizationMembership, Role, User } from './directory';
import { DEV_WORKOS_API_KEY } from '@/lib/config';

/** The one API key the local server accepts. Deliberately not shaped like a real WorkOS key. */
/** The key the server's development configuration sends (lib/config.ts), so `npm run dev` needs none. */
export const LOCAL_WORKOS_API_KEY = DEV_WORKOS_API_KEY;

export const WORKOS_API_PREFIX = '/user_management/';
export const WORKOS_AUTHORIZATION_PREFIX = '/authorization/';

export interface WorkosDirectory {
  readonly users: readonly User[];
  readonly organizations: readonly Organization[];
  readonly memberships: readonly OrganizationMembership[];
  /** Environment roles with their permissions, offered to every organization. */
  readonly roles: readonly Role[];
}

export interface WorkosApiOptions {
  /** Default: the seeded directory (scripts/local-auth/directory.ts). */
  directory?: WorkosDirectory | undefined;
  /** Default: LOCAL_WORKOS_API_KEY. */
  apiKey?: string | undefined;
  /** Tests only: while it returns true for a request's path, that request is answered 503, as in an outage. */
  failing?: ((path: string) => boolean) | undefined;
}

/** Handles `/user_management/*` and `/authorization/*` (returns true) and leaves every other path alone (false). */
export type WorkosApiHandler = ((req: IncomingMessage, res: ServerResponse) => boolean) & {
  /** Requests this handler answered, whatever the outcome. */
  requestCount(): number;
};

type Json = Record<string, unknown>;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
  ) {
    super(String(body.message));
  }
}

const invalid = (message: string): ApiError =>
  new ApiError(422, { code: 'invalid_request_parameters', message, errors: [{ code: 'invalid', message }] });
const notFound = (what: string, id: string): ApiError =>
  new ApiError(404, { code: 'entity_not_found', message: `${what} not found: '${id}'.`, entity_id: id });

const STATUSES = new Set(['active', 'inactive', 'pending']);

// Seed records carry no timestamps; give each a stable one in seed order, which is also list order.
const EPOCH = Date.UTC(2024, 0, 1);
const stamp = (index: number): string => new Date(EPOCH + index * 60_000).toISOString();

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

function send(res: ServerResponse, status: number, body: Json): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': `local_${Math.random().toString(36).slice(2, 12)}`,
  });
  res.end(JSON.stringify(body));
}

/** WorkOS cursor pagination over records in creation order. */
function paginate<T extends { id: string }>(
  records: readonly T[],
  query: URLSearchParams,
): { data: T[]; list_metadata: Json } {
  const limitRaw = query.get('limit');
  const limit = limitRaw === null ? 10 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('limit must be an integer from 1 to 100');
  const order = query.get('order') ?? 'desc';
  if (!['asc', 'desc', 'normal'].includes(order)) throw invalid('order must be asc, desc or normal');
  const ordered = order === 'desc' ? [...records].reverse() : [...records];

  const after = query.get('after');
  const before = query.get('before');
  let start = 0;
  let end = ordered.length;
  if (after) {
    const i = ordered.findIndex((r) => r.id === after);
    if (i < 0) throw invalid(`after: unknown cursor '${after}'`);
    start = i + 1;
    end = Math.min(ordered.length, start + limit);
  } else if (before) {
    const i = ordered.findIndex((r) => r.id === before);
    if (i < 0) throw invalid(`before: unknown cursor '${before}'`);
    end = i;
    start = Math.max(0, end - limit);
  } else {
    end = Math.min(ordered.length, limit);
  }
  const data = ordered.slice(start, end);
  return {
    data,
    list_metadata: {
      before: start > 0 && data.length > 0 ? data[0]!.id : null,
      after: end < ordered.length && data.length > 0 ? data[data.length - 1]!.id : null,
    },
  };
}

export function createWorkosApiHandler(options: WorkosApiOptions = {}): WorkosApiHandler {
  const directory = options.directory ?? seeded;
  const expectedKey = digest(options.apiKey ?? LOCAL_WORKOS_API_KEY);
  const failing = options.failing ?? ((): boolean => false);
  let requests = 0;

  const userJson = (user: User): Json => {
    const index = directory.users.indexOf(user);
    return {
      object: 'user',
      id: user.id,
      email: user.email,
      email_verified: user.emailVerified,
      first_name: user.firstName,
      last_name: user.lastName,
      name: `${user.firstName} ${user.lastName}`,
      profile_picture_url: null,
      last_sign_in_at: null,
      locale: null,
      external_id: null,
      metadata: {},
      created_at: stamp(index),
      updated_at: stamp(index),
    };
  };

  // Only what the real API returns: role slugs, no permissions (those live on the roles).
  const membershipJson = (m: OrganizationMembership): Json => {
    const index = directory.memberships.indexOf(m);
    return {
      object: 'organization_membership',
      id: m.id,
      user_id: m.userId,
      organization_id: m.organizationId,
      organization_name: directory.organizations.find((o) => o.id === m.organizationId)?.name ?? m.organizationId,
      status: m.status,
      role: { slug: m.role.slug },
      roles: [{ slug: m.role.slug }],
      directory_managed: false,
      custom_attributes: {},
      created_at: stamp(index),
      updated_at: stamp(index),
    };
  };

  // Shaped like the real API's role objects; every organization is offered the environment roles.
  const roleJson = (role: Role): Json => {
    const index = directory.roles.indexOf(role);
    return {
      object: 'role',
      id: `role_${role.slug}`,
      name: role.name,
      slug: role.slug,
      description: role.description,
      permissions: [...role.permissions],
      resource_type_slug: 'organization',
      type: 'EnvironmentRole',
      created_at: stamp(index),
      updated_at: stamp(index),
    };
  };

  function authorization(path: string): Json {
    const segments = path.slice(WORKOS_AUTHORIZATION_PREFIX.length).split('/').map(decodeURIComponent);
    const [collection, organizationId, roles, ...rest] = segments;
    if (collection !== 'organizations' || !organizationId || roles !== 'roles' || rest.length > 0) {
      throw new ApiError(404, { message: 'Not found' });
    }
    if (!directory.organizations.some((o) => o.id === organizationId)) throw notFound('Organization', organizationId);
    return { object: 'list', data: directory.roles.map(roleJson) };
  }

  function route(path: string, query: URLSearchParams): Json {
    if (path.startsWith(WORKOS_AUTHORIZATION_PREFIX)) return authorization(path);
    const segments = path.slice(WORKOS_API_PREFIX.length).split('/').map(decodeURIComponent);
    const [collection, id, ...rest] = segments;
    if (rest.length > 0) throw new ApiError(404, { message: 'Not found' });

    if (collection === 'organization_memberships') {
      if (id) {
        const m = directory.memberships.find((x) => x.id === id);
        if (!m) throw notFound('Organization membership', id);
        return membershipJson(m);
      }
      const userId = query.get('user_id');
      const organizationId = query.get('organization_id');
      if (!userId && !organizationId) throw invalid('At least one of user_id or organization_id must be provided');
      const statuses = (query.get('statuses') ?? 'active').split(',').filter(Boolean);
      for (const s of statuses) if (!STATUSES.has(s)) throw invalid(`statuses: unknown status '${s}'`);
      const matching = directory.memberships.filter(
        (m) =>
          (!userId || m.userId === userId) &&
          (!organizationId || m.organizationId === organizationId) &&
          statuses.includes(m.status),
      );
      const page = paginate(matching, query);
      return { object: 'list', data: page.data.map(membershipJson), list_metadata: page.list_metadata };
    }

    if (collection === 'users') {
      if (id) {
        const user = directory.users.find((u) => u.id === id);
        if (!user) throw notFound('User', id);
        return userJson(user);
      }
      const organizationId = query.get('organization_id');
      const email = query.get('email')?.toLowerCase();
      const matching = directory.users.filter(
        (u) =>
          (!organizationId ||
            directory.memberships.some((m) => m.userId === u.id && m.organizationId === organizationId)) &&
          (!email || u.email.toLowerCase() === email),
      );
      const page = paginate(matching, query);
      return { object: 'list', data: page.data.map(userJson), list_metadata: page.list_metadata };
    }

    throw new ApiError(404, { message: 'Not found' });
  }

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(WORKOS_API_PREFIX) && !url.pathname.startsWith(WORKOS_AUTHORIZATION_PREFIX))
      return false;
    requests += 1;
    try {
      if (failing(url.pathname)) throw new ApiError(503, { message: 'Service unavailable (simulated outage)' });
      const presented = bearer(req);
      if (!presented || !timingSafeEqual(digest(presented), expectedKey)) {
        throw new ApiError(401, { code: 'unauthorized', message: 'Unauthorized' });
      }
      if (req.method !== 'GET')
        throw new ApiError(405, { message: `${req.method} is not supported by the local WorkOS API` });
      send(res, 200, route(url.pathname, url.searchParams));
    } catch (error) {
      if (error instanceof ApiError) send(res, error.status, error.body);
      else send(res, 500, { message: 'Internal error' });
    }
    return true;
  };
  return Object.assign(handler, { requestCount: () => requests });
}
