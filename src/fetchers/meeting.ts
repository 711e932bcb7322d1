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
