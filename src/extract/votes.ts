/**
 * Motions and votes in council-minutes text.
 *
 * The page is scanned for events (a motion with mover/seconder, a "seconded by", a roll-call list,
 * a per-member roll call, an inline "with Chen voting no", a result such as "carried 5-0") which are
 * then grouped in reading order into one {@link Vote} per motion.
 */
import { unwrapLines } from './layout.js';
import {
  NAME_CANDIDATE,
  NUMBER_ALT,
  type ParsedList,
  ci,
  ciAlt,
  cleanName,
  findLists,
  parseNumber,
} from './council-patterns.js';

export type VoteChoice = 'aye' | 'nay' | 'abstain' | 'absent';
export type VoteResult = 'passed' | 'failed' | 'unknown';

export interface Vote {
  motion_by: string | null;
  seconded_by: string | null;
  result: VoteResult;
  tally: { ayes: number; nays: number; abstain: number; absent: number };
  individual_votes: { name: string; vote: VoteChoice }[];
}

// ---------------------------------------------------------------------------------------------
// Events

type Event =
  | { type: 'motion'; at: number; mover: string | null; seconder: string | null }
  | { type: 'seconder'; at: number; name: string }
  | { type: 'list'; at: number; list: ParsedList & { kind: VoteChoice } }
  | { type: 'individual'; at: number; entries: { name: string; vote: VoteChoice }[]; rollCall: boolean }
  | { type: 'result'; at: number; end: number; result: 'passed' | 'failed' | null; counts: number[] | null; unanimous: boolean };

const NL = String.raw`[ \t]*\n?[ \t]*`;
const NAME = `(${NAME_CANDIDATE})`;
const NAME_LIST = String.raw`(${NAME_CANDIDATE}(?:(?:[ \t]*,[ \t]*(?:${ci('and')}[ \t]+)?|[ \t]+${ci('and')}[ \t]+|[ \t]*&[ \t]*)${NAME_CANDIDATE}){0,8})`;

const MOVER_BY = ciAlt([
  'motion by', 'motion was by', 'motion made by', 'motion was made by', 'motion offered by',
  'motion was offered by', 'moved by', 'it was moved by', 'motion moved by', 'motion was moved by',
  'proposed by', 'it was proposed by', 'motion proposed by', 'upon motion made by', 'on motion of', 'on motion by',
]);
const MOVER_COLON = ciAlt(['motion', 'moved', 'mover', 'motion made by', 'moved by', 'motion by', 'proposed by', 'proposer', 'proposed', 'amendment']);

/** "Motion by X", "It was moved by X", "Moved: X". */
const MOVER_RE = new RegExp(String.raw`(?<![\p{L}])(?:(?:${MOVER_BY})[ \t]*:?|(?:${MOVER_COLON})[ \t]*:)${NL}${NAME}`, 'gu');
/** "Council Member Chen moved approval of...", "Ortiz made a motion to...". */
const NAME_MOVED_RE = new RegExp(
  String.raw`${NAME}${NL}(?:${ciAlt(['moved', 'made a motion', 'made the motion', 'motioned', 'so moved', 'proposed'])})(?=[ \t]*(?:[,;.\n]|$)|[ \t]+(?:${ciAlt(['to', 'that', 'approval', 'adoption', 'acceptance', 'introduction', 'denial', 'for', 'the staff recommendation', 'the recommendation', 'staff recommendation', 'and', 'adjournment'])})(?![\p{L}]))`,
  'gu',
);
/** "It was moved and seconded to approve..." (no names given). */
const ANON_MOTION_RE = new RegExp(
  String.raw`(?<![\p{L}])(?:${ci('it was')}[ \t]+)?(?:${ciAlt(['moved', 'motion made', 'motion was made', 'motion'])})[ \t]+${ci('and')}[ \t]+${ci('seconded')}(?![ \t]+${ci('by')})`,
  'gu',
);
/** "M/S Ortiz/Chen", "Moved/Seconded: Ortiz/Chen". */
const MS_RE = new RegExp(
  String.raw`(?<![\p{L}])(?:M\/S|${ci('moved')}\/${ci('seconded')}|${ci('motion')}\/${ci('second')})[ \t]*:?[ \t]*${NAME}[ \t]*\/[ \t]*${NAME}`,
  'gu',
);
const SECONDER_RE = new RegExp(
  String.raw`(?<![\p{L}])(?:(?:${ciAlt(['seconded by', 'second by', 'seconded', 'second', 'seconder'])})[ \t]*:|(?:${ciAlt(['seconded by', 'second by', 'and seconded by', 'with a second by', 'with second by'])}))${NL}${NAME}`,
  'gu',
);
/** "Chen seconded the motion", "Chen seconded." */
const NAME_SECONDED_RE = new RegExp(
  String.raw`${NAME}${NL}${ci('seconded')}(?=[ \t]*(?:[,;.\n]|$)|[ \t]+(?:${ciAlt(['the motion', 'it', 'to', 'that', 'and', 'approval', 'adoption', 'adjournment', 'the proposal'])})(?![\p{L}]))`,
  'gu',
);

const N = `(?:${NUMBER_ALT})`;
const DASH_OR_TO = String.raw`(?:[ \t]*[-–—][ \t]*|[ \t]+${ci('to')}[ \t]+)`;
const COUNT = String.raw`\(?(?<![\d$.,/])(?<a>${N})${DASH_OR_TO}(?<b>${N})(?:[ \t]*[-–—][ \t]*(?<c>${N}))?(?:[ \t]*[-–—][ \t]*(?<d>${N}))?(?![\d/])\)?`;
const COUNT_TAIL = String.raw`(?:[ \t]*[,:]?[ \t]*(?:(?:${ciAlt(['by', 'on', 'with'])})[ \t]+)?(?:${ci('a')}[ \t]+)?(?:(?:${ciAlt(['roll call', 'roll-call', 'voice'])})[ \t]+)?(?:${ciAlt(['vote of', 'vote'])}[ \t]+)?${COUNT}(?:[ \t]+${ciAlt(['vote', 'roll call vote', 'voice vote'])})?)`;

const STRONG_WORDS = ['carried', 'carries', 'failed', 'fails', 'defeated', 'did not carry', 'failed to carry', 'failed to pass', 'did not pass', 'did not prevail', 'died', 'fell'];
const WEAK_WORDS = ['passed', 'passes', 'approved', 'adopted', 'prevailed', 'denied', 'lost', 'resolved', 'agreed'];
const FAIL_WORDS = new Set(['failed', 'fails', 'defeated', 'did not carry', 'failed to carry', 'failed to pass', 'did not pass', 'did not prevail', 'died', 'denied', 'lost', 'fell']);
const SUBJECT = ciAlt(['motion', 'main motion', 'substitute motion', 'amended motion', 'motion as amended', 'vote', 'item', 'recommendation', 'question', 'amendment', 'proposal']);
const FILLER = ciAlt(['was', 'has', 'been', 'then', 'therefore', 'thereby', 'subsequently', 'thereupon', 'was then', 'put and']);
const UNANIMOUS = ciAlt(['unanimously', 'unanimous']);

/** "The motion carried unanimously 5-0", "motion failed 2-3", "approved 4-1", "passed unanimously". */
const RESULT_RE = new RegExp(
  String.raw`(?<![\p{L}])(?:(?<subj>${SUBJECT})(?:[ \t\n]+(?:${FILLER}))*[ \t\n]+)?(?:(?<un1>${UNANIMOUS})[ \t]+)?(?<rw>${ciAlt([...STRONG_WORDS, ...WEAK_WORDS])})(?![\p{L}])(?:[ \t]+(?<un2>${UNANIMOUS}))?(?<tail>${COUNT_TAIL})?`,
  'gu',
);
/** "Vote: 5-0", "by a vote of 4 to 1". */
const TALLY_AFTER_RE = new RegExp(
  String.raw`(?<![\p{L}])(?:${ciAlt(['roll call vote', 'roll-call vote', 'vote', 'tally', 'voice vote', 'by a vote of', 'on a vote of'])})[ \t]*(?::|${ci('was')}|${ci('of')}|-)?[ \t]*${COUNT}`,
  'gu',
);
/** "On a 4-1 vote". */
const TALLY_BEFORE_RE = new RegExp(
  String.raw`(?<![\p{L}\d])${COUNT}[ \t]+(?:${ciAlt(['vote', 'roll call vote', 'roll-call vote'])})(?![\p{L}])`,
  'gu',
);
/** "5 ayes, 0 noes", "4 yes and 1 no, 1 absent". */
const YES_NO_COUNT_RE = new RegExp(
  String.raw`(?<![\p{L}\d])(?<a>${N})[ \t]+(?:${ci('votes')}[ \t]+)?(?:${ciAlt(['ayes', 'aye', 'yes', 'yeas', 'in favor', 'in favour', 'for'])})[ \t]*[,;/]?[ \t]*(?:${ci('and')}[ \t]+)?(?<b>${N})[ \t]+(?:${ci('votes')}[ \t]+)?(?:${ciAlt(['noes', 'nays', 'no', 'nay', 'opposed', 'against'])})(?![\p{L}])(?:[ \t]*[,;/]?[ \t]*(?:${ci('and')}[ \t]+)?(?<c>${N})[ \t]+(?<ck>${ciAlt(['abstentions', 'abstention', 'abstaining', 'abstain', 'absent', 'excused', 'recused'])}))?`,
  'gu',
);
/** "by unanimous vote", "Vote: Unanimous", "unanimous consent". */
const UNANIMOUS_RE = new RegExp(
  String.raw`(?<![\p{L}])(?:(?:${ciAlt(['by a', 'by', 'on a'])})[ \t]+)?(?:${ci('unanimous')}[ \t]+(?:${ciAlt(['vote', 'consent', 'approval', 'roll call vote', 'voice vote'])})(?:[ \t]*[-–—][ \t]*(?<n>\d{1,2})(?![\d-]))?|${ci('vote')}[ \t]*:[ \t]*${ci('unanimous')}|(?<=^|\n)[ \t]*${ciAlt(['unanimous', 'unanimously', 'carried unanimously', 'agreed unanimously', 'unanimously agreed', 'unanimously carried'])}\.?(?=[ \t]*(?:\n|$)))(?![\p{L}])`,
  'gu',
);

/** "Ortiz: Aye", "Council Member Chen - No", one per line or separated by commas/semicolons. */
const ROLLCALL_ENTRY_RE = new RegExp(
  String.raw`(?<=^|[,;:\n])[ \t]*(?:${ci('and')}[ \t]+)?${NAME}[ \t]*[:,\-–—]?[ \t]*(?<![\p{L}'’-])(?<v>${ciAlt(['aye', 'yes', 'yea', 'no', 'nay', 'abstain', 'abstained', 'abstaining', 'absent', 'recused', 'excused'])})(?=[ \t]*(?:[,;.\n]|$))`,
  'gu',
);
/** "with Council Member Chen voting no", "Ortiz and Lee voted no". */
const INLINE_VOTED_RE = new RegExp(
  String.raw`${NAME_LIST}[ \t]+(?:${ciAlt(['voting', 'voted', 'votes', 'casting'])})[ \t]+(?:${ci('a')}[ \t]+)?["“]?(?<v>${ciAlt(['no', 'nay', 'against', 'in opposition', 'in the negative', 'aye', 'yes', 'in favor', 'in the affirmative', 'to abstain', 'abstain'])})(?![\p{L}])`,
  'gu',
);
/** "(Lee absent)", "with Chen dissenting", "Ramirez dissenting". */
const INLINE_STATUS_RE = new RegExp(
  String.raw`(?:(?:\(|(?<![\p{L}])(?:${ciAlt(['with', 'and', 'and,'])})[ \t]+|;[ \t]*)${NAME_LIST}[ \t]+(?<v>${ciAlt(['dissenting', 'opposed', 'absent', 'abstaining', 'abstained', 'recused', 'excused', 'no'])})|${NAME_LIST}[ \t]+(?<v2>${ci('dissenting')}))(?![\p{L}])`,
  'gu',
);

/** "7-2 Chu, Van Dorn no", "2-6 Abernathy, Van Dorn yes, Marchetti absent": statuses after a count on its line. */
const STATUS_GROUP_RE = new RegExp(
  String.raw`${NAME_LIST}[ \t]+(?<v>${ciAlt(['no', 'nay', 'yes', 'aye', 'absent', 'abstain', 'abstained', 'abstaining', 'recused', 'not participating'])})(?=[ \t]*(?:[,;.)\n]|$))`,
  'gu',
);

function choiceOf(word: string): VoteChoice {
  const w = word.toLowerCase().replace(/\s+/g, ' ');
  if (/^(?:no|nay|against|in opposition|in the negative|dissenting|opposed)$/.test(w)) return 'nay';
  if (/^(?:abstain|abstained|abstaining|to abstain|recused|not participating)$/.test(w)) return 'abstain';
  if (/^(?:absent|excused)$/.test(w)) return 'absent';
  return 'aye';
}

function nameListOf(raw: string): string[] {
  const parts = raw.split(/[ \t]*(?:,|(?<![\p{L}])and(?![\p{L}])|&)[ \t]*/u).filter((p) => p.trim() !== '');
  const names: string[] = [];
  parts.forEach((part, i) => {
    // the first part may carry words before the names ("Then Ortiz"); later parts may carry titles
    const name = i === 0 ? cleanName(part, 'end') : cleanName(part, 'start');
    if (name !== null) names.push(name);
  });
  return names;
}

function countsOf(groups: Record<string, string | undefined> | undefined): number[] | null {
  if (!groups || groups.a === undefined || groups.b === undefined) return null;
  const nums = [groups.a, groups.b, groups.c, groups.d].filter((x): x is string => x !== undefined).map(parseNumber);
  if (nums.some((n) => n === null)) return null;
  return nums as number[];
}

function scanResults(text: string): Event[] {
  const found: Extract<Event, { type: 'result' }>[] = [];
  for (const m of text.matchAll(RESULT_RE)) {
    const g = m.groups ?? {};
    const word = g.rw!.toLowerCase().replace(/\s+/g, ' ');
    const end = m.index + m[0].length;
    const after = text.slice(end, end + 40);
    const counts = g.tail !== undefined ? countsOf(g) : null;
    const unanimous = g.un1 !== undefined || g.un2 !== undefined;
    const strong = STRONG_WORDS.includes(word);
    if (word === 'died' && !/^[ \t\n]+(?:for|due[ \t]+to)[ \t\n]+(?:a[ \t]+)?lack/i.test(after)) continue;
    if (counts === null && !unanimous) {
      // "carried over", "failed to", "approved by the Planning Commission", a lone "Approved." after a consent item
      if (strong && /^[ \t]+(?:out|over|forward|on|through|into)(?![\p{L}])/iu.test(after)) continue;
      if (strong && g.subj === undefined && /^[ \t]+(?:in|to|by(?![ \t\n]+(?:a|the|unanimous|voice|roll|following|majority)(?![\p{L}])))(?![\p{L}])/iu.test(after)) continue;
      if (!strong && (g.subj === undefined || /^[ \t\n]+by[ \t\n]+(?!a[ \t]+(?:vote|roll|unanimous)|unanimous|roll|voice|the[ \t]+following)/i.test(after))) continue;
    }
    found.push({ type: 'result', at: m.index, end, result: FAIL_WORDS.has(word) ? 'failed' : 'passed', counts, unanimous });
  }
  for (const m of [...text.matchAll(TALLY_AFTER_RE), ...text.matchAll(TALLY_BEFORE_RE)]) {
    found.push({ type: 'result', at: m.index, end: m.index + m[0].length, result: null, counts: countsOf(m.groups), unanimous: false });
  }
  for (const m of text.matchAll(YES_NO_COUNT_RE)) {
    const g = m.groups ?? {};
    const a = parseNumber(g.a!);
    const b = parseNumber(g.b!);
    const c = g.c !== undefined ? parseNumber(g.c) : null;
    if (a === null || b === null) continue;
    // -1: a count the text does not state ("4 for, 3 against, 1 abstention" says nothing of absences)
    const counts = c === null ? [a, b] : /^(?:absent|excused)$/i.test(g.ck ?? '') ? [a, b, -1, c] : [a, b, c, -1];
    found.push({ type: 'result', at: m.index, end: m.index + m[0].length, result: null, counts, unanimous: false });
  }
  for (const m of text.matchAll(UNANIMOUS_RE)) {
    // "carried by unanimous voice vote – 5"
    const n = m.groups?.n === undefined ? null : Number(m.groups.n);
    found.push({ type: 'result', at: m.index, end: m.index + m[0].length, result: 'passed', counts: n === null ? null : [n, 0], unanimous: true });
  }
  // overlapping matches describe the same words: keep the earliest, then the longest
  found.sort((x, y) => x.at - y.at || y.end - x.end);
  const kept: Event[] = [];
  let lastEnd = -1;
  for (const r of found) {
    if (r.at < lastEnd) continue;
    kept.push(r);
    lastEnd = r.end;
  }
  return kept;
}

function scanEvents(text: string): Event[] {
  const events: Event[] = [];
  for (const m of text.matchAll(MOVER_RE)) {
    const mover = cleanName(m[1]!, 'start');
    if (mover !== null) events.push({ type: 'motion', at: m.index, mover, seconder: null });
  }
  for (const m of text.matchAll(NAME_MOVED_RE)) {
    const mover = cleanName(m[1]!, 'end');
    if (mover !== null) events.push({ type: 'motion', at: m.index, mover, seconder: null });
  }
  for (const m of text.matchAll(ANON_MOTION_RE)) {
    events.push({ type: 'motion', at: m.index, mover: null, seconder: null });
  }
  for (const m of text.matchAll(MS_RE)) {
    const mover = cleanName(m[1]!, 'start');
    const seconder = cleanName(m[2]!, 'start');
    if (mover !== null || seconder !== null) events.push({ type: 'motion', at: m.index, mover, seconder });
  }
  for (const m of text.matchAll(SECONDER_RE)) {
    const name = cleanName(m[1]!, 'start');
    if (name !== null) events.push({ type: 'seconder', at: m.index, name });
  }
  for (const m of text.matchAll(NAME_SECONDED_RE)) {
    const name = cleanName(m[1]!, 'end');
    if (name !== null) events.push({ type: 'seconder', at: m.index, name });
  }
  for (const list of findLists(text)) {
    if (list.kind !== 'present') events.push({ type: 'list', at: list.start, list: list as ParsedList & { kind: VoteChoice } });
  }
  // per-member roll call: adjacent entries form one event
  let rollCall: Extract<Event, { type: 'individual' }> | null = null;
  let rollCallEnd = -1;
  for (const m of text.matchAll(ROLLCALL_ENTRY_RE)) {
    const name = cleanName(m[1]!, 'end');
    if (name === null) continue;
    const entry = { name, vote: choiceOf(m.groups!.v!) };
    if (rollCall !== null && /^[\s,;.]*(?:and[\s,]*)?$/.test(text.slice(rollCallEnd, m.index))) {
      rollCall.entries.push(entry);
    } else {
      rollCall = { type: 'individual', at: m.index, entries: [entry], rollCall: true };
      events.push(rollCall);
    }
    rollCallEnd = m.index + m[0].length;
  }
  for (const re of [INLINE_VOTED_RE, INLINE_STATUS_RE]) {
    for (const m of text.matchAll(re)) {
      const raw = m[1] ?? m[2];
      const word = m.groups?.v ?? m.groups?.v2;
      if (raw === undefined || word === undefined) continue;
      const vote = choiceOf(word);
      const entries = nameListOf(raw).map((name) => ({ name, vote }));
      if (entries.length > 0) events.push({ type: 'individual', at: m.index, entries, rollCall: false });
    }
  }
  const results = scanResults(text);
  events.push(...results);
  for (const r of results) {
    if (r.type !== 'result' || r.counts === null) continue;
    const lineEnd = text.indexOf('\n', r.end);
    const rest = text.slice(r.end, lineEnd < 0 ? text.length : lineEnd);
    for (const m of rest.matchAll(STATUS_GROUP_RE)) {
      const vote = choiceOf(m.groups!.v!);
      const entries = nameListOf(m[1]!).map((name) => ({ name, vote }));
      if (entries.length > 0) events.push({ type: 'individual', at: r.end + m.index, entries, rollCall: false });
    }
  }
  const rank: Record<Event['type'], number> = { motion: 0, seconder: 1, list: 2, individual: 3, result: 4 };
  return events.sort((x, y) => x.at - y.at || rank[x.type] - rank[y.type]);
}

// ---------------------------------------------------------------------------------------------
// Grouping

/** A vote as read from the text, before it is finished into a {@link Vote}. */
export interface ReadVote {
  /** Offset of the first event of the vote, and of the end of its last one. */
  at: number;
  end: number;
  /** The motion's sentence, when a motion was read. */
  motion: string | null;
  mover: string | null;
  seconder: string | null;
  result: 'passed' | 'failed' | null;
  unanimous: boolean;
  counts: number[] | null;
  lists: Partial<Record<VoteChoice, ParsedList>>;
  individual: Map<string, VoteChoice>;
  rollCall: boolean;
}

function newDraft(at: number): ReadVote {
  return { at, end: at, motion: null, mover: null, seconder: null, result: null, unanimous: false, counts: null, lists: {}, individual: new Map(), rollCall: false };
}

function hasVoteContent(d: ReadVote): boolean {
  return d.result !== null || d.unanimous || d.counts !== null || Object.keys(d.lists).length > 0 || d.individual.size > 0;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The counts a vote states outright: "carried 3-1-1", "Ayes: 4", "For: 7 Against: 0". */
export function statedCounts(d: ReadVote): Partial<Record<VoteChoice, number>> {
  const has = (k: VoteChoice): boolean =>
    (d.lists[k]?.names.length ?? 0) > 0 || (d.lists[k]?.count ?? 0) > 0 || [...d.individual.values()].includes(k);
  const explicit: Partial<Record<VoteChoice, number>> = {};
  if (d.counts !== null) {
    const [a, b, c, e] = d.counts;
    explicit.aye = a;
    explicit.nay = b;
    if (d.counts.length === 3 && c !== undefined) {
      if (has('abstain') && !has('absent')) explicit.abstain = c;
      else explicit.absent = c;
    } else if (d.counts.length >= 4) {
      if (c! >= 0) explicit.abstain = c;
      if (e! >= 0) explicit.absent = e;
    }
  }
  for (const k of ['aye', 'nay', 'abstain', 'absent'] as VoteChoice[]) {
    const list = d.lists[k];
    if (list !== undefined && !list.all) explicit[k] = list.none ? 0 : (list.count ?? list.names.length);
  }
  return explicit;
}

/** A read vote as stored: tally from stated counts where given, else from the individual votes. */
export function finishVote(d: ReadVote): Vote {
  const individual_votes = [...d.individual].map(([name, vote]) => ({ name, vote }));
  const explicit = statedCounts(d);
  const value = (k: VoteChoice): number => explicit[k] ?? individual_votes.filter((v) => v.vote === k).length;
  const [ayes, nays, abstain, absent] = (['aye', 'nay', 'abstain', 'absent'] as VoteChoice[]).map(value) as [number, number, number, number];
  let result: VoteResult;
  if (d.result !== null) result = d.result;
  else if (d.unanimous) result = 'passed';
  else if (ayes + nays > 0) result = ayes > nays ? 'passed' : 'failed';
  else result = 'unknown';
  return { motion_by: d.mover, seconded_by: d.seconder, result, tally: { ayes, nays, abstain, absent }, individual_votes };
}

/** An earlier motion still waiting for its vote ("The question was called on the motion, as amended"). */
const PENDING_REACH = 1500;

/** The sentence a motion starts: "to approve the Consent Calendar", whitespace collapsed, at most 240 characters. */
function motionSentence(text: string, at: number): string {
  const rest = text.slice(at, at + 400);
  const stop = /(?<!\b(?:\p{Lu}|No|Nos|Mr|Mrs|Ms|Dr|St|Inc|Cllr))\.(?=\s)|\n[ \t]*\n|\n(?=[ \t]*(?:Ayes?|Yeas?|Noes|Nays?|Vote|Motion|Seconded|Abstain|Absent)\b)/u.exec(rest);
  return rest.slice(0, stop ? stop.index : 240).replace(/\s+/g, ' ').trim().slice(0, 240);
}

/**
 * Every motion/vote in the text, in reading order, as read. A vote is started by a motion ("Motion
 * by X, seconded by Y"), a vote list ("Ayes: ..."), a per-member roll call or a result ("carried
 * 5-0"); later events attach to it until one of them would repeat what the vote already has. A
 * result that finds its vote already decided goes to the last motion still waiting for one (the
 * main motion after an amendment).
 */
export function readVotes(text: string): ReadVote[] {
  const drafts: ReadVote[] = [];
  let cur: ReadVote | null = null;
  const start = (at: number): ReadVote => {
    cur = newDraft(at);
    drafts.push(cur);
    return cur;
  };

  for (const ev of scanEvents(text)) {
    const d = cur as ReadVote | null;
    let touched: ReadVote | null = null;
    switch (ev.type) {
      case 'motion': {
        const merge =
          d !== null &&
          !hasVoteContent(d) &&
          (ev.mover === null || d.mover === null || d.mover === ev.mover) &&
          (ev.seconder === null || d.seconder === null || d.seconder === ev.seconder);
        const target = merge ? d! : start(ev.at);
        target.mover ??= ev.mover;
        target.seconder ??= ev.seconder;
        target.motion ??= motionSentence(text, ev.at);
        touched = target;
        break;
      }
      case 'seconder': {
        if (d !== null && d.seconder === ev.name) break;
        if (d !== null && d.seconder === null && !hasVoteContent(d)) d.seconder = ev.name;
        else start(ev.at).seconder = ev.name;
        touched = cur;
        break;
      }
      case 'list': {
        const { list } = ev;
        if (d === null && list.kind === 'absent') break; // attendance, not a vote
        const existing = d?.lists[list.kind];
        if (existing !== undefined && sameNames(existing.names, list.names) && existing.none === list.none) break;
        // "Ayes: 4. Noes: 1." after a per-member roll call states its counts
        const countsRollCall = d !== null && d.rollCall && existing === undefined && (list.names.length === 0 || list.kind === 'absent');
        const target = d === null || existing !== undefined || (d.rollCall && !countsRollCall) ? start(ev.at) : d;
        target.lists[list.kind] = list;
        if (list.all && list.kind === 'aye') target.unanimous = true;
        for (const name of list.names) if (!target.individual.has(name)) target.individual.set(name, list.kind);
        touched = target;
        break;
      }
      case 'individual': {
        if (!ev.rollCall) {
          if (d === null) break; // an inline remark with no vote around it
          for (const { name, vote } of ev.entries) if (!d.individual.has(name)) d.individual.set(name, vote);
          touched = d;
          break;
        }
        if (d === null && ev.entries.every((e) => e.vote === 'absent')) break;
        const fresh = d === null || d.rollCall || Object.keys(d.lists).some((k) => k !== 'absent');
        const target = fresh ? start(ev.at) : d!;
        target.rollCall = true;
        for (const { name, vote } of ev.entries) if (!target.individual.has(name)) target.individual.set(name, vote);
        touched = target;
        break;
      }
      case 'result': {
        // "carried by unanimous voice vote": two readings of one result, not two votes
        // and "Motion Failed / Vote: / Yeas: ... / Nays: ... / Motion Failed" states one result twice
        const sameResult = d !== null && d.result === ev.result && (ev.counts === null || d.counts === null) && ev.at - d.end < 400 && !/\n[ \t]*\n/.test(text.slice(d.end, ev.at));
        const repeats =
          d !== null &&
          !sameResult &&
          ((d.result !== null && ev.result !== null) ||
            (d.counts !== null && ev.counts !== null && !sameNames(d.counts.map(String), ev.counts.map(String))));
        let target: ReadVote;
        // "The question was called for a vote on the motion, as amended. Unanimously carried."
        const mainMotion = d !== null && ev.result !== null && d.result !== null && /\b(?:as amended|main motion|original motion|question)\b/i.test(text.slice(d.end, ev.at));
        if (d === null || repeats || mainMotion) {
          const pending = d !== null && ev.result !== null ? waitingMotion(drafts, d, ev.at) : null;
          target = pending ?? start(ev.at);
          cur = target;
        } else target = d;
        target.result ??= ev.result;
        target.counts ??= ev.counts;
        target.unanimous ||= ev.unanimous;
        touched = target;
        break;
      }
    }
    if (touched !== null) touched.end = Math.max(touched.end, ev.at);
  }
  return drafts.filter((d) => d.mover !== null || d.seconder !== null || hasVoteContent(d));
}

/** The latest motion before `current` that has a mover and no vote yet, if it is near. */
function waitingMotion(drafts: readonly ReadVote[], current: ReadVote, at: number): ReadVote | null {
  for (let i = drafts.indexOf(current) - 1; i >= 0; i--) {
    const d = drafts[i]!;
    if (at - d.at > PENDING_REACH) return null;
    if (d.mover !== null && !hasVoteContent(d)) return d;
  }
  return null;
}

/** Every motion/vote on a page of text, in reading order. */
export function extractVotes(text: string): Vote[] {
  return readVotes(unwrapLines(text)).map(finishVote);
}

/** Names of everyone a motion or vote mentions (movers, seconders, voters), for entity extraction. */
export function votePersons(votes: readonly Vote[]): string[] {
  const names: string[] = [];
  for (const v of votes) {
    if (v.motion_by !== null) names.push(v.motion_by);
    if (v.seconded_by !== null) names.push(v.seconded_by);
    for (const iv of v.individual_votes) names.push(iv.name);
  }
  return names;
}
