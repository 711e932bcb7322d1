/**
 * Shared vocabulary and regexes for council-minutes text: titles, name candidates, roll-call
 * keywords and the list parser used by both entity and vote extraction.
 *
 * Every regex here is linear-ish: bounded repetitions, no nested unbounded quantifiers over
 * overlapping classes. Names are matched loosely by the regexes and cleaned in code
 * (stop-word trimming, title stripping, all-caps normalisation), which keeps the regexes simple.
 */

/** A case-insensitive regex source for a phrase without using the `i` flag (which would make `\p{Lu}` match any letter). */
export function ci(phrase: string): string {
  return phrase
    .trim()
    .split(/\s+/)
    .map((word) => word.replace(/[a-z]/gi, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`))
    .join('[\\s-]+');
}

/** Alternation of phrases, longest first, each case-insensitive. */
export function ciAlt(phrases: readonly string[]): string {
  return [...phrases]
    .sort((a, b) => b.length - a.length)
    .map(ci)
    .join('|');
}

// ---------------------------------------------------------------------------------------------
// Names

/** One capitalised name token: an initial ("J."), or a word starting with an upper-case letter. */
const TOKEN = String.raw`(?:(?:St|Cllrs?|Clr|Ald|Aldn|Mr|Mrs|Ms|Dr|Hon)\.|(?:\p{Lu}\.){1,3}|\p{Lu}[\p{L}'’]*(?:-\p{L}[\p{L}'’]*)?)`;
const PARTICLE = String.raw`(?:de|del|della|la|le|van|von|der|den|da|di|du|dos|das|bin|al|y)`;
/** Up to five capitalised tokens on one line; cleaned in code by {@link cleanName}. */
export const NAME_CANDIDATE = String.raw`${TOKEN}(?:[ \t]+(?:${PARTICLE}[ \t]+){0,2}${TOKEN}){0,4}`;

/** Titles that precede a person's name (singular or plural). Matched case-insensitively. */
const PERSON_TITLES = [
  'council member', 'councilmember', 'council woman', 'councilwoman', 'council man', 'councilman',
  'council person', 'councilperson', 'council president', 'council vice president',
  'board member', 'boardmember', 'committee member', 'commission member',
  'mayor pro tem', 'mayor pro tempore', 'vice mayor', 'deputy mayor', 'mayor',
  'vice president', 'president', 'vice chair', 'vice chairman', 'vice chairwoman', 'vice chairperson',
  'chair', 'chairman', 'chairwoman', 'chairperson', 'commissioner', 'supervisor', 'alderman',
  'alderwoman', 'alderperson', 'alder', 'trustee', 'director', 'superintendent', 'selectman',
  'selectwoman', 'select board member', 'delegate', 'member', 'senator', 'assemblymember',
  'assembly member', 'congressman', 'congresswoman', 'representative', 'judge', 'sheriff',
  'councillor', 'deputy chair', 'chairman of the board',
];
const PLURAL_TITLES = [
  'council members', 'councilmembers', 'board members', 'boardmembers', 'committee members',
  'commission members', 'commissioners', 'supervisors', 'aldermen', 'alderpersons', 'alders',
  'trustees', 'directors', 'members', 'select board members', 'assembly members',
  'councillors', 'cllrs', 'council members present',
];
const STAFF_TITLES = [
  'city manager', 'assistant city manager', 'deputy city manager', 'interim city manager',
  'acting city manager', 'city clerk', 'deputy city clerk', 'assistant city clerk',
  'city attorney', 'assistant city attorney', 'deputy city attorney', 'city engineer',
  'city treasurer', 'city auditor', 'city planner', 'town manager', 'town clerk', 'town attorney',
  'county counsel', 'county administrator', 'county executive', 'county clerk', 'village manager',
  'village clerk', 'police chief', 'fire chief', 'chief of police', 'finance director',
  'planning director', 'public works director', 'community development director',
  'city administrator', 'borough manager', 'clerk of the board', 'secretary', 'treasurer',
  'council recorder', 'recording secretary', 'planning manager', 'librarian', 'pcso', 'clerk',
  'city solicitor', 'chief administrative officer', 'director of public works', 'chief financial officer',
];
const HONORIFICS = ['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'hon', 'honorable', 'the honorable', 'cllr', 'clr', 'ald', 'aldn', 'his worship', 'her worship'];

export const TITLE_ALT = ciAlt([...PERSON_TITLES, ...STAFF_TITLES]);
export const PLURAL_TITLE_ALT = `(?:${ciAlt(PLURAL_TITLES)})\\.?`;
const HONORIFIC_ALT = HONORIFICS.map((h) => `${ci(h)}\\.?`).join('|');

/** Leading titles and honorifics, possibly stacked ("Vice Mayor", "Mr.", "Council Members"). */
const LEADING_TITLE_RE = new RegExp(
  String.raw`^(?:(?:${PLURAL_TITLE_ALT}|${TITLE_ALT}|${HONORIFIC_ALT})(?![\p{L}])[\s,]*)+`,
  'u',
);

/**
 * Words that never form part of a person's name. Lower-case; compared case-insensitively.
 * Surnames that are also ordinary words (Park, Hall, King, Young...) are deliberately absent.
 */
export const NON_NAME_WORDS: ReadonlySet<string> = new Set([
  // titles and roles
  'council', 'councilmember', 'councilmembers', 'councilman', 'councilwoman', 'member', 'members',
  'mayor', 'vice', 'deputy', 'assistant', 'interim', 'acting', 'pro', 'tem', 'tempore', 'manager',
  'clerk', 'attorney', 'counsel', 'commissioner', 'commissioners', 'supervisor', 'supervisors',
  'chair', 'chairman', 'chairwoman', 'chairperson', 'president', 'director', 'directors',
  'superintendent', 'trustee', 'trustees', 'staff', 'secretary', 'treasurer', 'engineer', 'planner',
  'administrator', 'officer', 'chief', 'alderman', 'alderwoman', 'board', 'commission', 'committee',
  'city', 'town', 'county', 'village', 'state', 'department', 'mr', 'mrs', 'ms', 'dr', 'hon',
  'honorable', 'applicant', 'speaker', 'speakers', 'resident', 'residents', 'public',
  'councillor', 'councillors', 'cllr', 'cllrs', 'recorder', 'held', 'called', 'convened', 'draft',
  'proposed', 'proposer', 'seconder', 'resolved', 'apologies', 'regrets', 'stage', 'questions',
  // meeting vocabulary
  'motion', 'moved', 'move', 'moves', 'seconded', 'second', 'seconds', 'ayes', 'aye', 'noes',
  'nays', 'nay', 'no', 'yes', 'yeas', 'abstain', 'abstained', 'abstaining', 'abstention',
  'abstentions', 'absent', 'present', 'excused', 'recused', 'roll', 'call', 'vote', 'votes', 'voting',
  'carried', 'passed', 'failed', 'approved', 'adopted', 'unanimously', 'unanimous', 'none', 'all',
  'item', 'items', 'agenda', 'minutes', 'meeting', 'consent', 'calendar', 'resolution', 'ordinance',
  'report', 'reports', 'comments', 'comment', 'communications', 'adjournment', 'recess', 'session',
  'hearing', 'proclamation', 'presentation', 'referrals', 'discussion', 'action', 'recommendation',
  'approval', 'adoption', 'introduction', 'see', 'page', 'exhibit', 'attachment', 'regular', 'special',
  // function words that appear capitalised at sentence starts
  'the', 'a', 'an', 'and', 'or', 'of', 'to', 'by', 'for', 'with', 'from', 'at', 'in', 'on', 'as',
  'it', 'its', 'this', 'that', 'these', 'those', 'there', 'then', 'after', 'before', 'upon', 'per',
  'he', 'she', 'they', 'we', 'i', 'his', 'her', 'their', 'our', 'also', 'when', 'following', 'next',
  'thereafter', 'whereupon', 'hearing', 'being', 'was', 'were', 'is', 'are',
  // calendar
  'january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october',
  'november', 'december', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday',
  'a.m', 'p.m',
]);

function isNonNameToken(token: string): boolean {
  if (/^(?:\p{Lu}\.){1,3}$/u.test(token)) return false; // an initial ("A.", "H.L."), not the article "a"
  const word = token.toLowerCase().replace(/[.'’]+$/u, '');
  // "Vice-Chairman" is a title as much as "Vice Chairman"
  return NON_NAME_WORDS.has(word) || (word.includes('-') && word.split('-').every((part) => NON_NAME_WORDS.has(part)));
}

/** "ORTIZ" -> "Ortiz", "O'BRIEN" -> "O'Brien", "ORTIZ-LOPEZ" -> "Ortiz-Lopez"; mixed case is kept. */
export function normaliseCase(token: string): string {
  if (/^(?:\p{Lu}\.)+$/u.test(token)) return token;
  if (token.length < 2 || token !== token.toUpperCase() || !/\p{Lu}.*\p{Lu}/u.test(token)) return token;
  return token.toLowerCase().replace(/(^|[-'’])(\p{Ll})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/** Removes leading titles and honorifics: "Council Member Maria Ortiz" -> "Maria Ortiz". */
export function stripTitles(text: string): string {
  return text.replace(LEADING_TITLE_RE, '').trim();
}

const LOWER_PARTICLE_RE = new RegExp(`^${PARTICLE}$`, 'u');
const UPPER_START_RE = /^\p{Lu}/u;

/**
 * Turns a loose candidate into a clean person name, or null.
 * `from: 'start'` keeps the leading run of name tokens (text after a title or "by");
 * `from: 'end'` keeps the trailing run (text before "moved", "dissenting"...).
 */
export function cleanName(raw: string, from: 'start' | 'end' = 'start'): string | null {
  const stripped = from === 'start' ? stripTitles(raw) : raw.trim();
  const tokens = stripped.split(/\s+/).filter((t) => t.length > 0);
  const kept: string[] = [];
  const order = from === 'start' ? tokens : [...tokens].reverse();
  for (const [i, token] of order.entries()) {
    const bare = token.replace(/['’]s$/u, '').replace(/[,;:]+$/u, '');
    // "A H Pemberton": a lone capital before another name token is an initial, not the article
    const next = order[i + 1];
    if (from === 'start' && /^\p{Lu}$/u.test(bare) && next !== undefined && UPPER_START_RE.test(next)) {
      kept.push(bare);
      continue;
    }
    // "van Holst", "de la Cruz": particles inside a name, or opening a surname used alone
    const opensSurname = from === 'start' && kept.length === 0 && order.slice(i + 1).some((t) => UPPER_START_RE.test(t) && !isNonNameToken(t));
    if (LOWER_PARTICLE_RE.test(bare) && (kept.length > 0 || opensSurname)) {
      kept.push(bare);
      continue;
    }
    if (!UPPER_START_RE.test(bare) || isNonNameToken(bare)) break;
    if (!/^(?:\p{Lu}\.){1,3}$/u.test(bare) && bare !== 'St.' && !/^\p{Lu}[\p{L}'’]*(?:-\p{L}[\p{L}'’]*)?$/u.test(bare)) break;
    kept.push(bare);
    if (kept.length === 4) break;
  }
  if (from === 'end') kept.reverse();
  // in all-caps text a verb looks like a surname ("MAYOR ASHCRAFT CONVENED"): keep one token
  // unless the candidate was exactly a two-token name ("COUNCIL MEMBER MARIA ORTIZ,")
  if (kept.length > 1 && kept.every((t) => t === t.toUpperCase())) {
    const keep = kept.length === 2 && tokens.length === 2 ? 2 : 1;
    if (from === 'end') kept.splice(0, kept.length - keep);
    else kept.length = keep;
  }
  // particles and initials may not end a name; particles may not start one
  while (kept.length > 0 && (LOWER_PARTICLE_RE.test(kept[kept.length - 1]!) || /\.$/.test(kept[kept.length - 1]!) || /^\p{Lu}$/u.test(kept[kept.length - 1]!))) kept.pop();
  // a particle may open a surname used alone ("de la Cruz"), never a name with a given name or initial after it
  if (kept.length > 0 && LOWER_PARTICLE_RE.test(kept[0]!)) {
    const firstCapital = kept.findIndex((t) => !LOWER_PARTICLE_RE.test(t));
    if (firstCapital < 0 || kept.length - firstCapital > 1) while (kept.length > 0 && LOWER_PARTICLE_RE.test(kept[0]!)) kept.shift();
  }
  if (kept.length === 0) return null;
  if (!kept.some((t) => /\p{L}{2}/u.test(t))) return null;
  return kept.map(normaliseCase).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Roll-call and vote lists

export type ListKind = 'present' | 'aye' | 'nay' | 'abstain' | 'absent';

const LIST_KEYWORDS: ReadonlyArray<readonly [string, ListKind]> = [
  ['present', 'present'], ['also present', 'present'], ['members present', 'present'],
  ['council members present', 'present'], ['staff present', 'present'], ['roll call', 'present'],
  ['ayes', 'aye'], ['aye', 'aye'], ['yeas', 'aye'], ['yea', 'aye'], ['yes', 'aye'],
  ['voting aye', 'aye'], ['voting yes', 'aye'], ['in favor', 'aye'], ['in favour', 'aye'], ['for', 'aye'],
  ['noes', 'nay'], ['nays', 'nay'], ['nay', 'nay'], ['no', 'nay'], ['voting no', 'nay'],
  ['voting nay', 'nay'], ['opposed', 'nay'], ['against', 'nay'],
  ['abstain', 'abstain'], ['abstains', 'abstain'], ['abstained', 'abstain'], ['abstaining', 'abstain'],
  ['abstention', 'abstain'], ['abstentions', 'abstain'], ['recused', 'abstain'], ['recusal', 'abstain'],
  ['recusals', 'abstain'],
  ['absent', 'absent'], ['members absent', 'absent'], ['council members absent', 'absent'],
  ['excused', 'absent'], ['absent and excused', 'absent'], ['not present', 'absent'],
  ['apologies', 'absent'], ['regrets', 'absent'], ['absent with regrets', 'absent'], ['recuse', 'abstain'],
  ['council present', 'present'], ['councillors present', 'present'], ['commissioners present', 'present'],
  ['board members present', 'present'], ['supervisors present', 'present'], ['trustees present', 'present'],
  ['city council', 'present'], ['councillors', 'present'], ['in attendance', 'present'],
  ['also attending', 'present'], ['city staff', 'present'], ['staff', 'present'],
];

/** Keywords of lists that name staff and guests, not the members who vote. */
export const STAFF_LIST_KEYWORDS: ReadonlySet<string> = new Set(['also present', 'staff present', 'in attendance', 'also attending', 'city staff', 'staff']);
const LIST_KIND_BY_KEYWORD = new Map(LIST_KEYWORDS.map(([k, v]) => [k, v]));

/** "Ayes:", "NOES -", "Absent (2):", "Yeas: (10):" — keyword then a colon or dash, perhaps a count in parentheses. */
export const LIST_KEYWORD_RE = new RegExp(
  String.raw`(?<![\p{L}])(${ciAlt(LIST_KEYWORDS.map(([k]) => k))})[ \t]*(?:\((\d{1,2})\))?[ \t]*(?::(?:[ \t]*\((\d{1,2})\)[ \t]*:?)?|[-–—](?![\p{L}\d]))[ \t]*`,
  'gu',
);

export interface ParsedList {
  kind: ListKind;
  /** The keyword as written, lower-cased ("ayes", "also present"). */
  keyword: string;
  /** Cleaned person names in order of appearance. */
  names: string[];
  /** "None", "N/A", "0". */
  none: boolean;
  /** "All", "Unanimous", "All members present". */
  all: boolean;
  /** "Ayes: 5." or a trailing "- 5". */
  count: number | null;
  start: number;
  end: number;
}

const NUMBER_WORDS: Record<string, number> = {
  zero: 0, none: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9,
  ten: 10, eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15,
};
export const NUMBER_ALT = String.raw`\d{1,2}(?!\d)|(?<![\p{L}])(?:${ciAlt(Object.keys(NUMBER_WORDS).filter((w) => w !== 'none'))})(?![\p{L}])`;

export function parseNumber(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d{1,2}$/.test(t)) return Number(t);
  return NUMBER_WORDS[t] ?? null;
}

/** Where a list's text ends: a sentence-final period (not an initial or "Mr."), a blank line, or a hard cap. */
const LIST_END_RE = /(?<!(?:^|[\s.(])\p{Lu}|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Hon))\.(?=\s|$)|\n[ \t]*\n/u;
const ITEM_SPLIT_RE = /\s*(?:[,;\n]|\band\b|&)\s*/u;
const NONE_ITEM_RE = /^(?:none|n\/a|na|nil|zero|0|-+|—|–)$/i;
const ALL_ITEM_RE = /^(?:all|all\s+(?:present|members(?:\s+present)?|council\s*members(?:\s+present)?|in\s+favor)|unanimous(?:ly)?)$/i;

/**
 * "R. Tremblay A. Okonkwo B. van Holst" (a list without commas, as some clerks print recorded votes):
 * a break before every initial that follows a surname.
 */
function splitRunOnNames(body: string): string {
  if (/[,;]/.test(body) || !/^\s*\p{Lu}\.[\s\S]*\p{Ll}\s+\p{Lu}\./u.test(body)) return body;
  return body.replace(/(?<=\p{Ll})[ \t\n]+(?=(?:\p{Lu}\.[ \t]?){1,3}[ \t]*(?:\p{Ll}{2,}[ \t]+)?\p{Lu}['’]?\p{L}*\p{Ll})/gu, ', ');
}

function parseListBody(kind: ListKind, keyword: string, rawBody: string, start: number, end: number): ParsedList {
  const result: ParsedList = { kind, keyword, names: [], none: false, all: false, count: null, start, end };
  const body = splitRunOnNames(rawBody);
  const trimmed = body.trim();
  const bareCount = /^(\d{1,2}|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b\s*(?:\((.*)\))?\s*$/i.exec(trimmed);
  if (bareCount) {
    result.count = parseNumber(bareCount[1]!);
    if (result.count === 0) result.none = true;
    if (bareCount[2] !== undefined) result.names = parseListBody(kind, keyword, bareCount[2], start, end).names;
    return result;
  }
  for (const rawItem of trimmed.split(ITEM_SPLIT_RE)) {
    let item = rawItem.replace(/\([^)]{0,60}\)/g, ' ').trim();
    const trailingCount = /\s*[-–—:]\s*(\d{1,2})\s*$/.exec(item);
    if (trailingCount) {
      result.count = Number(trailingCount[1]);
      item = item.slice(0, trailingCount.index).trim();
    }
    if (item === '') continue;
    if (NONE_ITEM_RE.test(item)) {
      result.none = true;
      break;
    }
    if (ALL_ITEM_RE.test(item)) {
      result.all = true;
      break;
    }
    const withoutTitle = stripTitles(item);
    if (withoutTitle === '') continue; // a bare title such as "Council Members" on its own line
    const name = cleanName(withoutTitle, 'start');
    // the whole item must be a name: "Chen" is, "Chen thanked staff" is not, and ends the list
    if (name === null || name.split(' ').length !== withoutTitle.split(/\s+/).length) break;
    result.names.push(name);
    if (trailingCount) break;
  }
  if (result.count === null && result.names.length === 0 && !result.none && !result.all) return result;
  if (result.count !== null && result.names.length > 0 && result.count !== result.names.length) {
    // a trailing "- 5" is the clerk's own count of the list; keep it, names stay as written
  }
  return result;
}

/** Keywords that are ordinary words too: they open a list only at a line start or after a sentence. */
const WEAK_LIST_KEYWORDS: ReadonlySet<string> = new Set(['no', 'for', 'against', 'opposed', 'yes', 'aye', 'nay', 'yea', 'present', 'excused', 'absent', 'recused', 'abstain', 'roll call']);

/** "ROLL CALL Present: ..." is a list even mid-line, as long as the keyword is capitalised. */
const STATUS_KEYWORDS: ReadonlySet<string> = new Set(['present', 'excused', 'absent', 'recused', 'abstain']);

/** Every roll-call or vote list on the page ("Present: ...", "Ayes: ...", "Noes: None"...). */
export function findLists(text: string): ParsedList[] {
  const matches = [...text.matchAll(LIST_KEYWORD_RE)];
  const lists: ParsedList[] = [];
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i]!;
    const keyword = m[1]!.toLowerCase().replace(/\s+/g, ' ');
    const kind = LIST_KIND_BY_KEYWORD.get(keyword);
    if (kind === undefined) continue;
    // a keyword like "No" or "For" must start a line or follow punctuation: "Motion for: ..." is not a list
    if (WEAK_LIST_KEYWORDS.has(keyword)) {
      const lineStart = text.lastIndexOf('\n', m.index - 1) + 1;
      const before = text.slice(Math.max(lineStart, m.index - 40), m.index);
      const atBoundary = /^[ \t]*$/.test(before) || /[.;)][ \t]*$/.test(before) || /\d[ \t]+$/.test(before);
      const capitalisedStatus = STATUS_KEYWORDS.has(keyword) && /^\p{Lu}/u.test(m[1]!);
      if (!atBoundary && !capitalisedStatus) continue;
    }
    const bodyStart = m.index + m[0].length;
    const next = matches[i + 1];
    let bodyEnd = Math.min(next ? next.index : text.length, bodyStart + 600);
    const slice = text.slice(bodyStart, bodyEnd);
    const stop = LIST_END_RE.exec(slice);
    if (stop) bodyEnd = bodyStart + stop.index;
    const list = parseListBody(kind, keyword, text.slice(bodyStart, bodyEnd), m.index, bodyEnd);
    const stated = m[2] ?? m[3];
    if (stated !== undefined && list.count === null) list.count = Number(stated);
    if (list.names.length > 0 || list.none || list.all || list.count !== null) lists.push(list);
  }
  return lists;
}

// ---------------------------------------------------------------------------------------------
// Titled persons

/** "Mayor Chen", "Council Member Maria Ortiz", "Council Members Ortiz, Chen and Ramirez". */
export const TITLED_PERSON_RE = new RegExp(
  String.raw`(?<![\p{L}])(?:(${PLURAL_TITLE_ALT})[ \t]*\n?[ \t]*(${NAME_CANDIDATE}(?:(?:[ \t]*,[ \t]*(?:and[ \t]+)?|[ \t]+and[ \t]+|[ \t]*&[ \t]*)${NAME_CANDIDATE}){0,12})|(${TITLE_ALT}|${HONORIFIC_ALT})[ \t]*\n?[ \t]*(${NAME_CANDIDATE}))(?![\p{L}])`,
  'gu',
);

/** Persons introduced by a title anywhere in the text, title stripped. */
export function findTitledPersons(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(TITLED_PERSON_RE)) {
    if (m[2] !== undefined) {
      for (const part of m[2].split(/\s*(?:,|\band\b|&)\s*/u)) {
        if (part.trim() === '') continue;
        const name = cleanName(part, 'start');
        if (name === null) break;
        out.push(name);
      }
    } else if (m[4] !== undefined) {
      const name = cleanName(m[4], 'start');
      if (name !== null) out.push(name);
    }
  }
  return out;
}

/** "The City Manager, Jennifer Ott," and "Lara Weisiger, City Clerk". */
const ROLE_NOUN = String.raw`(?:Manager|Director|Clerk|Attorney|Chief|Officer|Superintendent|Engineer|Planner|Administrator|Treasurer|Auditor|Counsel|Coordinator|Supervisor|Secretary|President|Chair)`;
const ROLE_PHRASE = String.raw`(?:\p{Lu}\p{Ll}+[ \t]+){0,3}${ROLE_NOUN}`;
export const APPOSITIVE_RE = new RegExp(
  String.raw`(?<![\p{L}])${ROLE_PHRASE},[ \t]*\n?[ \t]*(${NAME_CANDIDATE})(?=[ \t]*[,.;)\n]|$)|(?<![\p{L}])(${NAME_CANDIDATE}),[ \t]*\n?[ \t]*${ROLE_PHRASE}(?![\p{L}])`,
  'gu',
);

export function findAppositivePersons(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(APPOSITIVE_RE)) {
    const name = m[1] !== undefined ? cleanName(m[1], 'start') : cleanName(m[2] ?? '', 'end');
    // a lone surname next to a role is too weak ("Alameda, City Manager" is a place)
    if (name !== null && name.includes(' ')) out.push(name);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Organisations and locations

export const ORG_SUFFIXES = [
  'Club', 'Association', 'Council', 'Department', 'Commission', 'Foundation', 'District', 'Authority',
  'Committee', 'Board', 'Agency', 'Society', 'Alliance', 'Coalition', 'Institute', 'University',
  'College', 'Bureau', 'Corporation', 'Company', 'Partnership', 'Partners', 'Group', 'League',
  'Union', 'Chapter', 'Trust', 'Library', 'Chamber of Commerce', 'Conservancy', 'Cooperative',
  'Federation', 'Church', 'Hospital', 'Bank', 'Transit', 'Center', 'Centre', 'Network', 'Constabulary',
];
const CORP_SUFFIX = String.raw`(?:Inc|LLC|L\.L\.C|LLP|Ltd|Limited|Corp|Co|Company|Corporation|PLLC|LP|P\.C|PLC|plc)\.?`;
const ORG_TOKEN = String.raw`(?:\p{Lu}(?=[\p{L}'’-]*\p{Ll})[\p{L}'’-]*|\p{Lu}{2,5}(?![\p{L}]))`;
/** One line only: wrapped prose is re-joined before extraction, and a line break before a name is a heading's end. */
const ORG_SEP = String.raw`[ \t]+`;
/** "of the City of Alameda", "on Heritage", "of Business and Professional Women". */
const ORG_TAIL = String.raw`(?:${ORG_SEP}(?:of|on)${ORG_SEP}(?:the${ORG_SEP})?${ORG_TOKEN}(?:${ORG_SEP}(?:(?:and|&)${ORG_SEP})?${ORG_TOKEN}){0,4}){0,2}`;
/** "Sierra Club", "Downtown Business Association", "Recreation and Parks Department", "Bayline Paving, Inc." */
export const ORG_RE = new RegExp(
  String.raw`(?<![\p{L}])((?:(?:Friends|League|Sons|Daughters|Sisters|Knights)[ \t]+of[ \t]+(?:the[ \t]+)?)?(?:${ORG_TOKEN}${ORG_SEP}(?:(?:and|&|on|upon)${ORG_SEP})?){1,6}(?:${ORG_SUFFIXES.join('|')})(?![\p{L}])(?:,?${ORG_SEP}${CORP_SUFFIX}(?![\p{L}]))?${ORG_TAIL}|(?:Department|Office|Ministry|Bureau|Friends|Campaign|Society|Federation|Institute)[ \t]+(?:of|for|to)[ \t]+(?:the[ \t]+)?${ORG_TOKEN}(?:[ \t]+(?:(?:and|&)[ \t]+)?${ORG_TOKEN}){0,4}|(?:${ORG_TOKEN}[ \t]+(?:(?:and|&)[ \t]+)?){0,5}${ORG_TOKEN},?[ \t]+${CORP_SUFFIX}(?![\p{L}]))`,
  'gu',
);
/** Suffix words that head a person's title, not an organisation ("Council Member", "Board President"). */
const ORG_TITLE_FOLLOWERS = /^(?:\s+(?:Members?|Member's|President|Vice|Chair|Chairs|Secretary|Liaison|Chambers?|Room|Rooms|Meeting|Meetings|Agenda|Minutes|Reports?|Comments|Communications|Referrals|Consensus|Packet|Recorder|Procedure)(?![\p{L}]))/u;

/** Words that name a council's own body generically: "City Council", "the Council of the City". */
const GENERIC_BODY_WORDS: ReadonlySet<string> = new Set(['city', 'town', 'county', 'village', 'parish', 'regional', 'municipal', 'full', 'the', 'of', 'council', 'board', 'commission', 'committee']);
const CALENDAR_WORD_RE = /\b(?:January|February|March|April|May|June|July|August|September|October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b/;

const ORG_LEADING_NOISE: ReadonlySet<string> = new Set([
  'the', 'a', 'an', 'and', 'of', 'to', 'by', 'with', 'from', 'for', 'at', 'in', 'on', 'as', 'this',
  'that', 'approve', 'approved', 'approving', 'adopt', 'adopting', 'authorize', 'authorizing',
  'accept', 'accepting', 'direct', 'directing', 'receive', 'motion', 'resolution', 'ordinance',
  'item', 'consent', 'supporting', 'support', 'regarding', 're', 'joint', 'mr', 'mrs', 'ms', 'dr',
  'mayor', 'vice', 'member', 'members', 'council', 'chair', 'president', 'speakers', 'speaker',
  'staff', 'contract', 'agreement', 'grant', 'letter', 'presentation', 'proclamation', 'report',
  'update', 'public', 'hearing', 'whereas', 'between', 'honoring', 'recognizing', 'thanked', 'thank',
  'regular', 'special', 'meeting', 'session', 'call', 'order', 'minutes', 'amending', 'amend', 'annual',
  'january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october',
  'november', 'december', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday',
]);
/** Keep "Public Works Department", drop "Public Hearing": noise words only count when not the whole org. */
const ORG_KEEP_LEADING: ReadonlySet<string> = new Set(['public']);

export interface Span {
  text: string;
  start: number;
  end: number;
}

export function findOrgs(text: string): Span[] {
  const out: Span[] = [];
  for (const m of text.matchAll(ORG_RE)) {
    const after = text.slice(m.index + m[0].length, m.index + m[0].length + 20);
    let phrase = m[1]!.replace(/\s+/g, ' ').trim();
    if (/(?:Council|Board|Commission|Committee)$/.test(phrase) && ORG_TITLE_FOLLOWERS.test(after)) continue;
    if (/Chapter$/.test(phrase) && /^\s+\d/.test(after)) continue; // "Chapter 12" of a code
    // "on Tuesday" is when, not part of the name
    const calendar = CALENDAR_WORD_RE.exec(phrase);
    if (calendar !== null) phrase = phrase.slice(0, calendar.index).replace(/\s+(?:on|of|for)\s*$/, '').trim();
    const tokens = phrase.split(' ');
    while (tokens.length > 1) {
      const first = tokens[0]!.toLowerCase();
      const rest = tokens.slice(1).join(' ');
      if (ORG_KEEP_LEADING.has(first) && /^Works\b/.test(rest)) break;
      if (!ORG_LEADING_NOISE.has(first) && !/^\p{Lu}\.$/u.test(tokens[0]!)) break;
      tokens.shift();
    }
    phrase = tokens.join(' ');
    // a bare suffix ("Council", "Board") or an all-caps heading is not an organisation
    if (tokens.length < 2 || /^(?:and|&)$/i.test(tokens[0]!)) continue;
    if (/^[\p{Lu}\s&.,'’-]+$/u.test(phrase) && !/\p{Ll}/u.test(phrase)) continue;
    if (tokens.every((t) => GENERIC_BODY_WORDS.has(t.toLowerCase()))) continue;
    if (GENERIC_BODY_WORDS.has(tokens[0]!.toLowerCase()) && GENERIC_BODY_WORDS.has(tokens[1]!.toLowerCase()) && /^(?:of|the)$/i.test(tokens[2] ?? 'of')) continue;
    out.push({ text: phrase.replace(/[.,;:]+$/u, ''), start: m.index, end: m.index + m[0].length });
  }
  return out;
}

const PLACE_SUFFIXES = [
  'Street', 'Avenue', 'Boulevard', 'Road', 'Drive', 'Lane', 'Parkway', 'Highway', 'Expressway',
  'Freeway', 'Court', 'Plaza', 'Park', 'Square', 'Trail', 'Creek', 'River', 'Beach',
  'Harbor', 'Marina', 'Island', 'Estuary', 'Terrace', 'Circle', 'Broadway', 'Estates',
  'Recreation Ground', 'Magisterial District', 'Crescent', 'Way', 'Place',
];
/** "1500 Park Street", "Webster Street", "Riverside Park". */
export const PLACE_RE = new RegExp(
  String.raw`(?<![\p{L}\d.])((?:\d{1,6}(?:-\d{1,6})?[ \t]+)?(?:[NSEW]\.?[ \t]+)?(?:(?:\p{Lu}\p{Ll}+|\p{Lu}\.)[ \t]+){1,4}(?:${PLACE_SUFFIXES.join('|')})(?:[ \t]+(?:North|South|East|West)(?![\p{L}]))?|(?:Route|Highway|Interstate|State Route|County Road|Hwy\.?)[ \t]+\d{1,4}(?![\d]))(?![\p{L}])`,
  'gu',
);

export function findPlaces(text: string): Span[] {
  const out: Span[] = [];
  for (const m of text.matchAll(PLACE_RE)) {
    const tokens = m[1]!.split(/[ \t]+/);
    // drop leading noise ("Approve Park Street", "On Webster Street"); a street number survives only if nothing was dropped
    const number = /^\d/.test(tokens[0]!) ? tokens.shift()! : null;
    let dropped = false;
    while (tokens.length > 1 && (isNonNameToken(tokens[0]!) || ORG_LEADING_NOISE.has(tokens[0]!.toLowerCase()))) {
      tokens.shift();
      dropped = true;
    }
    if (tokens.length < 2) continue;
    const words = number !== null && !dropped ? [number, ...tokens] : tokens;
    out.push({ text: words.join(' '), start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Whether a phrase is nothing but a role ("City Manager", "Public Works Director", "Vice Mayor"). */
export function isBareTitle(phrase: string): boolean {
  const tokens = phrase.toLowerCase().split(/\s+/).filter((t) => t !== '');
  if (tokens.length === 0) return true;
  if (stripTitles(phrase) === '') return true;
  const roleNouns = /^(?:manager|director|clerk|attorney|chief|officer|superintendent|engineer|planner|administrator|treasurer|auditor|counsel|coordinator|supervisor|secretary|president|chair|mayor|member|members|commissioner|councilmember|staff)$/;
  const last = tokens[tokens.length - 1]!;
  return roleNouns.test(last) && tokens.every((t) => NON_NAME_WORDS.has(t) || /^(?:public|works|planning|finance|community|development|fire|police|economic|housing|parks|recreation|library|human|resources|information|technology|utilities|transportation|building|city|town|county|general|services|operations|relations|program)$/.test(t));
}

export function orgSuffixOf(phrase: string): string | null {
  for (const suffix of ORG_SUFFIXES) {
    if (phrase.endsWith(` ${suffix}`)) return suffix;
  }
  if (new RegExp(String.raw`,?\s${CORP_SUFFIX}$`, 'u').test(phrase)) return 'Inc';
  return null;
}

const GENERIC_VENUE_WORDS: ReadonlySet<string> = new Set(['parish', 'village', 'community', 'meeting', 'council', 'committee', 'conference', 'playing', 'main', 'the', 'hall', 'room', 'field', 'chamber', 'chambers', 'board']);

/**
 * A room or hall named only by generic words ("Parish Hall", "Community Meeting Room", "Council
 * Chambers") is where the meeting sat, not a place name. "City Hall" is kept: it names one building.
 */
export function isGenericVenue(phrase: string): boolean {
  const words = phrase.toLowerCase().split(/\s+/);
  return words.length > 0 && words.every((w) => GENERIC_VENUE_WORDS.has(w)) || /\b(?:Room|Chambers?)$/.test(phrase);
}

/** US states, Canadian provinces and territories, the UK's nations: "Yakima, Washington". */
export const REGION_NAMES: ReadonlySet<string> = new Set([
  'Alabama', 'Alaska', 'Arizona', 'Arkansas', 'California', 'Colorado', 'Connecticut', 'Delaware', 'Florida', 'Georgia',
  'Hawaii', 'Idaho', 'Illinois', 'Indiana', 'Iowa', 'Kansas', 'Kentucky', 'Louisiana', 'Maine', 'Maryland',
  'Massachusetts', 'Michigan', 'Minnesota', 'Mississippi', 'Missouri', 'Montana', 'Nebraska', 'Nevada', 'New Hampshire',
  'New Jersey', 'New Mexico', 'New York', 'North Carolina', 'North Dakota', 'Ohio', 'Oklahoma', 'Oregon', 'Pennsylvania',
  'Rhode Island', 'South Carolina', 'South Dakota', 'Tennessee', 'Texas', 'Utah', 'Vermont', 'Virginia', 'Washington',
  'West Virginia', 'Wisconsin', 'Wyoming', 'Ontario', 'Quebec', 'Nova Scotia', 'New Brunswick', 'Manitoba',
  'British Columbia', 'Prince Edward Island', 'Saskatchewan', 'Alberta', 'Newfoundland and Labrador', 'Yukon',
  'Nunavut', 'Northwest Territories', 'England', 'Scotland', 'Wales', 'Northern Ireland',
]);
const REGION_RE = new RegExp(String.raw`(?<![\p{L}])(\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}\p{Ll}+){0,2}),[ \t]+(${[...REGION_NAMES].join('|')})(?![\p{L}])`, 'gu');

/** "Yakima, Washington": a place and its state or province, both places. */
export function findPlacesInRegions(text: string): Span[] {
  const out: Span[] = [];
  for (const m of text.matchAll(REGION_RE)) {
    const place = m[1]!.split(/[ \t]+/).filter((t) => !ORG_LEADING_NOISE.has(t.toLowerCase()) && !isNonNameToken(t)).join(' ');
    if (place !== '') out.push({ text: place, start: m.index + m[0].indexOf(m[1]!), end: m.index + m[0].indexOf(m[1]!) + m[1]!.length });
    const regionStart = m.index + m[0].lastIndexOf(m[2]!);
    out.push({ text: m[2]!, start: regionStart, end: regionStart + m[2]!.length });
  }
  return out;
}

export function placeSuffixOf(phrase: string): string | null {
  for (const suffix of PLACE_SUFFIXES) {
    if (phrase.endsWith(` ${suffix}`)) return suffix;
  }
  return null;
}
