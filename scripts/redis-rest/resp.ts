// A Redis connection that speaks RESP2 over one TCP socket, for the REST front beside it
// (scripts/redis-rest/front.ts). Development and tests only: it never ships.
//
// Why our own and not `redis` / `ioredis`: the front needs exactly "send any command, get the raw
// reply back" with bulk strings kept as bytes (the Upstash protocol base64-encodes them), on one
// kept connection; that is one encoder and one parser of five reply types, smaller than adapting a
// client built to decode replies into JavaScript values.

import { connect, type Socket } from 'node:net';

/** A reply as Redis sent it: bulk strings stay bytes; simple strings are `{ status }`; errors are `RespError`. */
export type Reply = Buffer | { status: string } | number | null | RespError | Reply[];

export class RespError {
  constructor(readonly message: string) {}
}

type Pending = { resolve: (reply: Reply) => void; reject: (error: Error) => void };

const CRLF = Buffer.from('\r\n');

function encode(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/**
 * Parses one reply from `buffer` at `offset`; undefined when the buffer does not hold all of it yet.
 * Returns the reply and where the next one starts.
 */
export function parseReply(buffer: Buffer, offset = 0): { reply: Reply; next: number } | undefined {
  const lineEnd = buffer.indexOf(CRLF, offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: { status: line }, next: after };
    case '-':
      return { reply: new RespError(line), next: after };
    case ':':
      return { reply: Number(line), next: after };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, next: after };
      if (buffer.length < after + length + 2) return undefined;
      return { reply: buffer.subarray(after, after + length), next: after + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, next: after };
      const items: Reply[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, next);
        if (!item) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

export type RespConnection = {
  /** Sends one command; replies come back in order (Redis answers a connection's commands in order). */
  send(args: readonly (string | Buffer)[]): Promise<Reply>;
  readonly closed: boolean;
  close(): void;
};

/** Connects to 127.0.0.1:`port`; rejects after `timeoutMs` or on a refused connection. */
export function connectResp(port: number, timeoutMs = 2_000): Promise<RespConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const queue: Pending[] = [];
    let buffer: Buffer = Buffer.alloc(0);
    let closed = false;
    const fail = (error: Error) => {
      closed = true;
      for (const pending of queue.splice(0)) pending.reject(error);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis: no connection to 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve({
        send(args) {
          if (closed) return Promise.reject(new Error('redis: connection closed'));
          return new Promise<Reply>((resolveReply, rejectReply) => {
            queue.push({ resolve: resolveReply, reject: rejectReply });
            socket.write(encode(args));
          });
        },
        get closed() {
          return closed;
        },
        close() {
          closed = true;
          socket.destroy();
        },
      });
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      let offset = 0;
      for (;;) {
        let parsed: ReturnType<typeof parseReply>;
        try {
          parsed = parseReply(buffer, offset);
        } catch (error) {
          socket.destroy();
          fail(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (!parsed) break;
        offset = parsed.next;
        queue.shift()?.resolve(parsed.reply);
      }
      buffer = buffer.subarray(offset);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
      fail(error);
    });
    socket.on('close', () => fail(new Error('redis: connection closed')));
  });
}
