// Storage adapters for oidc-provider, one set per server. The built-in memory
// adapter keeps one store for the whole process, so two servers in one process
// (tests, a restart) would share clients, grants and refresh tokens. A store
// per server behaves like a real process restart: only what is on disk
// survives, which is the signing keys (keys.ts) and, when a file is given, the
// client registrations (clients.ts), so a client that registered once keeps
// working across restarts. Grants, sessions, codes and tokens stay in memory.

import { loadClientRegistrations, type ClientRegistrations } from './clients';

export interface StoredPayload {
  grantId?: unknown;
  uid?: unknown;
  userCode?: unknown;
  consumed?: unknown;
  [key: string]: unknown;
}

interface Entry {
  payload: StoredPayload;
  expiresAt: number;
}

export interface Adapter {
  upsert(id: string, payload: StoredPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<StoredPayload | undefined>;
  findByUid(uid: string): Promise<StoredPayload | undefined>;
  findByUserCode(userCode: string): Promise<StoredPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface AdapterFactory {
  /** What oidc-provider's `adapter` configuration takes. */
  adapter: (model: string) => Adapter;
  /** Resolves once every registration written so far is on disk. */
  flush(): Promise<void>;
}

const SWEEP_EVERY = 200;

/** Memory for every model; with `clientsFile`, the `Client` model is kept in that file as well. */
export async function createAdapterFactory(
  opts: { clientsFile?: string | undefined; log?: ((line: string) => void) | undefined } = {},
): Promise<AdapterFactory> {
  const clients = opts.clientsFile ? await loadClientRegistrations(opts.clientsFile, opts.log) : undefined;
  const memory = createMemoryAdapterFactory();
  return {
    adapter: (model) => (model === 'Client' && clients ? clientAdapter(clients) : memory(model)),
    flush: () => clients?.flush() ?? Promise.resolve(),
  };
}

function clientAdapter(clients: ClientRegistrations): Adapter {
  const none = async (): Promise<undefined> => undefined;
  return {
    upsert: (id, payload) => clients.set(id, payload),
    find: async (id) => clients.get(id),
    findByUid: none,
    findByUserCode: none,
    consume: async () => {},
    destroy: (id) => clients.delete(id),
    revokeByGrantId: async () => {},
  };
}

export function createMemoryAdapterFactory(): (model: string) => Adapter {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  let writes = 0;

  const get = (key: string): StoredPayload | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  // Expired entries are dropped lazily on read; an occasional sweep keeps a
  // long-running dev server from growing without bound.
  const sweep = (): void => {
    const now = Date.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= now) entries.delete(key);
    }
    for (const [grantId, keys] of byGrant) {
      for (const key of keys) if (!entries.has(key)) keys.delete(key);
      if (keys.size === 0) byGrant.delete(grantId);
    }
    for (const [uid, id] of byUid) if (!entries.has(`Session:${id}`)) byUid.delete(uid);
  };

  return (model: string): Adapter => {
    const keyFor = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyFor(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
        entries.set(key, { payload, expiresAt });
        if (typeof payload.grantId === 'string') {
          const keys = byGrant.get(payload.grantId) ?? new Set<string>();
          keys.add(key);
          byGrant.set(payload.grantId, keys);
        }
        if (model === 'Session' && typeof payload.uid === 'string') byUid.set(payload.uid, id);
        if (typeof payload.userCode === 'string') byUserCode.set(payload.userCode, id);
        if (++writes % SWEEP_EVERY === 0) sweep();
      },
      async find(id) {
        return get(keyFor(id));
      },
      async findByUid(uid) {
        const id = byUid.get(uid);
        return id === undefined ? undefined : get(keyFor(id));
      },
      async findByUserCode(userCode) {
        const id = byUserCode.get(userCode);
        return id === undefined ? undefined : get(keyFor(id));
      },
      async consume(id) {
        const payload = get(keyFor(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyFor(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
        byGrant.delete(grantId);
      },
    };
  };
}
