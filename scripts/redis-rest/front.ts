// An HTTP front that speaks the Upstash Redis REST protocol to `@upstash/redis` and
// `@upstash/ratelimit`, in front of a real `redis-server` on loopback. Development and tests only.
//
// Why this exists: no package on npm serves the Upstash REST protocol (the known one, SRH, is an
// Elixir container image), and the tests must reach a real Redis the way production reaches
// Upstash, EVALSHA and pipelines included, never a mock. What it speaks (what the clients send):
//   POST /            ["CMD", ...args]          -> {"result": ...}  or 400 {"error": "..."}
//   POST /pipeline    [["CMD", ...], ...]       -> [{"result": ...} | {"error": "..."}, ...]
//   POST /multi-exec  [["CMD", ...], ...]       -> the same, run inside MULTI/EXEC
// with `Authorization: Bearer <token>` required and, when the request says `Upstash-Encoding:
// base64`, every bulk and status string base64-encoded except a plain "OK" (what the client decodes).
// Commands go to one kept connection in order; a lost connection is reopened on the next request.
//
// One Upstash extension is translated: @upstash/ratelimit 2.1+ starts its Lua scripts with
// `#!lua flags=allow-key-locking`, a flag only Upstash knows (Redis refuses the script; SRH has the
// same gap, hiett/serverless-redis-http#40). It only narrows Upstash's locking, so the front drops it
// and keeps the library's own SHA working: EVALSHA of the original script's SHA runs the rewritten one.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { bindLoopback } from '../loopback';
import { connectResp, RespError, type Reply, type RespConnection } from './resp';

export type RedisRestFront = {
  url: string;
  token: string;
  port: number;
  /** Hold every answer this long first (0: none): how tests make the store slow without stopping it. */
  setDelay(ms: number): void;
  /** Requests served, for tests that count round trips. */
  readonly served: number;
  close(): Promise<void>;
};

const MAX_BODY_BYTES = 1024 * 1024;

type Json = string | number | null | Json[];

function toJson(reply: Reply, base64: boolean): Json {
  if (reply === null || typeof reply === 'number') return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString('base64') : reply.toString('utf8');
  if (Array.isArray(reply)) return reply.map((item) => toJson(item, base64));
  if (reply instanceof RespError) return reply.message;
  // Status replies: the client leaves "OK" as it is and base64-decodes everything else.
  return base64 && reply.status !== 'OK' ? Buffer.from(reply.status).toString('base64') : reply.status;
}

const UPSTASH_ONLY_FLAGS = new Set(['allow-key-locking']);
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** The script without Upstash-only shebang flags; the same string when it has none. */
export function withoutUpstashFlags(script: string): string {
  const match = /^#!lua flags=([^\n]*)(\n|$)/.exec(script);
  if (!match) return script;
  const flags = (match[1] ?? '').split(',').filter((flag) => flag && !UPSTASH_ONLY_FLAGS.has(flag.trim()));
  if (flags.length === (match[1] ?? '').split(',').filter(Boolean).length) return script;
  // No flag left: a blank first line keeps the script a plain (pre-shebang) one, its lines where they were.
  const first = flags.length ? `#!lua flags=${flags.join(',')}` : '';
  return `${first}${match[2]}${script.slice(match[0].length)}`;
}

/** Rewrites the scripting commands that carry an Upstash-only flag, remembering original SHA -> rewritten SHA. */
function translateScripts(args: string[], shas: Map<string, string>): { args: string[]; loadedSha?: string } {
  const command = (args[0] ?? '').toUpperCase();
  const rewrite = (script: string) => {
    const rewritten = withoutUpstashFlags(script);
    if (rewritten !== script) shas.set(sha1(script), sha1(rewritten));
    return rewritten;
  };
  if ((command === 'EVAL' || command === 'EVAL_RO') && args[1] !== undefined)
    return { args: [args[0] ?? command, rewrite(args[1]), ...args.slice(2)] };
  if (command === 'SCRIPT' && (args[1] ?? '').toUpperCase() === 'LOAD' && args[2] !== undefined)
    return { args: [args[0] ?? command, args[1] ?? 'LOAD', rewrite(args[2])], loadedSha: sha1(args[2]) };
  if ((command === 'EVALSHA' || command === 'EVALSHA_RO') && args[1] !== undefined) {
    const mapped = shas.get(args[1].toLowerCase());
    if (mapped) return { args: [args[0] ?? command, mapped, ...args.slice(2)] };
  }
  return { args };
}

function asArgs(command: unknown): string[] | undefined {
  if (!Array.isArray(command) || command.length === 0) return undefined;
  const args: string[] = [];
  for (const arg of command) {
    if (typeof arg === 'string') args.push(arg);
    else if (typeof arg === 'number' || typeof arg === 'boolean') args.push(String(arg));
    else if (arg !== null && typeof arg === 'object') args.push(JSON.stringify(arg));
    else return undefined;
  }
  return args;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startRedisRestFront({
  redisPort,
  token,
  port = 0,
}: {
  redisPort: number;
  token: string;
  port?: number;
}): Promise<RedisRestFront> {
  let connection: RespConnection | undefined;
  const shas = new Map<string, string>();
  let delayMs = 0;
  let served = 0;
  const expected = Buffer.from(`Bearer ${token}`);

  const redis = async (): Promise<RespConnection> => {
    if (!connection || connection.closed) connection = await connectResp(redisPort, 1_000);
    return connection;
  };

  const authorized = (req: IncomingMessage): boolean => {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    served++;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (req.method !== 'POST') return send(res, 405, { error: 'ERR only POST is served' });
    if (!authorized(req)) return send(res, 401, { error: 'Unauthorized' });
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const path = new URL(req.url ?? '/', 'http://front').pathname.replace(/\/+$/, '') || '/';
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return send(res, 400, { error: 'ERR the body is not JSON' });
    }
    let conn: RespConnection;
    try {
      conn = await redis();
    } catch {
      return send(res, 503, { error: 'ERR redis is unavailable' });
    }
    const run = (conn: RespConnection, args: string[]): Promise<Reply> => {
      const translated = translateScripts(args, shas);
      // SCRIPT LOAD answers the SHA of what the client sent, as Upstash does, so EVALSHA of it works.
      return conn
        .send(translated.args)
        .then((reply) => (translated.loadedSha && Buffer.isBuffer(reply) ? Buffer.from(translated.loadedSha) : reply));
    };
    const answer = (reply: Reply) =>
      reply instanceof RespError ? { error: reply.message } : { result: toJson(reply, base64) };
    try {
      if (path === '/') {
        const args = asArgs(body);
        if (!args) return send(res, 400, { error: 'ERR the body must be a command array' });
        const reply = await run(conn, args);
        return reply instanceof RespError ? send(res, 400, answer(reply)) : send(res, 200, answer(reply));
      }
      if (path === '/pipeline' || path === '/multi-exec') {
        const commands = Array.isArray(body) ? body.map(asArgs) : undefined;
        if (!commands || commands.length === 0 || commands.some((c) => c === undefined))
          return send(res, 400, { error: 'ERR the body must be an array of command arrays' });
        const list = commands as string[][];
        if (path === '/pipeline') {
          // Written back to back: Redis answers them in order on this connection.
          const replies = await Promise.all(list.map((args) => run(conn, args)));
          return send(res, 200, replies.map(answer));
        }
        // MULTI, the commands and EXEC go out together, so no other request's command lands between them.
        const sent = [conn.send(['MULTI']), ...list.map((args) => run(conn, args)), conn.send(['EXEC'])];
        const replies = await Promise.all(sent);
        const exec = replies.at(-1);
        if (!Array.isArray(exec)) {
          const queued = replies.find((r) => r instanceof RespError);
          return send(res, 400, { error: queued instanceof RespError ? queued.message : 'EXECABORT' });
        }
        return send(res, 200, exec.map(answer));
      }
      return send(res, 404, { error: 'ERR unknown path' });
    } catch {
      // The connection dropped mid-request (Redis stopped): the next request reconnects.
      connection?.close();
      return send(res, 503, { error: 'ERR redis is unavailable' });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'ERR internal' });
      else res.end();
    });
  });
  const listening = await bindLoopback(server, 'http', port);
  return {
    url: listening.url,
    token,
    port: listening.port,
    setDelay: (ms) => {
      delayMs = ms;
    },
    get served() {
      return served;
    },
    close: async () => {
      connection?.close();
      await listening.close();
    },
  };
}
