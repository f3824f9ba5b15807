import { describe, expect, it } from 'vitest';
import { batchRefusal, SDK_MAX_BATCH } from '@/lib/wire/batch';
import { parseEnvelope } from '@/lib/wire/envelope';

const batchOf = (n: number) => Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }));

describe('batches by protocol revision', () => {
  it.each([
    ['no header', null],
    ['2025-03-26', '2025-03-26'],
    ['2025-03-26 with surrounding spaces', ' 2025-03-26 '],
  ])('%s: batches up to the SDK limit are allowed, longer ones refused', (_name, header) => {
    expect(batchRefusal(parseEnvelope(batchOf(1), header))).toBeUndefined();
    expect(batchRefusal(parseEnvelope(batchOf(SDK_MAX_BATCH), header))).toBeUndefined();
    expect(batchRefusal(parseEnvelope(batchOf(SDK_MAX_BATCH + 1), header))).toMatchObject({
      reason: 'batch_too_large',
    });
  });

  it.each(['2024-11-05', '2025-06-18', '2025-11-25', '2026-07-28', '2099-01-01', '', 'x'])(
    '%j: every batch is refused, even a short one',
    (header) => {
      expect(batchRefusal(parseEnvelope(batchOf(1), header))).toMatchObject({ reason: 'batch_not_supported' });
      expect(batchRefusal(parseEnvelope([], header))).toMatchObject({ reason: 'batch_not_supported' });
    },
  );

  it('a single message is never a batch', () => {
    for (const message of [{ jsonrpc: '2.0', id: 1, method: 'ping' }, undefined, null, 42, 'x']) {
      expect(batchRefusal(parseEnvelope(message, '2025-11-25'))).toBeUndefined();
    }
  });

  it('mirrors the SDK limit of @modelcontextprotocol/server 2.4', () => {
    expect(SDK_MAX_BATCH).toBe(100);
  });
});
