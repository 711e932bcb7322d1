import { describe, expect, it } from 'vitest';
import { parseIndexPage } from '../../src/fetchers/http-index.js';
import { meetingSlug, parseMeetingDate } from '../../src/fetchers/meeting.js';

const base = new URL('http://city.example/meetings/index.html');

describe('parseIndexPage', () => {
  it('lists each PDF anchor with its kind, meeting and date, and ignores other links', () => {
    const html = `
      <a href="about.html">About</a> <a href="mailto:clerk@city.example">Mail</a>
      <a class="document" href="minutes/CityCouncil/2026-01-05.pdf" data-kind="minutes" data-meeting="City Council" data-date="2026-01-05">Minutes</a>
      <a href='agendas/Planning%20Board/2026-02-10.pdf'>Agenda</a>`;
    const { documents, rejected } = parseIndexPage(html, base);
    expect(rejected).toEqual([]);
    expect(documents).toEqual([
      { kind: 'minutes', meeting: 'City Council', meetingSlug: 'CityCouncil', date: '2026-01-05', url: 'http://city.example/meetings/minutes/CityCouncil/2026-01-05.pdf' },
      { kind: 'agenda', meeting: 'Planning Board', meetingSlug: 'PlanningBoard', date: '2026-02-10', url: 'http://city.example/meetings/agendas/Planning%20Board/2026-02-10.pdf' },
    ]);
  });

  it('rejects listings with impossible dates or nameless meetings, and keeps the rest', () => {
    const html = `
      <a href="a.pdf" data-meeting="Council" data-date="2026-02-30">bad date</a>
      <a href="b.pdf" data-meeting="  !!! " data-date="2026-01-01">no name</a>
      <a href="c.pdf" data-meeting="Council" data-date="2026-01-01">ok</a>`;
    const { documents, rejected } = parseIndexPage(html, base);
    expect(documents.map((d) => d.url)).toEqual(['http://city.example/meetings/c.pdf']);
    expect(rejected.map((r) => r.reason)).toEqual(['meeting date "2026-02-30" is not a real date', 'meeting name "!!!" has no letters or digits to name a folder after']);
  });

  it('keeps two documents of one meeting on one day apart (a 5 pm and a 7 pm session), and a link listed twice once', () => {
    const html = `
      <a href="c.pdf" data-meeting="Council" data-date="2026-01-01">5 pm</a>
      <a href="d.pdf" data-meeting="Council" data-date="2026-01-01">7 pm</a>
      <a href="d.pdf" data-meeting="Council" data-date="2026-01-01">7 pm, again</a>`;
    const { documents, rejected } = parseIndexPage(html, base);
    expect(rejected).toEqual([]);
    expect(documents.map((d) => [d.url, d.part])).toEqual([
      ['http://city.example/meetings/c.pdf', undefined],
      ['http://city.example/meetings/d.pdf', expect.stringMatching(/^[0-9a-f]{8}$/)],
    ]);
  });
});

describe('meeting names and dates', () => {
  it('simplifies meeting names the way the original clerk names folders', () => {
    expect(meetingSlug('City Council')).toBe('CityCouncil');
    expect(meetingSlug('Board of Zoning  Adjustments / Special')).toBe('BoardOfZoningAdjustmentsSpecial');
    expect(meetingSlug('Comité de Café')).toBe('ComiteDeCafe');
  });

  it('accepts only real YYYY-MM-DD dates', () => {
    expect(parseMeetingDate('2024-02-29')).toBe('2024-02-29');
    for (const bad of ['2023-02-29', '26-01-01', '2026-1-1', '1800-01-01', '2026-01-01T00:00']) {
      expect(() => parseMeetingDate(bad)).toThrow();
    }
  });
});
