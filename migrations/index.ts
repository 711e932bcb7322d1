import type { Migration } from 'kysely';
import * as initial from './2026-11-23T00-initial.js';

/**
 * Every migration, by name, in order. Listed statically rather than read from the folder so the
 * same code runs under tsx, vitest and a compiled build alike.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-23T00-initial': initial,
};
