import type { Db } from '../db/connect.js';
import type { SiteRow } from '../db/schema.js';
import { knownFetchers } from '../fetchers/index.js';
import { parseSubdomain } from './subdomain.js';

export class UnknownSiteError extends Error {
  override name = 'UnknownSiteError';
  constructor(readonly subdomain: string) {
    super(`site "${subdomain}" is not registered; add it with: clerk site add ${subdomain} --url <index page URL>`);
  }
}

export interface NewSite {
  subdomain: string;
  name: string;
  fetcher: string;
  sourceUrl: string;
}

/** Registers a site, or updates its name and source when it exists. */
export async function saveSite(db: Db, site: NewSite): Promise<SiteRow> {
  const subdomain = parseSubdomain(site.subdomain);
  if (!knownFetchers.includes(site.fetcher)) {
    throw new Error(`unknown fetcher "${site.fetcher}"; known: ${knownFetchers.join(', ')}`);
  }
  const url = new URL(site.sourceUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`source URL must be http(s), got "${site.sourceUrl}"`);
  const values = { name: site.name, fetcher: site.fetcher, source_url: url.href, updated_at: new Date() };
  return db
    .insertInto('sites')
    .values({ subdomain, ...values })
    .onConflict((oc) => oc.column('subdomain').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
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
