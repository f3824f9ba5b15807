import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '@/tools';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { deployButtonVariables, fillButtonVariables } from './deploy-button';
import { type EdgeFunction, loadEdgeFunction } from './edge-function';
import { toolWithPolicy } from './tool-picks';
import { type VercelBuild, vercelBuild } from './vercel-build';

/**
 * Deployment rehearsal: what `vercel build` makes of this checkout, run with exactly what a project
 * created by the README's Deploy with Vercel button has: the variables the button asks for (read
 * from README.md) and Vercel's system variables. Nothing else is configured, and the only network
 * is the test issuer on 127.0.0.1 standing in for AuthKit.
 */

const PRODUCTION_HOST = 'edge-mcp-authkit.vercel.app';
const PREVIEW_HOST = 'edge-mcp-authkit-git-feature-rehearsal.vercel.app';

/**
 * Vercel's system variables for a deployment, and nothing else: no NODE_ENV, which the Edge bundle
 * does not set (lib/config.ts takes VERCEL_ENV=production or preview for production).
 */
function platformVariables(target: 'production' | 'preview'): Record<string, string> {
  return {
    VERCEL: '1',
    VERCEL_ENV: target,
    VERCEL_URL: target === 'production' ? 'edge-mcp-authkit-a1b2c3d4e-rehearsal.vercel.app' : PREVIEW_HOST,
    VERCEL_PROJECT_PRODUCTION_URL: PRODUCTION_HOST,
  };
}

type Deployment = {
  host: string;
  mcp: EdgeFunction;
  /** /.well-known/oauth-protected-resource/mcp and its root twin. */
  resourceMetadata: EdgeFunction[];
  authorizationServerMetadata: EdgeFunction;
};

let build: VercelBuild;
let issuer: TestIssuer;
let buttonVariables: Record<string, string>;
const publicTool = toolWithPolicy(registry.tools, 'public');
const signedInTool = toolWithPolicy(registry.tools, 'signed-in');

beforeAll(async () => {
  issuer = await startTestIssuer();
  buttonVariables = fillButtonVariables(deployButtonVariables(), {
    // The user's AuthKit domain; lib/config.ts accepts http:// only for loopback, as here.
    AUTHKIT_DOMAIN: issuer.issuer,
    // What the README tells users to run: openssl rand -base64 48.
    MCP_REQUEST_STATE_KEY: randomBytes(48).toString('base64'),
  });
  build = await vercelBuild();
});
afterAll(async () => {
  build?.remove();
  await issuer?.close();
});

function deploy(target: 'production' | 'preview'): Deployment {
  const env = { ...buttonVariables, ...platformVariables(target) };
  const load = (name: string) => loadEdgeFunction(join(build.outputDir, 'functions', `${name}.func`), env);
  return {
    host: target === 'production' ? PRODUCTION_HOST : PREVIEW_HOST,
    mcp: load('mcp'),
    resourceMetadata: [load('.well-known/oauth-protected-resource/mcp'), load('.well-known/oauth-protected-resource')],
    authorizationServerMetadata: load('.well-known/oauth-authorization-server'),
  };
}

/** What a failed expectation prints: the answer and what the function logged, e.g. its [config] line. */
async function explain(fn: EdgeFunction, response: Response): Promise<string> {
  return `${response.status} ${await response.clone().text()}\n--- function console ---\n${fn.logs.join('\n')}\n`;
}

function callTool(deployment: Deployment, name: string, token?: string): Promise<Response> {
  return deployment.mcp.fetch(`https://${deployment.host}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
  });
}

/** A real MCP client (v2 SDK) whose fetch is the deployed function; every HTTP status it saw is returned. */
async function callThroughClient(deployment: Deployment, name: string, token?: string) {
  const statuses: number[] = [];
  const client = new Client({ name: 'vercel-rehearsal', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`https://${deployment.host}/mcp`), {
    fetch: async (url, init) => {
      const response = await deployment.mcp.fetch(url, init);
      statuses.push(response.status);
      return response;
    },
    ...(token && { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  });
  try {
    await client.connect(transport);
    const result = await client.callTool({ name, arguments: {} });
    return { result, statuses };
  } catch (error) {
    throw new Error(`${String(error)}\n--- function console ---\n${deployment.mcp.logs.join('\n')}`);
  } finally {
    await client.close();
  }
}

const tokenFor = (resource: string) =>
  issuer.sign({ aud: resource, sub: 'user_rehearsal', client_id: 'client_rehearsal', scope: 'openid' });

it('vercel build built the app and skipped only the install (nothing fetched)', () => {
  expect(build.log).toContain('Skipping "install" command');
  expect(build.log).toContain('Running "next build"');
});

describe('production deployment, configured by the Deploy button alone', () => {
  let production: Deployment;
  const resource = `https://${PRODUCTION_HOST}/mcp`;
  beforeAll(() => {
    production = deploy('production');
  });

  it(`a public tool (${publicTool.name}) answers through an MCP client`, async () => {
    const { result, statuses } = await callThroughClient(production, publicTool.name);
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(statuses).toContain(200);
  });

  it(`an anonymous call of a signed-in tool (${signedInTool.name}) is 401 naming the production metadata`, async () => {
    const response = await callTool(production, signedInTool.name);
    expect(response.status, await explain(production.mcp, response)).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(
      `resource_metadata="https://${PRODUCTION_HOST}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('a token issued for the production resource calls the signed-in tool', async () => {
    const { result, statuses } = await callThroughClient(production, signedInTool.name, await tokenFor(resource));
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(statuses).toContain(200);
  });

  it('the protected resource metadata names the production resource and the issuer', async () => {
    for (const fn of production.resourceMetadata) {
      const response = await fn.fetch(`https://${PRODUCTION_HOST}/.well-known/oauth-protected-resource/mcp`);
      expect(response.status, await explain(fn, response)).toBe(200);
      expect(await response.json()).toMatchObject({ resource, authorization_servers: [issuer.issuer] });
    }
  });

  it("the authorization server metadata is the issuer's", async () => {
    const fn = production.authorizationServerMetadata;
    const response = await fn.fetch(`https://${PRODUCTION_HOST}/.well-known/oauth-authorization-server`);
    expect(response.status, await explain(fn, response)).toBe(200);
    expect(await response.json()).toMatchObject({ issuer: issuer.issuer });
  });
});

describe('preview deployment: its own resource URL', () => {
  let preview: Deployment;
  const resource = `https://${PREVIEW_HOST}/mcp`;
  beforeAll(() => {
    preview = deploy('preview');
  });

  it('an anonymous call of the signed-in tool is 401 naming the preview metadata', async () => {
    const response = await callTool(preview, signedInTool.name);
    expect(response.status, await explain(preview.mcp, response)).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(
      `resource_metadata="https://${PREVIEW_HOST}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('refuses a token issued for production and accepts one for the preview', async () => {
    const refused = await callTool(preview, signedInTool.name, await tokenFor(`https://${PRODUCTION_HOST}/mcp`));
    expect(refused.status, await explain(preview.mcp, refused)).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const { result } = await callThroughClient(preview, signedInTool.name, await tokenFor(resource));
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
  });

  it('the protected resource metadata names the preview resource', async () => {
    const [fn] = preview.resourceMetadata;
    const response = await fn!.fetch(`https://${PREVIEW_HOST}/.well-known/oauth-protected-resource/mcp`);
    expect(response.status, await explain(fn!, response)).toBe(200);
    expect(await response.json()).toMatchObject({ resource, authorization_servers: [issuer.issuer] });
  });
});
