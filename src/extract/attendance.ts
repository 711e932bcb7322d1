/**
 * Who was at the meeting: the roll call ("Present: ...", "Absent: ...", "Council members present
 * were ...", "Apologies were received from Cllrs. X and Y") and the changes after it ("Council
 * member Carrington present after 10:40 a.m.", "X left the meeting"). Read once per document, in
 * reading order, so that a "Motion carried unanimously" three pages later knows who voted.
 */
import {
  NAME_CANDIDATE,
  PLURAL_TITLE_ALT,
  STAFF_LIST_KEYWORDS,
  TITLE_ALT,
  ci,
  ciAlt,
  cleanName,
  findLists,
  findTitledPersons,
  stripTitles,
} from './council-patterns.js';

export interface AttendanceEvent {
  at: number;
  /** A roll call states everyone; an arrival or a departure changes one or two. */
  kind: 'roll-call' | 'change';
  present: string[];
  absent: string[];
}

/** An absence stated this far after a roll call belongs to it ("Councilmember Kristiansen was absent."). */
const ROLL_CALL_REACH = 700;

const NAME = `(${NAME_CANDIDATE})`;
const NAMES = String.raw`(${NAME_CANDIDATE}(?:(?:[ \t]*,[ \t]*(?:${ci('and')}[ \t]+)?|[ \t]+${ci('and')}[ \t]+|[ \t]*&[ \t]*)(?:(?:${TITLE_ALT})\.?[ \t]+)?${NAME_CANDIDATE}){0,20})`;

/** "Council members present were Mayor Harriet Quintero, Louis Beaumont ... and Jack O'Rourke." */
const PRESENT_WERE_RE = new RegExp(
  String.raw`(?<![\p{L}])(?<!${ci('also')}[ \t]+)(?:(?:${PLURAL_TITLE_ALT}|${ciAlt(['council members', 'members of council', 'members of the board'])})[ \t]+)?${ci('present')}[ \t]+(?:${ciAlt(['were', 'was', 'at roll call'])})[ \t]*:?[ \t]*`,
  'gu',
);
/** A "ROLL CALL" heading with the roster as the next sentence. */
const ROLL_CALL_HEADING_RE = new RegExp(String.raw`(?:^|\n)[ \t]*(?:\d{1,2}\.?[ \t]*)?(?:${ci('roll call')})[ \t]*\n`, 'gu');
/** "Councilmember Kristiansen was absent.", "Council member Dana Carrington absent and excused." */
const ABSENT_SENTENCE_RE = new RegExp(
  String.raw`${NAME}[ \t]+(?:(?:${ciAlt(['was', 'were', 'is'])})[ \t]+)?(?:${ciAlt(['absent', 'excused', 'not present', 'absent and excused'])})(?![\p{L}])`,
  'gu',
);
/** "Apologies for non-attendance were received from Cllrs. Parker and Richardson." */
const APOLOGIES_RE = new RegExp(
  String.raw`(?<![\p{L}])${ci('apologies')}(?:[ \t]+${ciAlt(['for absence', 'for non-attendance', 'for non attendance'])})?[ \t]+(?:${ciAlt(['were', 'was', 'had been', 'have been'])})[ \t]+${ci('received')}(?:[ \t]+${ci('and accepted')})?[ \t]+${ci('from')}[ \t]+(?:(?:${PLURAL_TITLE_ALT}|${TITLE_ALT})\.?[ \t]+)?${NAMES}`,
  'gu',
);
const ARRIVAL_RE = new RegExp(
  String.raw`${NAME}[ \t]+(?:(?:${ciAlt(['was', 'is'])})[ \t]+)?(?:${ciAlt(['present after', 'arrived', 'entered the meeting', 'joined the meeting', 'returned to the meeting'])})(?![\p{L}])`,
  'gu',
);
const DEPARTURE_RE = new RegExp(
  String.raw`${NAME}[ \t]+(?:${ciAlt(['left the meeting', 'departed the meeting', 'departed', 'was excused from the meeting', 'left the room'])})(?![\p{L}])`,
  'gu',
);

/** Names of a list sentence: "Mayor X, Y and Z", titles dropped. */
function namesOf(raw: string): string[] {
  const names: string[] = [];
  for (const part of raw.split(/[ \t]*(?:,|(?<![\p{L}])and(?![\p{L}])|&)[ \t]*/u)) {
    if (part.trim() === '') continue;
    const name = cleanName(stripTitles(part.trim()), 'start');
    if (name === null) break;
    names.push(name);
  }
  return names;
}

/** The sentence from `from` to its end (a full stop that is not an initial), on at most 400 characters. */
function sentenceAt(text: string, from: number): string {
  const rest = text.slice(from, from + 400);
  const stop = /(?<!(?:^|[\s.(])\p{Lu}|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr))\.(?=\s|$)|\n[ \t]*\n/u.exec(rest);
  return stop ? rest.slice(0, stop.index) : rest;
}

/** Every attendance event of a (whole-document) text, in reading order. */
export function readAttendance(text: string): AttendanceEvent[] {
  const rollCalls: AttendanceEvent[] = [];
  const changes: AttendanceEvent[] = [];
  const lists = findLists(text);

  for (const list of lists) {
    if (list.kind === 'present' && !STAFF_LIST_KEYWORDS.has(list.keyword) && list.names.length > 0) {
      rollCalls.push({ at: list.start, kind: 'roll-call', present: list.names, absent: [] });
    }
  }
  for (const m of text.matchAll(PRESENT_WERE_RE)) {
    const names = namesOf(sentenceAt(text, m.index + m[0].length));
    if (names.length > 0) rollCalls.push({ at: m.index, kind: 'roll-call', present: names, absent: [] });
  }
  for (const m of text.matchAll(ROLL_CALL_HEADING_RE)) {
    const from = m.index + m[0].length;
    const sentence = sentenceAt(text, from);
    // the roster is a sentence of titled names ("Mayor Tim Willson and Councilmembers ..."), not prose
    if (!new RegExp(`^[ \\t]*(?:${TITLE_ALT}|${PLURAL_TITLE_ALT})`, 'u').test(sentence)) continue;
    const names = findTitledPersons(sentence);
    if (names.length > 1) rollCalls.push({ at: from, kind: 'roll-call', present: names, absent: [] });
  }
  rollCalls.sort((a, b) => a.at - b.at);
  const afterRollCall = (at: number): AttendanceEvent | undefined => rollCalls.findLast((r) => r.at <= at && at - r.at <= ROLL_CALL_REACH);

  for (const list of lists) {
    if (list.kind !== 'absent' || list.names.length === 0) continue;
    const rollCall = afterRollCall(list.start);
    if (rollCall !== undefined || /^(?:apologies|regrets|absent with regrets)$/.test(list.keyword)) {
      changes.push({ at: list.start, kind: 'change', present: [], absent: list.names });
    }
  }
  for (const m of text.matchAll(ABSENT_SENTENCE_RE)) {
    const name = cleanName(m[1]!, 'end');
    if (name !== null && afterRollCall(m.index) !== undefined) changes.push({ at: m.index, kind: 'change', present: [], absent: [name] });
  }
  for (const m of text.matchAll(APOLOGIES_RE)) {
    const names = namesOf(m[1]!);
    if (names.length > 0) changes.push({ at: m.index, kind: 'change', present: [], absent: names });
  }
  for (const m of text.matchAll(ARRIVAL_RE)) {
    const name = cleanName(m[1]!, 'end');
    if (name !== null) changes.push({ at: m.index, kind: 'change', present: [name], absent: [] });
  }
  for (const m of text.matchAll(DEPARTURE_RE)) {
    const name = cleanName(m[1]!, 'end');
    if (name !== null) changes.push({ at: m.index, kind: 'change', present: [], absent: [name] });
  }
  return mergeRollCalls(rollCalls).concat(changes).sort((a, b) => a.at - b.at);
}

/** Two rosters of one roll call (a heading sentence and a "Present:" list) are one roll call. */
function mergeRollCalls(rollCalls: AttendanceEvent[]): AttendanceEvent[] {
  const merged: AttendanceEvent[] = [];
  for (const r of rollCalls) {
    const last = merged.at(-1);
    if (last !== undefined && r.at - last.at <= ROLL_CALL_REACH) last.present = [...new Set([...last.present, ...r.present])];
    else merged.push({ ...r });
  }
  return merged;
}

export interface Attendees {
  present: Set<string>;
  absent: Set<string>;
}

/**
 * Who was present and absent at `offset`, names mapped by `canonical`. Empty sets before any
 * roll call: then nothing is known.
 */
export function attendeesAt(events: readonly AttendanceEvent[], offset: number, canonical: (name: string) => string): Attendees {
  let present = new Set<string>();
  let absent = new Set<string>();
  for (const e of events) {
    if (e.at > offset) break;
    if (e.kind === 'roll-call') {
      present = new Set(e.present.map(canonical));
      absent = new Set();
    }
    for (const name of e.absent.map(canonical)) {
      present.delete(name);
      absent.add(name);
    }
    for (const name of e.present.map(canonical)) {
      absent.delete(name);
      present.add(name);
    }
  }
  return { present, absent };
}
