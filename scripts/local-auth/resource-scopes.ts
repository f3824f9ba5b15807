// The scopes the MCP server advertises right now, for the local authorization
// server to offer (main.ts). It asks the running server's RFC 9728 protected
// resource metadata (`scopes_supported`), the document every MCP client reads
// too, at each authorization, token and metadata request. So after `next dev`
// reloads an edited tool that requires a new scope, the consent page, the
// token endpoint and the authorization server metadata offer it without a
// restart. Nothing is imported or watched: ESM modules cannot be unloaded, and
// a watcher would re-run tools/ outside Next.js. When the MCP server does not
// answer in time (not started yet, recompiling), the last answer stands, and
// before any answer the list main.ts read from the registry at start.

import { z } from 'zod';

/** How long one look at the metadata may take before the last answer is used instead. */
export const METADATA_TIMEOUT_MS = 3_000;

const ProtectedResourceMetadata = z.object({
  resource: z.string(),
  scopes_supported: z.array(z.string()).optional(),
});

/** RFC 9728 §3.1: the well-known path goes between the resource's origin and its path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

function sameResource(a: string, b: string): boolean {
  return (URL.parse(a)?.href ?? a) === (URL.parse(b)?.href ?? b);
}

export interface ResourceScopesOptions {
  /** The MCP resource URL tokens are issued for (MCP_RESOURCE_URL or its development default). */
  resource: string;
  /** Offered until the metadata first answers (main.ts: the registry's scopes at start). */
  fallback: readonly string[];
  timeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
  /** Told when the offered scopes change and when the metadata cannot be read (once per outage). */
  log?: ((line: string) => void) | undefined;
}

/** A scope function for startLocalAuthServer: never rejects, never waits longer than the timeout. */
export function resourceScopes(opts: ResourceScopesOptions): () => Promise<readonly string[]> {
  const url = protectedResourceMetadataUrl(opts.resource);
  const timeoutMs = opts.timeoutMs ?? METADATA_TIMEOUT_MS;
  const fetchFn = opts.fetch ?? fetch;
  const log = opts.log ?? ((): void => {});
  let current: readonly string[] = Object.freeze([...opts.fallback]);
  let answered = false;
  let failing = false;
  // Requests arriving while one look is under way share it.
  let inFlight: Promise<readonly string[]> | undefined;

  const read = async (): Promise<readonly string[]> => {
    let scopes: readonly string[];
    try {
      const res = await fetchFn(url, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const metadata = ProtectedResourceMetadata.parse(JSON.parse(text));
      if (!sameResource(metadata.resource, opts.resource)) {
        throw new Error(`it describes ${metadata.resource}, not ${opts.resource}`);
      }
      scopes = Object.freeze([...new Set(metadata.scopes_supported ?? [])]);
    } catch (error) {
      if (!failing) {
        failing = true;
        const reason = error instanceof Error ? error.message : String(error);
        log(
          `cannot read ${url} (${reason}); offering ${answered ? 'the scopes it last listed' : "the tool registry's scopes at start"}: ${current.join(' ') || '(none)'}`,
        );
      }
      return current;
    }
    failing = false;
    const sorted = (list: readonly string[]): string => [...list].sort().join(' ');
    if (sorted(scopes) !== sorted(current)) {
      log(`offering the scopes ${url} lists: ${scopes.join(' ') || '(none)'}`);
    }
    answered = true;
    current = scopes;
    return current;
  };

  return () => {
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
