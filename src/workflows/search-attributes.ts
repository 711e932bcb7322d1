import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/**
 * Registered on the dev server at start and on a cluster by the compose setup, so the Web UI can
 * filter. Every workflow of a site run carries the site and the stage, and its kind, so
 * `ClerkSite = "x"` lists the site's whole tree and `ClerkKind = "site"` only the site runs.
 */
export const siteSearchAttribute = defineSearchAttributeKey('ClerkSite', SearchAttributeType.KEYWORD);
export const stageSearchAttribute = defineSearchAttributeKey('ClerkStage', SearchAttributeType.KEYWORD);
export const kindSearchAttribute = defineSearchAttributeKey('ClerkKind', SearchAttributeType.KEYWORD);

export const clerkSearchAttributes = [siteSearchAttribute, stageSearchAttribute, kindSearchAttribute];

export type WorkflowKind = 'site' | 'document' | 'page-batch';

/** The attributes a document or page-batch child starts with: its work is always OCR. */
export function ocrChildSearchAttributes(subdomain: string, kind: Exclude<WorkflowKind, 'site'>): SearchAttributePair[] {
  return [
    { key: siteSearchAttribute, value: subdomain },
    { key: stageSearchAttribute, value: 'ocr' },
    { key: kindSearchAttribute, value: kind },
  ];
}
