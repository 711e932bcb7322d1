import { type Entities, extractEntitiesWithVotes } from './entities.js';
import { type Vote, extractVotes } from './votes.js';

export { type Entities, extractEntities } from './entities.js';
export { type Vote, type VoteChoice, type VoteResult, extractVotes } from './votes.js';

export interface PageExtraction {
  entities: Entities;
  votes: Vote[];
}

/** Entities and votes of one page of text. Votes are found once and reused for the entities. */
export function extractPage(text: string): PageExtraction {
  const votes = extractVotes(text);
  return { entities: extractEntitiesWithVotes(text, votes), votes };
}
