import { createHash } from 'node:crypto';

import { ServiceError } from './errors';
import { Params, RULES } from './params';

/**
 * Offset pagination with opaque tokens. A token records the operation, a hash of the request's filters and the
 * offset, so a token from another operation or another filter set is refused like a forged one.
 */
export function paginate<T>(items: T[], p: Params, operation: string, filters: unknown, maxPage = 100): { page: T[]; nextToken?: string } {
  const maxResults = p.num('MaxResults', { integer: true, min: 1, max: maxPage }) ?? maxPage;
  const token = p.str('NextToken', RULES.nextToken);
  const scope = createHash('sha256').update(`${operation}\n${JSON.stringify(filters ?? null)}`).digest('hex').slice(0, 16);
  let offset = 0;
  // An empty token is the first page, as on AWS (the developer guide's own ListDatasetEntries example sends one first).
  if (token !== undefined && token !== '') offset = decodeToken(token, scope);
  const page = items.slice(offset, offset + maxResults);
  const next = offset + maxResults;
  return { page, nextToken: next < items.length ? encodeToken(scope, next) : undefined };
}

function encodeToken(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: scope, o: offset })).toString('base64');
}

function decodeToken(token: string, scope: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { s?: unknown; o?: unknown };
    if (parsed.s === scope && typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // falls through to the error below
  }
  throw new ServiceError('InvalidPaginationTokenException', 'Invalid pagination token.');
}
