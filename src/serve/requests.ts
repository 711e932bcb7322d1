import type { DocumentKind } from '../db/schema.js';
import type { SearchFilters } from './queries.js';

/** A request the server refuses with a status and a sentence saying why (400, 404). */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpProblem(404, what);
export const badRequest = (why: string) => new HttpProblem(400, why);

export const PER_PAGE = 20;
/** Deeper pages would make every site rank tens of thousands of matches for one response. */
export const MAX_PAGE = 500;
const MAX_QUERY_LENGTH = 500;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface SearchRequest {
  filters: SearchFilters;
  page: number;
}

/**
 * The search parameters of a query string (q, body, from, to, kind, page), checked. An empty q is
 * allowed only where the page shows a form without results (`required: false`).
 */
export function readSearchRequest(query: Record<string, string | undefined>, options: { required: boolean }): SearchRequest {
  const q = (query.q ?? '').trim();
  if (q === '' && options.required) throw badRequest('q is required: the words to search for');
  if (q.length > MAX_QUERY_LENGTH) throw badRequest(`q is longer than ${MAX_QUERY_LENGTH} characters`);
  const from = readDate(query.from, 'from');
  const to = readDate(query.to, 'to');
  if (from && to && from > to) throw badRequest(`from (${from}) is after to (${to})`);
  return {
    filters: { q, body: emptyToNull(query.body), from, to, kind: readKind(query.kind) },
    page: readPageNumber(query.page),
  };
}

export function readPageNumber(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE) throw badRequest(`page must be a whole number from 1 to ${MAX_PAGE}`);
  return Number(value);
}

function readDate(value: string | undefined, name: string): string | null {
  if (value === undefined || value === '') return null;
  const match = DATE.exec(value);
  // Date.UTC rolls 2025-02-30 over to March: a date that does not survive the round trip is not a date.
  const valid = match && new Date(Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!)).toISOString().slice(0, 10) === value;
  if (!valid) throw badRequest(`${name} must be a date written YYYY-MM-DD`);
  return value;
}

function readKind(value: string | undefined): DocumentKind | null {
  if (value === undefined || value === '' || value === 'any') return null;
  if (value === 'minutes' || value === 'agenda') return value;
  throw badRequest('kind must be minutes or agenda');
}

function emptyToNull(value: string | undefined): string | null {
  return value === undefined || value.trim() === '' ? null : value.trim();
}
