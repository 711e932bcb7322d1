import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClerkConfig } from '../config/index.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The lookup order bin/setup.mjs prepares: TEMPORAL_CLI, PATH, .tools/temporal, the per-user build cache. */
export function findTemporalCli(config: ClerkConfig): string | undefined {
  if (config.temporal.cliPath) return config.temporal.cliPath;
  const onPath = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const candidates = [
    path.join(projectRoot, '.tools', 'temporal'),
    path.join(config.temporal.cliBuildCacheDir, `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal'),
  ];
  return candidates.find((candidate) => fs.existsSync(candidate));
}
