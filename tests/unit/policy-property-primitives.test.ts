import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import type { Access } from '@/lib/policy';
import { createRegistry, definePrompt, defineResource, defineTool, jsonResult, type Registry } from '@/lib/registry';
import { MCP_HEADERS, MODERN_HEADERS, modernMeta, readRpc } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { serveFetchHandler, type Listening } from '../helpers/net';
import {
  accessArb,
  AUTH_REQUIRED,
  type Caller,
  callerArb,
  claimsOf,
  holdsEverything,
  PERMISSIONS,
  RESOURCE,
  ROLES,
  STEP_UP,
  sorted,
} from '../helpers/policy-property';

/**
 * The policy property (tests/unit/policy-property.test.ts) for all three primitives on both wires:
 * each generated policy is declared as a tool, a resource template and a prompt, and for a random
 * caller on a random wire, every listed primitive is usable now or after granting exactly what its
 * challenge asks; every unlisted one answers byte-for-byte like an unknown one of its kind and
 * never runs; nothing answers 5xx; a handler runs only for a caller holding every requirement.
 */

type Kind = 'tool' | 'resource' | 'prompt';
type Wire = 'legacy' | 'modern';
const KINDS: Kind[] = ['tool', 'resource', 'prompt'];
const LIST: Record<Kind, string> = { tool: 'tools/list', resource: 'resources/templates/list', prompt: 'prompts/list' };

let issuer: TestIssuer;
let config: Config;
beforeAll(async () => {
  issuer = await startTestIssuer();
  config = loadConfig({ NODE_ENV: 'production', AUTHKIT_DOMAIN: issuer.issuer, MCP_RESOURCE_URL: RESOURCE });
});
afterAll(async () => {
  await issuer?.close();
});

let counter = 0;
function buildRegistry(policies: Access[], runs: Map<string, number>): { registry: Registry; names: string[] } {
  const prefix = `q${++counter}`;
  const names = policies.map((_, i) => `${prefix}_p${i}`);
  const ran = (key: string) => runs.set(key, (runs.get(key) ?? 0) + 1);
  const registry = createRegistry(
    policies.flatMap((access, i) => {
      const name = names[i] ?? '';
      const common = { title: name, description: 'generated', access };
      return [
        defineTool({
          name,
          ...common,
          input: z.object({}),
          handler: () => (ran(`tool:${name}`), jsonResult({ ran: name })),
        }),
        defineResource({
          name,
          ...common,
          uri: `gen://${name}/{id}`,
          read: (uri) => (ran(`resource:${name}`), { contents: [{ uri: uri.href, text: `ran ${name}` }] }),
        }),
        definePrompt({
          name,
          ...common,
          handler: () => (
            ran(`prompt:${name}`), { messages: [{ role: 'user', content: { type: 'text', text: `ran ${name}` } }] }
          ),
        }),
      ];
    }),
  );
  return { registry, names };
}

function body(kind: Kind, name: string): { method: string; params: Record<string, unknown>; header?: string } {
  switch (kind) {
    case 'tool':
      return { method: 'tools/call', params: { name, arguments: {} }, header: name };
    case 'resource':
      return { method: 'resources/read', params: { uri: `gen://${name}/1` }, header: `gen://${name}/1` };
    case 'prompt':
      return { method: 'prompts/get', params: { name }, header: name };
  }
}

async function post(server: Listening, wire: Wire, call: ReturnType<typeof body>, bearer: string | undefined) {
  const modern = wire === 'modern';
  return fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: {
      ...(modern ? MODERN_HEADERS : MCP_HEADERS),
      ...(modern && { 'mcp-method': call.method, ...(call.header !== undefined && { 'mcp-name': call.header }) }),
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: call.method,
      params: { ...call.params, ...(modern && { _meta: modernMeta('property') }) },
    }),
    signal: AbortSignal.timeout(10_000),
  });
}

function listedNames(kind: Kind, result: Record<string, unknown>): Set<string> {
  if (kind === 'tool') return new Set((result.tools as Array<{ name: string }>).map((t) => t.name));
  if (kind === 'prompt') return new Set((result.prompts as Array<{ name: string }>).map((p) => p.name));
  return new Set((result.resourceTemplates as Array<{ name: string }>).map((t) => t.name));
}

const seen = { allowed: 0, signInThenAllowed: 0, stepUpThenAllowed: 0, hidden: 0 };

async function checkOne(policies: Access[], caller: Caller, wire: Wire): Promise<void> {
  const runs = new Map<string, number>();
  const { registry, names } = buildRegistry(policies, runs);
  const server = await serveFetchHandler(createMcpEndpoint({ registry, config: () => config, auditLine: () => {} }));
  try {
    const bearer = caller.kind === 'user' ? await issuer.sign(claimsOf(caller)) : undefined;
    const granted = caller.kind === 'user' ? caller.scopes : [];
    for (const kind of KINDS) {
      const listResponse = await post(server, wire, { method: LIST[kind], params: {} }, bearer);
      expect(listResponse.status).toBe(200);
      const listed = listedNames(kind, (await readRpc(listResponse)).result as Record<string, unknown>);
      const unknownResponse = await post(server, wire, body(kind, 'nothing_here'), bearer);
      const unknown = {
        status: unknownResponse.status,
        text: JSON.stringify(await readRpc(unknownResponse)).replaceAll('nothing_here', 'X'),
      };
      expect(unknown.status).toBeLessThan(500);

      for (const [i, access] of policies.entries()) {
        const name = names[i] ?? '';
        const key = `${kind}:${name}`;
        const where = `${wire} ${kind} ${name} ${JSON.stringify(access)}`;
        const before = runs.get(key) ?? 0;
        const response = await post(server, wire, body(kind, name), bearer);
        const text = JSON.stringify(await readRpc(response));
        const ran = (runs.get(key) ?? 0) > before;
        expect(response.status, `${where}: no 5xx`).toBeLessThan(500);
        if (!listed.has(name)) {
          expect(ran, `${where}: hidden ran`).toBe(false);
          expect(response.status, `${where}: hidden status`).toBe(unknown.status);
          expect(text.replaceAll(name, 'X'), `${where}: hidden answer`).toBe(unknown.text);
          seen.hidden += 1;
          continue;
        }
        if (response.status === 200) {
          expect(ran, `${where}: 200 without running`).toBe(true);
          expect(holdsEverything(access, caller), `${where}: ran for a caller lacking a requirement`).toBe(true);
          expect(text).toContain(`ran`);
          seen.allowed += 1;
          continue;
        }
        expect(ran, `${where}: refused but ran`).toBe(false);
        const www = response.headers.get('www-authenticate') ?? '';
        const declared = typeof access === 'object' ? (access.scopes ?? []) : [];
        let retryClaims: Record<string, unknown>;
        if (response.status === 401) {
          expect(caller.kind).toBe('anonymous');
          const match = AUTH_REQUIRED.exec(www);
          expect(match, `${where}: 401 header ${www}`).not.toBeNull();
          const scopes = match?.[1]?.split(' ') ?? [];
          expect(sorted(scopes)).toEqual(sorted(declared));
          retryClaims = {
            aud: RESOURCE,
            sub: 'user_retry',
            org_id: 'org_acme',
            scope: scopes.join(' '),
            roles: [...ROLES],
            permissions: [...PERMISSIONS],
          };
        } else {
          expect(response.status, `${where}: listed answered ${response.status}`).toBe(403);
          const match = STEP_UP.exec(www);
          expect(match, `${where}: 403 header ${www}`).not.toBeNull();
          const scopes = match?.[1]?.split(' ') ?? [];
          expect(sorted(scopes)).toEqual(sorted([...granted, ...declared]));
          retryClaims = { ...claimsOf(caller as Extract<Caller, { kind: 'user' }>), scope: scopes.join(' ') };
        }
        const retry = await post(server, wire, body(kind, name), await issuer.sign(retryClaims));
        expect(retry.status, `${where}: after granting the challenged scopes`).toBe(200);
        expect(runs.get(key) ?? 0, `${where}: ran after the retry`).toBe(before + 1);
        if (response.status === 401) seen.signInThenAllowed += 1;
        else seen.stepUpThenAllowed += 1;
      }
    }
  } finally {
    await server.close();
  }
}

describe('policy properties for tools, resources and prompts on both wires', () => {
  it('listed ones are usable or fixably challenged; unlisted ones look unknown; no 5xx', {
    timeout: 90_000,
  }, async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc.array(accessArb, { minLength: 1, maxLength: 4 }),
        callerArb,
        fc.constantFrom<Wire>('legacy', 'modern'),
        checkOne,
      ),
      { numRuns: 40, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
    );
    console.log(
      `[policy-property-primitives] 40 runs in ${Date.now() - started} ms; by branch: ${JSON.stringify(seen)}`,
    );
    expect(seen.hidden).toBeGreaterThan(0);
    expect(seen.allowed).toBeGreaterThan(0);
  });
});
