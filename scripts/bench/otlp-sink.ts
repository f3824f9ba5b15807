import { serveFetchHandler } from './loopback';

/**
 * The OTLP collector the edge-traced variant exports to (http.ts): on 127.0.0.1, in its own process
 * like a collector beside a deployment. It takes every `POST /v1/traces` (the http/protobuf export
 * @vercel/otel sends by default) and answers 200 with an empty ExportTraceServiceResponse; it keeps
 * only counts, which `GET /stats` returns, so the bench can tell that spans really flowed.
 * Prints "listening <port>".
 */
let requests = 0;
let bytes = 0;
const server = await serveFetchHandler(async (request) => {
  const url = new URL(request.url);
  if (request.method === 'GET' && url.pathname === '/stats') return Response.json({ requests, bytes });
  if (request.method !== 'POST' || url.pathname !== '/v1/traces') return new Response(null, { status: 404 });
  bytes += (await request.arrayBuffer()).byteLength;
  requests += 1;
  return new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } });
});
process.stderr.write(`listening ${server.port}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open: when it goes away (even killed), so do we.
process.stdin.on('end', stop).on('error', stop).resume();
setTimeout(() => process.exit(0), 3_600_000).unref();
