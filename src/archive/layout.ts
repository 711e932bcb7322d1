import type { DocumentKind } from '../db/schema.js';

/**
 * Where things live in the DocumentStore, following the original clerk's layout so existing
 * archives and tools keep working: agendas sit under `_agendas/`, pages are numbered from 1.
 */
export interface DocumentIdentity {
  subdomain: string;
  kind: DocumentKind;
  meetingSlug: string;
  date: string;
  /** Set for a second document of one kind, meeting and date (see DiscoveredDocument.part). */
  part?: string | null;
}

/** "2026-01-05", or "2026-01-05-1a2b3c4d" for a second document of the same meeting and day. */
function fileStem(doc: DocumentIdentity): string {
  return doc.part ? `${doc.date}-${doc.part}` : doc.date;
}

function kindRoot(doc: DocumentIdentity): string {
  return doc.kind === 'agenda' ? `${doc.subdomain}/_agendas` : doc.subdomain;
}

export function pdfKey(doc: DocumentIdentity): string {
  return `${kindRoot(doc)}/pdfs/${doc.meetingSlug}/${fileStem(doc)}.pdf`;
}

export function pageTextKey(doc: DocumentIdentity, page: number): string {
  return `${kindRoot(doc)}/txt/${doc.meetingSlug}/${fileStem(doc)}/${page}.txt`;
}

export type ArchiveVariant = 'fast' | 'full';

export function archiveKey(subdomain: string, variant: ArchiveVariant): string {
  return variant === 'full' ? `${subdomain}/meetings.db` : `${subdomain}/meetings-fast.db`;
}
