import { serveFetchHandler } from './loopback';
import { bareHandler } from './fixtures';

/**
 * Scenario (a) over HTTP: the bare mcp-handler (ping-equivalent tool, no auth) behind a small
 * node:http -> Request/Response adapter on 127.0.0.1, in its own process like next start.
 * NOT next start: no Next routing, middleware or Edge sandbox. Prints "listening <port>".
 */
const server = await serveFetchHandler(bareHandler());
process.stderr.write(`listening ${server.port}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open: when it goes away (even killed), so do we.
process.stdin.on('end', stop).on('error', stop).resume();
// And never outlive the benchmark by more than an hour, whatever happens.
setTimeout(() => process.exit(0), 3_600_000).unref();
