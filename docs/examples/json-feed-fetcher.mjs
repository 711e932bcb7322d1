// A clerk fetcher plugin: a town that publishes its meetings as one JSON feed, e.g.
//   GET https://town.example/meetings.json
//   { "meetings": [ { "body": "Select Board", "starts": "2024-03-05T19:00:00-05:00",
//                     "agenda": "/files/sb-2024-03-05-agenda.pdf", "minutes": null } ] }
//
// Load it with CLERK_FETCHER_PLUGINS=/path/to/this/folder (or this file, or an npm package name),
// then: clerk site add town.ma --fetcher json-feed --url https://town.example/meetings.json
//         --setting time_zone=America/New_York
// It needs nothing from clerk's source: everything comes in through `context`.

/** @type {import('../../src/fetchers/types.js').Fetcher} */
export default {
  name: 'json-feed',
  description: 'a town JSON feed: { meetings: [{ body, starts, agenda, minutes }] }',
  settings: {
    body: 'keep only meetings of this body (default: all)',
  },

  validateSettings(settings) {
    if (settings.body !== undefined && settings.body.trim() === '') throw new Error('setting body must not be empty');
  },

  async discover(site, options, context) {
    // Every request goes through the site's HTTP client: allowed hosts, retries, politeness.
    const feed = /** @type {{ meetings?: unknown }} */ (await context.http.getJson(site.baseUrl, { signal: options.signal }));
    if (!feed || !Array.isArray(feed.meetings)) throw new Error(`${site.baseUrl} has no "meetings" array`);
    // The builder validates names and dates, rejects bad entries with their reason (never the
    // whole listing), keeps only meetings in [since, until], and keeps two documents of one
    // meeting on one day apart.
    const builder = context.discovery(options);
    for (const meeting of feed.meetings) {
      if (site.settings.body && meeting?.body !== site.settings.body) continue;
      for (const kind of /** @type {const} */ (['agenda', 'minutes'])) {
        if (!meeting?.[kind]) continue;
        builder.add(
          () => ({
            kind,
            meeting: String(meeting.body ?? ''),
            // A date-time with a zone is converted into the site's time zone.
            date: context.dates.meetingDateIn(String(meeting.starts ?? ''), site.timeZone),
            url: String(meeting[kind]),
          }),
          site.baseUrl,
          String(meeting[kind]), // names the entry if it is rejected
        );
      }
    }
    return builder.finish();
  },
};
