/** Fetchers hand over whatever a municipal website says; these checks turn it into safe names. */
export class InvalidMeetingError extends Error {
  override name = 'InvalidMeetingError';
}

const MAX_MEETING_LENGTH = 120;

/** "City Council" -> "CityCouncil", as the original clerk names its folders. */
export function meetingSlug(meeting: string): string {
  const name = normalizeMeetingName(meeting);
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');
  if (slug.length === 0) throw new InvalidMeetingError(`meeting name "${printable(name)}" has no letters or digits to name a folder after`);
  return slug.slice(0, MAX_MEETING_LENGTH);
}

export function normalizeMeetingName(meeting: string): string {
  // eslint-disable-next-line no-control-regex
  const name = meeting.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  if (name.length === 0) throw new InvalidMeetingError('meeting name is empty');
  if (name.length > MAX_MEETING_LENGTH) throw new InvalidMeetingError(`meeting name is longer than ${MAX_MEETING_LENGTH} characters`);
  return name;
}

/** Accepts a real calendar date written YYYY-MM-DD, between 1900 and 2100. */
export function parseMeetingDate(date: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  if (!match) throw new InvalidMeetingError(`meeting date "${printable(date)}" is not YYYY-MM-DD`);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const parsed = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || year > 2100 || parsed.getUTCMonth() !== month - 1 || parsed.getUTCDate() !== day) {
    throw new InvalidMeetingError(`meeting date "${printable(date)}" is not a real date`);
  }
  return match[0];
}

/** Site-supplied text shown in a reason: cut short, with control and text-direction characters escaped. */
export function printable(input: string): string {
  const shown = input.length > 60 ? `${input.slice(0, 60)}…` : input;
  return JSON.stringify(shown)
    .slice(1, -1)
    .replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A platform's date or date-time as a meeting date in the site's time zone. A value without a zone
 * ("2019-07-29T00:00:00", as Legistar gives) is already local: its date part is the meeting date.
 * A value with one ("2023-01-11T02:00:00Z") is converted, so a 6 pm meeting stays on its own day.
 */
export function meetingDateIn(value: string, timeZone: string): string {
  const trimmed = value.trim();
  const local = /^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/.exec(trimmed);
  if (local) return parseMeetingDate(local[1]!);
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed)) {
    throw new InvalidMeetingError(`meeting date "${printable(value)}" is not an ISO date`);
  }
  // The calendar date as written must be real: Date would roll 2023-02-30 over into March.
  parseMeetingDate(trimmed.slice(0, 10));
  const instant = new Date(trimmed);
  if (Number.isNaN(instant.getTime())) throw new InvalidMeetingError(`meeting date "${printable(value)}" is not a real date`);
  return parseMeetingDate(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant));
}

/** "01/07/2020" (US order, as CivicPlus writes it) -> "2020-01-07". */
export function usDate(value: string): string {
  const match = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(value);
  if (!match) throw new InvalidMeetingError(`meeting date "${printable(value)}" is not MM/DD/YYYY`);
  return parseMeetingDate(`${match[3]}-${match[1]!.padStart(2, '0')}-${match[2]!.padStart(2, '0')}`);
}


/** "Jan 7, 2020", "January 7, 2020" or "Tuesday, January 7, 2020" -> "2020-01-07". */
export function monthNameDate(value: string): string {
  const match = /(?:^|[\s,])([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b/.exec(value.replace(/\u00a0/g, ' '));
  const month = match ? (monthNumber(match[1]!) ?? 0) - 1 : -1;
  if (!match || month < 0) throw new InvalidMeetingError(`meeting date "${printable(value)}" is not a date like "Jan 7, 2020"`);
  return parseMeetingDate(`${match[3]}-${String(month + 1).padStart(2, '0')}-${match[2]!.padStart(2, '0')}`);
}

/** Throws a clear error for a time zone Intl does not know. */
export function checkTimeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new InvalidMeetingError(`time zone "${printable(timeZone)}" is not an IANA time zone such as America/Los_Angeles`);
  }
  return timeZone;
}

export type DateFormat = 'auto' | 'ymd' | 'mdy' | 'dmy' | 'month-name';
export const DATE_FORMATS: readonly DateFormat[] = ['auto', 'ymd', 'mdy', 'dmy', 'month-name'];

/**
 * A date as a town website writes it -> YYYY-MM-DD. `auto` reads 2020-01-07, "January 7, 2020",
 * "7 January 2020" and, for numbers in another order, the US order (01/07/2020, 1-7-20, 01072020).
 * Two-digit years are 2000-2069 or 1970-1999.
 */
export function readDate(value: string, format: DateFormat = 'auto'): string {
  const text = value.replace(/[\s\u00a0]+/g, ' ').trim();
  const attempts: Record<Exclude<DateFormat, 'auto'>, () => string | undefined> = {
    ymd: () => numericDate(text, ['year', 'month', 'day']),
    mdy: () => numericDate(text, ['month', 'day', 'year']),
    dmy: () => numericDate(text, ['day', 'month', 'year']),
    'month-name': () => dayFirstMonthName(text) ?? monthNameOrUndefined(text),
  };
  // Read without a format, numbers are year first only when a year is written first in full
  // (2020-01-07, 20200107); otherwise in US order (01-07-2020, 01072020).
  const yearFirst = /^\d{4}\D/.test(text) || (/^\d{8}$/.test(text) && Number(text.slice(0, 4)) >= 1900 && Number(text.slice(0, 4)) <= 2100);
  const order: Exclude<DateFormat, 'auto'>[] = format !== 'auto' ? [format] : yearFirst ? ['ymd'] : ['month-name', 'mdy'];
  for (const attempt of order) {
    let date: string | undefined;
    try {
      date = attempts[attempt]();
    } catch (error) {
      // February 30: say what the page wrote, not only the date it would have been.
      const message = (error as Error).message;
      throw new InvalidMeetingError(message.includes('(the page says') ? message : `${message} (the page says "${printable(text)}")`);
    }
    if (date !== undefined) return date;
  }
  throw new InvalidMeetingError(`meeting date "${printable(value)}" is not a date written ${format === 'auto' ? 'in a way clerk reads' : `as ${format}`}`);
}

type DatePart = 'year' | 'month' | 'day';

/** Numbers in the given order, separated by - / . or a space, or run together (8 or 6 digits). */
function numericDate(text: string, order: readonly DatePart[]): string | undefined {
  const separated = /^(\d{1,4})([-/. ])(\d{1,4})\2(\d{1,4})$/.exec(text);
  let parts: string[] | undefined = separated ? [separated[1]!, separated[3]!, separated[4]!] : undefined;
  if (!parts && /^\d{8}$|^\d{6}$/.test(text)) {
    const yearLength = text.length === 8 ? 4 : 2;
    const widths = order.map((part) => (part === 'year' ? yearLength : 2));
    let at = 0;
    parts = widths.map((width) => text.slice(at, (at += width)));
  }
  if (!parts) return undefined;
  const value = (part: DatePart) => parts[order.indexOf(part)]!;
  const year = value('year');
  if (year.length !== 4 && year.length !== 2) return undefined;
  if (value('month').length > 2 || value('day').length > 2) return undefined;
  return isoDate(fullYear(year), Number(value('month')), Number(value('day')), text);
}

function dayFirstMonthName(text: string): string | undefined {
  const match = /^(?:[A-Za-z]+,? )?(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]{3,9})\.?,? (\d{4})$/.exec(text);
  const month = match ? monthNumber(match[2]!) : undefined;
  return match && month ? isoDate(Number(match[3]), month, Number(match[1]), text) : undefined;
}

function monthNameOrUndefined(text: string): string | undefined {
  try {
    return monthNameDate(text);
  } catch (error) {
    // "is not a real date" (February 30) is the answer; "not a date like" means try the next way.
    if (error instanceof InvalidMeetingError && /not a real date/.test(error.message)) throw error;
    return undefined;
  }
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** 1-12 for a month name or its abbreviation ("Jan", "Sept"), else undefined ("Mayor" is no month). */
export function monthNumber(name: string): number | undefined {
  const lower = name.toLowerCase();
  const index = lower.length < 3 ? -1 : lower === 'sept' ? 8 : MONTHS.findIndex((month) => month.startsWith(lower));
  return index < 0 ? undefined : index + 1;
}

export function fullYear(year: string): number {
  const value = Number(year);
  return year.length === 2 ? (value < 70 ? 2000 + value : 1900 + value) : value;
}

export function isoDate(year: number, month: number, day: number, shown: string): string {
  const iso = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  try {
    return parseMeetingDate(iso);
  } catch (error) {
    throw new InvalidMeetingError(`${(error as Error).message} (the page says "${printable(shown)}")`);
  }
}
