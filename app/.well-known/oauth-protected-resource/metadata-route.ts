import { getConfig } from '@/lib/config';
import { misconfigured } from '@/lib/http/answers';
import { protectedResourceMetadata, publicJson, publicPreflight } from '@/lib/metadata';
import { registry } from '@/tools';

/** Shared by the root and the path-inserted (/mcp) metadata routes: one document, one resource. */
export function GET(): Response {
  try {
    return publicJson(protectedResourceMetadata(getConfig(), registry.scopes()), { maxAge: 300 });
  } catch {
    return misconfigured();
  }
}

export const OPTIONS = publicPreflight;
