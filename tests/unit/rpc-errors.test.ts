import { describe, expect, it } from 'vitest';
import { RPC_ERRORS } from '../../lib/http/answers';
import { HEADER_MISMATCH } from '../../lib/wire/headers';
import { METHOD_NOT_FOUND } from '../../lib/wire/unserved';

/**
 * 2026-07-28 schema, "MCP error codes": -32000..-32019 are implementation-defined, -32020..-32099
 * are the specification's own, and -32002 / -32042 (earlier revisions) are never reused.
 */
const JSON_RPC_STANDARD = new Set([-32700, -32600, -32601, -32602, -32603]);
const implementationDefined = (code: number) => code <= -32000 && code >= -32019;

describe('error codes this project emits', () => {
  it.each(Object.entries(RPC_ERRORS))(
    '%s (%i) is a JSON-RPC standard code or implementation-defined',
    (_name, code) => {
      expect(JSON_RPC_STANDARD.has(code) || implementationDefined(code)).toBe(true);
      expect([-32002, -32042]).not.toContain(code);
    },
  );

  it('uses spec-range codes only as the spec defines them', () => {
    expect(HEADER_MISMATCH).toBe(-32020);
    expect(METHOD_NOT_FOUND).toBe(-32601);
  });
});
