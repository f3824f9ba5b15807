import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * The subject as a span may carry it: HMAC-SHA256 under MCP_TRACE_SUBJECT_KEY, truncated to 128 bits.
 * The same subject hashes alike on every instance sharing the key, so one person's calls can be found
 * across traces, while a trace backend (or anyone reading it) cannot recover or confirm a subject
 * without the key. Without a key, spans carry no subject at all: an unkeyed hash of a user id can be
 * reversed by hashing candidate ids.
 */
export function subjectHasher(key: string | undefined): ((subject: string) => string) | undefined {
  if (!key) return undefined;
  const keyBytes = utf8ToBytes(key);
  return (subject) => bytesToHex(hmac(sha256, keyBytes, utf8ToBytes(subject)).subarray(0, 16));
}
