import { type DocumentPageExtraction, extractDocument } from './document.js';

export { type Entities, extractEntities } from './entities.js';
export { type Vote, type VoteChoice, type VoteResult, extractVotes } from './votes.js';
export { type DocumentVote, extractDocument } from './document.js';

/** What is stored for a page (`pages.entities`, `pages.votes`; `entities_json`, `votes_json` in meetings.db). */
export type PageExtraction = DocumentPageExtraction;

/** Entities and votes of one page of text, read as a document of one page. */
export function extractPage(text: string): PageExtraction {
  return extractDocument([text])[0]!;
}
