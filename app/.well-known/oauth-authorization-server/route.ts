import { getConfig } from '@/lib/config';
import { misconfigured } from '@/lib/http/answers';
import { authorizationServerMetadata, publicJson, publicPreflight } from '@/lib/metadata';

export const runtime = 'edge';
export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  let config: ReturnType<typeof getConfig>;
  try {
    config = getConfig();
  } catch {
    return misconfigured();
  }
  const metadata = await authorizationServerMetadata(config);
  if (metadata === undefined) {
    return publicJson(
      { error: 'temporarily_unavailable', error_description: 'The authorization server metadata could not be fetched' },
      { status: 503, headers: { 'retry-after': '10' } },
    );
  }
  return publicJson(metadata, { maxAge: 300 });
}

export const OPTIONS = publicPreflight;
