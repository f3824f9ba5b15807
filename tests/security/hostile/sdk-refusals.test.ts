import { expect } from 'vitest';
import { rpcBody } from '../helpers';
import {
  type Row,
  SDK_ERROR,
  SSE_NOT_FOUND,
  anon,
  bearer,
  call,
  hostileRows,
  post,
  tok,
  useHostileStack,
} from './rows';

/**
 * The hostile matrix, shapes the SDK refuses after the gate: each tools/call still leaves exactly one record.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: '"arguments": null on an allowed call',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: null } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments": null with a valid token on a signed-in tool',
    on: 'endpoint',
    request: async () => post({ ...call('member'), params: { name: 'member', arguments: null } }, bearer(await tok())),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments" as an array',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: [] } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments" as a number',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: 5 } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments" as a string',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: '{}' } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  // The SDK answers a schema failure as a tool error (isError), never reaching the wrapper.
  {
    name: 'arguments failing the input schema',
    on: 'endpoint',
    request: () => post(call('open', { message: 5 })),
    status: 200,
    www: null,
    check: (r) => expect(rpcBody(r)).toMatchObject({ result: { isError: true } }),
  },
  // The SDK does not take these for JSON-RPC requests at all: a 400, and still one record.
  {
    name: '"params": null',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: null }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32600),
  },
  {
    name: 'no "params"',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call' }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"params" as an array',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['open'] }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32600),
  },
  {
    name: 'numeric tool name',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 42, arguments: {} } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: 'unknown tool',
    on: 'endpoint',
    request: () => post(call('no_such_tool')),
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('no_such_tool'),
  },
  {
    name: 'batch [null arguments, valid], 2025-03-26: the valid call runs, two records',
    on: 'endpoint',
    request: () =>
      post([{ ...call('open', {}, 1), params: { name: 'open', arguments: null } }, call('member', {}, 2)], {
        'mcp-protocol-version': '2025-03-26',
      }),
    status: 401,
    www: anon(),
    records: 2,
  },
];

useHostileStack(['endpoint']);

hostileRows('Shapes the SDK refuses after the gate: each tools/call still leaves exactly one record', ROWS);
