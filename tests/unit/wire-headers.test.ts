import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../lib/wire/envelope';
import { checkWireHeaders, decodeHeaderValue } from '../../lib/wire/headers';

/** The mirrored-header decision as a table: each row is headers + body -> pass or the -32020 reason. */
const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
};
const modern = (method: string, params: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method,
  params: { ...params, _meta: META },
});
const legacy = (method: string, params: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id: 1, method, params });
const std = (method: string, name?: string) => ({
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': method,
  ...(name === undefined ? {} : { 'mcp-name': name }),
});
const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

const rows: Array<[string, Record<string, string>, unknown, string]> = [
  ['modern call, headers agree', std('tools/call', 'ping'), modern('tools/call', { name: 'ping' }), 'pass'],
  [
    'modern call, Mcp-Name in Base64 agrees',
    std('tools/call', b64('ping')),
    modern('tools/call', { name: 'ping' }),
    'pass',
  ],
  [
    'Mcp-Name names a public tool, body calls a private one',
    std('tools/call', 'ping'),
    modern('tools/call', { name: 'whoami' }),
    'name_header_mismatch',
  ],
  [
    'Mcp-Name names a private tool, body calls a public one',
    std('tools/call', 'whoami'),
    modern('tools/call', { name: 'ping' }),
    'name_header_mismatch',
  ],
  [
    'Mcp-Name in Base64 disagrees',
    std('tools/call', b64('ping')),
    modern('tools/call', { name: 'whoami' }),
    'name_header_mismatch',
  ],
  [
    'Mcp-Name with a broken Base64 sentinel',
    std('tools/call', '=?base64?***?='),
    modern('tools/call', { name: 'ping' }),
    'name_header_invalid',
  ],
  ['Mcp-Name missing on tools/call', std('tools/call'), modern('tools/call', { name: 'ping' }), 'name_header_missing'],
  [
    'Mcp-Method names tools/list, body is tools/call',
    std('tools/list', 'whoami'),
    modern('tools/call', { name: 'whoami' }),
    'method_header_mismatch',
  ],
  ['Mcp-Method missing', { 'mcp-protocol-version': '2026-07-28' }, modern('tools/list'), 'method_header_missing'],
  ['MCP-Protocol-Version missing', { 'mcp-method': 'tools/list' }, modern('tools/list'), 'version_header_missing'],
  [
    'MCP-Protocol-Version names the older revision',
    { ...std('tools/list'), 'mcp-protocol-version': '2025-11-25' },
    modern('tools/list'),
    'version_header_mismatch',
  ],
  [
    'resources/read: Mcp-Name mirrors the uri',
    std('resources/read', 'notes://2'),
    modern('resources/read', { uri: 'notes://1' }),
    'name_header_mismatch',
  ],
  ['tools/list needs no Mcp-Name', std('tools/list'), modern('tools/list'), 'pass'],
  [
    'surrounding whitespace is not a mismatch',
    { ...std('tools/call'), 'mcp-name': ' ping\t' },
    modern('tools/call', { name: 'ping' }),
    'pass',
  ],
  // 2025-11-25 defines none of these headers: nothing is required there.
  [
    'legacy call without headers',
    { 'mcp-protocol-version': '2025-11-25' },
    legacy('tools/call', { name: 'whoami' }),
    'pass',
  ],
  ['legacy initialize', {}, legacy('initialize', { protocolVersion: '2025-11-25' }), 'pass'],
  [
    'modern notification without headers',
    {},
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: META } },
    'pass',
  ],
  ['unparseable body is left to the SDK', std('tools/call', 'x'), undefined, 'pass'],
];

describe('checkWireHeaders', () => {
  it.each(rows)('%s', (_name, headers, body, expected) => {
    const decision = checkWireHeaders(new Headers(headers), parseEnvelope(body, null));
    if (expected === 'pass') {
      expect(decision).toMatchObject({ ok: true });
    } else {
      expect(decision).toMatchObject({ ok: false, status: 400, code: -32020, reason: expected });
    }
  });

  it('never echoes a header value in its message', () => {
    const decision = checkWireHeaders(
      new Headers(std('tools/call', '<script>x</script>')),
      parseEnvelope(modern('tools/call', { name: 'ping' }), null),
    );
    expect(decision.ok).toBe(false);
    expect(JSON.stringify(decision)).not.toContain('script');
  });
});

describe('decodeHeaderValue', () => {
  it.each([
    ['plain', 'plain'],
    [b64('héllo'), 'héllo'],
    ['=?base64?aGk?=', undefined], // not canonical (no padding)
    ['=?base64?/w==?=', undefined], // not UTF-8
  ])('%s', (input, expected) => expect(decodeHeaderValue(input)).toBe(expected));
});
