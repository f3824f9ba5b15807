import { randomBytes } from 'node:crypto';
import { startRedisRestFront, type RedisRestFront } from '../../scripts/redis-rest/front';
import { startRedisServer, type RedisProcess } from '../../scripts/redis-rest/redis-server';

/**
 * A real Redis (Debian's redis-server, on a loopback port chosen here) behind the Upstash REST
 * front, what production reaches as Upstash. `stopRedis()` takes the store away mid-test (the
 * front stays up and answers 503, as a store that cannot be reached); `startRedis()` brings a new,
 * empty one back on the same port.
 */
export type TestRedis = {
  url: string;
  token: string;
  front: RedisRestFront;
  /** Environment variables that point the app at it. */
  env: { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };
  stopRedis(): Promise<void>;
  startRedis(): Promise<void>;
  close(): Promise<void>;
};

export async function startTestRedis(): Promise<TestRedis> {
  let redis: RedisProcess = await startRedisServer();
  const token = randomBytes(24).toString('base64url');
  const front = await startRedisRestFront({ redisPort: redis.port, token });
  return {
    url: front.url,
    token,
    front,
    env: { UPSTASH_REDIS_REST_URL: front.url, UPSTASH_REDIS_REST_TOKEN: token },
    stopRedis: () => redis.stop(),
    startRedis: async () => {
      redis = await startRedisServer({ port: redis.port });
    },
    close: async () => {
      await front.close();
      await redis.stop();
    },
  };
}
