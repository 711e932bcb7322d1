import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import type { FetcherRegistry } from '../fetchers/registry.js';
import { parseSettingFlags } from '../fetchers/site-settings.js';
import { validateSite, type ValidSite } from './repository.js';

/** One row of a sites file, before validation. */
const siteEntry = z.object({
  subdomain: z.string(),
  name: z.string().optional(),
  fetcher: z.string(),
  url: z.string(),
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  allow_hosts: z.array(z.string()).optional(),
});

export interface SitesFileError {
  /** 1-based: the data row in a CSV (after the header), the array index + 1 in JSON. */
  row: number;
  subdomain: string | null;
  message: string;
}

export class SitesFileInvalidError extends Error {
  override name = 'SitesFileInvalidError';
  constructor(readonly errors: SitesFileError[]) {
    super(`${errors.length} row${errors.length === 1 ? '' : 's'} of the sites file ${errors.length === 1 ? 'is' : 'are'} invalid; nothing was written:\n${errors.map((e) => `  row ${e.row}${e.subdomain ? ` (${e.subdomain})` : ''}: ${e.message}`).join('\n')}`);
  }
}

/**
 * Reads a sites file (CSV with a header row `subdomain,name,fetcher,url,settings,allow_hosts`, or
 * a JSON array of the same fields) and validates every row, collecting an error per bad row. It
 * returns the sites only when all are valid, so an import writes all of them or none.
 */
export function readSitesFile(content: string, format: 'csv' | 'json', registry: FetcherRegistry): ValidSite[] {
  const rows = format === 'json' ? jsonRows(content) : csvRows(content);
  const errors: SitesFileError[] = [];
  const valid: ValidSite[] = [];
  const seen = new Map<string, number>();
  rows.forEach((raw, index) => {
    const row = index + 1;
    const subdomain = typeof (raw as { subdomain?: unknown })?.subdomain === 'string' ? (raw as { subdomain: string }).subdomain : null;
    const parsed = siteEntry.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      errors.push({ row, subdomain, message: `field ${issue.path.join('.') || '(row)'}: ${issue.message}` });
      return;
    }
    try {
      const site = validateSite(registry, {
        subdomain: parsed.data.subdomain,
        name: parsed.data.name ?? parsed.data.subdomain,
        fetcher: parsed.data.fetcher,
        sourceUrl: parsed.data.url,
        settings: parsed.data.settings ?? {},
        allowedHosts: parsed.data.allow_hosts ?? [],
      });
      const earlier = seen.get(site.subdomain);
      if (earlier !== undefined) throw new Error(`${site.subdomain} is already on row ${earlier}`);
      seen.set(site.subdomain, row);
      valid.push(site);
    } catch (error) {
      errors.push({ row, subdomain, message: (error as Error).message });
    }
  });
  if (errors.length > 0) throw new SitesFileInvalidError(errors);
  return valid;
}

function jsonRows(content: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    throw new SitesFileInvalidError([{ row: 0, subdomain: null, message: `not JSON: ${(error as Error).message}` }]);
  }
  if (!Array.isArray(parsed)) throw new SitesFileInvalidError([{ row: 0, subdomain: null, message: 'a JSON sites file is an array of sites' }]);
  return parsed;
}

function csvRows(content: string): unknown[] {
  let records: Record<string, string>[];
  try {
    records = parseCsv(content, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (error) {
    throw new SitesFileInvalidError([{ row: 0, subdomain: null, message: `not CSV: ${(error as Error).message}` }]);
  }
  return records.map((record) => {
    const { settings, allow_hosts: allowHosts, name, ...rest } = record;
    let parsedSettings: Record<string, string> | string = settings ?? '';
    try {
      parsedSettings = parseSettingFlags((settings ?? '').split(';').map((s) => s.trim()).filter(Boolean));
    } catch {
      // Left as a string: validation then names the settings field.
    }
    return {
      ...rest,
      ...(name ? { name } : {}),
      settings: parsedSettings,
      allow_hosts: (allowHosts ?? '').split(/[\s;]+/).filter(Boolean),
    };
  });
}
