/**
 * Persons, organisations and locations in council-minutes text.
 *
 * Strong council-specific rules (titles, roll calls, motions, organisation and street suffixes)
 * are combined with compromise's people()/places()/organizations(), whose usual mistakes on
 * minutes are corrected: "Sierra Club" as a person, "City Manager" as a place, titles kept on names.
 */
import nlp from 'compromise';
import {
  NON_NAME_WORDS,
  type Span,
  cleanName,
  findAppositivePersons,
  findLists,
  findOrgs,
  findPlaces,
  findPlacesInRegions,
  findTitledPersons,
  isBareTitle,
  isGenericVenue,
  orgSuffixOf,
  placeSuffixOf,
  stripTitles,
} from './council-patterns.js';
import { unwrapLines } from './layout.js';
import { type Vote, extractVotes, votePersons } from './votes.js';

export interface Entities {
  persons: string[];
  orgs: string[];
  locations: string[];
}

interface NlpMatch {
  text: string;
  offset?: { start: number; length: number };
}

const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/** Trim punctuation, quotes and a possessive; collapse whitespace. */
function tidy(phrase: string): string {
  return phrase
    .replace(/\s+/g, ' ')
    .replace(/^[\s"'“”‘’([{,;:.-]+/u, '')
    .replace(/[\s"'“”‘’)\]},;:.!?-]+$/u, '')
    .replace(/['’]s$/u, '')
    .trim();
}

function stripLeadingArticle(phrase: string): string {
  return phrase.replace(/^(?:the|a|an)\s+/i, '');
}

/** Deduplicate case-insensitively (first spelling wins) and sort. */
export function finaliseNames(values: Iterable<string>): string[] {
  return finalise(values);
}

function finalise(values: Iterable<string>): string[] {
  const byKey = new Map<string, string>();
  for (const v of values) {
    const t = v.trim();
    if (t === '') continue;
    const key = t.toLowerCase();
    if (!byKey.has(key)) byKey.set(key, t);
  }
  return [...byKey.values()].sort((a, b) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

function inside(spans: readonly Span[], start: number, end: number): boolean {
  return spans.some((s) => start >= s.start && end <= s.end && (start > s.start || end < s.end));
}

function overlaps(spans: readonly Span[], start: number, end: number): boolean {
  return spans.some((s) => start < s.end && end > s.start);
}

/**
 * compromise often cuts a proper-noun phrase short ("Park Street Resurfacing| Project",
 * "Pacific Gas| and Electric"): a match that runs on into a capitalised word or "and"/"of" + a
 * capitalised word on the same line is a fragment, not an entity.
 */
function isFragment(text: string, start: number, end: number, kind: 'person' | 'other'): boolean {
  if (kind === 'other' && /^[ \t]+(?:(?:and|of|&)[ \t]+)?\p{Lu}/u.test(text.slice(end, end + 40))) return true;
  const before = text.slice(Math.max(0, start - 30), start);
  const previous = /(\p{Lu}[\p{L}'’-]*)[ \t]+$/u.exec(before);
  if (previous === null || /(?:^|[.;:!?]\s*)\p{Lu}[\p{L}'’-]*[ \t]+$/u.test(before)) return false;
  // "Mayor Ashcraft" is a person after a title; "Santa Clara" is not a person called Clara
  return kind === 'other' || !NON_NAME_WORDS.has(previous[1]!.toLowerCase());
}

/**
 * "Ortiz" and "Maria Ortiz" on one page are one person: a lone surname folds into the only
 * full name that ends with it. With two candidates ("Maria Ortiz", "Luis Ortiz") it stays.
 */
function foldSurnames(persons: Set<string>): Set<string> {
  const full = [...persons].filter((p) => p.includes(' '));
  const out = new Set<string>();
  for (const p of persons) {
    if (!p.includes(' ')) {
      const owners = full.filter((f) => f.toLowerCase().endsWith(` ${p.toLowerCase()}`));
      if (owners.length === 1) continue;
    }
    out.add(p);
  }
  return out;
}

/**
 * All-caps lines (headings, shouted roll calls) are blanked out before compromise sees them:
 * the council rules already read their names, compromise tags such lines poorly ("ORAL
 * COMMUNICATIONS" as an organisation) and slowly. Same length, so offsets stay valid.
 */
function blankShoutedLines(text: string): string {
  return text.replace(/^[^\n\p{Ll}]*\p{Lu}[^\n\p{Ll}]*\p{Lu}[^\n\p{Ll}]*$/gmu, (line) => ' '.repeat(line.length));
}

/**
 * Roll-call and vote lists are blanked out too: the list parser has read their names, and
 * compromise is most of extraction's time. Same length, so offsets stay valid.
 */
function blankSpans(text: string, spans: readonly { start: number; end: number }[]): string {
  let out = text;
  for (const { start, end } of spans) out = out.slice(0, start) + out.slice(start, end).replace(/[^\n]/g, ' ') + out.slice(end);
  return out;
}

/** Shared by {@link extractEntities} and `extractPage`, which has already found the votes. */
export function extractEntitiesWithVotes(text: string, votes: readonly Vote[]): Entities {
  const persons = new Set<string>();
  const orgs = new Set<string>();
  const locations = new Set<string>();

  // 1. strong rules
  const orgSpans = findOrgs(text);
  for (const o of orgSpans) orgs.add(o.text);
  const placeSpans = [...findPlaces(text), ...findPlacesInRegions(text)].filter((p) => !inside(orgSpans, p.start, p.end));
  const lists = findLists(text);
  for (const p of placeSpans) locations.add(p.text);
  const rulePersons = [
    ...findTitledPersons(text),
    ...findAppositivePersons(text),
    ...lists.flatMap((l) => l.names),
    ...votePersons(votes),
  ];
  for (const p of rulePersons) persons.add(p);

  // 2. compromise, corrected
  const doc = nlp(blankSpans(blankShoutedLines(text), lists));
  const json = (view: { json: (opts: object) => unknown }): NlpMatch[] => view.json({ offset: true, terms: false }) as NlpMatch[];
  const blockers = [...orgSpans, ...placeSpans];
  const skip = (m: NlpMatch, kind: 'person' | 'other'): boolean => {
    if (m.offset === undefined) return false;
    const start = m.offset.start;
    const end = start + tidy(m.text).length;
    return overlaps(blockers, start, end) || isFragment(text, start, end, kind);
  };
  /** Headings ("ORAL COMMUNICATIONS") are not organisations or places. */
  const isHeading = (phrase: string): boolean => phrase.includes(' ') && phrase === phrase.toUpperCase();

  const classify = (raw: string, source: 'person' | 'place' | 'org'): void => {
    const phrase = stripLeadingArticle(tidy(raw));
    if (phrase === '' || !/\p{L}{2}/u.test(phrase) || isBareTitle(phrase)) return;
    const words = phrase.split(' ');
    if (words.length >= 2 && orgSuffixOf(phrase) !== null) {
      // "Sierra Club" tagged as a person; "City Council" tagged as a place
      if (!isBareTitle(stripTitles(phrase) || phrase)) orgs.add(phrase);
      return;
    }
    if (words.length >= 2 && placeSuffixOf(phrase) !== null && source !== 'org') {
      locations.add(phrase);
      return;
    }
    if (source === 'person') {
      const name = cleanName(phrase, 'start');
      if (name !== null) persons.add(name);
      return;
    }
    if (source === 'place') {
      // a title left at the front ("City Manager Ott") or a person's name is not a place
      if (stripTitles(phrase) !== phrase) return;
      // "City of Alameda" is the city as a body politic
      if (/^(?:City|Town|County|Village|State|Province) of\b/.test(phrase)) return;
      locations.add(phrase);
      return;
    }
    // a fund or a plan is money or paper, not a body
    if (/\b(?:Fund|Account|Budget|Plan|Program|Programme|Project|Report|Organization)$/.test(phrase)) return;
    if (stripTitles(phrase) === phrase && !/^\p{Ll}/u.test(phrase)) orgs.add(phrase);
  };

  for (const m of json(doc.people())) if (!skip(m, 'person')) classify(m.text, 'person');
  for (const m of json(doc.places())) if (!skip(m, 'other') && !isHeading(m.text)) classify(m.text, 'place');
  for (const m of json(doc.organizations())) if (!skip(m, 'other') && !isHeading(m.text)) classify(m.text, 'org');

  // a run of names compromise read as one ("Singh-Grewal G. Da Silva") holds an initialled name the rules read
  const initialled = rulePersons.filter((p) => /^\p{Lu}\./u.test(p));
  for (const p of [...persons]) if (initialled.some((r) => r !== p && p.indexOf(r) > 0)) persons.delete(p);

  // 3. one category per name: rules beat compromise, organisations beat persons and places
  const orgKeys = new Set([...orgs].map((o) => o.toLowerCase()));
  const rulePersonKeys = new Set(rulePersons.map((p) => p.toLowerCase()));
  for (const p of [...persons]) if (orgKeys.has(p.toLowerCase())) persons.delete(p);
  for (const l of [...locations]) {
    const key = l.toLowerCase();
    if (orgKeys.has(key) || rulePersonKeys.has(key)) locations.delete(l);
  }
  const locationKeys = new Set([...locations].map((l) => l.toLowerCase()));
  for (const p of [...persons]) {
    if (!rulePersonKeys.has(p.toLowerCase()) && locationKeys.has(p.toLowerCase())) persons.delete(p);
  }

  return {
    persons: finalise(foldSurnames(persons)),
    orgs: finalise(orgs),
    locations: finalise([...locations].filter((l) => !isGenericVenue(l))),
  };
}

/** Persons, organisations and locations on a page: deduplicated, trimmed, sorted. */
export function extractEntities(text: string): Entities {
  const unwrapped = unwrapLines(text);
  return extractEntitiesWithVotes(unwrapped, extractVotes(unwrapped));
}
