import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import type { Access } from '@/lib/policy';
import {
  accessArb,
  approvalsFor,
  AUTH_REQUIRED,
  type Caller,
  callerArb,
  claimsOf,
  clientRefused,
  holdsEverything,
  RESOURCE,
  signInClaims,
  STEP_UP,
  sorted,
  UNKNOWN,
} from '../helpers/policy-property';
import { createRegistry, definePrompt, defineResource, defineTool, jsonResult, type Registry } from '@/lib/registry';
import { MCP_HEADERS, MODERN_HEADERS, modernMeta, readRpc } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { serveFetchHandler, type Listening } from '../helpers/net';

/**
 * Property, over random registries and random callers, checked over real HTTP against the
 * in-process endpoint:
 *   (a) every tool in tools/list is callable now (200, handler ran), or answers 401/403 with a
 *       challenge whose `scope` parameter, once granted, makes it callable;
 *   (b) every tool not in tools/list answers exactly like a nonexistent tool (modulo the name),
 *       and its handler does not run;
 *   (c) nothing answers 5xx (roles/permissions always travel in the token, so no lookup is needed);
 *   (d) a handler runs only for a caller holding every requirement (an independent check);
 *   (e) for every caller kind (person, machine, agent) and approval state of its client (approved,
 *       not listed, expired): a client refused by its approval gets 403 for everything and runs
 *       nothing; otherwise (a)-(d) hold, signing in means signing in as a kind the policy admits,
 *       and a kind the policy does not admit sees the primitive as unknown.
 */

// ---------------------------------------------------------------------------------------------
let issuer: TestIssuer;
let config: Config;

beforeAll(async () => {
  issuer = await startTestIssuer();
  config = loadConfig({ NODE_ENV: 'production', AUTHKIT_DOMAIN: issuer.issuer, MCP_RESOURCE_URL: RESOURCE });
});
afterAll(async () => {
  await issuer?.close();
});

async function post(server: Listening, body: unknown, bearer: string | undefined): Promise<Response> {
  return fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}
const callBody = (name: string) => ({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } });

/** How often each branch was taken, so a run shows the property exercised all of them. */
const seen = { allowed: 0, signInThenAllowed: 0, stepUpThenAllowed: 0, hidden: 0 };

let registryCounter = 0;
/**
 * Each generated registry gets tool names no other registry in this process used: lib/endpoint/dispatch.ts
 * caches MCP handlers by tool names alone (see 'dispatch caches handlers per tool definition' below).
 */
function buildRegistry(policies: Access[], runs: Map<string, number>, caller: Caller): Registry {
  const prefix = `p${++registryCounter}`;
  return createRegistry(
    policies.map((access, i) => {
      const name = `${prefix}_t${i}`;
      return defineTool({
        name,
        title: name,
        description: 'generated',
        access,
        input: z.object({}),
        handler: () => {
          runs.set(name, (runs.get(name) ?? 0) + 1);
          return jsonResult({ ran: name });
        },
      });
    }),
    { approvals: approvalsFor(caller) },
  );
}

/** (e) A client its approval refuses: every request is 403 with a reason, and nothing runs. */
async function expectRefusedClient(responses: Response[], ran: () => number): Promise<void> {
  for (const response of responses) {
    expect(response.status).toBe(403);
    expect(((await readRpc(response)).error as { data?: { reason?: string } }).data?.reason).toMatch(/^client_/);
  }
  expect(ran()).toBe(0);
  seenRefusedClients.count += 1;
}
const seenRefusedClients = { count: 0 };

async function checkOne(policies: Access[], caller: Caller): Promise<void> {
  const runs = new Map<string, number>();
  const registry = buildRegistry(policies, runs, caller);
  const server = await serveFetchHandler(createMcpEndpoint({ registry, config: () => config, auditLine: () => {} }));
  try {
    const bearer = caller.kind === 'user' ? await issuer.sign(claimsOf(caller)) : undefined;
    const granted = caller.kind === 'user' ? caller.scopes : [];
    if (clientRefused(caller)) {
      const responses = [await post(server, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, bearer)];
      for (const tool of registry.tools) responses.push(await post(server, callBody(tool.name), bearer));
      await expectRefusedClient(responses, () => [...runs.values()].reduce((a, b) => a + b, 0));
      return;
    }

    const listResponse = await post(server, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, bearer);
    expect(listResponse.status).toBe(200);
    const listed = new Set(
      ((await readRpc(listResponse)).result as { tools: Array<{ name: string }> }).tools.map((t) => t.name),
    );

    const unknownResponse = await post(server, callBody(UNKNOWN), bearer);
    const unknown = {
      status: unknownResponse.status,
      text: JSON.stringify(await readRpc(unknownResponse)).replaceAll(UNKNOWN, 'X'),
    };
    expect(unknown.status).toBeLessThan(500);

    for (const tool of registry.tools) {
      const ranBefore = runs.get(tool.name) ?? 0;
      const response = await post(server, callBody(tool.name), bearer);
      const body = await readRpc(response);
      const ran = (runs.get(tool.name) ?? 0) > ranBefore;
      const where = `${tool.name} ${JSON.stringify(tool.access)}`;

      // (c) never a server error
      expect(response.status, `${where}: no 5xx`).toBeLessThan(500);

      if (!listed.has(tool.name)) {
        // (b) unlisted: indistinguishable from a tool that does not exist
        expect(ran, `${where}: hidden tool ran`).toBe(false);
        expect(response.status, `${where}: hidden status`).toBe(unknown.status);
        expect(JSON.stringify(body).replaceAll(tool.name, 'X'), `${where}: hidden answer`).toBe(unknown.text);
        seen.hidden += 1;
        continue;
      }

      // (a) listed: callable now, or a challenge that leads to a callable state
      if (response.status === 200) {
        expect(ran, `${where}: 200 but the handler did not run`).toBe(true);
        expect(holdsEverything(tool.access, caller), `${where}: ran for a caller lacking a requirement`).toBe(true);
        expect(body, where).toMatchObject({ result: { structuredContent: { ran: tool.name } } });
        seen.allowed += 1;
        continue;
      }
      expect(ran, `${where}: refused but the handler ran`).toBe(false);
      const www = response.headers.get('www-authenticate') ?? '';
      const declared = typeof tool.access === 'object' ? (tool.access.scopes ?? []) : [];
      let retryClaims: Record<string, unknown>;
      if (response.status === 401) {
        expect(caller.kind, `${where}: 401 for a signed-in caller`).toBe('anonymous');
        const match = AUTH_REQUIRED.exec(www);
        expect(match, `${where}: 401 header ${www}`).not.toBeNull();
        const scopes = match![1]?.split(' ') ?? [];
        expect(sorted(scopes), `${where}: 401 scope parameter`).toEqual(sorted(declared));
        // Sign in with exactly the challenged scopes, as a kind the policy admits holding every role and permission.
        retryClaims = signInClaims(tool.access, scopes);
      } else {
        expect(response.status, `${where}: listed tool answered ${response.status}`).toBe(403);
        expect(caller.kind).toBe('user');
        const match = STEP_UP.exec(www);
        expect(match, `${where}: 403 header ${www}`).not.toBeNull();
        const scopes = match![1]!.split(' ');
        expect(scopes, `${where}: scope parameter is sorted`).toEqual(sorted(scopes));
        expect(sorted(scopes), `${where}: granted ∪ required`).toEqual(sorted([...granted, ...declared]));
        // Same identity, new token with the challenged scopes.
        retryClaims = { ...claimsOf(caller as Extract<Caller, { kind: 'user' }>), scope: scopes.join(' ') };
      }
      const retry = await post(server, callBody(tool.name), await issuer.sign(retryClaims));
      expect(retry.status, `${where}: after granting the challenged scopes`).toBe(200);
      expect(await readRpc(retry), where).toMatchObject({ result: { structuredContent: { ran: tool.name } } });
      expect(runs.get(tool.name) ?? 0, `${where}: ran after the retry`).toBe(ranBefore + 1);
      if (response.status === 401) seen.signInThenAllowed += 1;
      else seen.stepUpThenAllowed += 1;
    }
  } finally {
    await server.close();
  }
}

describe('policy properties over random registries and callers', () => {
  it('listed tools are callable or fixably challenged; unlisted ones look nonexistent; no 5xx', {
    timeout: 60_000,
  }, async () => {
    const started = Date.now();
    await fc.assert(fc.asyncProperty(fc.array(accessArb, { minLength: 1, maxLength: 6 }), callerArb, checkOne), {
      numRuns: 60,
      interruptAfterTimeLimit: 40_000,
      markInterruptAsFailure: true,
    });
    console.log(
      `[policy-property] 60 runs in ${Date.now() - started} ms; tool calls by branch: ${JSON.stringify(seen)}; refused clients: ${seenRefusedClients.count}`,
    );
    expect(seenRefusedClients.count, 'no run drew a client its approval refuses').toBeGreaterThan(0);
  });
});

describe('dispatch caches handlers per tool definition, not per name', () => {
  // Regression: handlerFor once keyed its cache on tool names, so a second registry with a
  // same-named tool dispatched to the first registry's definition (its policy and its handler).
  it('a second registry with a same-named tool runs its own handler', async () => {
    const ran: string[] = [];
    const make = (label: string) =>
      createRegistry([
        defineTool({
          name: 'shared_name',
          title: label,
          description: label,
          access: 'public',
          input: z.object({}),
          handler: () => (ran.push(label), jsonResult({ label })),
        }),
      ]);
    const first = await serveFetchHandler(
      createMcpEndpoint({ registry: make('first'), config: () => config, auditLine: () => {} }),
    );
    const second = await serveFetchHandler(
      createMcpEndpoint({ registry: make('second'), config: () => config, auditLine: () => {} }),
    );
    try {
      expect((await post(first, callBody('shared_name'), undefined)).status).toBe(200);
      const response = await post(second, callBody('shared_name'), undefined);
      expect(response.status).toBe(200);
      expect(ran).toEqual(['first', 'second']);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

/**
 * The policy property above, for all three primitives on both wires:
 * each generated policy is declared as a tool, a resource template and a prompt, and for a random
 * caller on a random wire, every listed primitive is usable now or after granting exactly what its
 * challenge asks; every unlisted one answers byte-for-byte like an unknown one of its kind and
 * never runs; nothing answers 5xx; a handler runs only for a caller holding every requirement.
 */
describe('policy properties for tools, resources and prompts on both wires', () => {
  type Kind = 'tool' | 'resource' | 'prompt';
  type Wire = 'legacy' | 'modern';
  const KINDS: Kind[] = ['tool', 'resource', 'prompt'];
  const LIST: Record<Kind, string> = {
    tool: 'tools/list',
    resource: 'resources/templates/list',
    prompt: 'prompts/list',
  };

  let counter = 0;
  function buildRegistry(
    policies: Access[],
    runs: Map<string, number>,
    caller: Caller,
  ): { registry: Registry; names: string[] } {
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
      { approvals: approvalsFor(caller) },
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
    const { registry, names } = buildRegistry(policies, runs, caller);
    const server = await serveFetchHandler(createMcpEndpoint({ registry, config: () => config }));
    try {
      const bearer = caller.kind === 'user' ? await issuer.sign(claimsOf(caller)) : undefined;
      const granted = caller.kind === 'user' ? caller.scopes : [];
      if (clientRefused(caller)) {
        const responses: Response[] = [];
        for (const kind of KINDS) {
          responses.push(await post(server, wire, { method: LIST[kind], params: {} }, bearer));
          for (const name of names) responses.push(await post(server, wire, body(kind, name), bearer));
        }
        await expectRefusedClient(responses, () => [...runs.values()].reduce((a, b) => a + b, 0));
        return;
      }
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
            retryClaims = signInClaims(access, scopes);
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
