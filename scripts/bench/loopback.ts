import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { bindLoopback, fetchBridge, type Listening } from '../loopback';

/**
 * The bench's own loopback servers (it must not depend on tests/): a node:http listener on
 * 127.0.0.1, a web-standard handler behind it, a free port, and an RS256 issuer serving its JWKS.
 */

export type { Listening } from '../loopback';

export function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  return bindLoopback(createServer(handler), 'http');
}

/** A free loopback port (bound to 0 and released; the caller binds it right after). */
export async function freePort(): Promise<number> {
  const probe = await listen(() => {});
  await probe.close();
  return probe.port;
}

export function serveFetchHandler(handler: (request: Request) => Promise<Response>): Promise<Listening> {
  return listen(fetchBridge(handler));
}

export type Issuer = Listening & {
  issuer: string;
  jwksFetches(): number;
  sign(claims: JWTPayload, expiresInSeconds?: number): Promise<string>;
};

/** An RS256 key pair whose public JWKS is served at /oauth2/jwks on 127.0.0.1, and a signer. */
export async function startIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'bench-key-1';
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  let fetches = 0;
  const server = await listen((req, res) => {
    if (req.url !== '/oauth2/jwks') return void res.writeHead(404).end();
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  return {
    ...server,
    issuer: server.url,
    jwksFetches: () => fetches,
    sign: (claims, expiresInSeconds = 300) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: server.url,
        iat: now,
        exp: now + expiresInSeconds,
        jti: crypto.randomUUID(),
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .sign(privateKey);
    },
  };
}
