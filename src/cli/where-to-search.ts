import path from 'node:path';
import type { ClerkConfig } from '../config/index.js';

export function whereToSearch(config: ClerkConfig, subdomain: string): string {
  const archive = path.join(config.deployDir, subdomain, 'meetings.db');
  return [
    `  Search:    clerk search ${subdomain} <words>`,
    `             or clerk serve, then http://127.0.0.1:8080/sites/${subdomain}`,
    `             or open ${archive} (SQLite; FTS5 tables minutes_fts and agendas_fts)`,
  ].join('\n');
}
