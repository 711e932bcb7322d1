import type { z } from 'zod';
import { ListingFormatError } from './types.js';

/** "EventDate", "[3].EventDate", "value[0].publishedFiles[1].url": where zod found the problem. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(the whole body)';
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `field ${fieldPath(issue.path)}: ${issue.message}`)
    .join('; ');
}

/** Validates a whole listing body; a mismatch fails the listing with the field it found wrong. */
export function parseListing<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ListingFormatError(`${where} is not the platform's documented format: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * Validates each entry of a listing on its own: a bad entry is handed to `onBad` with the field
 * that is wrong (for example "[3].EventDate: expected string"), and the good ones are kept.
 */
export function parseEntries<T>(schema: z.ZodType<T>, entries: readonly unknown[], onBad: (index: number, reason: string) => void): T[] {
  const good: T[] = [];
  entries.forEach((entry, index) => {
    const result = schema.safeParse(entry);
    if (result.success) good.push(result.data);
    else onBad(index, result.error.issues.slice(0, 3).map((issue) => `field ${fieldPath([index, ...issue.path])}: ${issue.message}`).join('; '));
  });
  return good;
}
