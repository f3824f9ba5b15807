import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { listen, type Listening } from './net';

/**
 * A minimal token issuer for tests: an RS256 key pair whose public JWKS is served on 127.0.0.1,
 * and a signer for valid and deliberately broken tokens. The full OAuth flow uses the real
 * oidc-provider server in scripts/local-auth; this one exists to craft tokens no real AS would.
 */
/** `rotated`: the key set no longer holds the signing key (a key removed by the issuer). */
export type JwksMode = 'up' | 'down' | 'slow' | 'garbage' | 'rotated';

export type TestIssuer = Listening & {
  issuer: string;
  jwksUrl: string;
  kid: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
  /** How many times the JWKS document was requested. */
  jwksFetches(): number;
  setMode(mode: JwksMode): void;
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
};

export type SignOptions = {
  kid?: string;
  key?: CryptoKey;
  alg?: string;
  header?: Record<string, unknown>;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  /** `sid` too: a token without one is not a person's (lib/auth/caller-kind.ts), e.g. a machine's. */
  omit?: Array<'exp' | 'iat' | 'sub' | 'sid'>;
};

export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'test-key-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let mode: JwksMode = 'up';
  let fetches = 0;
  let issuer = '';

  const server = await listen((req, res) => {
    if (req.url === '/oauth2/jwks') {
      fetches += 1;
      if (mode === 'down') {
        res.writeHead(503).end();
        return;
      }
      if (mode === 'rotated') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [] }));
        return;
      }
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"not":"a key set"}');
        return;
      }
      const send = () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
      if (mode === 'slow') setTimeout(send, 7_000).unref();
      else send();
      return;
    }
    if (req.url === '/.well-known/oauth-authorization-server') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/oauth2/authorize`,
          token_endpoint: `${issuer}/oauth2/token`,
          registration_endpoint: `${issuer}/oauth2/register`,
          jwks_uri: `${issuer}/oauth2/jwks`,
          code_challenge_methods_supported: ['S256'],
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  issuer = server.url;

  return {
    ...server,
    issuer,
    jwksUrl: `${issuer}/oauth2/jwks`,
    kid,
    publicJwk,
    privateKey,
    jwksFetches: () => fetches,
    setMode: (next) => {
      mode = next;
    },
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        iss: issuer,
        sub: 'user_test',
        // A person's token, as AuthKit issues one: its consent id in `sid` (lib/auth/caller-kind.ts).
        sid: 'consent_test',
        iat: now,
        exp: now + (options.expiresIn ?? 300),
        jti: crypto.randomUUID(),
        ...claims,
      };
      for (const name of options.omit ?? []) delete payload[name];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? kid, typ: 'at+jwt', ...options.header })
        .sign(options.key ?? privateKey);
    },
  };
}

/** base64url of a JSON value, for hand-built hostile tokens (alg none, tampered payloads). */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}
