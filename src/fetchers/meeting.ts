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

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** "Jan", "Sept" or "January": a month's name or an abbreviation of it. */
function monthIndex(word: string): number {
  const lower = word.toLowerCase();
  return MONTHS.findIndex((month) => month.startsWith(lower));
}

/** "Jan 7, 2020", "January 7, 2020" or "Tuesday, January 7, 2020" -> "2020-01-07". */
export function monthNameDate(value: string): string {
  const match = /(?:^|[\s,])([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b/.exec(value.replace(/\u00a0/g, ' '));
  const month = match ? monthIndex(match[1]!) : -1;
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
