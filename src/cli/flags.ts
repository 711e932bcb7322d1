import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../ops/health.js';

/** Commander parsers for flag values shared by several commands; a bad value exits with usage. */

/** A duration such as 90s, 30m or 4h, in milliseconds; `0` (with or without a unit) is allowed. */
export function durationFlag(value: string): number {
  if (/^\s*0+\s*(ms|s|m|h|d)?\s*$/.test(value)) return 0;
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 4h or 0s');
  return ms;
}

/** A whole number, 1 or more. */
export function positiveIntegerFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number, 1 or more');
  return n;
}
