import { MCP_HEADERS } from '../../helpers/app';
import {
  BATCH_REFUSED,
  type Row,
  SDK_ERROR,
  anon,
  bearer,
  call,
  hostileRows,
  json,
  manyCalls,
  post,
  stepUp,
  tok,
  useHostileStack,
} from './rows';

/**
 * The hostile matrix, batches: every element gated.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'batch [public, scoped], MCP-Protocol-Version 2025-03-26',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('notes_read', {}, 2)], { 'mcp-protocol-version': '2025-03-26' }),
    status: 401,
    www: anon('notes:read'),
    records: 2,
  },
  {
    name: 'batch [public, signed-in], no MCP-Protocol-Version',
    on: 'endpoint',
    request: () => ({
      headers: { 'content-type': 'application/json', accept: MCP_HEADERS.accept },
      body: json([call('open', {}, 1), call('member', {}, 2)]),
    }),
    status: 401,
    www: anon(),
    records: 2,
  },
  // Batching left MCP in 2025-06-18. The SDK still executes batches of up to 100 under 2025-06-18 and
  // 2025-11-25, so the endpoint refuses them itself, before the gate: one record, whatever the length.
  {
    name: 'batch [public, signed-in], MCP-Protocol-Version 2025-11-25: refused before the gate',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('member', {}, 2)]),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of two public calls, 2025-06-18: refused, nothing runs',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('open', {}, 2)], { 'mcp-protocol-version': '2025-06-18' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of two public calls, 2026-07-28: refused before the gate',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('open', {}, 2)], { 'mcp-protocol-version': '2026-07-28' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch under an unknown revision: refused as a batch',
    on: 'endpoint',
    request: () => post([call('open', {}, 1)], { 'mcp-protocol-version': '2099-01-01' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of 2,000 private calls (about 180 KB), 2025-11-25: one record',
    on: 'endpoint',
    request: () => post(manyCalls(2_000, 'member')),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of 2,000 calls with a valid token, 2025-11-25: one record',
    on: 'endpoint',
    request: async () => post(manyCalls(2_000, 'open'), bearer(await tok())),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of 101 private calls, 2025-03-26 (past the SDK limit): one record',
    on: 'endpoint',
    request: () => post(manyCalls(101, 'member'), { 'mcp-protocol-version': '2025-03-26' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_too_large'),
  },
  {
    name: 'batch of 150 public calls, no MCP-Protocol-Version: one record',
    on: 'endpoint',
    request: () => ({
      headers: { 'content-type': 'application/json', accept: MCP_HEADERS.accept },
      body: json(manyCalls(150, 'open')),
    }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_too_large'),
  },
  {
    name: 'batch of 100 private calls, 2025-03-26 (at the SDK limit): one record per call',
    on: 'endpoint',
    request: () => post(manyCalls(100, 'member'), { 'mcp-protocol-version': '2025-03-26' }),
    status: 401,
    www: anon(),
    records: 100,
  },
  {
    name: 'batch with a token lacking one scope',
    on: 'endpoint',
    request: async () =>
      post([call('open', {}, 1), call('notes_read', {}, 2)], {
        ...bearer(await tok()),
        'mcp-protocol-version': '2025-03-26',
      }),
    status: 403,
    www: stepUp('notes:read openid'),
    records: 2,
  },
  {
    name: 'batch hiding the private call in a notification',
    on: 'endpoint',
    request: () =>
      post([call('open', {}, 1), { jsonrpc: '2.0', method: 'tools/call', params: { name: 'member', arguments: {} } }], {
        'mcp-protocol-version': '2025-03-26',
      }),
    status: 401,
    www: anon(),
    records: 2,
  },
  {
    name: 'nested batch [[private call]]',
    on: 'endpoint',
    request: () => post([[call('member')]], { 'mcp-protocol-version': '2025-03-26' }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32600),
  },
  {
    name: 'duplicate "name" keys: public first, private last',
    on: 'endpoint',
    request: () =>
      post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"open","name":"member","arguments":{}}}'),
    status: 401,
    www: anon(),
  },
  {
    name: 'tool name written with \\u escapes',
    on: 'endpoint',
    request: () =>
      post('{"jsonrpc":"2.0","id":1,"method":"tools\\/call","params":{"name":"m\\u0065mber","arguments":{}}}'),
    status: 401,
    www: anon(),
  },
  {
    name: 'UTF-8 BOM before the JSON',
    on: 'endpoint',
    request: () => post(`\uFEFF${json(call('member'))}`),
    status: 401,
    www: anon(),
  },
  {
    name: '"jsonrpc": "1.0" private call',
    on: 'endpoint',
    request: () => post({ ...call('member'), jsonrpc: '1.0' }),
    status: 401,
    www: anon(),
  },
  {
    name: 'private call with an object id',
    on: 'endpoint',
    request: () => post({ ...call('member'), id: { $gt: 0 } }),
    status: 401,
    www: anon(),
  },
  {
    name: 'private call as a notification (no id)',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'member', arguments: {} } }),
    status: 401,
    www: anon(),
  },
  {
    name: '__proto__ smuggling the tool name: refused by the SDK, one record',
    on: 'endpoint',
    request: () =>
      post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"member"},"arguments":{}}}'),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
];

useHostileStack(['endpoint']);

hostileRows('Batches: every element gated', ROWS);
