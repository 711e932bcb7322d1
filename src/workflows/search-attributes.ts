import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the dev server at start and on a cluster by the compose setup, so the Web UI can filter. */
export const siteSearchAttribute = defineSearchAttributeKey('ClerkSite', SearchAttributeType.KEYWORD);
export const stageSearchAttribute = defineSearchAttributeKey('ClerkStage', SearchAttributeType.KEYWORD);

export const clerkSearchAttributes = [siteSearchAttribute, stageSearchAttribute];
