/**
 * Entities and votes of a whole document, read as one text: votes that run over a page break are
 * read whole, the roll call on page 1 says who was absent for a "Motion carried unanimously" on
 * page 3, and a person has one name throughout ("Council Member Maria Ortiz", "Ortiz", "M. Ortiz").
 * Each vote stays on the page where it starts.
 */
import { type AttendanceEvent, attendeesAt, readAttendance } from './attendance.js';
import { type Entities, extractEntitiesWithVotes, finaliseNames } from './entities.js';
import { joinPages, pageAt, unwrapLines } from './layout.js';
import { nameResolver } from './names.js';
import { type ReadVote, type Vote, type VoteChoice, finishVote, readVotes, statedCounts } from './votes.js';

/** A vote as stored: the page it starts on and the motion's sentence, besides the tally and names. */
export interface DocumentVote extends Vote {
  motion: string | null;
  page: number;
}

export interface DocumentPageExtraction {
  entities: Entities;
  votes: DocumentVote[];
}

/**
 * Entities and votes of every page of one document, in order. `pageNumbers` numbers the pages for
 * the votes (default 1, 2, 3...; pages that could not be read may be missing from `pages`).
 */
export function extractDocument(pages: readonly string[], options: { pageNumbers?: readonly number[] } = {}): DocumentPageExtraction[] {
  const { text, pageStarts } = joinPages(pages);
  const read = readVotes(text);
  const attendance = readAttendance(text);
  const pageEntities = pages.map((page) => {
    const unwrapped = unwrapLines(page);
    return extractEntitiesWithVotes(unwrapped, readVotes(unwrapped).map(finishVote));
  });

  const canonical = nameResolver([
    ...attendance.flatMap((e) => [...e.present, ...e.absent]),
    ...pageEntities.flatMap((e) => e.persons),
    ...read.flatMap((v) => [v.mover, v.seconder, ...v.individual.keys()].filter((n): n is string => n !== null)),
  ]);

  const results: DocumentPageExtraction[] = pageEntities.map((entities) => {
    const persons = finaliseNames(entities.persons.map(canonical));
    // "Carrington" is not a place when a council member is called Carrington
    const personWords = new Set(persons.flatMap((p) => [p.toLowerCase(), p.split(' ').at(-1)!.toLowerCase()]));
    const locations = entities.locations.filter((l) => !personWords.has(l.toLowerCase()));
    return { entities: { persons, orgs: entities.orgs, locations }, votes: [] };
  });
  for (const vote of read) {
    const page = pageAt(pageStarts, vote.at);
    results[page]!.votes.push({ motion: vote.motion, ...completeVote(vote, attendance, canonical), page: options.pageNumbers?.[page] ?? page + 1 });
  }
  return results;
}

const CHOICES: VoteChoice[] = ['aye', 'nay', 'abstain', 'absent'];

/**
 * A read vote with its names resolved and the members it does not name filled in from the
 * attendance at that point: absent members as absent, and the remaining present members with the
 * one choice that makes the stated counts add up ("carried unanimously", "7-2 Chu, Van Dorn no",
 * "X voted against the same. Motion passed."). A vote that states no count, list or name (a bare
 * "Motion Passed") is left as it is.
 */
export function completeVote(vote: ReadVote, attendance: readonly AttendanceEvent[], canonical: (name: string) => string): Vote {
  const individual = new Map<string, VoteChoice>();
  for (const [name, choice] of vote.individual) if (!individual.has(canonical(name))) individual.set(canonical(name), choice);
  const resolved: ReadVote = {
    ...vote,
    mover: vote.mover === null ? null : canonical(vote.mover),
    seconder: vote.seconder === null ? null : canonical(vote.seconder),
    individual,
  };
  const stated = statedCounts(resolved);
  const speaksOfVotes = vote.unanimous || vote.counts !== null || Object.keys(vote.lists).length > 0 || vote.individual.size > 0;
  if (!speaksOfVotes) return finishVote(resolved);

  const { present, absent } = attendeesAt(attendance, vote.end, canonical);
  if (present.size + absent.size === 0) return finishVote(resolved);
  for (const name of absent) if (!individual.has(name)) individual.set(name, 'absent');
  const remaining = [...present].filter((name) => !individual.has(name));
  if (remaining.length === 0) return finishVote(resolved);

  const named = (c: VoteChoice): number => [...individual.values()].filter((v) => v === c).length;
  let fill: VoteChoice | null = null;
  if (vote.unanimous && (stated.nay ?? 0) === 0 && (stated.aye === undefined || stated.aye === named('aye') + remaining.length)) {
    fill = 'aye';
  } else if (stated.aye !== undefined || stated.nay !== undefined) {
    // the one choice whose stated count is short by exactly the members not yet named
    const short = CHOICES.filter((c) => c !== 'absent' && stated[c] !== undefined && stated[c]! > named(c));
    if (short.length === 1 && stated[short[0]!]! - named(short[0]!) === remaining.length) fill = short[0]!;
  } else if (vote.lists.aye === undefined && vote.lists.nay === undefined && !vote.rollCall) {
    // "Raman and Vasquez voted against the same. Motion passed.": the others voted for it
    const choices = new Set([...individual.values()].filter((c) => c !== 'absent'));
    if (vote.result === 'passed' && !choices.has('aye') && choices.size > 0) fill = 'aye';
    if (vote.result === 'failed' && !choices.has('nay') && choices.has('aye')) fill = 'nay';
  }
  if (fill !== null) for (const name of remaining) individual.set(name, fill);
  return finishVote(resolved);
}
