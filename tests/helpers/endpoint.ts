import type { JWTPayload } from 'jose';
import { afterAll, beforeAll } from 'vitest';
import type { AuditRecord } from '@/lib/audit/record';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint, type McpEndpointOptions } from '@/lib/endpoint/endpoint';
import type { Registry } from '@/lib/registry';
import { startTestIssuer, type TestIssuer } from './issuer';
import { serveFetchHandler, type Listening } from './net';

/** The resource most in-process tests serve (nothing listens on port 1: the URL is only the audience). */
export const ENDPOINT_RESOURCE = 'http://127.0.0.1:1/mcp';

export type EndpointEnv = Record<string, string>;

export type UseEndpointOptions<V extends string, C extends string> = Pick<
  McpEndpointOptions,
  'verifier' | 'directory'
> & {
  /** More endpoints of the same registry and issuer, each with these variables on top of `env`. */
  variants?: Record<V, EndpointEnv>;
  /** Each caller's claims, signed once in beforeAll (`aud` defaults to the resource); undefined: anonymous. */
  callers?: Record<C, JWTPayload | undefined>;
};

export type EndpointUnderTest<V extends string = never, C extends string = never> = {
  issuer: TestIssuer;
  config: Config;
  /** The endpoint, served over HTTP on 127.0.0.1 (POST `${server.url}/mcp`). */
  server: Listening;
  /** The endpoints of `options.variants`, by name. */
  variants: Record<V, Listening>;
  /** Every audit record the endpoints wrote, in order. */
  records: AuditRecord[];
  /** The token of a caller named in `options.callers` (undefined for an anonymous one). */
  token(caller: C): string | undefined;
};

/**
 * The in-process endpoint of a registry, for a test file or a describe block: a test issuer, the
 * endpoint (createMcpEndpoint with a production configuration trusting that issuer, plus `env`)
 * served over real HTTP on 127.0.0.1, an audit sink that keeps the records, and a token per named
 * caller. Started in beforeAll and stopped in afterAll of the scope it is called in; read the
 * fields inside tests. `env` may be a function, for values known only once other servers started.
 */
export function useEndpoint<V extends string = never, C extends string = never>(
  registry: Registry,
  env: EndpointEnv | (() => EndpointEnv) = {},
  options: UseEndpointOptions<V, C> = {},
): EndpointUnderTest<V, C> {
  const tokens = new Map<C, string | undefined>();
  const stack = {
    variants: {} as Record<V, Listening>,
    records: [] as AuditRecord[],
    token: (caller: C) => tokens.get(caller),
  } as EndpointUnderTest<V, C>;
  beforeAll(async () => {
    stack.issuer = await startTestIssuer();
    const base = {
      NODE_ENV: 'production',
      AUTHKIT_DOMAIN: stack.issuer.issuer,
      MCP_RESOURCE_URL: ENDPOINT_RESOURCE,
      ...(typeof env === 'function' ? env() : env),
    };
    const serve = (config: Config) =>
      serveFetchHandler(
        createMcpEndpoint({
          registry,
          config: () => config,
          verifier: options.verifier,
          directory: options.directory,
          auditLine: (record) => stack.records.push(record),
        }),
      );
    stack.config = loadConfig(base);
    stack.server = await serve(stack.config);
    for (const [name, variant] of Object.entries(options.variants ?? {}) as Array<[V, EndpointEnv]>)
      stack.variants[name] = await serve(loadConfig({ ...base, ...variant }));
    for (const [caller, claims] of Object.entries(options.callers ?? {}) as Array<[C, JWTPayload | undefined]>)
      tokens.set(caller, claims ? await stack.issuer.sign({ aud: base.MCP_RESOURCE_URL, ...claims }) : undefined);
  });
  afterAll(async () => {
    await Promise.all([
      stack.server?.close(),
      ...Object.values<Listening>(stack.variants).map((server) => server.close()),
      stack.issuer?.close(),
    ]);
  });
  return stack;
}
