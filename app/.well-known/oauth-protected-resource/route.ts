export const runtime = 'edge';
export const dynamic = 'force-dynamic';
export { GET, OPTIONS } from './metadata-route';
