import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindLoopback, type Listening } from '../../scripts/loopback';

export type Certificate = { key: string; cert: string };

/**
 * A throwaway self-signed certificate for 127.0.0.1, valid for a day, made by openssl at test time
 * (nothing in node_modules generates X.509). The key exists on disk only inside a private temp dir
 * removed before this returns; nothing is committed.
 */
export function selfSignedCertificate(): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An HTTPS server on 127.0.0.1 and a free port; `url` is its origin. */
export function listenHttps(
  certificate: Certificate,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Listening> {
  return bindLoopback(createServer(certificate, handler), 'https');
}
