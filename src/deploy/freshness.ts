import { sql } from 'kysely';
import type { Db } from '../db/connect.js';
import type { DocumentStore } from '../storage/document-store.js';
import { currentVersion, readDeploymentManifest, versionDir } from './layout.js';
import { readStorePointer } from './store-publish.js';

/**
 * Bumped when the archive starts to hold something the fingerprint does not cover (or compiles
 * differently), so every archive published before is rebuilt by the next run.
 */
const FINGERPRINT_FORMAT = 'v1';

/**
 * A digest of everything a site's full archive is compiled from (src/activities/extraction.ts,
 * `archivePages`): its name; each document's kind, meeting, date, source and fetch time; each page's
 * status, text, OCR confidence, entities and votes. Equal fingerprints mean the same archive would
 * be compiled again. Computed by Postgres in one statement: about 10 ms per 1,000 pages.
 */
export async function siteContentFingerprint(db: Db, subdomain: string): Promise<string> {
  const result = await sql<{ site: string | null; documents: string | null; pages: string | null }>`
    select
      (select md5(name) from sites where subdomain = ${subdomain}) as site,
      (select md5(string_agg(
          concat_ws('|', id, status, kind, meeting, meeting_date, part, source_url, content_sha256, fetched_at::text),
          E'\\n' order by id))
        from documents where subdomain = ${subdomain}) as documents,
      (select md5(string_agg(
          concat_ws('|', document_id, page_number::text, status, text_sha256, ocr_confidence::text,
                    md5(coalesce(entities::text, '')), md5(coalesce(votes::text, ''))),
          E'\\n' order by document_id, page_number))
        from pages where subdomain = ${subdomain}) as pages
  `.execute(db);
  const row = result.rows[0];
  return [FINGERPRINT_FORMAT, row?.site ?? '-', row?.documents ?? '-', row?.pages ?? '-'].join(':');
}

export interface ArchiveFreshness {
  /** The live archive is a full one compiled from exactly the site's rows now. */
  current: boolean;
  /** The live version, when the site has one. */
  version: number | null;
  /** Why it is or is not current, for the run's status and the logs. */
  reason: string;
}

/**
 * Whether the site's live archive (the store's pointer when the store is shared, else the deploy
 * folder's `current`) is a full archive compiled from the rows the site has now, and its deploy hook
 * did not fail. Then a run that read nothing new has nothing to build or publish.
 */
export async function liveArchiveFreshness(options: { db: Db; store: DocumentStore; deployDir: string; subdomain: string }): Promise<ArchiveFreshness> {
  const { db, store, deployDir, subdomain } = options;
  const version = store.remote ? ((await readStorePointer(store, subdomain).catch(() => null))?.version ?? null) : currentVersion(deployDir, subdomain);
  if (version === null) return { current: false, version, reason: 'no archive is deployed' };
  if (!store.remote && !readDeploymentManifest(versionDir(deployDir, subdomain, version))) {
    return { current: false, version, reason: `version ${version} is missing from the deploy folder` };
  }
  const row = await db
    .selectFrom('deployments')
    .select(['variant', 'hook_status', 'content_fingerprint'])
    .where('subdomain', '=', subdomain)
    .where('version', '=', version)
    .executeTakeFirst();
  if (!row) return { current: false, version, reason: `version ${version} has no deployment record` };
  if (row.variant !== 'full') return { current: false, version, reason: `version ${version} is the search-only archive` };
  if (row.hook_status === 'failed' || row.hook_status === 'pending') return { current: false, version, reason: `the deploy hook of version ${version} did not succeed` };
  if (!row.content_fingerprint) return { current: false, version, reason: `version ${version} was published before fingerprints were recorded` };
  const now = await siteContentFingerprint(db, subdomain);
  if (now !== row.content_fingerprint) return { current: false, version, reason: `the site changed since version ${version} was compiled` };
  return { current: true, version, reason: `version ${version} is a full archive of the site as it is` };
}
