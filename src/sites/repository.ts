import type { Db } from '../db/connect.js';
import type { SiteRow } from '../db/schema.js';
import { builtInRegistry } from '../fetchers/index.js';
import type { FetcherRegistry } from '../fetchers/registry.js';
import { parseAllowedHost, SiteSettingsError, validateSiteSettings } from '../fetchers/site-settings.js';
import { parseSubdomain } from './subdomain.js';

export class UnknownSiteError extends Error {
  override name = 'UnknownSiteError';
  constructor(readonly subdomain: string) {
    super(`site "${subdomain}" is not registered; add it with: clerk site add ${subdomain} --fetcher <platform> --url <platform URL>`);
  }
}

export interface NewSite {
  subdomain: string;
  name: string;
  fetcher: string;
  sourceUrl: string;
  settings?: Record<string, string>;
  allowedHosts?: string[];
}

/** A site checked against its fetcher, ready to write. */
export interface ValidSite {
  subdomain: string;
  name: string;
  fetcher: string;
  sourceUrl: string;
  settings: Record<string, string>;
  allowedHosts: string[];
}

/**
 * Checks a site before anything is written: its subdomain, a fetcher that exists, a URL of the
 * kind the fetcher reads (http(s), or file:// for `folder`), settings the fetcher understands, and
 * allowed hosts that are hosts. Every error names what is wrong.
 */
export function validateSite(registry: FetcherRegistry, site: NewSite): ValidSite {
  const subdomain = parseSubdomain(site.subdomain);
  const fetcher = registry.get(site.fetcher);
  let url: URL;
  try {
    url = new URL(site.sourceUrl);
  } catch {
    throw new SiteSettingsError(`--url "${site.sourceUrl}" is not a URL`);
  }
  const wanted = fetcher.name === 'folder' ? ['file:'] : ['http:', 'https:'];
  if (!wanted.includes(url.protocol)) {
    throw new SiteSettingsError(`the ${fetcher.name} fetcher needs ${fetcher.name === 'folder' ? 'a file://' : 'an http(s)'} URL, got "${site.sourceUrl}"`);
  }
  const name = (site.name ?? '').trim() || subdomain;
  return {
    subdomain,
    name,
    fetcher: fetcher.name,
    sourceUrl: url.href,
    settings: validateSiteSettings(fetcher, site.settings ?? {}),
    allowedHosts: [...new Set((site.allowedHosts ?? []).map(parseAllowedHost))],
  };
}

/**
 * Registers a site, or updates its name, source, settings and hosts when it exists. The site is
 * validated first (against the built-in fetchers unless a registry with plugins is given), so a
 * bad site never reaches the database.
 */
export async function saveSite(db: Db, site: NewSite, registry: FetcherRegistry = builtInRegistry()): Promise<SiteRow> {
  return saveValidSite(db, validateSite(registry, site));
}

async function saveValidSite(db: Db, site: ValidSite): Promise<SiteRow> {
  const values = {
    name: site.name,
    fetcher: site.fetcher,
    source_url: site.sourceUrl,
    settings: JSON.stringify(site.settings),
    allowed_hosts: JSON.stringify(site.allowedHosts),
    updated_at: new Date(),
  };
  return db
    .insertInto('sites')
    .values({ subdomain: site.subdomain, ...values })
    .onConflict((oc) => oc.column('subdomain').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Registers many sites in one transaction: all of them, or (on any error) none. */
export async function saveSites(db: Db, sites: readonly ValidSite[]): Promise<SiteRow[]> {
  return db.transaction().execute(async (trx) => {
    const saved: SiteRow[] = [];
    for (const site of sites) saved.push(await saveValidSite(trx, site));
    return saved;
  });
}

export async function getSite(db: Db, subdomain: string): Promise<SiteRow> {
  const site = await db.selectFrom('sites').selectAll().where('subdomain', '=', subdomain).executeTakeFirst();
  if (!site) throw new UnknownSiteError(subdomain);
  return site;
}

export async function listSites(db: Db): Promise<SiteRow[]> {
  return db.selectFrom('sites').selectAll().orderBy('subdomain').execute();
}

export async function siteExists(db: Db, subdomain: string): Promise<boolean> {
  return (await db.selectFrom('sites').select('subdomain').where('subdomain', '=', subdomain).executeTakeFirst()) !== undefined;
}

/** What removing a site deletes (its rows cascade from the sites table). */
export interface SiteFootprint {
  subdomain: string;
  documents: number;
  pages: number;
  deployments: number;
}

export async function siteFootprint(db: Db, subdomain: string): Promise<SiteFootprint> {
  await getSite(db, subdomain);
  const count = async (table: 'documents' | 'pages' | 'deployments') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('subdomain', '=', subdomain).executeTakeFirstOrThrow()).n);
  return { subdomain, documents: await count('documents'), pages: await count('pages'), deployments: await count('deployments') };
}

/** Deletes a site and every row that belongs to it. Files in the store are left to `clerk purge --files`. */
export async function removeSite(db: Db, subdomain: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('pages').where('subdomain', '=', subdomain).execute();
    await trx.deleteFrom('job_tracking').where('subdomain', '=', subdomain).execute();
    const deleted = await trx.deleteFrom('sites').where('subdomain', '=', subdomain).executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw new UnknownSiteError(subdomain);
  });
}

/**
 * Keeps what the latest fetch rejected from the site's listings, so operators see it after the run
 * (`clerk site show`): rejections seen again keep their first-seen time, and those the latest fetch
 * no longer met (the page was fixed) are dropped.
 */
export async function recordListingRejections(db: Db, subdomain: string, rejected: readonly { url: string; reason: string }[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const seenAt = new Date();
    const rows = rejected.map((r) => ({ subdomain, url: r.url.slice(0, 2000), reason: r.reason.slice(0, 2000), last_seen_at: seenAt }));
    // A listing page can reject several entries (each reason names its field); the same one twice is kept once.
    const unique = [...new Map(rows.map((r) => [`${r.url}\n${r.reason}`, r])).values()];
    for (let i = 0; i < unique.length; i += 500) {
      await trx
        .insertInto('listing_rejections')
        .values(unique.slice(i, i + 500))
        .onConflict((oc) => oc.columns(['subdomain', 'url', 'reason']).doUpdateSet((eb) => ({ last_seen_at: eb.ref('excluded.last_seen_at') })))
        .execute();
    }
    await trx.deleteFrom('listing_rejections').where('subdomain', '=', subdomain).where('last_seen_at', '<', seenAt).execute();
  });
}

export async function markFetched(db: Db, subdomain: string, at: Date): Promise<void> {
  await db.updateTable('sites').set({ last_fetched_at: at }).where('subdomain', '=', subdomain).execute();
}
