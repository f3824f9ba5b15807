import type { CallToolResult } from '@modelcontextprotocol/server';
import { createMcpHandler } from 'mcp-handler';
import { ANONYMOUS } from '@/lib/auth/principal';
import ping from '@/tools/ping';
import { createWorkosApiHandler, LOCAL_WORKOS_API_KEY, type WorkosApiHandler } from '../local-auth/workos-api';
import { listen, startIssuer, type Issuer, type Listening } from './loopback';
import { randomBytes } from 'node:crypto';

/**
 * What every benchmark needs: an RS256 issuer with its JWKS on 127.0.0.1 (loopback.ts),
 * the seeded WorkOS-shaped directory API on 127.0.0.1 (the handler scripts/local-auth serves under
 * /user_management/, optionally answering a round trip late), tokens for the seeded admin (alice @ org_acme), and scenario (a): a bare
 * mcp-handler with a ping-equivalent tool and nothing else.
 */

/** Same serverInfo and capabilities as lib/endpoint/dispatch.ts, so (a) differs from (b) only by our layers. */
const SERVER_INFO = { name: 'edge-mcp-authkit', version: '0.1.0' };

/**
 * Scenario (a): mcp-handler with tools/ping.ts's name, title, description, input schema, annotations
 * and handler (so the same result), created once like lib/endpoint/dispatch.ts caches its handlers.
 */
export function bareHandler(): (request: Request) => Promise<Response> {
  return createMcpHandler(
    (server) => {
      server.registerTool(
        ping.name,
        { title: ping.title, description: ping.description, inputSchema: ping.input, annotations: ping.annotations },
        async (args: Record<string, unknown>): Promise<CallToolResult> =>
          ping.handler(args as { message?: string }, { principal: ANONYMOUS }),
      );
    },
    { serverInfo: SERVER_INFO, capabilities: { tools: {} } },
  );
}

export type Fixtures = {
  issuer: Issuer;
  /** The directory API stand-in, and how long it holds each answer. */
  workos: Listening & { api: WorkosApiHandler; delayMs: number };
  /** Environment for loadConfig / next start, for a resource URL. */
  env(resource: string): Record<string, string>;
  /** A token for alice (admin of org_acme) with aud = resource, valid for an hour. */
  token(resource: string): Promise<string>;
  close(): Promise<void>;
};

/** Claims of the seeded admin as AuthKit issues them (no role claim: roles come from the directory). */
export const ALICE = {
  sub: 'user_alice',
  org_id: 'org_acme',
  client_id: 'client_bench',
  sid: 'session_bench',
  scope: 'notes:read notes:write',
};

/** Production refuses to start without a request-state key once a primitive asks (notes_delete): one per run. */
export const BENCH_REQUEST_STATE_KEY = randomBytes(48).toString('base64url');

export type FixtureOptions = {
  /**
   * Milliseconds the directory API holds every answer, for whoever asks: a real WorkOS call is an
   * internet round trip, which loopback hides from (p2). Default 0 (loopback).
   */
  workosDelayMs?: number;
};

export async function startFixtures(options: FixtureOptions = {}): Promise<Fixtures> {
  const delayMs = options.workosDelayMs ?? 0;
  const issuer = await startIssuer();
  const api = createWorkosApiHandler();
  const server = await listen((req, res) => {
    const answer = () => {
      if (!api(req, res)) res.writeHead(404).end();
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  return {
    issuer,
    workos: { ...server, api, delayMs },
    env: (resource) => ({
      NODE_ENV: 'production',
      AUTHKIT_DOMAIN: issuer.issuer,
      MCP_RESOURCE_URL: resource,
      WORKOS_API_KEY: LOCAL_WORKOS_API_KEY,
      WORKOS_API_URL: server.url,
      MCP_REQUEST_STATE_KEY: BENCH_REQUEST_STATE_KEY,
    }),
    token: (resource) => issuer.sign({ ...ALICE, aud: resource }, 3600),
    close: async () => {
      await issuer.close();
      await server.close();
    },
  };
}
