import { createHash } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { withoutUpstashFlags } from '../../scripts/redis-rest/front';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../helpers/redis';

/** The REST front speaks what @upstash/redis sends, against a real redis-server. */
let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis({ url: redis.url, token: redis.token, retry: false, enableTelemetry: false });
});
afterAll(async () => {
  await redis?.close();
});

describe('Upstash REST front over redis-server', () => {
  it('answers single commands, with base64 bulk strings decoded by the client', async () => {
    expect(await client.set('front:a', 'héllo wörld')).toBe('OK');
    expect(await client.get('front:a')).toBe('héllo wörld');
    expect(await client.incr('front:n')).toBe(1);
    expect(await client.get('front:missing')).toBeNull();
    expect(await client.ping()).toBe('PONG');
  });

  it('answers pipelines and transactions in order, with per-command errors', async () => {
    const pipe = client.pipeline();
    pipe.set('front:p', '1');
    pipe.incr('front:p');
    pipe.mget('front:p', 'front:nothing');
    // The client parses stored values as JSON by default: "2" comes back as 2.
    expect(await pipe.exec()).toEqual(['OK', 2, [2, null]]);
    const tx = client.multi();
    tx.incr('front:t');
    tx.incr('front:t');
    expect(await tx.exec()).toEqual([1, 2]);
  });

  it('runs Lua by EVALSHA after SCRIPT LOAD, and says NOSCRIPT for an unknown sha', async () => {
    const sha = await client.scriptLoad('return redis.call("INCRBY", KEYS[1], ARGV[1])');
    expect(await client.evalsha(sha, ['front:lua'], ['5'])).toBe(5);
    await expect(client.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("drops the Upstash-only allow-key-locking flag (@upstash/ratelimit's scripts), keeping the client's SHA", async () => {
    const script = '#!lua flags=allow-key-locking\nreturn redis.call("INCR", KEYS[1])';
    const sha = await client.scriptLoad(script);
    expect(sha).toBe(createHash('sha1').update(script).digest('hex'));
    expect(await client.evalsha(sha, ['front:flag'], [])).toBe(1);
    expect(await client.eval(script, ['front:flag'], [])).toBe(2);
    expect(withoutUpstashFlags('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    );
    expect(withoutUpstashFlags('#!lua flags=no-writes\nreturn 1')).toBe('#!lua flags=no-writes\nreturn 1');
  });

  it('refuses a wrong token', async () => {
    const wrong = new Redis({ url: redis.url, token: 'wrong', retry: false, enableTelemetry: false });
    await expect(wrong.get('front:a')).rejects.toThrow();
  });

  it('answers 503 while redis is stopped, and serves again once it is back', async () => {
    await redis.stopRedis();
    await expect(client.get('front:a')).rejects.toThrow(/unavailable/);
    await redis.startRedis();
    expect(await client.get('front:a')).toBeNull(); // a new, empty store
  });
});
