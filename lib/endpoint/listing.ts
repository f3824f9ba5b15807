import type { McpServer, StandardSchemaWithJSON, Tool } from '@modelcontextprotocol/server';
import type { ToolDefinition } from '../registry';
import { deepFreeze } from '../util/deep-freeze';

/**
 * What `tools/list` shows, computed once. The SDK converts a tool's zod schema to JSON Schema every
 * time it lists it (and, on 2026-07-28, every time it is called), on a server mcp-handler builds per
 * request. Here a definition's JSON Schema is made once per definition and target, and a listing is
 * made once per visible tool set (lib/dispatch.ts keeps one handler per set): still per caller in
 * what it contains, never per request in what it costs.
 */

type Args = Record<string, unknown>;
type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

const schemas = new WeakMap<ToolDefinition, StandardSchemaWithJSON<Args>>();

/**
 * The tool's input schema as the SDK takes it: zod's own validation, and a JSON Schema converted
 * once per target and frozen (shared by every request, so nothing may change it).
 */
export function listedInput(tool: ToolDefinition): StandardSchemaWithJSON<Args> {
  const known = schemas.get(tool);
  if (known) return known;
  const std = tool.input['~standard'];
  const converted = new Map<string, JsonSchema>();
  const once =
    (io: Io) =>
    (params: { target: string; libraryOptions?: Record<string, unknown> }): JsonSchema => {
      const key = `${io}:${params.target}`;
      let json = converted.get(key);
      if (!json) {
        json = deepFreeze(std.jsonSchema[io](params));
        converted.set(key, json);
      }
      return json;
    };
  const schema: StandardSchemaWithJSON<Args> = Object.freeze({
    '~standard': Object.freeze({
      version: 1 as const,
      vendor: std.vendor,
      validate: std.validate as StandardSchemaWithJSON<Args>['~standard']['validate'],
      jsonSchema: Object.freeze({ input: once('input'), output: once('output') }),
    }),
  });
  schemas.set(tool, schema);
  return schema;
}

/** The SDK's own entry for one tool (same fields, same order), from the schema it would convert. */
function entryFor(tool: ToolDefinition, convert: (schema: StandardSchemaWithJSON<Args>) => JsonSchema): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: convert(listedInput(tool)) as Tool['inputSchema'],
    annotations: tool.annotations && { ...tool.annotations },
  };
}

/**
 * Replaces the SDK's `tools/list` handler of one server with a listing of `tools` built on first use
 * and then reused by every server of the same handler. `convert` is the SDK's conversion (so the
 * JSON Schema is exactly what it would list); the result is frozen.
 */
export function cachedListing(tools: readonly ToolDefinition[]): (server: McpServer) => void {
  let listed: readonly Tool[] | undefined;
  return (server) => {
    server.server.setRequestHandler('tools/list', () => {
      listed ??= deepFreeze(tools.map((tool) => entryFor(tool, toJsonSchema)));
      // A fresh envelope per request: the SDK attaches the cache hint to it.
      return { tools: listed as Tool[] };
    });
  };
}

/** The SDK's "input" conversion for a tool (an object schema, target draft 2020-12). */
function toJsonSchema(schema: StandardSchemaWithJSON<Args>): JsonSchema {
  const result = schema['~standard'].jsonSchema.input({ target: 'draft-2020-12' });
  if (result.type !== undefined && result.type !== 'object') throw new Error('MCP tool schemas must describe objects');
  return { type: 'object', ...result };
}
