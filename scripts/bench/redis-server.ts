import { randomBytes } from 'node:crypto';
import { startRedisRestFront } from '../redis-rest/front';
import { startRedisServer } from '../redis-rest/redis-server';

/**
 * The shared store for the `edge-governed` build over HTTP: Debian's redis-server on loopback
 * behind the Upstash REST front, in a process of its own (not the one driving autocannon).
 * Prints "listening <port> <token>" on stderr; exits when its stdin closes.
 */
const redis = await startRedisServer();
const token = randomBytes(24).toString('base64url');
const front = await startRedisRestFront({ redisPort: redis.port, token });
process.stderr.write(`listening ${front.port} ${token}\n`);
const stop = () =>
  void Promise.all([front.close(), redis.stop()]).then(
    () => process.exit(0),
    () => process.exit(1),
  );
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop).on('error', stop).resume();
setTimeout(stop, 3_600_000).unref();
