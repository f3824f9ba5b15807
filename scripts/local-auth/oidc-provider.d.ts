// oidc-provider ships no type declarations and @types/oidc-provider is not a
// dependency, so this declares the small surface the local authorization
// server uses (checked against oidc-provider 9.x lib/). Only what we call or
// configure is listed; everything else stays out of reach on purpose.

declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface KoaContextWithOIDC {
    method: string;
    path: string;
    /** Koa's parsed query string; assigning it rewrites the request's query string. */
    query: Record<string, string | string[] | undefined>;
    body: unknown;
    status: number;
    type: string;
    /** The parsed query string (Koa). */
    query: Record<string, unknown>;
    /** Content negotiation (Koa): the first of `types` the request's Accept prefers, or false. */
    accepts(...types: string[]): string | false;
    /** Set by oidc-provider for its own routes; absent for unmatched paths. */
    oidc?: {
      route?: string;
      client?: Client;
      /** The request's recognized parameters (query or form), once oidc-provider assembled them. */
      params?: Record<string, unknown>;
      /** The interaction result being resumed, if any. */
      result?: { login?: { accountId: string } };
    };
  }

  export type KoaNext = () => Promise<void>;

  export interface Client {
    readonly clientId: string;
    readonly clientName?: string;
    readonly clientAuthMethod: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface ClientStatic {
    find(id: string): Promise<Client | undefined>;
    /** Throws InvalidClientMetadata when `metadata` is not a registration this provider accepts. */
    validate(metadata: Record<string, unknown>): Promise<void>;
  }

  export interface Grant {
    readonly jti: string;
    accountId?: string;
    clientId?: string;
    addOIDCScope(scope: string | string[]): void;
    addResourceScope(resource: string, scope: string | string[]): void;
    getOIDCScope(): string;
    getResourceScope(resource: string): string;
    save(ttl?: number): Promise<string>;
    /** Removes the grant: refresh tokens of it stop working (a removed consent). */
    destroy(): Promise<void>;
  }

  export interface GrantStatic {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export interface Interaction {
    readonly uid: string;
    readonly returnTo: string;
    readonly grantId?: string;
    readonly prompt: {
      name: string;
      reasons: string[];
      details: Record<string, unknown>;
    };
    readonly params: Record<string, unknown>;
    readonly session?: { accountId?: string; uid?: string };
  }

  export type InteractionResults =
    | { login: { accountId: string; remember?: boolean }; consent: { grantId: string } }
    | { error: string; error_description?: string };

  /** The token model handed to extraTokenClaims / TTL functions. */
  export interface TokenModel {
    readonly kind: string;
    readonly grantId?: string;
    readonly accountId?: string;
    readonly clientId?: string;
  }

  export interface AccountClaims {
    sub: string;
    [claim: string]: unknown;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): AccountClaims | Promise<AccountClaims>;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string; kid?: string } };
  }

  export interface JWKSPrivate {
    keys: Record<string, unknown>[];
  }

  type Ctx = KoaContextWithOIDC;
  type Awaitable<T> = T | Promise<T>;

  export interface Configuration {
    jwks: JWKSPrivate;
    /** Every outbound request (client metadata documents, jwks_uri). Default: globalThis.fetch with SSRF checks. */
    fetch?(url: string | URL, init: RequestInit): Promise<Response>;
    adapter?: (model: string) => unknown;
    /** Static clients, never stored through the adapter. */
    clients?: Record<string, unknown>[];
    findAccount(ctx: Ctx, sub: string, token?: unknown): Awaitable<Account | undefined>;
    scopes: string[];
    responseTypes?: string[];
    clientAuthMethods?: string[];
    claims: Record<string, string[] | null>;
    clientDefaults?: Record<string, unknown>;
    clientBasedCORS?(ctx: Ctx, origin: string, client: Client): boolean;
    cookies: {
      keys: string[];
      long?: Record<string, unknown>;
      short?: Record<string, unknown>;
    };
    extraClientMetadata?: {
      properties: string[];
      validator?(ctx: Ctx | undefined, key: string, value: unknown, metadata: Record<string, unknown>): void;
    };
    extraTokenClaims?(ctx: Ctx, token: TokenModel): Awaitable<Record<string, unknown> | undefined>;
    issueRefreshToken?(ctx: Ctx, client: Client, code: unknown): Awaitable<boolean>;
    expiresWithSession?(ctx: Ctx, code: unknown): Awaitable<boolean>;
    interactions: {
      policy?: InteractionPolicy;
      url(ctx: Ctx, interaction: Interaction): Awaitable<string>;
    };
    pkce: { required(ctx: Ctx, client: Client): boolean };
    renderError?(ctx: Ctx, out: Record<string, string>, error: Error): Awaitable<void>;
    routes: Record<string, string>;
    ttl: Record<string, number | ((ctx: Ctx, token: unknown, client?: Client) => number)>;
    features: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      dPoP?: { enabled: boolean };
      pushedAuthorizationRequests?: { enabled: boolean };
      rpInitiatedLogout?: { enabled: boolean };
      userinfo?: { enabled: boolean };
      registration?: {
        enabled: boolean;
        initialAccessToken?: boolean;
        issueRegistrationAccessToken?: boolean;
      };
      clientIdMetadataDocument?: {
        enabled: boolean;
        ack?: string;
        allowFetch?(ctx: Ctx, clientId: string): Awaitable<boolean>;
        allowClient?(ctx: Ctx, client: Client): Awaitable<boolean>;
      };
      revocation?: {
        enabled: boolean;
        allowedPolicy?(ctx: Ctx, client: Client, token: TokenModel): Awaitable<boolean>;
      };
      introspection?: {
        enabled: boolean;
        allowedPolicy?(ctx: Ctx, client: Client, token: TokenModel): Awaitable<boolean>;
      };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?(ctx: Ctx, client: Client, oneOf?: string[]): Awaitable<string | string[] | undefined>;
        useGrantedResource?(ctx: Ctx, model: unknown): Awaitable<boolean>;
        getResourceServerInfo?(ctx: Ctx, resourceIndicator: string, client: Client): Awaitable<ResourceServerInfo>;
      };
    };
  }

  export class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly issuer: string;
    readonly Client: ClientStatic;
    readonly Grant: GrantStatic;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: (ctx: Ctx, next: KoaNext) => Promise<void>): this;
    on(event: 'server_error', listener: (ctx: Ctx, error: Error) => void): this;
    on(
      event:
        | 'authorization.error'
        | 'grant.error'
        | 'registration_create.error'
        | 'introspection.error'
        | 'revocation.error',
      listener: (ctx: Ctx, error: ProviderError) => void,
    ): this;
    on(event: 'registration_create.success', listener: (ctx: Ctx, client: Client) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }

  export class InteractionCheck {
    constructor(reason: string, description: string, check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
    static readonly REQUEST_PROMPT: true;
    static readonly NO_NEED_TO_PROMPT: false;
  }

  export interface InteractionPrompt {
    readonly name: string;
    readonly checks: { add(check: InteractionCheck, index?: number): void };
  }

  export interface InteractionPolicy extends Array<InteractionPrompt> {
    get(name: string): InteractionPrompt | undefined;
  }

  export const interactionPolicy: {
    base(): InteractionPolicy;
    Check: typeof InteractionCheck;
  };

  export interface ProviderError extends Error {
    error?: string;
    error_description?: string;
    status?: number;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => ProviderError;
    InvalidClientMetadata: new (description: string) => ProviderError;
  };

  export default Provider;
}
