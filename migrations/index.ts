import type { Migration } from 'kysely';
import * as initial from './2026-11-23T00-initial.js';
import * as pageSize from './2026-12-02T00-page-size.js';
import * as siteSources from './2026-12-03T00-site-sources.js';
import * as ocrQuality from './2026-12-03T01-ocr-quality.js';
import * as versionedDeploys from './2026-12-03T02-versioned-deploys.js';
import * as jobHost from './2026-12-03T04-job-host.js';
import * as deploymentFingerprint from './2026-12-03T05-deployment-fingerprint.js';

/**
 * Every migration, by name, in order. Listed statically rather than read from the folder so the
 * same code runs under tsx, vitest and a compiled build alike.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-23T00-initial': initial,
  '2026-12-02T00-page-size': pageSize,
  '2026-12-03T00-site-sources': siteSources,
  '2026-12-03T01-ocr-quality': ocrQuality,
  '2026-12-03T02-versioned-deploys': versionedDeploys,
  '2026-12-03T04-job-host': jobHost,
  '2026-12-03T05-deployment-fingerprint': deploymentFingerprint,
};
