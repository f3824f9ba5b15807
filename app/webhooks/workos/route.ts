import { after } from 'next/server';
import { createWorkosWebhookEndpoint } from '@/lib/endpoint/webhook';

// WorkOS events (Dashboard -> Webhooks: https://<your domain>/webhooks/workos, secret in
// WORKOS_WEBHOOK_SECRET) feed the shared deny list. Server-to-server: no Origin, no CORS.
export const runtime = 'edge';
export const dynamic = 'force-dynamic';

const waitUntil = (task: Promise<unknown>) => after(task);

export const POST = createWorkosWebhookEndpoint({ waitUntil });
