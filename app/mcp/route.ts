import { after } from 'next/server';
import { methodNotAllowed } from '@/lib/http/answers';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { registry } from '@/tools';

// Edge: no Node built-ins anywhere below this file (tests/edge/edge-bundle.test.ts proves it).
export const runtime = 'edge';
export const dynamic = 'force-dynamic';

// `after` hands the audit flush to the platform's waitUntil: the response is not delayed by it.
export const POST = createMcpEndpoint({ registry, waitUntil: (task) => after(task) });

// Stateless: no SSE stream to resume and no session to delete. middleware.ts answers every method
// but POST and OPTIONS first; these keep the route's answers JSON where it is served without it.
export function GET(): Response {
  return methodNotAllowed('POST');
}
export function DELETE(): Response {
  return methodNotAllowed('POST');
}
export function PUT(): Response {
  return methodNotAllowed('POST');
}
export function PATCH(): Response {
  return methodNotAllowed('POST');
}
