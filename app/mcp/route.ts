import { methodNotAllowed } from '@/lib/http';
import { createMcpEndpoint } from '@/lib/mcp';
import { registry } from '@/tools';

// Edge: no Node built-ins anywhere below this file (tests/edge/edge-bundle.test.ts proves it).
export const runtime = 'edge';
export const dynamic = 'force-dynamic';

export const POST = createMcpEndpoint({ registry });

// Stateless: no SSE stream to resume and no session to delete.
export function GET(): Response {
  return methodNotAllowed('POST');
}
export function DELETE(): Response {
  return methodNotAllowed('POST');
}
