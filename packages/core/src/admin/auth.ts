import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The credentials of `Authorization: Bearer <token>`. RFC 9110 §11.1: the scheme is case-insensitive
 * (`bearer`, `BEARER`) and is followed by one or more spaces.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'bearer')
    return undefined;
  if (header[6] !== ' ') return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

/** `Authorization: Bearer <token>`, compared in constant time (hashing first makes lengths equal). */
export function hasAdminToken(headers: IncomingHttpHeaders, token: string | null): boolean {
  if (token === null) return false;
  const given = bearerToken(headers.authorization);
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}
