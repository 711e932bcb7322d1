import { describe, expect, it } from 'vitest';
import { type Vote, extractDocument, extractEntities, extractPage, extractVotes } from '../../src/extract/index.js';
import { ExtractionThreads } from '../../src/extract/threads.js';

const CALL_TO_ORDER = [
  'CITY OF SPRINGFIELD',
  'MINUTES OF THE REGULAR CITY COUNCIL MEETING',
  '',
  'Mayor Chen called the meeting to order at 7:00 p.m. in the Council Chambers at City Hall,',
  '100 Main Street.',
  '',
  'ROLL CALL',
  'Present: Council Members Ortiz, Ramirez, Vice Mayor Daysog, Mayor Chen.',
  'Absent: Council Member Kowalski.',
  'Also Present: City Manager Dana Lee, City Clerk Ann Smith, City Attorney Paul Ng.',
].join('\n');

const PUBLIC_COMMENT = [
  'ORAL COMMUNICATIONS',
  'John Walker of the Sierra Club spoke in support of the Riverside Park restoration.',
  'Jane Doe, representing the Downtown Business Association, asked about parking on Elm Avenue.',
  'The City Manager, Dana Lee, responded that the Public Works Department is studying the issue.',
].join('\n');

function only(votes: Vote[]): Vote {
  expect(votes).toHaveLength(1);
  return votes[0]!;
}

describe('extractEntities', () => {
  it('takes the person from "Council Member Maria Ortiz" without the title', () => {
    const { persons } = extractEntities('Council Member Maria Ortiz thanked staff for the report.');
    expect(persons).toEqual(['Maria Ortiz']);
  });

  it('strips "Mayor" and "Vice Mayor" and keeps a bare surname', () => {
    const { persons } = extractEntities('Mayor Chen opened the hearing. Vice Mayor Daysog asked about the budget.');
    expect(persons).toEqual(['Chen', 'Daysog']);
  });

  it('reads the other council titles: Councilmember, Commissioner, Supervisor, Board Member, Chair', () => {
    const text = [
      'Councilmember Patel asked a question.',
      'Commissioner Garcia recused herself.',
      'Supervisor Hahn spoke next.',
      'Board Member Hom and Chair Okonkwo concurred.',
    ].join('\n');
    expect(extractEntities(text).persons).toEqual(['Garcia', 'Hahn', 'Hom', 'Okonkwo', 'Patel']);
  });

  it('takes every name from a roll call, titles and the trailing count removed', () => {
    const text = 'Present: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog,\n         Mayor Ashcraft - 5.\nAbsent: None.';
    expect(extractEntities(text).persons).toEqual(['Ashcraft', 'Chen', 'Daysog', 'Ortiz', 'Ramirez']);
  });

  it('takes the mover and seconder of "Motion by X, seconded by Y" as persons', () => {
    const { persons } = extractEntities('Motion by Council Member Ortiz, seconded by Vice Mayor Daysog, to approve the minutes.');
    expect(persons).toEqual(['Daysog', 'Ortiz']);
  });

  it('finds the roll call, the staff and the members of a call to order, and no bare titles', () => {
    const entities = extractEntities(CALL_TO_ORDER);
    expect(entities.persons).toEqual(['Ann Smith', 'Chen', 'Dana Lee', 'Daysog', 'Kowalski', 'Ortiz', 'Paul Ng', 'Ramirez']);
    expect(entities.locations).toEqual(['100 Main Street', 'City Hall']);
    for (const list of [entities.persons, entities.locations, entities.orgs]) {
      expect(list).not.toContain('City Manager');
      expect(list).not.toContain('City Clerk');
      expect(list).not.toContain('City Attorney');
    }
  });

  it('files "Sierra Club" and other suffixed names under organisations, never persons', () => {
    const entities = extractEntities(PUBLIC_COMMENT);
    expect(entities.orgs).toEqual(['Downtown Business Association', 'Public Works Department', 'Sierra Club']);
    expect(entities.persons).toEqual(['Dana Lee', 'Jane Doe', 'John Walker']);
    expect(entities.locations).toEqual(['Elm Avenue', 'Riverside Park']);
  });

  it('recognises the organisation suffixes Commission, District, Foundation, Authority, Inc and LLC', () => {
    const text = [
      'The Planning Commission recommended approval.',
      'A grant from the Springfield Parks Foundation was accepted.',
      'Staff met with the Alameda Unified School District and the Housing Authority.',
      'The contract with Bayline Paving, Inc. was awarded; Harbor Lights LLC withdrew its bid.',
    ].join('\n');
    expect(extractEntities(text).orgs).toEqual([
      'Alameda Unified School District',
      'Bayline Paving, Inc',
      'Harbor Lights LLC',
      'Housing Authority',
      'Planning Commission',
      'Springfield Parks Foundation',
    ]);
  });

  it('keeps a long chapter name whole and does not also report its pieces', () => {
    const text = 'Speakers: Helen Okafor, Sierra Club San Francisco Bay Chapter, in support;\nTom Brandt, Alameda, opposed.';
    const entities = extractEntities(text);
    expect(entities.orgs).toEqual(['Sierra Club San Francisco Bay Chapter']);
    expect(entities.persons).toEqual(['Helen Okafor', 'Tom Brandt']);
    expect(entities.locations).not.toContain('San Francisco Bay');
  });

  it('reads staff named beside their role: "The City Manager, Jennifer Ott," and "Lara Weisiger, City Clerk"', () => {
    const text = 'The City Manager, Jennifer Ott, announced the shuttle pilot.\nRespectfully submitted,\nLara Weisiger, City Clerk';
    expect(extractEntities(text).persons).toEqual(['Jennifer Ott', 'Lara Weisiger']);
  });

  it('folds a lone surname into the one full name on the page that ends with it', () => {
    const text = 'Council Member Maria Ortiz moved the item. Ortiz later withdrew her motion. Mayor Chen agreed.';
    expect(extractEntities(text).persons).toEqual(['Chen', 'Maria Ortiz']);
  });

  it('keeps a lone surname when two full names could own it', () => {
    const text = 'Maria Ortiz and Luis Ortiz spoke. Council Member Ortiz responded.';
    expect(extractEntities(text).persons).toEqual(['Luis Ortiz', 'Maria Ortiz', 'Ortiz']);
  });

  it('does not take the second word of a place name ("Santa Clara") as a person', () => {
    const text = 'Agreement with Pacific Gas and Electric Company and the County of Santa Clara for streetlight conversion.';
    const entities = extractEntities(text);
    expect(entities.persons).toEqual([]);
    expect(entities.orgs).toEqual(['Pacific Gas and Electric Company']);
  });

  it('title-cases names from shouted minutes', () => {
    const text = "MOTION BY COMMISSIONER GARCIA, SECONDED BY COMMISSIONER O'BRIEN.\nAYES: GARCIA, O'BRIEN, WU\nNOES: KIM";
    expect(extractEntities(text).persons).toEqual(['Garcia', 'Kim', "O'Brien", 'Wu']);
  });

  it('reports nothing from an all-caps agenda heading', () => {
    expect(extractEntities('7. CITY MANAGER COMMUNICATIONS\n8. COUNCIL REFERRALS')).toEqual({ persons: [], orgs: [], locations: [] });
  });

  it('returns empty lists for empty text', () => {
    expect(extractEntities('')).toEqual({ persons: [], orgs: [], locations: [] });
  });
});

describe('extractVotes', () => {
  it('reads mover, seconder, roll-call lists and the count of a carried motion', () => {
    const text = [
      'Motion by Council Member Ortiz, seconded by Vice Mayor Daysog, to approve the Consent Calendar.',
      'Ayes: Ortiz, Chen, Ramirez. Noes: Kowalski. Abstain: Daysog. Absent: Lee.',
      'The motion carried 3-1-1.',
    ].join('\n');
    expect(extractVotes(text)).toEqual([
      {
        motion_by: 'Ortiz',
        seconded_by: 'Daysog',
        result: 'passed',
        tally: { ayes: 3, nays: 1, abstain: 1, absent: 1 },
        individual_votes: [
          { name: 'Ortiz', vote: 'aye' },
          { name: 'Chen', vote: 'aye' },
          { name: 'Ramirez', vote: 'aye' },
          { name: 'Kowalski', vote: 'nay' },
          { name: 'Daysog', vote: 'abstain' },
          { name: 'Lee', vote: 'absent' },
        ],
      },
    ]);
  });

  it('accepts "Nays:" as well as "Noes:" and titles inside the lists', () => {
    const vote = only(extractVotes('Ayes: Council Members Chen, Ramirez, Mayor Ashcraft.\nNays: Council Member Ortiz.\nThe motion carried.'));
    expect(vote.tally).toEqual({ ayes: 3, nays: 1, abstain: 0, absent: 0 });
    expect(vote.individual_votes.map((v) => `${v.name}:${v.vote}`)).toEqual(['Chen:aye', 'Ramirez:aye', 'Ashcraft:aye', 'Ortiz:nay']);
    expect(vote.result).toBe('passed');
  });

  it('reads "It was moved by X and seconded by Y" and a failed count with inline aye voters', () => {
    const vote = only(
      extractVotes(
        'It was moved by Councilmember Patel and seconded by Councilmember Nguyen to deny the appeal. ' +
          'The motion failed 2-3, with Councilmembers Patel and Nguyen voting aye.',
      ),
    );
    expect(vote).toEqual({
      motion_by: 'Patel',
      seconded_by: 'Nguyen',
      result: 'failed',
      tally: { ayes: 2, nays: 3, abstain: 0, absent: 0 },
      individual_votes: [
        { name: 'Patel', vote: 'aye' },
        { name: 'Nguyen', vote: 'aye' },
      ],
    });
  });

  it('reads "moved by X and seconded by Y" followed by "passed unanimously" with no count', () => {
    const vote = only(extractVotes('The item was moved by Trustee Bell and seconded by Trustee Ames. The motion passed unanimously.'));
    expect(vote).toMatchObject({ motion_by: 'Bell', seconded_by: 'Ames', result: 'passed' });
    expect(vote.tally).toEqual({ ayes: 0, nays: 0, abstain: 0, absent: 0 });
  });

  it('reads "approved 4-1" with the dissenter named in parentheses', () => {
    const vote = only(extractVotes('Supervisor Solis moved to continue the hearing; seconded by Supervisor Mitchell. Approved 4-1 (Barger dissenting).'));
    expect(vote).toEqual({
      motion_by: 'Solis',
      seconded_by: 'Mitchell',
      result: 'passed',
      tally: { ayes: 4, nays: 1, abstain: 0, absent: 0 },
      individual_votes: [{ name: 'Barger', vote: 'nay' }],
    });
  });

  it('splits a page into one vote per motion', () => {
    const text = [
      'Council Member Chen moved approval of the Consent Calendar.',
      'Motion by Council Member Chen, seconded by Council Member Ortiz.',
      'Ayes: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog,',
      '      Mayor Ashcraft - 5. Noes: None. The motion carried unanimously 5-0.',
      '',
      '(26-002) Minutes of the December 16, 2025 meetings. Approved.',
      '',
      'Vice Mayor Daysog moved adoption of Resolution No. 16013 approving the plan.',
      'Motion by Vice Mayor Daysog, seconded by Council Member Ramirez.',
      'Ayes: Council Members Chen, Ramirez, Vice Mayor Daysog, Mayor Ashcraft - 4.',
      'Noes: Council Member Ortiz - 1. The motion carried 4-1.',
    ].join('\n');
    const votes = extractVotes(text);
    expect(votes.map((v) => [v.motion_by, v.seconded_by, v.result, v.tally.ayes, v.tally.nays])).toEqual([
      ['Chen', 'Ortiz', 'passed', 5, 0],
      ['Daysog', 'Ramirez', 'passed', 4, 1],
    ]);
    expect(votes[1]!.individual_votes).toContainEqual({ name: 'Ortiz', vote: 'nay' });
  });

  it('takes counts from "Ayes: 4. Noes: 0." when no names are listed', () => {
    const vote = only(extractVotes('Motion by Board Member Abara, seconded by Board Member Fujimoto.\nAyes: 4. Noes: 0. The motion carried 4-0.'));
    expect(vote).toEqual({
      motion_by: 'Abara',
      seconded_by: 'Fujimoto',
      result: 'passed',
      tally: { ayes: 4, nays: 0, abstain: 0, absent: 0 },
      individual_votes: [],
    });
  });

  it('reads a per-member roll call and infers the result from the tally', () => {
    const vote = only(extractVotes('ROLL CALL VOTE:\nOrtiz - Aye\nChen - No\nRamirez - Aye\nLee - Abstain\nKim - Absent'));
    expect(vote).toEqual({
      motion_by: null,
      seconded_by: null,
      result: 'passed',
      tally: { ayes: 2, nays: 1, abstain: 1, absent: 1 },
      individual_votes: [
        { name: 'Ortiz', vote: 'aye' },
        { name: 'Chen', vote: 'nay' },
        { name: 'Ramirez', vote: 'aye' },
        { name: 'Lee', vote: 'abstain' },
        { name: 'Kim', vote: 'absent' },
      ],
    });
  });

  it('reads "Motion: X. Second: Y." and a semicolon-separated roll call', () => {
    const text = 'Motion: Nguyen. Second: Alvarez. To adopt Ordinance No. 2025-03.\nRoll call: Baker, aye; Nguyen, aye; Alvarez, aye; Thompson, no.\nMotion passed 3-1.';
    expect(only(extractVotes(text))).toEqual({
      motion_by: 'Nguyen',
      seconded_by: 'Alvarez',
      result: 'passed',
      tally: { ayes: 3, nays: 1, abstain: 0, absent: 0 },
      individual_votes: [
        { name: 'Baker', vote: 'aye' },
        { name: 'Nguyen', vote: 'aye' },
        { name: 'Alvarez', vote: 'aye' },
        { name: 'Thompson', vote: 'nay' },
      ],
    });
  });

  it('reads "X moved, seconded by Y" and an absentee named after the count', () => {
    const text = 'Councilmember Baker moved, seconded by Councilmember Nguyen, to approve the Consent Calendar. Motion carried 4-0, Fields absent.';
    expect(only(extractVotes(text))).toEqual({
      motion_by: 'Baker',
      seconded_by: 'Nguyen',
      result: 'passed',
      tally: { ayes: 4, nays: 0, abstain: 0, absent: 1 },
      individual_votes: [{ name: 'Fields', vote: 'absent' }],
    });
  });

  it('reads "M/S Ortiz/Chen" and a four-part count with the absentees in parentheses', () => {
    const vote = only(extractVotes('M/S Ortiz/Chen to adopt Resolution No. 2024-15. Carried 5-0-0-2 (Lee, Park absent).'));
    expect(vote).toEqual({
      motion_by: 'Ortiz',
      seconded_by: 'Chen',
      result: 'passed',
      tally: { ayes: 5, nays: 0, abstain: 0, absent: 2 },
      individual_votes: [
        { name: 'Lee', vote: 'absent' },
        { name: 'Park', vote: 'absent' },
      ],
    });
  });

  it('reads "motion failed 2-3" as failed', () => {
    const vote = only(extractVotes('Motion by Commissioner Wu, seconded by Commissioner Kim, to deny the permit. Motion failed 2-3.'));
    expect(vote).toMatchObject({ result: 'failed', tally: { ayes: 2, nays: 3, abstain: 0, absent: 0 } });
  });

  it('reads a motion that dies for lack of a second as failed', () => {
    const vote = only(extractVotes('Council Member Ramirez moved to reconsider. The motion died for lack of a second.'));
    expect(vote).toMatchObject({ motion_by: 'Ramirez', seconded_by: null, result: 'failed' });
  });

  it('reads "5 ayes, 0 noes, 2 absent" and "by a vote of 4 to 1"', () => {
    const first = only(extractVotes('Motion by Trustee Bell, seconded by Trustee Ames. Vote: 5 ayes, 0 noes, 2 absent.'));
    expect(first.tally).toEqual({ ayes: 5, nays: 0, abstain: 0, absent: 2 });
    expect(first.result).toBe('passed');
    const second = only(extractVotes('The ordinance was introduced on motion by Chen, seconded by Ortiz, and carried by a vote of four to one.'));
    expect(second).toMatchObject({ motion_by: 'Chen', seconded_by: 'Ortiz', result: 'passed', tally: { ayes: 4, nays: 1 } });
  });

  it('reads shouted minutes', () => {
    const vote = only(extractVotes("MOTION BY COMMISSIONER GARCIA, SECONDED BY COMMISSIONER O'BRIEN.\nAYES: GARCIA, O'BRIEN, WU\nNOES: KIM, LOPEZ\nABSENT: NONE"));
    expect(vote).toMatchObject({ motion_by: 'Garcia', seconded_by: "O'Brien", result: 'passed', tally: { ayes: 3, nays: 2, abstain: 0, absent: 0 } });
  });

  it('gives a result of unknown when a motion has no outcome on the page', () => {
    const vote = only(extractVotes('Motion by Council Member Ortiz, seconded by Council Member Chen, to refer the item to committee.'));
    expect(vote).toMatchObject({ motion_by: 'Ortiz', seconded_by: 'Chen', result: 'unknown' });
  });

  it('does not mistake attendance, "carried over" or an item approved elsewhere for a vote', () => {
    const text = [
      CALL_TO_ORDER,
      'The item was carried over to the next meeting.',
      'The design was approved by the Planning Commission in 2019.',
      '(26-002) Minutes of the December 16, 2025 meeting. Approved.',
    ].join('\n');
    expect(extractVotes(text)).toEqual([]);
  });
});

describe('extractPage', () => {
  it('returns the entities and the votes of one page', () => {
    const text = [
      CALL_TO_ORDER,
      '',
      PUBLIC_COMMENT,
      '',
      'CONSENT CALENDAR',
      'Motion by Council Member Ortiz, seconded by Council Member Ramirez.',
      'Ayes: Ortiz, Ramirez, Daysog, Chen. Noes: None. Absent: Kowalski.',
      'The motion carried 4-0.',
    ].join('\n');
    const page = extractPage(text);
    expect(page.votes).toEqual([
      {
        motion: 'Motion by Council Member Ortiz, seconded by Council Member Ramirez',
        page: 1,
        motion_by: 'Ortiz',
        seconded_by: 'Ramirez',
        result: 'passed',
        tally: { ayes: 4, nays: 0, abstain: 0, absent: 1 },
        individual_votes: [
          { name: 'Ortiz', vote: 'aye' },
          { name: 'Ramirez', vote: 'aye' },
          { name: 'Daysog', vote: 'aye' },
          { name: 'Chen', vote: 'aye' },
          { name: 'Kowalski', vote: 'absent' },
        ],
      },
    ]);
    expect(page.entities).toEqual(extractEntities(text));
    expect(page.entities.orgs).toContain('Sierra Club');
    expect(page.entities.persons).not.toContain('Sierra Club');
  });

  it('finishes quickly on pathological input (no catastrophic backtracking)', () => {
    const inputs = [
      'Ayes: ' + 'Ortiz, '.repeat(2000),
      'Council Member '.repeat(2000),
      ('Motion by ' + 'Abc Def Ghi '.repeat(10)).repeat(100),
      '5-5-5-5-5-'.repeat(2000),
      '('.repeat(5000) + 'Lee absent',
      'with Ortiz, Chen, Lee, Kim, Wu, Park, '.repeat(300) + 'voting no',
    ];
    for (const input of inputs) {
      const votes = extractVotes(input);
      expect(Array.isArray(votes)).toBe(true);
    }
  });
});

describe('council formats', () => {
  const pairs = (vote: Vote) => vote.individual_votes.map((v) => `${v.name}:${v.vote}`);

  it('turns a name list with initials into individual votes: "Yeas: Mayor A. Smith, B. Jones, C. Lee"', () => {
    const vote = only(extractVotes('Yeas: Mayor A. Smith, B. Jones, C. Lee\nNays: D. Park\nMotion carried.'));
    expect(pairs(vote)).toEqual(['A. Smith:aye', 'B. Jones:aye', 'C. Lee:aye', 'D. Park:nay']);
    expect(vote.tally).toEqual({ ayes: 3, nays: 1, abstain: 0, absent: 0 });
  });

  it('reads a recorded vote printed without commas: "Yeas: R. Tremblay A. Okonkwo B. van Holst H.L. Marchand (4)"', () => {
    const vote = only(extractVotes('Moved by Councillor R. Tremblay\nSeconded by Councillor A. Okonkwo\nYeas: R. Tremblay A. Okonkwo B. van Holst H.L. Marchand (4)\nNays: D. O\'Neill (1)\nMotion Passed'));
    expect(vote.motion_by).toBe('R. Tremblay');
    expect(vote.seconded_by).toBe('A. Okonkwo');
    expect(pairs(vote)).toEqual(['R. Tremblay:aye', 'A. Okonkwo:aye', 'B. van Holst:aye', 'H.L. Marchand:aye', "D. O'Neill:nay"]);
  });

  it('keeps particle, hyphenated and apostrophe surnames whole: "de la Cruz", "Smith-Jones", "O\'Neill"', () => {
    const vote = only(extractVotes("Ayes: Council Members de la Cruz, Smith-Jones, O'Neill and Mayor van der Berg.\nNoes: None.\nMotion carried 4-0."));
    expect(vote.individual_votes.map((v) => v.name)).toEqual(['de la Cruz', 'Smith-Jones', "O'Neill", 'van der Berg']);
    expect(extractEntities("Mayor Marisol de la Cruz thanked Carol Smith-Jones and Councillor O'Neill.").persons).toEqual(['Carol Smith-Jones', 'Marisol de la Cruz', "O'Neill"]);
  });

  it('reads the UK "Proposed by: / Seconded by:" layout with a "For / Against / Abstained" count', () => {
    const vote = only(extractVotes('It was RESOLVED that the minutes be approved.\nProposed by: Cllr Ashworth        Seconded by: Cllr Mortimer\nFor: 7    Against: 0    Abstained: 1'));
    expect(vote).toMatchObject({ motion_by: 'Ashworth', seconded_by: 'Mortimer', result: 'passed', tally: { ayes: 7, nays: 0, abstain: 1, absent: 0 } });
  });

  it('reads "Cllr. X proposed, seconded by Cllr. Y" and a motion that falls without a seconder', () => {
    const votes = extractVotes(
      'Cllr. Howard-Evans proposed, seconded by Cllr. de Souza, that the Council raise no objection. Carried, 5 in favour, 1 against.\n' +
        'Cllr. Higgs proposed that the Council request a 20 mph limit. There was no seconder and the proposal fell.',
    );
    expect(votes.map((v) => [v.motion_by, v.seconded_by, v.result, v.tally.ayes, v.tally.nays])).toEqual([
      ['Howard-Evans', 'de Souza', 'passed', 5, 1],
      ['Higgs', null, 'failed', 0, 0],
    ]);
  });

  it('reads the county-board sentence "adopted by a vote of (3-1) with Supervisors A, B and C voting in favor"', () => {
    const vote = only(
      extractVotes(
        'Supervisor Delacroix moved that the Board approve the agreement. The motion was adopted by a vote of (3-1) with Supervisors Delacroix, Lyle and Okoro voting in favor of the motion; Supervisor Pruitt voting against the motion.',
      ),
    );
    expect(vote).toMatchObject({ motion_by: 'Delacroix', seconded_by: null, result: 'passed', tally: { ayes: 3, nays: 1, abstain: 0, absent: 0 } });
    expect(pairs(vote)).toEqual(['Delacroix:aye', 'Lyle:aye', 'Okoro:aye', 'Pruitt:nay']);
  });

  it('reads a per-member roll call whose last entry wraps to the next line ("... and Mayor de la\\nCruz: Aye")', () => {
    const text =
      'Councilmember Tran moved approval; Councilmember Hargrove seconded the motion, which carried by the following roll call vote:\n' +
      'Councilmembers Tran: Aye; Whitfield: Aye; Hargrove: No; and Mayor de la\nCruz: Aye. Ayes: 3. Noes: 1.';
    const vote = only(extractVotes(text));
    expect(pairs(vote)).toEqual(['Tran:aye', 'Whitfield:aye', 'Hargrove:nay', 'de la Cruz:aye']);
    expect(vote.tally).toEqual({ ayes: 3, nays: 1, abstain: 0, absent: 0 });
  });
});

describe('extractDocument', () => {
  const ROLL_CALL = [
    'MINUTES OF THE REGULAR MEETING',
    'ROLL CALL - Present: Council Members Maria Ortiz, Ramirez, Chen and Mayor Ashcraft.',
    'Absent: Council Member Kowalski.',
  ].join('\n');

  it('fills in a "Motion carried unanimously" on page 3 from the roll call on page 1, and keeps the vote on its page', () => {
    const pages = [ROLL_CALL, 'Staff presented the budget.', 'Motion by Council Member Ramirez, seconded by Council Member Chen. Motion carried unanimously.'];
    const result = extractDocument(pages);
    expect(result[0]!.votes).toEqual([]);
    expect(result[2]!.votes).toEqual([
      {
        motion: 'Motion by Council Member Ramirez, seconded by Council Member Chen',
        page: 3,
        motion_by: 'Ramirez',
        seconded_by: 'Chen',
        result: 'passed',
        tally: { ayes: 4, nays: 0, abstain: 0, absent: 1 },
        individual_votes: [
          { name: 'Kowalski', vote: 'absent' },
          { name: 'Maria Ortiz', vote: 'aye' },
          { name: 'Ramirez', vote: 'aye' },
          { name: 'Chen', vote: 'aye' },
          { name: 'Ashcraft', vote: 'aye' },
        ],
      },
    ]);
  });

  it('reads a vote that runs over a page break whole, past the running header, on the page where it starts', () => {
    const header = (n: number) => `Regular Meeting\nSpringfield City Council\nMarch 4, 2025      ${n}\n`;
    const pages = [
      `${header(1)}\n${ROLL_CALL}\nMotion by Council Member Chen, seconded by Mayor Ashcraft, to adopt the resolution.\nAyes: Council Members Maria Ortiz, Ramirez,`,
      `${header(2)}\nChen and Mayor Ashcraft - 4.\nNoes: None.\nAbsent: Council Member Kowalski - 1.\nThe motion carried 4-0.`,
    ];
    const result = extractDocument(pages);
    expect(result[1]!.votes).toEqual([]);
    const [vote] = result[0]!.votes;
    expect(vote).toMatchObject({ page: 1, motion_by: 'Chen', seconded_by: 'Ashcraft', result: 'passed', tally: { ayes: 4, nays: 0, abstain: 0, absent: 1 } });
    expect(vote!.individual_votes.map((v) => v.name)).toEqual(['Maria Ortiz', 'Ramirez', 'Chen', 'Ashcraft', 'Kowalski']);
  });

  it('resolves "Ortiz" and "M. Ortiz" to the "Council Member Maria Ortiz" of the same document, in entities and votes', () => {
    const pages = [ROLL_CALL, 'Ortiz asked about the schedule.\nMotion by M. Ortiz, seconded by Chen. Motion carried 4-0.'];
    const result = extractDocument(pages);
    expect(result[1]!.entities.persons).toEqual(['Chen', 'Maria Ortiz']);
    expect(result[1]!.votes[0]!.motion_by).toBe('Maria Ortiz');
    expect(result[1]!.votes[0]!.individual_votes).toContainEqual({ name: 'Maria Ortiz', vote: 'aye' });
  });

  it('leaves a surname alone when two people in the document could own it', () => {
    const pages = ['Maria Ortiz and Luis Ortiz spoke in public comment.', 'Council Member Ortiz responded.'];
    expect(extractDocument(pages)[1]!.entities.persons).toEqual(['Ortiz']);
  });

  it('counts a member who arrives after the roll call from then on', () => {
    const pages = [`${ROLL_CALL}\nMotion by Ramirez, seconded by Chen, to approve the agenda. Motion carried unanimously.`, 'Council Member Kowalski arrived at 7:15 p.m.\nMotion by Chen, seconded by Ramirez, to adjourn. Motion carried unanimously.'];
    const result = extractDocument(pages);
    expect(result[0]!.votes[0]!.tally).toEqual({ ayes: 4, nays: 0, abstain: 0, absent: 1 });
    expect(result[1]!.votes[0]!.tally).toEqual({ ayes: 5, nays: 0, abstain: 0, absent: 0 });
  });

  it('names the ayes of "MOTION PASSED: 4-1 Chen no" from the roll call, and the absentee', () => {
    const pages = [`${ROLL_CALL}\nMOTION: Council Member Ramirez moved, seconded by Mayor Ashcraft to approve the plan.\nMOTION PASSED: 3-1 Chen no, Kowalski absent`];
    const [vote] = extractDocument(pages)[0]!.votes;
    expect(vote!.tally).toEqual({ ayes: 3, nays: 1, abstain: 0, absent: 1 });
    expect(vote!.individual_votes).toEqual(
      expect.arrayContaining([
        { name: 'Chen', vote: 'nay' },
        { name: 'Kowalski', vote: 'absent' },
        { name: 'Maria Ortiz', vote: 'aye' },
        { name: 'Ramirez', vote: 'aye' },
        { name: 'Ashcraft', vote: 'aye' },
      ]),
    );
  });

  it('gives the main motion its own result after a vote on an amendment', () => {
    const text = [
      ROLL_CALL,
      'It was MOVED by Chen, seconded by Ramirez, to approve the expenditure of $1,500.',
      'It was MOVED by Ashcraft, seconded by Ramirez, to amend the motion making the expenditure $2,000. Unanimously carried by voice vote.',
      'The question was called for a vote on the motion, as amended. Carried by 3-1 voice vote, Ortiz voting nay.',
    ].join('\n');
    const votes = extractDocument([text])[0]!.votes;
    expect(votes.map((v) => [v.motion_by, v.result, v.tally.ayes, v.tally.nays])).toEqual([
      ['Chen', 'passed', 3, 1],
      ['Ashcraft', 'passed', 4, 0],
    ]);
    expect(votes[0]!.individual_votes).toContainEqual({ name: 'Maria Ortiz', vote: 'nay' });
  });

  it('does not invent individual votes for a bare "Motion Passed"', () => {
    const [vote] = extractDocument([`${ROLL_CALL}\nMoved by: Chen\nSeconded by: Ramirez\nThat the meeting adjourn.\nMotion Passed`])[0]!.votes;
    expect(vote).toMatchObject({ motion_by: 'Chen', seconded_by: 'Ramirez', result: 'passed', tally: { ayes: 0, nays: 0, abstain: 0, absent: 0 }, individual_votes: [] });
  });

  it('numbers the votes with the page numbers given, for documents with unreadable pages left out', () => {
    const result = extractDocument(['Intro.', 'Motion by Chen, seconded by Ramirez. Motion carried 4-0.'], { pageNumbers: [1, 3] });
    expect(result[1]!.votes[0]!.page).toBe(3);
  });

  it('returns one empty extraction per empty page', () => {
    expect(extractDocument(['', ''])).toEqual([
      { entities: { persons: [], orgs: [], locations: [] }, votes: [] },
      { entities: { persons: [], orgs: [], locations: [] }, votes: [] },
    ]);
  });
});

describe('ExtractionThreads', () => {
  it('reads each document whole on a worker thread and returns the results in the order given', async () => {
    const documents = [
      { pages: ['ROLL CALL - Present: Council Members Ortiz, Chen and Mayor Lee.', 'Motion by Chen, seconded by Ortiz. Motion carried unanimously.'], pageNumbers: [1, 2] },
      { pages: ['Mayor Diaz spoke.'], pageNumbers: [4] },
      { pages: ['Present: Kim, Park.\nMotion by Kim, seconded by Park. Motion carried 2-0.', '', 'Adjourned.'], pageNumbers: [1, 2, 3] },
    ];
    const threads = new ExtractionThreads(2);
    try {
      const results = await threads.extractDocuments(documents);
      expect(results).toEqual(documents.map((d) => extractDocument(d.pages, { pageNumbers: d.pageNumbers })));
      expect(results[0]![1]!.votes[0]).toMatchObject({ page: 2, tally: { ayes: 3, nays: 0, abstain: 0, absent: 0 } });
    } finally {
      await threads.close();
    }
  });
});
