const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// Bits of the last base64url character that carry no data, by segment length mod 4 (RFC 4648 §3.5).
const UNUSED_BITS: Record<number, number> = { 0: 0, 2: 0b1111, 3: 0b11 };

/**
 * Whether a base64url segment (no padding) is the one spelling of its bytes: only the alphabet, and
 * the unused trailing bits all zero. Decoders accept other spellings of the same bytes, so anything
 * compared or keyed as a string (a token, a sealed state) must pass this before it is trusted.
 */
export function isCanonicalBase64url(segment: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return false;
  const mask = UNUSED_BITS[segment.length % 4];
  if (mask === undefined) return false;
  return mask === 0 || (B64URL.indexOf(segment[segment.length - 1] ?? '') & mask) === 0;
}
