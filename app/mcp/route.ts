import { after } from 'next/server';
import { auditRefusals } from '@/lib/audit/refusals';
import { methodNotAllowed } from '@/lib/http/answers';
import { behindFrontDoor } from '@/lib/http/front-door';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { registry } from '@/tools';

// Edge: no Node built-ins anywhere below this file (tests/edge/edge-bundle.test.ts proves it).
export const runtime = 'edge';
export const dynamic = 'force-dynamic';

// `after` hands the audit flush to the platform's waitUntil: the response is not delayed by it.
const waitUntil = (task: Promise<unknown>) => after(task);
// A request the front door refuses is audited too.
const onRefused = auditRefusals(waitUntil);

// The front door (Origin, CORS, methods, security headers) runs here as in middleware.ts: JSON POSTs,
// what MCP clients send, skip the middleware (its matcher), and any request can reach a route on a
// host that runs no middleware.
export const POST = behindFrontDoor(createMcpEndpoint({ registry, waitUntil }), onRefused);

// Stateless: no SSE stream to resume and no session to delete. The front door answers these (405,
// 204 or 403) before the handler; the handler is what a request that somehow passed would get.
const refused = async (): Promise<Response> => methodNotAllowed('POST');
export const GET = behindFrontDoor(refused, onRefused);
export const DELETE = behindFrontDoor(refused, onRefused);
export const PUT = behindFrontDoor(refused, onRefused);
export const PATCH = behindFrontDoor(refused, onRefused);
export const OPTIONS = behindFrontDoor(refused, onRefused);
