import type { DocumentRow } from '../db/schema.js';
import type { DiscoveredDocument } from './types.js';

/**
 * skip: known and unchanged as far as the platform says, nothing is requested;
 * conditional: ask with the last download's validators, a 304 downloads nothing;
 * download: fetch the whole document.
 */
export type FetchPlan = 'skip' | 'conditional' | 'download';

type KnownDocument = Pick<DocumentRow, 'status' | 'content_sha256' | 'source_url' | 'etag' | 'last_modified' | 'listed_version'>;

/**
 * How a listed document is fetched, given what clerk already has of it. A second fetch of an
 * unchanged site then downloads nothing: documents the platform stamps with a version are skipped
 * while the stamp is the same, and the others are asked for conditionally when the server gave
 * validators. `full` (`clerk enqueue --full`) re-checks every document.
 */
export function planFetch(doc: Pick<DiscoveredDocument, 'url' | 'version'>, known: KnownDocument | undefined, full: boolean): FetchPlan {
  if (!known || !known.content_sha256 || known.source_url !== doc.url) return 'download';
  const hasValidators = Boolean(known.etag || known.last_modified);
  if (doc.version !== undefined && doc.version !== known.listed_version) return 'download';
  if (full || known.status === 'failed') return hasValidators ? 'conditional' : 'download';
  if (doc.version !== undefined) return 'skip';
  return hasValidators ? 'conditional' : 'skip';
}
